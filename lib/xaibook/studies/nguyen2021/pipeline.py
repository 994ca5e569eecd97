"""Nguyen et al. 2021: the stimulus pipeline (Sec. 2.2-2.4, appendix A1, A6, A7), one function per step.

The pipeline asks its image source (:mod:`xaibook.data.sources`) for the classifier, the
images and the neighbour bank, so it runs unchanged on the offline zoo, on ImageNet val and on
Stanford Dogs. Every expensive step is cached (resumable) and timed (:func:`timings`, through
:func:`xaibook.runs.timed`); the run's sizes come from :func:`plan`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
import pandas as pd

from ... import config, runs
from ...cache import digest
from ...data import published, sources
from ...data.sources import Classifier, Pool, ZOO_KNOBS, zoo_resnet  # noqa: F401 (re-exported)
from ...errors import ParameterError
from ...stats import NGUYEN_BINS
from .human import DATASETS

STUDY = "nguyen2021"
SOURCES = tuple(sources.SOURCES)
#: The six controlled bins (Sec. 2.4.3), in the paper's order; names as :data:`xaibook.stats.NGUYEN_BINS`.
BIN_ORDER = ("easy_correct", "easy_wrong", "medium_correct", "medium_wrong", "hard_correct", "hard_wrong")
#: Confidence bands that split the (all misclassified) adversarial images into E/M/H (Sec. 2.4.3):
#: the bands of the wrong natural bins.
ADVERSARIAL_BANDS = {b.difficulty.capitalize(): (b.low, b.high) for b in NGUYEN_BINS.values() if not b.ai_correct}


def _design(metric: str) -> float:
    """One of the study's design numbers (Sec. 2.4.3, 2.5) from ``data/published``."""
    return published.ref("nguyen2021_methods", dataset="all", metric=metric).value


#: PGD of Sec. 2.4.3: L-inf radius 16/255, steps of 1/30 (foolbox's relative step), 40 steps at paper.
PGD_EPS = _design("pgd_epsilon_in_255ths") / 255
PGD_STEP = 1 / _design("pgd_step_denominator")
#: The ImageNet side the original pipeline worked at (EP cell size 7 px, upsampler sigma 21 px,
#: pointing-game tolerance 15 px are TorchRay's values at this side; scaled for other sides).
ORIGINAL_SIDE = sources.ImageNetSource.input_size
#: TorchRay's extremal-perturbation defaults at 224 px, which the paper kept (Sec. 2.3).
TORCHRAY_EP = {"iterations": 800, "step": 7, "sigma": 21.0}
#: Colour photos bundled with scikit-image (no download) for the real-photo gallery.
GALLERY_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")
MAP_METHODS = ("GradCAM", "EP", "SOD")


def _step(step: str, key: Callable[..., dict]):
    """Time a pipeline step (:func:`xaibook.runs.step`); ``key(*args)`` gives the sizes it uses."""
    return runs.step(STUDY, step, key)


def timings(reset: bool = False) -> pd.DataFrame:
    """The pipeline's steps in the order they ran: cold-cache time and this process's time (s)."""
    return runs.timings(STUDY, reset=reset)


# --------------------------------------------------------------------------------------
# the run's sizes


def _paper_settings() -> dict[str, Any]:
    pool = {d: published.ref("nguyen2021_methods", dataset=d, metric="images_available").value for d in DATASETS}
    return {"arch": "resnet34", "image_size": ORIGINAL_SIDE, "per_bin": int(_design("images_per_bin")),
            "adversarial_per_bin": int(_design("adversarial_images_per_set")),
            "pgd_steps": int(_design("pgd_steps")), "ep_iterations": TORCHRAY_EP["iterations"],
            "ep_step": f"{TORCHRAY_EP['step']} (at {ORIGINAL_SIDE} px)",
            "ep_sigma": f"{TORCHRAY_EP['sigma']:g} (at {ORIGINAL_SIDE} px)",
            "gallery_ep_step": f"{TORCHRAY_EP['step']} (at {ORIGINAL_SIDE} px)",
            "pool_imagenet": f"{pool['ImageNet']:,.0f} filtered val images",
            "pool_dogs": f"{pool['Dogs']:,.0f} filtered Dogs images", "source": "imagenet",
            "gallery_ep_iterations": TORCHRAY_EP["iterations"]}


