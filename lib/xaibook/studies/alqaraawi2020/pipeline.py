"""Alqaraawi et al. 2020: the study's computational side rebuilt, one function per step (Sec. 3.1-3.3).

Steps, in the chapter's order: the data (:mod:`.data`: scenes or PASCAL VOC), a VGG multi-label
classifier, its scores and average precision per split, F1 thresholds and outcomes, the task
images, the example images (nearest, random, k-centre), LRP maps, what the maps show on ground
truth, and the screens of the four conditions (:mod:`.screens`). Every expensive step is cached
and timed (:func:`xaibook.runs.timed`); the sizes come from :func:`plan`. :func:`run_pipeline`
runs them all (the device check runs it at ``paper`` on a GPU).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import pandas as pd
import torch

from ... import cache, config, runs
from ...errors import ParameterError
from ...metrics import average_precision as apm
from .data import SPLITS, Split, data_source
from .published import STUDY

TASK_CLASSES = ("cat", "horse")
#: Task images per class and outcome (Sec. 3.2.2) and examples per outcome (Sec. 3.2.1).
TASK_COUNTS = {"TP": 3, "FN": 2, "FP": 2}
EXAMPLE_COUNTS = {"TP": 6, "FN": 3, "FP": 3}
ERROR_OUTCOMES = ("TP", "FN", "FP")


def _step(step: str, key: Callable[..., dict]):
    """Time a pipeline step (:func:`xaibook.runs.step`); ``key(*args)`` gives the sizes it uses."""
    return runs.step(STUDY, step, key)


def timings(reset: bool = False) -> pd.DataFrame:
    """The steps in the order they ran: cold-cache time and this process's time (s)."""
    return runs.timings(STUDY, reset=reset)


@dataclass(frozen=True)
class Plan(runs.Plan):
    """Sizes of one run, by scale and source. ``paper`` trains a full VGG16 (with batch norm, from
    scratch on the scenes; torchvision's ImageNet VGG16 fine-tuned on VOC); ``default`` and ``smoke``
    train a smaller VGG-style net (:func:`xaibook.models.classifiers.small_vgg`, ``widths``, with batch
    norm, which zennit's VGG canonizer merges into the convolutions before LRP) of the same
    conv-ReLU-pool structure, so the same LRP rules apply. ``mid_range`` bounds the task images'
    distance to the threshold as quantiles within each outcome (the middle tercile; all at ``smoke``,
    whose few images leave no tercile to choose from)."""

    PAPER: ClassVar[dict[str, Any]] = {
        "arch": "VGG16, Keras ImageNet weights, fine-tuned (Sec. 3.1.1)", "image_size": "224 (Keras VGG16 input)",
        "n_train": "VOC 2012 train-val (11,540; the paper says 19,714 images)", "n_val": "not reported",
        "n_test": "VOC 2007 test (4,952)", "epochs": "not reported", "task_classes": "cat, horse (Sec. 3.2)",
        "mid_range": "'mid-range' scores, not defined (Sec. 3.2.2)", "widths": "VGG16: 64, 128, 256, 512, 512"}

    scale: str
    source: str
    arch: str
    image_size: int
    n_train: int | None
    n_val: int | None
    n_test: int | None
    widths: tuple | None
    epochs: int
    batch_size: int
    lr: float
    mid_range: tuple
    relevance_per_outcome: int
    task_classes: tuple = TASK_CLASSES
    seed: int = 0

    def short(self) -> str:
        """A caption-length description: source, network, image side, scale."""
        net = "VGG16" if self.widths is None else "small VGG"
        return f"{self.source}, {net} trained here at {self.image_size} px{config.precision_note()}"

    def describe(self) -> str:
        net = "VGG16" if self.widths is None else f"small VGG (widths {', '.join(map(str, self.widths))})"
        return (f"scale {self.scale}, source {self.source}: {net} at {self.image_size} px, "
                f"{self.n_train or 'all'} training images, {self.epochs} epochs")


