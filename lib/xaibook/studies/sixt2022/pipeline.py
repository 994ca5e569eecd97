"""Sixt et al. 2022: the study's pipeline rebuilt on the offline world (Sec. 3-5, App. A).

Steps, in the chapter's order: the biased Two4Two splits, the INN (:mod:`xaibook.models.glow`),
ground-truth importance (Tables 1/3), the baseline grid, INN counterfactuals, concepts, the
observer and the counterfactual interpolations it reads (Table 6). Every expensive step is cached
(:mod:`xaibook.cache`), takes its sizes from the scale's :class:`SixtPlan` and is timed with
:func:`xaibook.runs.timed`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ... import runs
from ...errors import ParameterError
from .published import PAPER_NAMES_ORDER, STUDY, paper_setting, published_importance, study_code

TABLE1_FACTORS = ("arm_position", "obj_color", "spherical", "bg_color", "obj_rotation_yaw", "bending")
"""The six factors of Table 1 (Table 3 adds pitch, roll and the two positions)."""


COLUMNS = ("very certain Peeky", "certain Peeky", "unsure", "certain Stretchy", "very certain Stretchy")
"""The five logit columns of the baseline grid (Sec. 4; Fig. 1a)."""


_SPLIT_SEEDS = {"train": 1, "test": 2}


@dataclass(frozen=True)
class SixtPlan(runs.Plan):
    """Sizes of one run at a scale (:func:`plan`): data splits, importance, observer, grids, concepts.

    The INN's own sizes (image side, depth, epochs) come from :func:`xaibook.models.glow_training.default_settings`;
    ``image_size`` here is the same. ``PAPER`` holds the study's settings where the paper (or its released
    code) gives them, read from ``data/published``.
    """

    n_train: int
    n_test: int
    supersample: int
    importance_n: int
    importance_factors: tuple
    importance_seeds: tuple
    observer_train: int
    observer_test: int
    observer_epochs: int
    observer_width: float
    observer_lr: float
    observer_batch: int
    grid_rows: int
    n_interpolations: int
    interpolation_steps: int
    concept_images: int
    gallery_per_class: int
    scale: str
    image_size: int

    @property
    def PAPER(self) -> dict[str, Any]:  # noqa: N802 (the runs.Plan name)
        factors = published_importance()["factor"]
        return {"n_train": f"{study_code('train_images'):,} (released study code)",
                "n_test": f"{study_code('test_images'):,} (released study code)",
                "image_size": study_code("image_side"),
                "importance_factors": f"{len(factors)} factors (Table 3)",
                "importance_n": "not reported", "observer_train": "not reported",
                "n_interpolations": "not reported",
                "grid_rows": f"{paper_setting('grid_rows'):.0f} (Sec. 4)",
                "concept_images": "test images (number not reported)"}


_SIZES = dict(
    smoke=dict(n_train=128, n_test=64, supersample=1, importance_n=12, importance_factors=TABLE1_FACTORS,
               importance_seeds=(0,), observer_train=64, observer_test=32, observer_epochs=2,
               observer_width=0.5, observer_lr=4e-3, observer_batch=32, grid_rows=2, n_interpolations=4,
               interpolation_steps=5, concept_images=64, gallery_per_class=3),
    default=dict(n_train=6000, n_test=1000, supersample=2, importance_n=300, importance_factors=TABLE1_FACTORS,
                 importance_seeds=(0, 1), observer_train=4000, observer_test=500, observer_epochs=6,
                 observer_width=1.0, observer_lr=4e-3, observer_batch=32, grid_rows=10, n_interpolations=30,
                 interpolation_steps=9, concept_images=500, gallery_per_class=6),
    paper=dict(n_train=20000, n_test=5000, supersample=2, importance_n=1000,
               importance_factors=tuple(PAPER_NAMES_ORDER), importance_seeds=(0, 1), observer_train=20000,
               observer_test=2000, observer_epochs=20, observer_width=1.0, observer_lr=2e-3, observer_batch=64,
               grid_rows=10, n_interpolations=100, interpolation_steps=11, concept_images=5000,
               gallery_per_class=6),
)


def plan(scale: "str | None" = None) -> SixtPlan:
    """The sizes of a run at ``scale`` (``smoke``, ``default``, ``paper``; the current scale by default)."""
    from ... import config
    from ...models.glow_training import default_settings

    sc = config.Scale(scale) if scale else config.scale()
    picked = sc.pick(**_SIZES)
    return SixtPlan(**picked, scale=sc.name, image_size=default_settings(sc)["model"]["image_size"])


def sizes(scale: "str | None" = None) -> dict:
    """The plan of ``scale`` as a plain dict (see :func:`plan`)."""
    return plan(scale).sizes()


def _only(p: SixtPlan, *names: str) -> dict:
    """The sizes one step depends on (its cache and timing key)."""
    return {n: getattr(p, n) for n in names}


def timings() -> pd.DataFrame:
    """Wall time of each computed step: at its first run (cold cache) and in this process (short when it was
    cached). Steps run in the order listed; none includes another."""
    return runs.timings(STUDY)


# ----------------------------------------------------------------------------------------- dataset
def dataset_params(split: str) -> list:
    """The scenes of a split of the study's biased data set at the current scale (``train`` or ``test``)."""
    from ...world import two4two

    if split not in _SPLIT_SEEDS:
        raise ParameterError(f"split must be 'train' or 'test', got {split!r}")
    s = plan()
    return two4two.sample(s.n_train if split == "train" else s.n_test, sampler="biased",
                          seed=_SPLIT_SEEDS[split])