@dataclass(frozen=True)
class Plan(runs.Plan):
    """Sizes of one run of the pipeline, chosen by the scale (``XAIBOOK_SCALE``) and the image source.

    ``paper`` is the study's size (Sec. 2.4.3: 50 images per bin, 150 adversarial images, EP
    with TorchRay's 800 iterations; ResNet-34) and is meant for a GPU; ``default`` fits a
    2-core CPU; ``smoke`` only checks that everything runs. ``None`` for a pool means every image.

    Extremal perturbation's mask cells (``ep_step``, upsampler ``ep_sigma`` = 3 cells, in pixels
    of the model input) are TorchRay's 7 and 21 px per 224 px of image at every scale (2 and 6 px
    at the zoo's 64 px, 4 and 12 at 128 px): coarser cells cannot draw a mask as small as 2.5 %
    (at 4 and 12 px per 64 px the smallest smooth blob covers about 15 % of the image). Below
    ``paper`` the ``ep_iterations`` steps run TorchRay's 800-iteration schedule in larger steps
    (:func:`xaibook.explain.extremal.compressed_schedule`, :func:`ep_schedule`); at ``paper`` it
    is TorchRay's own. The chapter's ledger sets the areas reached beside their targets.
    """

    PAPER: ClassVar[dict[str, Any]] = _paper_settings()

    scale: str
    source: str
    arch: str
    image_size: int
    train_images: int
    epochs: int
    pool_imagenet: int | None
    pool_dogs: int | None
    per_bin: int
    adversarial_candidates: int
    adversarial_per_bin: int
    pgd_steps: int
    ep_iterations: int
    ep_step: int
    ep_sigma: float
    ep_batch: int
    nn_bank_per_class: int | None
    gallery_photos: tuple[str, ...]
    gallery_ep_iterations: int
    gallery_ep_step: int
    seed: int = 0

    def describe(self) -> str:
        what = sources.get(self.source, STUDY).describe(arch=self.arch, image_size=self.image_size,
                                                        train_images=self.train_images, epochs=self.epochs)
        return (f"scale {self.scale}, source {self.source}: {what}; {self.per_bin} images per bin, "
                f"{self.adversarial_per_bin} adversarial images per E/M/H set, PGD {self.pgd_steps} steps, "
                f"EP {self.ep_iterations} iterations (TorchRay's {TORCHRAY_EP['iterations']}-iteration schedule) "
                f"with {self.ep_step}-px mask cells")


def data_source() -> str:
    """``"imagenet"`` when ``<XAIBOOK_DATA>/imagenet`` exists, else ``"zoo"`` (the offline stand-in)."""
    return "imagenet" if sources.get("imagenet", STUDY).available() else "zoo"


def plan(source: str | None = None) -> Plan:
    """The run's :class:`Plan` at the current scale (``source`` default: :func:`data_source`)."""
    s = config.scale()
    source = source or data_source()
    if source not in sources.SOURCES:
        raise ParameterError(f"source={source!r}; use one of {SOURCES}")
    src = sources.get(source, STUDY)
    real = src.pretrained
    paper = Plan.PAPER
    return Plan(
        scale=s.name, source=source,
        arch="resnet34" if real or s.name == "paper" else "resnet18",
        image_size=src.input_size if real else s.pick(32, 64, 128),
        train_images=0 if real else s.pick(192, 3840, 48000),
        epochs=0 if real else s.pick(2, 6, 30),
        pool_imagenet=s.pick(64, 2000, None) if real else s.pick(96, 1920, 9600),
        pool_dogs=s.pick(64, 2000, None) if real else s.pick(96, 960, 4800),
        per_bin=s.pick(2, 4, paper["per_bin"]),
        adversarial_candidates=s.pick(8, 64, 1000),
        adversarial_per_bin=s.pick(1, 3, paper["adversarial_per_bin"]),
        pgd_steps=s.pick(10, paper["pgd_steps"], paper["pgd_steps"]),
        ep_iterations=s.pick(5, 150, TORCHRAY_EP["iterations"]),
        ep_step=_ep_cell(src.input_size if real else s.pick(32, 64, 128)),
        ep_sigma=3.0 * _ep_cell(src.input_size if real else s.pick(32, 64, 128)),
        ep_batch=s.pick(8, 16, 64),
        nn_bank_per_class=s.pick(8, 40, None),
        gallery_photos=s.pick(("chelsea",), ("chelsea", "astronaut"), GALLERY_PHOTOS),
        gallery_ep_iterations=s.pick(2, 100, TORCHRAY_EP["iterations"]),
        gallery_ep_step=TORCHRAY_EP["step"],
    )