def plan(source: str | None = None) -> Plan:
    """The run's :class:`Plan` at the current scale (``source``: ``scenes`` or ``voc``, default by data)."""
    s = config.scale()
    src = data_source(source)
    real = src.name == "voc"
    return Plan(
        scale=s.name, source=src.name,
        arch=("vgg16-imagenet" if real and s.name != "smoke" else "small_vgg" if s.name != "paper" else "vgg16-bn"),
        image_size=224 if real and s.name != "smoke" else s.pick(48, 64, 128),
        n_train=s.pick(200, 1500, None if real else 6000), n_val=s.pick(32, 300, None if real else 1500),
        n_test=s.pick(240, 600, None if real else 3000),
        widths=None if (s.name == "paper" or (real and s.name != "smoke")) else s.pick((8, 16, 32, 64),
                                                                                     (16, 32, 64, 128), None),
        epochs=s.pick(8, 8, 10 if real else 15), batch_size=s.pick(16, 64, 64),
        lr=1e-4 if real and s.name != "smoke" else s.pick(3e-3, 2e-3, 1e-3),
        mid_range=s.pick((0.0, 1.0), (1 / 3, 2 / 3), (1 / 3, 2 / 3)),
        relevance_per_outcome=s.pick(6, 40, 150))


# ------------------------------------------------------------------------------------------- 1. data
@_step("1 data", lambda p: {"source": p.source, "sizes": [p.n_train, p.n_val, p.n_test], "size": p.image_size,
                            "seed": p.seed})
def splits(p: Plan) -> dict[str, Split]:
    """Step 1: the training (fine-tuning), validation and hold-out test splits (Sec. 3.1.1)."""
    return data_source(p.source).splits({"train": p.n_train, "val": p.n_val, "test": p.n_test}, p.image_size, p.seed)


def classes(p: Plan) -> tuple[str, ...]:
    return data_source(p.source).classes


def class_index(p: Plan, name: str) -> int:
    cl = classes(p)
    if name not in cl:
        raise ParameterError(f"class {name!r} is not one of the source's classes {cl}")
    return cl.index(name)


# ------------------------------------------------------------------------------------------ 2. model
def _build(p: Plan) -> torch.nn.Module:
    from ...models import classifiers, pretrained

    n = len(classes(p))
    if p.arch == "small_vgg":
        return classifiers.small_vgg(n, multilabel=True, widths=p.widths, batch_norm=True)
    if p.arch == "vgg16-bn":
        return classifiers.vgg16(n, multilabel=True, batch_norm=True)
    model = pretrained.torchvision_classifier("vgg16", download=False)
    model.net.classifier[6] = torch.nn.Linear(4096, n)
    model.multilabel = True
    return model


def feature_layer(p: Plan) -> str:
    """The penultimate layer, fc7 after its ReLU (``classifier.4`` in torchvision's VGG16; the hidden
    layer's ReLU ``classifier.1`` in the small VGG)."""
    return "net.classifier.1" if p.arch == "small_vgg" else "net.classifier.4"


def model_key(p: Plan, data: dict[str, Split]) -> dict:
    return {"plan": {k: v for k, v in p.sizes().items() if k not in ("relevance_per_outcome", "mid_range",
                                                                    "task_classes")},
            "train_ids": cache.digest(data["train"].ids), **config.precision_key()}


@_step("2 train classifier", lambda p, data: model_key(p, data))
def classifier(p: Plan, data: dict[str, Split]) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Step 2: the multi-label VGG (sigmoid outputs, BCE), trained on the training split (cached).

    Long enough to overfit as the paper's model did (AP 0.91 on training, 0.73-0.74 held out)."""
    from ...models.train import train_cached

    tr, va = data["train"], data["val"]
    return train_cached("alqaraawi2020.classifier", model_key(p, data), lambda: _build(p),
                        lambda: (tr.images, tr.labels), val_fn=lambda: (va.images, va.labels), task="multi",
                        epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, augment={"flip": True}, seed=p.seed,
                        desc="train VGG")


