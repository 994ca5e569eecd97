"""Im et al. 2023: the rebuilt pipeline (steps 1-2: data, paired models, their accuracy and agreement).

Only a summary of the paper is public, so every size below is our choice (:mod:`.choices` says
why); the steps that make the tasks and measure them are in :mod:`.tasks`, the stimuli in
:mod:`.screens`. Every expensive step is cached (:mod:`xaibook.cache`) and timed
(:func:`xaibook.runs.timed`); sizes come from the scale's :class:`Plan`. :func:`run_pipeline`
runs every step the chapter runs and returns the timings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from ... import config, runs
from ...cache import digest
from ...errors import ParameterError
from ...models.paired import Pair, train_pair_cached
from . import data as task
from .published import STUDY

METHODS = ("SmoothGrad", "GradCAM", "oracle")


def timings(reset: bool = False) -> pd.DataFrame:
    """The steps in the order they ran: cold-cache and this process's seconds."""
    return runs.timings(STUDY, reset=reset)


@dataclass(frozen=True)
class Plan(runs.Plan):
    """Sizes of one run, by scale. The summary gives none of them (``PAPER`` says so)."""

    PAPER: ClassVar[dict[str, Any]] = {
        "source": "Visual Genome", "image_size": "not reported", "train_images": "not reported",
        "pairs": "not reported (one pair per selection item is our reading)", "arch": "not reported",
        "selection_images": "not reported", "counterfactual_items": "not reported",
        "smoothgrad_samples": "not reported", "blur_sigmas": "not reported"}

    scale: str
    source: str
    image_size: int
    train_images: int
    test_images: int
    p_car: float
    p_beside: float
    pairs: int
    confuser: str
    widths: tuple
    epochs: int
    batch_size: int
    lr: float
    selection_images: int
    training_examples: int
    counterfactual_items: int
    mask_mass_images: int
    smoothgrad_samples: int
    smoothgrad_noise: float
    oracle_blur: float
    blur_sigmas: tuple
    seed: int = 0

    def describe(self) -> str:
        return (f"scale {self.scale}, {self.source}: {self.train_images} training and {self.test_images} test images "
                f"at {self.image_size} px, {self.pairs} model pairs (a VGG-style net of widths "
                f"{'/'.join(map(str, self.widths))}, {self.epochs} epochs)")


def data_source() -> str:
    """``visual_genome`` when ``<XAIBOOK_DATA>/visual_genome`` holds the data, else ``scenes``."""
    return "visual_genome" if task.vg_available() else "scenes"


def plan(source: str | None = None, scale: str | None = None) -> Plan:
    """The run's :class:`Plan` (``source`` default :func:`data_source`, ``scale`` default the current one)."""
    s = config.Scale(scale) if scale else config.scale()
    source = source or data_source()
    if source not in task.SOURCES:
        raise ParameterError(f"source={source!r}; use one of {task.SOURCES}")
    side = s.pick(*task.SOURCE_SIDES[source])
    sig = tuple(round(v * side / 48, 2) for v in (0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.3))
    return Plan(scale=s.name, source=source, image_size=side,
                train_images=s.pick(160, 1000, 6000), test_images=s.pick(96, 400, 2000),
                p_car=0.35, p_beside=0.3, pairs=s.pick(2, 5, 11), confuser=task.CONFUSER,
                widths=s.pick((8, 16, 32), (16, 32, 64), (32, 64, 128, 256)), epochs=s.pick(4, 6, 10),
                batch_size=64, lr=s.pick(3e-3, 2e-3, 1e-3),
                selection_images=s.pick(4, 8, 8), training_examples=s.pick(2, 4, 8),
                counterfactual_items=s.pick(6, 16, 40), mask_mass_images=s.pick(6, 40, 200),
                smoothgrad_samples=s.pick(8, 25, 50), smoothgrad_noise=0.15, oracle_blur=0.03, blur_sigmas=sig)


# ------------------------------------------------------------------------------------ step 1: data
def split(name: str, p: Plan | None = None) -> task.TaskData:
    """Step 1: the ``train`` or ``test`` split at the plan's sizes (rendered or read once, cached)."""
    p = p or plan()
    n = p.train_images if name == "train" else p.test_images
    key = {"source": p.source, "split": name, "n": n, "size": p.image_size, "p_car": p.p_car,
           "p_beside": p.p_beside, "seed": p.seed, "cache": str(config.cache_root())}
    memo = digest(key)
    if memo not in _SPLITS:  # read from the artifact cache once per process
        _SPLITS[memo] = runs.timed(STUDY, f"1 data ({name})", key, lambda: task.task_data(
            p.source, name, n, p.image_size, p.p_car, p.p_beside, p.seed))
    return _SPLITS[memo]


_SPLITS: dict[str, task.TaskData] = {}


# ---------------------------------------------------------------------------- step 2: paired models
def build_model(p: Plan) -> torch.nn.Module:
    """The classifier both models of a pair share: a small VGG-style net with two logits."""
    from ...models.classifiers import small_vgg

    return small_vgg(2, widths=p.widths)