def _scaled(pixels_at_224: float, side: int) -> float:
    return pixels_at_224 * side / ORIGINAL_SIDE


def _ep_cell(side: int) -> int:
    """EP's mask cell at an image side: TorchRay's 7 px per 224 px, at least 1 px."""
    return max(1, round(_scaled(TORCHRAY_EP["step"], side)))


def ep_schedule(p: Plan) -> dict[str, float]:
    """EP's ``learning_rate`` and ``area_weight_growth`` for ``p.ep_iterations`` steps: TorchRay's
    800-iteration schedule compressed into them (TorchRay's own at ``paper``)."""
    from ...explain.extremal import compressed_schedule

    return compressed_schedule(p.ep_iterations, TORCHRAY_EP["iterations"])


# --------------------------------------------------------------------------------------
# 1. the classifier (Sec. 2.2)


@_step("1 classifier", lambda p: {"source": p.source, "arch": p.arch, "size": p.image_size,
                                  "n_train": p.train_images, "epochs": p.epochs, "seed": p.seed})
def classifier(p: Plan) -> Classifier:
    """Step 1: the classifier (Sec. 2.2), from the plan's image source.

    ImageNet: torchvision's ResNet-34 with its ImageNet weights, read from the torch hub cache
    (a missing file raises an error that says where to put it). Offline: a ResNet (18 at
    ``smoke``/``default``, 34 at ``paper``) trained here on the zoo's 48 species, cached and
    resumable; the hounds play the Stanford Dogs breeds.
    """
    return sources.get(p.source, STUDY).classifier(arch=p.arch, image_size=p.image_size,
                                                   train_images=p.train_images, epochs=p.epochs, seed=p.seed)


class _Pause(Exception):
    """Stops a training run after an epoch (its checkpoint is written; the next call resumes)."""


def train_classifier(p: Plan, until_epoch: int) -> str:
    """Train the classifier of a source that trains one here up to ``until_epoch`` of ``p.epochs``
    epochs, then pause: the per-epoch checkpoint stays in the cache and the next call (or
    :func:`classifier`) resumes from it with the same result as one uninterrupted run. Lets a
    chapter spread the training over several cells. Returns a note."""
    src = sources.get(p.source, STUDY)
    if src.pretrained:
        return f"{p.source}: the classifier comes with its weights, nothing to train"

    def pause(epoch: int, record: dict) -> None:
        if until_epoch <= epoch < p.epochs:
            raise _Pause(epoch, record)

    def run() -> str:
        try:
            src.classifier(arch=p.arch, image_size=p.image_size, train_images=p.train_images, epochs=p.epochs,
                           seed=p.seed, on_epoch=pause)
        except _Pause as stop:
            epoch, record = stop.args
            return (f"trained {epoch} of {p.epochs} epochs (training accuracy {record['acc']:.3f}); "
                    "the next call resumes from the checkpoint")
        return f"the classifier is trained ({p.epochs} epochs)"

    return runs.timed(STUDY, "1 classifier", {"source": p.source, "arch": p.arch, "size": p.image_size,
                                              "n_train": p.train_images, "epochs": p.epochs, "seed": p.seed,
                                              "until": until_epoch}, run)


# --------------------------------------------------------------------------------------
# 2. image pools, filtering, bins and trial sets (Sec. 2.4.3, A1, A7)