# ---------------------------------------------------------------------------- 3. scores and outcomes
@_step("3 scores and fc7 features", lambda p, data, model: model_key(p, data))
def scores(p: Plan, data: dict[str, Split], model: torch.nn.Module) -> dict[str, dict[str, torch.Tensor]]:
    """Per split: ``logits [N,C]`` and the fc7 ``features [N,D]`` (cached)."""
    from ...models.inference import predict

    def compute() -> dict:
        out = {}
        for split in SPLITS:
            x = data[split].images
            out[split] = {"logits": predict(model, x, batch_size=64, desc=f"scores {split}"),
                          "features": predict(model, x, output="features", layer=feature_layer(p), batch_size=64)}
        return out

    return cache.cached("alqaraawi2020.scores", model_key(p, data), compute)


def ap_table(p: Plan, data: dict[str, Split], out: dict) -> pd.DataFrame:
    """Macro-mean average precision (every recall point and VOC07 11-point) per split, and per class."""
    rows = []
    for split in SPLITS:
        for variant in apm.VARIANTS:
            per, mean = apm.average_precision(out[split]["logits"], data[split].labels, variant)
            rows.append({"split": split, "variant": variant, "AP": mean,
                         **{c: v for c, v in zip(classes(p), per)}})
    return pd.DataFrame(rows)


def thresholds(data: dict[str, Split], out: dict) -> np.ndarray:
    """Per-class logit thresholds maximising F1 on the training split (lowest on ties), Sec. 3.1.1."""
    return apm.f1_thresholds(out["train"]["logits"], data["train"].labels)


def outcome_table(p: Plan, data: dict[str, Split], out: dict, thr: np.ndarray) -> pd.DataFrame:
    """One row per image, class and split with its outcome (TP/FN/FP/TN), logit and distance to the threshold."""
    frames = []
    for split in SPLITS:
        o = apm.outcomes(out[split]["logits"], data[split].labels, thr)
        logit = out[split]["logits"].numpy()
        n, c = o.shape
        frames.append(pd.DataFrame({"split": split, "image": np.repeat(np.arange(n), c),
                                    "class": np.tile(np.asarray(classes(p)), n), "outcome": o.ravel(),
                                    "logit": logit.ravel(), "distance": (logit - thr[None, :]).ravel()}))
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------------- 4. task images
def task_images(p: Plan, table: pd.DataFrame, counts: dict[str, int] | None = None) -> pd.DataFrame:
    """Step 4 (Sec. 3.2.2): per task class, 3 TP, 2 FN and 2 FP test images with mid-range scores.

    Mid-range: ``|logit - threshold|`` between the ``p.mid_range`` quantiles within each outcome (the
    middle tercile by default); the images are drawn at random (seeded) among those. When the band
    holds fewer than needed (few candidates: a well-fitted model at ``paper`` has few false
    positives), it widens to the ``k`` candidates nearest the outcome's median distance, and says so.
    An image is used once. Raises :class:`ParameterError` saying how many candidates a class has
    when the outcome itself has too few.
    """
    counts = dict(counts or TASK_COUNTS)
    rng = np.random.default_rng([p.seed, 3])
    test = table[table["split"] == "test"]
    rows, used = [], set()
    for cls in p.task_classes:
        t = test[test["class"] == cls]
        for outcome, k in counts.items():
            cand = t[(t["outcome"] == outcome) & ~t["image"].isin(used)]
            d = cand["distance"].abs()
            lo, hi = (d.quantile(p.mid_range[0]), d.quantile(p.mid_range[1])) if len(d) else (0.0, 0.0)
            mid = cand[(d >= lo) & (d <= hi)]
            if len(mid) < k <= len(cand):
                mid = cand.iloc[np.argsort(np.abs(d.to_numpy() - d.median()), kind="stable")[:k]]
                print(f"[alqaraawi2020] class {cls!r}: only {len(cand)} {outcome} test images, so the mid-range "
                      f"band widens to the {k} nearest the median distance to the threshold")
            if len(mid) < k:
                raise ParameterError(
                    f"class {cls!r}: {k} {outcome} task images with mid-range scores are needed but only {len(mid)} "
                    f"were found ({len(cand)} {outcome} test images in all, mid-range = quantiles "
                    f"{p.mid_range[0]:.2f}-{p.mid_range[1]:.2f} of the distance to the threshold); use a larger "
                    "test split (plan n_test) or a wider mid_range")
            pick = mid.iloc[np.sort(rng.choice(len(mid), k, replace=False))]
            used.update(pick["image"].tolist())
            rows.append(pick.assign(task_class=cls))
    out = pd.concat(rows, ignore_index=True)
    out["network_right"] = out["outcome"] == "TP"
    return out[["task_class", "image", "outcome", "logit", "distance", "network_right"]]


