"""Nguyen et al. 2021 as a simulated evaluation: accept or reject the AI's label, per condition (Sec. 2.3).

A trial shows an image, the AI's top-1 label and confidence, and in four of the five
conditions an explanation (GradCAM, EP, SOD or the 3 nearest training images, 3-NN). The
agent answers "accept" (the label is right) or "reject". Its trials are fresh zoo test images
(a pool drawn with another seed than the chapter's, minus any image of the chapter's pool),
half of them misclassified like the chapter's natural set; the maps come from the chapter's
own functions (:mod:`xaibook.studies.nguyen2021.explanations`) on the chapter's classifier.

The observation: the image (frozen features, :func:`.observe.pooled`), the AI's label as the
typical look of its class (the mean of the class's training images, pooled), the confidence,
and the condition's explanation (the map pooled with its map-weighted colour; the three
neighbours' mean, pooled). The AI-only rule (accept if confidence >= T, T fitted on the
training trials, Sec. 2.3 / A6) is scored on the same test trials.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .. import config
from ..errors import ParameterError
from .agents import Task
from .observe import map_channels, pooled

STUDY = "nguyen2021"
CONDITIONS = ("Confidence", "GradCAM", "EP", "SOD", "3-NN")
ANSWERS = ("reject", "accept")
SIZES = dict(smoke=dict(train=32, test=32, pool=640, sizes=(8, 32), seeds=(0, 1), ep_iterations=5),
             default=dict(train=80, test=48, pool=1280, sizes=(20, 40, 80), seeds=(0, 1, 2), ep_iterations=12),
             paper=dict(train=1000, test=250, pool=9600, sizes=(4, 16, 64, 100, 1000), seeds=(0, 1, 2),
                        ep_iterations=800))
"""Trials and training sizes per scale (SimEvals' sizes 4-1000, seeds 0-2 and 250 test items at paper)."""
POOL_SEED_OFFSET = 1000


def sizes() -> dict:
    """The simulation's sizes at the current scale."""
    return dict(SIZES[config.scale().name])


def _balanced(correct: np.ndarray, allowed: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` allowed pool positions, half the AI got right and half it got wrong (as the chapter's natural set)."""
    rng = np.random.default_rng([seed, 31])
    right, wrong = np.flatnonzero(correct & allowed), np.flatnonzero(~correct & allowed)
    k = min(n // 2, len(wrong), len(right))
    if k < 2:
        raise ParameterError(f"the fresh pool holds {len(right)} correct and {len(wrong)} wrong predictions; "
                             "it needs at least 2 of each (raise the pool size)")
    return np.concatenate([rng.choice(right, k, replace=False), rng.choice(wrong, k, replace=False)])


def _prototypes(bank, classes) -> dict:
    out = {}
    for c in classes:
        _, imgs = bank.images(int(c))
        out[int(c)] = pooled(imgs).mean(0) if len(imgs) else np.zeros(3 * 36, dtype=np.float32)
    return out


def observations(clf, trials, pool, p, protos) -> dict:
    """Per condition, ``[N, D]`` observations of a :class:`~xaibook.studies.nguyen2021.TrialSet`."""
    import torch

    from ..studies.nguyen2021 import explanations as ex

    maps = ex.explain_maps.__wrapped__(clf, trials, p)   # undecorated: the chapter's timings stay its own
    nbs, _, _, _ = ex._three_nn(clf, trials, pool, p)
    t = trials.table
    img = pooled(trials.images)
    label = np.stack([protos[int(c)] for c in t["prediction"]])
    conf = t["ai_confidence"].to_numpy(dtype=np.float32)[:, None]
    screen = np.concatenate([img, label, conf], axis=1)
    nn = np.stack([pooled(torch.stack(x)).mean(0) if x else np.zeros(img.shape[1], np.float32) for x in nbs])
    return {"Confidence": screen,
            **{m: np.concatenate([screen, map_channels(maps[m], trials.images)], axis=1) for m in ("GradCAM", "EP", "SOD")},
            "3-NN": np.concatenate([screen, nn], axis=1)}


def task() -> tuple[Task, pd.DataFrame]:
    """The Nguyen task at the current scale and the AI-only rule's accuracy on its test trials."""
    from ..data import sources
    from ..studies import nguyen2021 as ng

    s = sizes()
    p = ng.plan()
    p = dataclasses.replace(p, ep_iterations=min(p.ep_iterations, s["ep_iterations"]))
    clf = ng.classifier(p)
    src = sources.get(clf.source, STUDY)
    chapter = ng.image_pool(clf, "ImageNet", p)
    fresh = src.pool(clf, "ImageNet", n=s["pool"], image_size=p.image_size, seed=p.seed + POOL_SEED_OFFSET)
    unseen = ~np.isin(fresh.ids, chapter.ids)
    pick = _balanced(fresh.correct, unseen, s["train"] + s["test"], p.seed)
    rng = np.random.default_rng([p.seed, 32])
    pick = rng.permutation(pick)
    table = fresh.table().iloc[pick]
    natural = pd.DataFrame({"dataset": "ImageNet", "image_type": "natural", "pool_index": pick,
                            "source_id": table["source_id"].to_numpy(), "label": table["label"].to_numpy(),
                            "prediction": table["prediction"].to_numpy(),
                            "confidence": table["confidence"].to_numpy(dtype=float),
                            "ai_correct": table["correct"].to_numpy(), "bin": table["bin"].to_numpy(),
                            "difficulty": [str(b).split("_")[0].capitalize() for b in table["bin"]]})
    trials = ng.trial_set.__wrapped__(clf, fresh, natural)
    bank = src.bank(clf, fresh, set(), per_class=p.nn_bank_per_class, train_images=p.train_images,
                    image_size=p.image_size, seed=p.seed)
    obs = observations(clf, trials, fresh, p, _prototypes(bank, sorted(set(natural["prediction"]))))
    y = trials.table["ai_correct"].to_numpy().astype(np.int64)
    n_train = min(s["train"], len(y) * s["train"] // (s["train"] + s["test"]))
    tr, te = slice(0, n_train), slice(n_train, len(y))
    t = trials.table.iloc[te]
    meta = pd.DataFrame({"stimulus": t["trial_id"].to_numpy(), "truth": t["true_label"].to_numpy(),
                         "prediction": t["ai_label"].to_numpy(), "ai_correct": t["ai_correct"].to_numpy(),
                         "confidence": t["ai_confidence"].to_numpy(),
                         "group": np.where(t["ai_correct"], "AI correct", "AI wrong")})
    tsk = Task(STUDY, "accept or reject the AI's label", ANSWERS, CONDITIONS, {c: o[tr] for c, o in obs.items()},
               y[tr], {c: o[te] for c, o in obs.items()}, y[te], meta, n_features=pooled(trials.images[:1]).shape[1],
               data=f"simulated: agents on fresh {src.provenance(clf)} trials (EP {p.ep_iterations} iterations)",
               notes=[f"{len(y)} fresh trials ({n_train} to train on, {len(y) - n_train} held out), half misclassified; "
                      "none is in the chapter's image pool"])
    return tsk, ai_only(trials.table.iloc[tr], trials.table.iloc[te])


REFERENCE = "Confidence"
"""The condition the others are compared with (no explanation beyond the confidence, Sec. 2.3)."""


def human() -> pd.DataFrame:
    """People's accuracy per condition on ImageNet: lay users (Fig. 1b) and experts (Table 1)."""
    from ..studies.nguyen2021 import published_accuracy

    t = published_accuracy()
    t = t[t["dataset"] == "ImageNet"]
    return pd.DataFrame({"question": "accept or reject the AI's label", "condition": t["method"].to_numpy(),
                         "population": t["population"].to_numpy(), "accuracy": t["mean"].to_numpy() / 100,
                         "n": t["users"].to_numpy(),
                         "source": "published: Nguyen et al. 2021, " + t["source"].astype(str).to_numpy()})


def simulate(backend: str = "inprocess", workers: int = 2, address: str | None = None) -> tuple[list[Task], pd.DataFrame]:
    """The task and the AI-only rule's row (no base-model population: one classifier, as in the study)."""
    t, extra = task()
    return [t], extra.assign(question=t.question)


def ai_only(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """AI-only (Sec. 2.3, A6): accept if confidence >= T, T in 0.05 ... 0.95 chosen on ``train``; scored on ``test``."""
    ts = np.round(np.arange(0.05, 0.951, 0.05), 2)
    acc = lambda d, t: float(((d["ai_confidence"] >= t) == d["ai_correct"]).mean())  # noqa: E731
    best = max(ts, key=lambda t: (acc(train, t), -abs(t - 0.5)))
    return pd.DataFrame([{"condition": "AI-only threshold", "threshold": best, "accuracy": acc(test, best),
                          "n_test": len(test)}])