@_step("2 image pools", lambda clf, dataset, p: {"model": clf.key, "dataset": dataset, "size": p.image_size,
                                                 "n": p.pool_imagenet if dataset == "ImageNet" else p.pool_dogs})
def image_pool(clf: Classifier, dataset: str, p: Plan) -> Pool:
    """Step 2a: the images of one experiment, filtered as in Sec. 2.4.3, with the classifier's predictions.

    ``dataset`` is ``"ImageNet"`` (every class) or ``"Dogs"`` (the fine-grained classes; images
    the classifier labels as a non-dog class are dropped, as the authors did).
    ImageNet: val without greyscale images and images under 224 px; offline: zoo test images
    (all colour, all one size, so that filter removes none).
    """
    if dataset not in DATASETS:
        raise ParameterError(f"dataset={dataset!r}; use one of {DATASETS}")
    n_max = p.pool_imagenet if dataset == "ImageNet" else p.pool_dogs
    return sources.get(clf.source, STUDY).pool(clf, dataset, n=n_max, image_size=p.image_size, seed=p.seed)


@_step("2 trial sets", lambda pools: {"pools": [pl.key for pl in pools.values()]})
def bin_distribution(pools: Mapping[str, Pool]) -> pd.DataFrame:
    """Step 2b: the real distribution of the six bins R_{B,P} in each pool (appendix A1, Fig. A1).

    One row per dataset and bin: ``n`` and ``share`` over the binned images (images with a
    confidence in [0.3, 0.4) or [0.6, 0.8) are in no bin; ``unbinned`` counts them), the
    reweighting shares :func:`xaibook.stats.reweight_accuracy` needs.
    """
    from ...stats import bin_shares

    rows = []
    for d, pool in pools.items():
        if len(pool) == 0:
            from ...stats import NGUYEN_BINS

            t = pd.DataFrame([{"bin": k, "difficulty": b.difficulty, "ai_correct": b.ai_correct, "low": b.low,
                               "high": b.high, "n": 0, "share": np.nan} for k, b in NGUYEN_BINS.items()])
            t.attrs.update(n_unbinned=0, n_images=0)
        else:
            t = bin_shares(pool.confidences, pool.correct)
        t.insert(0, "dataset", d)
        t["unbinned"] = t.attrs["n_unbinned"]
        t["images"] = t.attrs["n_images"]
        rows.append(t)
    out = pd.concat(rows, ignore_index=True)
    out["difficulty"] = out["difficulty"].str.capitalize()
    return out


@_step("2 trial sets", lambda pool, per_bin, seed=0: {"pool": pool.key, "per_bin": per_bin, "seed": seed})
def select_natural(pool: Pool, per_bin: int, seed: int = 0) -> pd.DataFrame:
    """Step 2c: ``per_bin`` random images from each of the six bins (Sec. 2.4.3; 50 in the paper).

    Easy = correct with confidence in [0.8, 1] or wrong in [0, 0.3); Hard = the reverse;
    Medium = correct or wrong in [0.4, 0.6). A bin with fewer images gives all it has;
    ``attrs["available"]`` holds how many each bin had.
    """
    if per_bin < 1:
        raise ParameterError(f"per_bin must be >= 1, got {per_bin}")
    table = pool.table()
    rng = np.random.default_rng([seed, DATASETS.index(pool.dataset) if pool.dataset in DATASETS else 9, 7])
    picks, available = [], {}
    for b in BIN_ORDER:
        idx = np.flatnonzero(table["bin"].to_numpy() == b)
        available[b] = len(idx)
        picks += [(b, int(i)) for i in sorted(rng.choice(idx, min(per_bin, len(idx)), replace=False))]
    rows = []
    for b, i in picks:
        r = table.iloc[i]
        rows.append({"dataset": pool.dataset, "image_type": "natural", "pool_index": i, "source_id": r["source_id"],
                     "label": int(r["label"]), "prediction": int(r["prediction"]), "confidence": float(r["confidence"]),
                     "ai_correct": bool(r["correct"]), "bin": b, "difficulty": b.split("_")[0].capitalize()})
    out = pd.DataFrame(rows, columns=["dataset", "image_type", "pool_index", "source_id", "label", "prediction",
                                      "confidence", "ai_correct", "bin", "difficulty"])
    out.attrs["available"] = available
    out.attrs["per_bin"] = per_bin
    return out