def dataset_images(split: str):
    """``(params, images uint8 [N,3,S,S], labels [N])`` of a split, rendered at the model's image side (cached)."""
    import torch

    from ...world.importance import render_cached

    s = plan()
    params = dataset_params(split)
    images = runs.timed(STUDY, f"render {split} set ({len(params)} images, {s.image_size} px)",
                        {"split": split, "n": len(params), **_only(s, "image_size", "supersample")},
                        lambda: render_cached(params, size=s.image_size, supersample=s.supersample,
                                              desc=f"render {split} set"))
    labels = torch.tensor([p.target for p in params])
    return params, images, labels


# ------------------------------------------------------------------------------------------- model
class _Pause(Exception):
    """Stops a training run after an epoch (its checkpoint is stored; the next call resumes)."""


def _model_key(s: SixtPlan) -> dict:
    return {"study": "sixt2022", "sampler": "biased", "split": "train", "n": s.n_train, "seed": _SPLIT_SEEDS["train"],
            "size": s.image_size, "supersample": s.supersample}


def trained_model():
    """The invertible classifier (:mod:`xaibook.models.glow`) trained on the biased training split (cached;
    resumes a training paused by :func:`train_model`).

    Returns ``(model, history)``.
    """
    from ... import config
    from ...models.glow_training import default_settings, trained_glow_classifier

    s = plan()
    _, train_images, train_labels = dataset_images("train")
    key = _model_key(s)
    model, history = runs.timed(STUDY, "INN training", {**key, "settings": default_settings()},
                                lambda: trained_glow_classifier(key, lambda: (train_images, train_labels)))
    return model.to(config.device()).eval(), history


def train_model(until_epoch: int) -> str:
    """Train the INN up to epoch ``until_epoch`` of its scale's epochs, then pause (App. A.2).

    The per-epoch checkpoint stays in the cache; the next call (or :func:`trained_model`) resumes from
    it and ends with the weights of one uninterrupted run, so the chapter can spread the training over
    cells of a few minutes. Returns a note.
    """
    from ...models.glow_training import default_settings, trained_glow_classifier

    settings = default_settings()
    epochs = settings["epochs"]
    if not isinstance(until_epoch, (int, np.integer)) or not 1 <= until_epoch <= epochs:
        raise ParameterError(f"until_epoch={until_epoch!r} must be an epoch in 1..{epochs} (the scale's INN epochs)")
    s = plan()
    key = _model_key(s)

    def pause(epoch: int, history: dict) -> None:
        if until_epoch <= epoch < epochs:
            raise _Pause(epoch, history)

    def run() -> str:
        _, images, labels = dataset_images("train")
        try:
            trained_glow_classifier(key, lambda: (images, labels), on_epoch=pause)
        except _Pause as stop:
            epoch, history = stop.args
            return (f"trained {epoch} of {epochs} epochs (training accuracy {history['accuracy'][-1]:.3f}); "
                    "the next call resumes from the checkpoint")
        return f"the INN is trained ({epochs} epochs)"

    return runs.timed(STUDY, f"INN training, to epoch {until_epoch} of {epochs}",
                      {**key, "settings": settings, "until": until_epoch}, run)


def test_logits(model):
    """The model's logits on the test split (cached under the model's weights)."""
    from ... import cache
    from ...world.importance import model_fingerprint, predict_logits

    _, images, _ = dataset_images("test")
    key = {"model": model_fingerprint(model), "n": len(images), **_only(plan(), "image_size", "supersample")}
    return runs.timed(STUDY, "test-set logits", key, lambda: cache.cached(
        "sixt2022_test_logits", key, lambda: predict_logits(model, images.float() / 255)))