def task_outcome_counts(tasks: pd.DataFrame) -> pd.DataFrame:
    """Task images per class and outcome, and how often the network is right (TP)."""
    c = tasks.groupby(["task_class", "outcome"]).size().unstack(fill_value=0)
    c = c.reindex(columns=list(ERROR_OUTCOMES), fill_value=0)
    c["network right"] = tasks.groupby("task_class")["network_right"].sum()
    return c


# ------------------------------------------------------------------------------------- the whole run
@dataclass
class Materials:
    """Everything the chapter and the screens need from one run (see :func:`materials`)."""

    plan: Plan
    data: dict
    model: torch.nn.Module
    history: pd.DataFrame
    out: dict
    thresholds: np.ndarray
    table: pd.DataFrame
    tasks: pd.DataFrame
    examples: pd.DataFrame
    example_maps: torch.Tensor

    @property
    def classes(self) -> tuple[str, ...]:
        return classes(self.plan)


def materials(p: Plan | None = None) -> Materials:
    """Steps 1-6 through the cache: data, model, scores, thresholds, task images, nearest examples and
    their LRP maps (for the task class)."""
    from . import explanations as ex

    p = p or plan()
    data = splits(p)
    model, history = classifier(p, data)
    out = scores(p, data, model)
    thr = thresholds(data, out)
    table = outcome_table(p, data, out, thr)
    tasks = task_images(p, table)
    chosen = ex.examples(p, data, out, thr, tasks, "nearest")
    uniq = chosen[["bank", "task_class"]].drop_duplicates().reset_index(drop=True)
    maps = ex.cached_maps(p, data, model, "train", uniq["bank"], [class_index(p, c) for c in uniq["task_class"]],
                          "6 LRP maps of the examples")
    pos = {(b, c): i for i, (b, c) in enumerate(zip(uniq["bank"], uniq["task_class"]))}
    chosen["map"] = [pos[(b, c)] for b, c in zip(chosen["bank"], chosen["task_class"])]
    return Materials(p, data, model, history, out, thr, table, tasks, chosen, maps)


def run_pipeline() -> pd.DataFrame:
    """Every step the chapter runs, at the current scale, through the cache; records the pipeline's
    ledger claims, writes the study's ledger and returns :func:`timings` (seconds per step)."""
    import tempfile

    from ... import ledger
    from . import claims, explanations as ex, screens

    m = materials()
    p, src = m.plan, data_source(m.plan.source)
    aps = ap_table(p, m.data, m.out)
    chosen = {s: (m.examples if s == "nearest" else ex.examples(p, m.data, m.out, m.thresholds, m.tasks, s))
              for s in ex.STRATEGIES}
    ex.selection_comparison(p, m.out, m.table, m.tasks, chosen)
    sample = ex.relevance_sample(p, m.table, src.context_class)
    maps = ex.cached_maps(p, m.data, m.model, "test", sample["image"], [class_index(p, c) for c in sample["class"]],
                          "7 LRP maps measured")
    meas = ex.relevance_measurements(p, m.data, sample, maps)
    with tempfile.TemporaryDirectory() as tmp:
        screens.trial_manifest(tmp)
    claims.record_ap(aps, p)
    claims.record_task_counts(m.tasks, p)
    claims.record_readings(ex.readings(meas, p.task_classes, src.context_class), p)
    ledger.table(STUDY)
    return timings()