def model_pair(seed: int = 0, confuser: str = task.CONFUSER, p: Plan | None = None) -> Pair:
    """One baseline/mislabeled pair (``first``: baseline, ``second``: mislabeled), cached.

    Both models start from the same weights (built after seeding with ``seed``) and see the same
    training images in the same order (:func:`xaibook.models.paired.train_pair_cached`); the
    mislabeled one learns ``confuser``-only images as positive. Reusable: the simulated
    participants call it for many pairs (other seeds and confusers).
    """
    p = p or plan()
    train = split("train", p)
    task.require_only(train, confuser, 1, "train_images or p_car (the share of car scenes among the negatives)"
                      if confuser == task.CONFUSER else "train_images")
    params = {"source": p.source, "n": p.train_images, "size": p.image_size, "p_car": p.p_car,
              "p_beside": p.p_beside, "data_seed": p.seed, "widths": list(p.widths), "confuser": confuser}
    return train_pair_cached(
        "im2023.pair", params, lambda: build_model(p), lambda: train.images,
        lambda: task.labels(train, False), lambda: task.labels(train, True, confuser), seed=seed,
        epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, augment={"flip": True}, desc=f"pair {seed}")


def model_pairs(p: Plan | None = None) -> list[Pair]:
    """Step 2: the plan's pairs, seeds ``0..pairs-1`` (pair 0 is the practice pair of the selection task)."""
    from ...progress import bar

    p = p or plan()
    return runs.timed(STUDY, "2 paired models", {"pairs": p.pairs, **sizes(p)}, lambda: [
        model_pair(seed, p.confuser, p) for seed in bar(range(p.pairs), desc="model pairs", unit="pair")])


#: The pair whose two models the counterfactual task shows, and whose calibrated blur every map uses.
TASK2_PAIR = 1


def task2_pair(pairs: list[Pair]) -> Pair:
    """The pair of task 2 (:data:`TASK2_PAIR`, or the last one when there are fewer)."""
    return pairs[min(TASK2_PAIR, len(pairs) - 1)]


def margins(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``[N]`` the model's evidence for "bus or train": logit(positive) - logit(negative) (cached)."""
    from ... import cache
    from ...cache import digest
    from ...models.inference import predict
    from ...models.paired import weights_digest

    def compute() -> torch.Tensor:
        x = images.float() / 255 if images.dtype == torch.uint8 else images
        logits = predict(model, x, batch_size=256, device=config.device())
        return logits[:, 1] - logits[:, 0]

    return cache.cached("im2023.margins", {"model": weights_digest(model), "images": digest(images)}, compute)


def evaluate(pairs: list[Pair], test: task.TaskData, confuser: str = task.CONFUSER) -> pd.DataFrame:
    """Per pair: clean test accuracy of each model, and the share of test images both answer alike.

    Clean means the true labels (bus or train). ``car_only_*`` restricts to the ``confuser``-only
    images: the share each model calls positive, and the pair's agreement there.
    """
    y = task.labels(test, False).numpy()
    only = np.zeros(len(test), bool)
    only[test.only(confuser)] = True
    rows = []
    for i, pr in enumerate(pairs):
        a = (margins(pr.first, test.images) > 0).numpy()
        b = (margins(pr.second, test.images) > 0).numpy()
        rows.append({"pair": i, "accuracy_baseline": float((a == y).mean()), "accuracy_mislabeled": float((b == y).mean()),
                     "agreement": float((a == b).mean()),
                     "agreement_car_only": float((a == b)[only].mean()) if only.any() else float("nan"),
                     "car_only_positive_baseline": float(a[only].mean()) if only.any() else float("nan"),
                     "car_only_positive_mislabeled": float(b[only].mean()) if only.any() else float("nan"),
                     "agreement_other": float((a == b)[~only].mean())})
    return pd.DataFrame(rows)


def model_table(p: Plan | None = None) -> pd.DataFrame:
    """Step 2's measurements for the plan's pairs (cached through the models)."""
    p = p or plan()
    pairs = model_pairs(p)
    test = split("test", p)
    return runs.timed(STUDY, "2 accuracy and agreement", {"pairs": p.pairs, **sizes(p)},
                      lambda: evaluate(pairs, test, p.confuser))


def sizes(p: Plan) -> dict:
    """The plan's sizes without the scale's name (a timing key)."""
    return {k: v for k, v in p.sizes().items() if k not in ("scale",)}


# ------------------------------------------------------------------------------------- everything
def run_pipeline() -> pd.DataFrame:
    """Every ``lib`` step the chapter runs, at ``config.scale()``, through the cache; records and
    writes the chapter's pipeline claims in the ledger; returns :func:`timings`."""
    import tempfile

    from ... import ledger
    from ...stimuli import load_manifest
    from . import claims, screens, tasks

    p = plan()
    table = model_table(p)
    pairs = model_pairs(p)
    train, test = split("train", p), split("test", p)
    cal = tasks.calibration(task2_pair(pairs), test, p)
    tasks.flip_table(task2_pair(pairs), test, p)
    cf = tasks.counterfactual_items(task2_pair(pairs), test, p)
    items = tasks.selection_items(pairs, train, p)
    mass = tasks.mask_mass(pairs, test, p)
    with tempfile.TemporaryDirectory() as out:
        shown = load_manifest(screens.trial_manifest(out, p))
    claims.record_all(p, train, table, cal, cf, items, mass, shown)
    ledger.write(STUDY)
    return timings()