def test_accuracy(logits, labels) -> float:
    """Percentage of test images whose logit sign matches the label (Stretchy = 1)."""
    return 100 * float(((logits > 0).long() == labels).float().mean())


# -------------------------------------------------------------------------------------- importance
def importance(model):
    """Ground-truth importance of the model (Tables 1/3) on the first test scenes, per intervention seed.

    Returns an :class:`xaibook.world.importance.Importance` whose table has one row per factor and seed.
    """
    from ...world import importance as imp

    s = plan()
    params = dataset_params("test")[: s.importance_n]
    base = test_logits(model)[: s.importance_n]
    fn = imp.render_images(size=s.image_size, supersample=s.supersample)
    results = []
    for seed in s.importance_seeds:
        step = f"importance (seed {seed}, {len(s.importance_factors)} factors x {len(params)} scenes)"
        key = {"model": imp.model_fingerprint(model), "seed": seed,
               **_only(s, "importance_n", "importance_factors", "image_size", "supersample")}
        results.append(runs.timed(STUDY, step, key, lambda seed=seed: imp.ground_truth_importance(
            model, params, s.importance_factors, images_fn=fn, seed=seed, base_logits=base)))
    table = pd.concat([r.table for r in results], ignore_index=True)
    samples = pd.concat([r.samples.assign(seed=sd) for r, sd in zip(results, s.importance_seeds)],
                        ignore_index=True)
    return imp.Importance(table=table, samples=samples)


# ---------------------------------------------------------------------------- explanation conditions
def logit_edges(logits, trim: float = 0.01) -> np.ndarray:
    """Edges of the five baseline columns: the logit range (from the ``trim`` to the ``1 - trim``
    quantile of the test logits, so that one outlier does not empty the middle) cut into five equal
    parts, each 20 % of the range (Sec. 4). Logits outside the range fall into the end columns."""
    v = np.asarray(logits, dtype=np.float64)
    lo, hi = np.quantile(v, trim), np.quantile(v, 1 - trim)
    if not hi > lo:
        raise ParameterError("the test logits are (nearly) constant; the model has not learned anything to show")
    return np.linspace(lo, hi, len(COLUMNS) + 1)