def selection_summary(natural: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Images chosen per bin and how many each bin offered, per dataset."""
    rows = []
    for d, t in natural.items():
        for b in BIN_ORDER:
            rows.append({"dataset": d, "bin": b, "available": t.attrs["available"][b],
                         "chosen": int((t["bin"] == b).sum()), "wanted": t.attrs["per_bin"]})
    return pd.DataFrame(rows)


@_step("3 AI-only", lambda pool: {"pool": pool.key})
def ai_only(pool: Pool) -> "Any":
    """Step 3: the AI-only rule "accept if confidence >= T" swept over T = 0.05 ... 0.95 (Sec. 2.3, A6)."""
    from ...metrics import threshold_sweep

    return threshold_sweep(pool.confidences, pool.correct) if len(pool) else None


# --------------------------------------------------------------------------------------
# 4. the adversarial set (Sec. 2.4.3)


@dataclass
class Adversarial:
    """The adversarial images of one experiment.

    ``candidates``: one row per attacked image (``pool_index``, ``source_id``, ``label``,
    ``kept`` = still misclassified after the JPEG round trip (and, for Dogs, labelled as a dog),
    ``prediction``, ``confidence`` after the round trip, ``fooled_before_jpeg``,
    ``difficulty`` (E/M/H band of the confidence, None in the gaps) and ``selected``).
    ``images``: the selected images after the round trip, in the order of the selected rows.
    """

    dataset: str
    candidates: pd.DataFrame
    images: "torch.Tensor"

    @property
    def kept_rate(self) -> float:
        return float(self.candidates["kept"].mean()) if len(self.candidates) else float("nan")

    @property
    def selected(self) -> pd.DataFrame:
        return self.candidates[self.candidates["selected"]].reset_index(drop=True)


def adversarial_band(confidence) -> np.ndarray:
    """Easy / Medium / Hard of misclassified images by confidence (low / medium / high; None in the gaps)."""
    c = np.asarray(confidence, dtype=float)
    out = np.full(c.shape, None, dtype=object)
    for name, (lo, hi) in ADVERSARIAL_BANDS.items():
        out[(c >= lo) & ((c < hi) | ((hi == 1.0) & (c <= 1.0)))] = name
    return out


@_step("4 adversarial set", lambda clf, pool, natural, p: {
    "pool": pool.key, "natural": digest(natural["pool_index"].to_numpy()), "candidates": p.adversarial_candidates,
    "steps": p.pgd_steps, "per_bin": p.adversarial_per_bin, "seed": p.seed})
def adversarial_set(clf: Classifier, pool: Pool, natural: pd.DataFrame, p: Plan) -> Adversarial:
    """Step 4: PGD (L-inf 16/255, steps of 1/30, ``p.pgd_steps`` steps), JPEG round trip, keep the
    images still misclassified (for Dogs: labelled as another dog), split into E/M/H by confidence.

    The attacked images are drawn at random from the pool images not in the natural trial set
    ("the remaining real images", Sec. 2.4.3); ``p.adversarial_per_bin`` images per E/M/H set
    are then drawn from the kept ones. Cached chunk by chunk (resumable).
    """
    import torch

    from ... import attack
    from ...cache import map_chunks

    rng = np.random.default_rng([p.seed, DATASETS.index(pool.dataset), 11])
    remaining = np.setdiff1d(np.arange(len(pool)), natural["pool_index"].to_numpy())
    cand = np.sort(rng.choice(remaining, min(p.adversarial_candidates, len(remaining)), replace=False))
    allowed = clf.dog_classes.tolist() if pool.dataset == "Dogs" else None
    key = {"pool": pool.key, "candidates": digest(cand), "eps": PGD_EPS, "step": PGD_STEP, "steps": p.pgd_steps,
           "allowed": allowed is not None, "seed": p.seed}

    def chunk(indices):
        idx = np.asarray(indices, dtype=np.int64)
        x = pool.load(idx)
        y = torch.as_tensor(pool.labels[idx])
        a = attack.pgd_then_jpeg(clf.model, x, y, eps=PGD_EPS, steps=p.pgd_steps, step_size=PGD_STEP,
                                 allowed_predictions=allowed, seed=p.seed, batch_size=32)
        kept = np.zeros(len(idx), dtype=bool)
        kept[a.indices.numpy()] = True
        pred = np.full(len(idx), -1, dtype=np.int64)
        conf = np.full(len(idx), np.nan)
        pred[a.indices.numpy()] = a.predictions.numpy()
        conf[a.indices.numpy()] = a.confidences.double().numpy()
        return {"kept": kept, "prediction": pred, "confidence": conf, "fooled_before": a.fooled_before_jpeg.numpy(),
                "images": (a.images.cpu() * 255).round().to(torch.uint8)}

    parts = map_chunks("nguyen2021.adversarial", key, list(cand), chunk, chunk_size=max(8, p.ep_batch),
                       desc=f"PGD + JPEG ({pool.dataset})") if len(cand) else []
    cat = lambda k: np.concatenate([c[k] for c in parts]) if parts else np.zeros(0)  # noqa: E731
    kept_images = torch.cat([c["images"] for c in parts]) if parts else torch.zeros(0, 3, 1, 1, dtype=torch.uint8)
    df = pd.DataFrame({"pool_index": cand, "source_id": pool.ids[cand] if len(cand) else [],
                       "label": pool.labels[cand] if len(cand) else [],
                       "prediction_before": pool.predictions[cand] if len(cand) else [],
                       "fooled_before_jpeg": cat("fooled_before").astype(bool), "kept": cat("kept").astype(bool),
                       "prediction": cat("prediction").astype(np.int64), "confidence": cat("confidence")})
    df["difficulty"] = np.where(df["kept"], adversarial_band(df["confidence"].fillna(-1)), None)
    df["selected"] = False
    for name in ADVERSARIAL_BANDS:
        idx = np.flatnonzero(df["difficulty"].to_numpy() == name)
        pick = rng.choice(idx, min(p.adversarial_per_bin, len(idx)), replace=False)
        df.loc[pick, "selected"] = True
    kept_pos = np.cumsum(df["kept"].to_numpy()) - 1  # row -> position among the kept images
    sel_rows = np.flatnonzero(df["selected"].to_numpy())
    images = kept_images[torch.as_tensor(kept_pos[sel_rows], dtype=torch.long)].float() / 255.0 if len(sel_rows) \
        else torch.zeros(0, 3, p.image_size, p.image_size)
    return Adversarial(pool.dataset, df, images)


def adversarial_summary(adversarial: Mapping[str, Adversarial]) -> pd.DataFrame:
    """Per dataset: attacked, fooled before / after the JPEG round trip (kept), E/M/H available and chosen."""
    rows = []
    for d, a in adversarial.items():
        c = a.candidates
        row = {"dataset": d, "attacked": len(c), "fooled before JPEG": int(c["fooled_before_jpeg"].sum()),
               "kept after JPEG": int(c["kept"].sum()), "kept rate (%)": round(100 * a.kept_rate, 1)}
        for name in ADVERSARIAL_BANDS:
            row[f"{name} available"] = int((c["difficulty"] == name).sum())
            row[f"{name} chosen"] = int(((c["difficulty"] == name) & c["selected"]).sum())
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# the trial set of one experiment


@dataclass
class TrialSet:
    """Every test image of one experiment (natural and adversarial) with the AI's decision.

    ``table`` has one row per image: ``trial_id``, ``dataset``, ``image_type``, ``difficulty``,
    ``bin``, ``ai_correct``, ``label``, ``prediction``, ``true_label``, ``ai_label``,
    ``ai_confidence``, ``source_id``, ``pool_index``; ``images`` ``[N,3,S,S]`` in [0, 1];
    ``boxes`` the ground-truth boxes of each image; ``masks`` (zoo) the labelled creature.
    """

    dataset: str
    table: pd.DataFrame
    images: "torch.Tensor"
    boxes: list
    masks: "torch.Tensor | None" = None

    def __len__(self) -> int:
        return len(self.table)


@_step("2 trial sets", lambda clf, pool, natural, adversarial=None: {
    "pool": pool.key, "natural": digest(natural["pool_index"].to_numpy()),
    "adversarial": None if adversarial is None else digest(adversarial.selected["pool_index"].to_numpy())})
def trial_set(clf: Classifier, pool: Pool, natural: pd.DataFrame, adversarial: Adversarial | None = None) -> TrialSet:
    """The natural trial images and the selected adversarial images as one :class:`TrialSet`."""
    import torch

    parts = [natural.assign(confidence=natural["confidence"].astype(float))]
    images = [pool.load(natural["pool_index"].to_numpy())] if len(natural) else []
    if adversarial is not None and len(adversarial.selected):
        s = adversarial.selected
        parts.append(pd.DataFrame({"dataset": pool.dataset, "image_type": "adversarial", "pool_index": s["pool_index"],
                                   "source_id": s["source_id"], "label": s["label"], "prediction": s["prediction"],
                                   "confidence": s["confidence"], "ai_correct": False,
                                   "bin": "adversarial_" + s["difficulty"].str.lower(),
                                   "difficulty": s["difficulty"]}))
        images.append(adversarial.images)
    t = pd.concat(parts, ignore_index=True)
    short = {"natural": "nat", "adversarial": "adv"}
    t.insert(0, "trial_id", [f"{pool.dataset}-{short[k]}-{i:03d}" for i, k in enumerate(t["image_type"])])
    t["true_label"] = [clf.categories[i] for i in t["label"]]
    t["ai_label"] = [clf.categories[i] for i in t["prediction"]]
    t["ai_confidence"] = t["confidence"]
    t = t.drop(columns=["confidence"])
    pidx = np.array(t["pool_index"], dtype=np.int64)
    masks = pool.masks[torch.as_tensor(pidx)] if pool.masks is not None else None
    imgs = torch.cat(images) if images else torch.zeros(0, 3, clf.input_size, clf.input_size)
    return TrialSet(pool.dataset, t, imgs, [pool.boxes[i] for i in pidx], masks)


# --------------------------------------------------------------------------------------
# everything


def run_pipeline() -> pd.DataFrame:
    """Every ``lib`` step of chapter 1 at ``config.scale()`` (models on ``config.device()``), through the
    cache, in the chapter's order: the reanalysis claims, steps 1-7 and their claims; writes the study's
    ledger CSV (``config.ledger_dir()``) and returns :func:`timings` (per-step seconds)."""
    from ... import ledger
    from . import claims, explanations, human, localisation
    from .gallery import gallery

    ledger.forget(STUDY)  # the ledger written is this run's
    exports = human.exports_dir()
    answers = human.load_human(exports) if exports is not None else None
    claims.record_human_claims(answers)
    p = plan()
    clf = classifier(p)
    pools = {d: image_pool(clf, d, p) for d in DATASETS}
    claims.record_classifier_claims(clf, pools)
    distribution = bin_distribution(pools)
    claims.record_bin_claims(distribution, clf)
    claims.record_reweighting_claims(distribution, clf)
    natural = {d: select_natural(pools[d], p.per_bin, p.seed) for d in DATASETS}
    claims.record_ai_only_claims({d: ai_only(pools[d]) for d in DATASETS}, clf)
    adversarial = {d: adversarial_set(clf, pools[d], natural[d], p) for d in DATASETS}
    trial_sets = {d: trial_set(clf, pools[d], natural[d], adversarial[d]) for d in DATASETS}
    expl = {d: explanations.explain_trials(clf, trial_sets[d], pools[d], p) for d in DATASETS}
    claims.record_ep_area_claims({d: e.maps.ep_areas for d, e in expl.items()}, p)
    explanations.export_stimuli({d: (trial_sets[d], expl[d]) for d in DATASETS})
    for d in DATASETS:
        localisation.localisation_scores(trial_sets[d], expl[d])
    test = human.apply_exclusion(answers) if answers is not None else None
    claims.record_correlation_claims(*localisation.human_correlations(clf, test, p))
    gallery(p)
    ledger.write(STUDY)
    return timings()