def baseline_grid(logits, rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """The baseline condition (Sec. 4, Fig. 1a): real test images in five logit columns, ``rows`` per column.

    Returns one row per cell: ``column`` (0-4), ``column_name``, ``row``, ``index`` (into the test set)
    and ``logit``; a column with fewer images than ``rows`` leaves its last cells empty.
    """
    rows = rows or plan().grid_rows
    v = np.asarray(logits, dtype=np.float64)
    edges = logit_edges(v)
    col = np.clip(np.digitize(v, edges[1:-1]), 0, len(COLUMNS) - 1)
    rng = np.random.default_rng(seed)
    cells = []
    for c in range(len(COLUMNS)):
        members = np.flatnonzero(col == c)
        pick = rng.choice(members, size=min(rows, len(members)), replace=False) if len(members) else []
        pick = sorted(pick, key=lambda i: v[i])
        for r, i in enumerate(pick):
            cells.append({"column": c, "column_name": COLUMNS[c], "row": r, "index": int(i), "logit": float(v[i]),
                          "column_low": edges[c], "column_high": edges[c + 1], "column_size": len(members)})
    return pd.DataFrame(cells)


def column_targets(logits) -> np.ndarray:
    """Target logits of the counterfactual columns: the centres of the five baseline columns."""
    e = logit_edges(logits)
    return (e[:-1] + e[1:]) / 2


CF_TOLERANCE = 0.1
"""A counterfactual counts as exact when, classified again (before clipping for display), it is finite
and its logit lies within this distance of its target; the others are numerical failures of the inverse."""


def _exact(cf, achieved, targets):
    import torch

    finite = torch.isfinite(cf).flatten(2).all(-1)
    t = torch.as_tensor(np.asarray(targets), dtype=achieved.dtype)
    return finite & torch.isfinite(achieved) & ((achieved - t).abs() <= CF_TOLERANCE)


def counterfactual_grid(model, images, logits, rows: int | None = None, seed: int = 1):
    """The INN condition (Sec. 4, Fig. 1b): one row per real start image (not shown), moved to the
    centre logit of each baseline column and inverted. Returns ``(counterfactuals [R,5,3,H,W] clipped to
    [0,1], start indices [R], targets [5], achieved logits [R,5], exact [R,5])`` (cached); ``exact`` marks
    the cells whose inverse is numerically exact (:data:`CF_TOLERANCE`)."""
    import torch

    from ... import cache
    from ...explain.counterfactual import counterfactual
    from ...world.importance import model_fingerprint, predict_logits

    rows = rows or plan().grid_rows
    targets = column_targets(logits)
    rng = np.random.default_rng(seed)
    start = np.sort(rng.choice(len(images), size=min(rows, len(images)), replace=False))

    def compute():
        cf = counterfactual(model, images[start].float() / 255, torch.tensor(targets, dtype=torch.float32)).cpu()
        achieved = predict_logits(model, cf.reshape(-1, *cf.shape[2:])).reshape(cf.shape[:2])
        return {"cf": cf.clamp(0, 1), "achieved": achieved, "exact": _exact(cf, achieved, targets)}

    key = {"model": model_fingerprint(model), "start": start, "targets": targets}
    out = runs.timed(STUDY, "counterfactual grid", key,
                     lambda: cache.cached("sixt2022_counterfactual_grid", key, compute))
    return out["cf"], start, targets, out["achieved"], out["exact"]


def concept_layer(model) -> str:
    """The layer the concepts factorise: the middle affine coupling of the level whose output is 8x8
    (the paper: layer 342 of 641, an affine coupling layer at 8x8, Sec. 4 and App. A.2)."""
    side = model.config["image_size"]
    for i, steps in enumerate(model.config["steps_per_level"]):
        if side // 2 ** (i + 1) == 8:
            if i + 1 > model.classifier_level:
                break
            return f"levels.{i}.steps.{(steps - 1) // 2}.coupling"
    raise ParameterError(f"the model has no 8x8 level at or before its classifier (image side {side}); "
                         "pass a layer name to explain.concepts.discover_concepts directly")


def concepts(model, images, logits):
    """The concepts condition (Sec. 4, Fig. 1c): PCA of the 8x8 coupling layer's activations over the test
    images with the paper's numbers of components, kept components (the most correlated with the logit) and
    exemplars per component (cached)."""
    from ... import cache
    from ...explain.concepts import discover_concepts
    from ...world.importance import model_fingerprint

    n = min(plan().concept_images, len(images))
    layer = concept_layer(model)
    key = {"model": model_fingerprint(model), "n": n, "layer": layer}
    settings = {arg: int(paper_setting(f"concept_{q}")) for arg, q in
                (("n_components", "components"), ("keep", "kept"), ("n_exemplars", "exemplars"))}
    return runs.timed(STUDY, "concepts", key, lambda: cache.cached(
        "sixt2022_concepts", key, lambda: discover_concepts(model, layer, images[:n], logits[:n], **settings),
        fmt="pkl"))


# ----------------------------------------------------------------------------------------- observer
_OBSERVER_SIZES = ("observer_train", "observer_test", "image_size", "supersample", "observer_epochs",
                   "observer_width", "observer_lr", "observer_batch")


def observer_data() -> str:
    """Render the observer's unbiased training and test sets (cached; the first part of :func:`observer`).
    Returns a note."""
    from ...world.observer import observer_data as render

    s = plan()
    step = f"observer data ({s.observer_train} + {s.observer_test} images, {s.image_size} px)"
    train_p, _, test_p, _ = runs.timed(STUDY, step, _only(s, "observer_train", "observer_test", "image_size",
                                                          "supersample"),
                                       lambda: render(s.observer_train, s.observer_test, size=s.image_size,
                                                      supersample=s.supersample))
    return f"rendered {len(train_p)} training and {len(test_p)} test images of the unbiased sampler"


def _trained_observer(s: SixtPlan, on_epoch=None):
    from ...world.observer import trained_observer

    return trained_observer(s.observer_train, s.observer_test, size=s.image_size, supersample=s.supersample,
                            epochs=s.observer_epochs, width_mult=s.observer_width, lr=s.observer_lr,
                            batch_size=s.observer_batch, on_epoch=on_epoch)


def train_observer(until_epoch: int) -> str:
    """Train the observer up to epoch ``until_epoch`` of the plan's ``observer_epochs``, then pause (Sec. 5.3).

    As :func:`train_model`: the next call (or :func:`observer`) resumes from the checkpoint with the
    weights of one uninterrupted run. Returns a note.
    """
    s = plan()
    epochs = s.observer_epochs
    if not isinstance(until_epoch, (int, np.integer)) or not 1 <= until_epoch <= epochs:
        raise ParameterError(f"until_epoch={until_epoch!r} must be an epoch in 1..{epochs} (the plan's observer_epochs)")

    def pause(epoch: int, history: dict) -> None:
        if until_epoch <= epoch < epochs:
            raise _Pause(epoch, history)

    def run() -> str:
        try:
            _trained_observer(s, on_epoch=pause)
        except _Pause as stop:
            epoch, history = stop.args
            return (f"trained the observer {epoch} of {epochs} epochs (training MSE {history['loss'][-1]:.4f}); "
                    "the next call resumes from the checkpoint")
        return f"the observer is trained ({epochs} epochs)"

    return runs.timed(STUDY, f"observer training, to epoch {until_epoch} of {epochs}",
                      {**_only(s, *_OBSERVER_SIZES), "until": until_epoch}, run)


def observer():
    """The observer MobileNetV2 trained on unbiased Two4Two at the current scale (cached; resumes a training
    paused by :func:`train_observer`): ``(model, info)``."""
    s = plan()
    return runs.timed(STUDY, "observer (render + train what is left)", _only(s, *_OBSERVER_SIZES), lambda: _trained_observer(s))


def interpolations(model, obs, images, logits, seed: int = 2) -> dict:
    """Counterfactual interpolations spanning 99 % of the test logits (0.5 to 99.5 % quantile), read by the
    observer (Sec. 5.3, Fig. 5/6, Table 6). Returns ``readings [B,T,F]`` (observer units), ``targets [T]``,
    ``achieved`` logits ``[B,T]``, the start indices, ``n_attempted`` and ``n_exact`` (cached). Only
    interpolations whose every frame is numerically exact (:data:`CF_TOLERANCE`) are kept."""
    import torch

    from ... import cache
    from ...explain.counterfactual import counterfactual
    from ...world.importance import model_fingerprint, predict_logits
    from ...world.observer import measure_factors

    s = plan()
    v = np.asarray(logits, dtype=np.float64)
    targets = np.linspace(np.quantile(v, 0.005), np.quantile(v, 0.995), s.interpolation_steps)
    rng = np.random.default_rng(seed)
    start = np.sort(rng.choice(len(images), size=min(s.n_interpolations, len(images)), replace=False))

    def compute():
        readings, achieved, exact = [], [], []
        for b in range(0, len(start), 10):
            cf = counterfactual(model, images[start[b:b + 10]].float() / 255,
                                torch.tensor(targets, dtype=torch.float32)).cpu()
            ach = predict_logits(model, cf.reshape(-1, *cf.shape[2:])).reshape(cf.shape[:2])
            ok = _exact(cf, ach, targets).all(1)
            readings.append(measure_factors(obs, torch.nan_to_num(cf).clamp(0, 1)))
            achieved.append(ach)
            exact.append(ok)
        ok = torch.cat(exact)
        return {"readings": torch.cat(readings)[ok], "achieved": torch.cat(achieved)[ok], "targets": targets,
                "start": start[ok.numpy()], "n_attempted": len(start), "n_exact": int(ok.sum())}

    key = {"model": model_fingerprint(model), "observer": model_fingerprint(obs), "start": start, "targets": targets}
    return runs.timed(STUDY, "observer on interpolations", key,
                      lambda: cache.cached("sixt2022_interpolations", key, compute))


# ------------------------------------------------------------------------------------ everything
def run_pipeline() -> pd.DataFrame:
    """Every ``lib`` step of chapter 5 at ``config.scale()`` (on ``config.device()``), through the cache, in the
    chapter's order; records the chapter's ledger claims in its order (the rebuilt steps' and the
    reanalyses of the published numbers), writes the study's ledger CSV and returns :func:`timings`."""
    from ... import ledger
    from . import compare, published

    dataset_images("train")
    model, _ = trained_model()
    _, images, labels = dataset_images("test")
    logits = test_logits(model)
    compare.record_model(model, logits, labels)
    compare.record_importance(importance(model))
    baseline_grid(logits)
    counterfactual_grid(model, images, logits)
    compare.record_concepts(concepts(model, images, logits))
    obs, info = observer()
    compare.record_observer(info)
    readings = interpolations(model, obs, images, logits)
    compare.record_interpolations(compare.observer_change_table(readings, info), readings)
    published.record_study2_tests_not_recomputable()
    published.record_mcnemar(published.study1_mcnemar_summary())
    published.record_attribute_tests(published.attribute_comparisons())
    published.record_table2()
    ledger.write(STUDY)
    return timings()
