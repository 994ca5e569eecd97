"""Shen & Huang 2020: the guessing task (Method, Step 3) and how far label semantics alone get.

Each trial offers five labels: the wrong prediction and four distractors drawn from every class
except the gold label, in a seeded shuffled order (the HIT shuffled them client-side). A
``hard`` variant draws the distractors from the gold class's family (filled up with the gold
class's nearest classes in the classifier's class embedding where the family is too small).

:func:`guessability` is a baseline the paper could not separate from its No-Int accuracy: the
share of trials in which the wrong prediction is the option closest to the gold class in the
classifier's class-embedding space (cosine similarity of the last layer's weight rows). A
person who only knows what the gold label resembles would get these right without any map.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ... import ledger
from ...data import published
from ...data.sources import Classifier
from .categories import CATS
from .data import STUDY, class_embedding
from .pipeline import Plan

N_OPTIONS = int(published.ref("shen2020_design", "value", experiment="all", quantity="answer_options").value)
VARIANTS = ("random", "hard")


def similarity(clf: Classifier) -> np.ndarray:
    """Cosine similarity ``[C, C]`` between the classes' rows of the last linear layer."""
    w = class_embedding(clf.model).numpy().astype(np.float64)
    w = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    return w @ w.T


def _hard_pool(gold: int, pred: int, families: np.ndarray, sim: np.ndarray, rng) -> list[int]:
    fam = [int(c) for c in np.flatnonzero(families == families[gold]) if c not in (gold, pred)]
    picked = [int(c) for c in rng.permutation(fam)[:N_OPTIONS - 1]]
    for c in np.argsort(-sim[gold], kind="stable"):
        if len(picked) == N_OPTIONS - 1:
            break
        if int(c) not in (gold, pred, *picked):
            picked.append(int(c))
    return picked


def answer_options(clf: Classifier, trials: pd.DataFrame, families: np.ndarray, p: Plan) -> pd.DataFrame:
    """Five options per trial and variant, in shown order. One row per trial and variant:
    ``trial_id``, ``variant``, ``options`` (class indices), ``option_labels``, ``answer`` (the
    wrong prediction's label), ``answer_position`` (1-5), ``filled`` (hard distractors taken
    from the nearest classes because the family was too small)."""
    n_classes = len(clf.categories)
    sim = similarity(clf)
    rows = []
    for i, r in enumerate(trials.itertuples(index=False)):
        gold, pred = int(r.label), int(r.prediction)
        for v, variant in enumerate(VARIANTS):
            rng = np.random.default_rng([p.seed, int(r.experiment), i, v])
            if variant == "random":
                allowed = np.setdiff1d(np.arange(n_classes), [gold, pred])
                distract = [int(c) for c in rng.choice(allowed, N_OPTIONS - 1, replace=False)]
                filled = 0
            else:
                distract = _hard_pool(gold, pred, families, sim, rng)
                filled = int(sum(families[c] != families[gold] for c in distract))
            options = [int(c) for c in rng.permutation([pred] + distract)]
            rows.append({"trial_id": r.trial_id, "variant": variant, "options": options,
                         "option_labels": [clf.categories[c] for c in options], "answer": clf.categories[pred],
                         "answer_position": options.index(pred) + 1, "filled": filled})
    return pd.DataFrame(rows)


def guessability(clf: Classifier, trials: pd.DataFrame, options: pd.DataFrame) -> pd.DataFrame:
    """Per trial and variant: is the wrong prediction the option nearest the gold class?
    Columns of ``trials`` (experiment, group, category) plus ``variant``, ``guessable``."""
    sim = similarity(clf)
    t = trials.set_index("trial_id")
    rows = []
    for r in options.itertuples(index=False):
        gold, pred = int(t.loc[r.trial_id, "label"]), int(t.loc[r.trial_id, "prediction"])
        best = r.options[int(np.argmax([sim[gold, c] for c in r.options]))]
        rows.append({"trial_id": r.trial_id, "variant": r.variant, "guessable": best == pred})
    out = pd.DataFrame(rows).merge(trials[["trial_id", "experiment", "group", "category"]], on="trial_id")
    return out


def guessability_table(guess: pd.DataFrame) -> pd.DataFrame:
    """Share of guessable trials per variant and category (and overall), pooled over both experiments."""
    rows = []
    for variant, g in guess.groupby("variant", sort=False):
        for c, gc in list(g.groupby("category")) + [("Overall", g)]:
            rows.append({"variant": variant, "category": c, "trials": len(gc),
                         "guessable": float(gc["guessable"].mean())})
    out = pd.DataFrame(rows)
    out["chance"] = 1 / N_OPTIONS
    return out


def record_guessability(guess: pd.DataFrame, data: str) -> None:
    """Ledger: the guessable share among each experiment's No-Int trials (random distractors), beside
    the paper's No-Int accuracy: how much of what people got right label semantics alone explain."""
    g = guess[(guess["variant"] == "random") & (guess["group"] != "Int")]
    for exp in (1, 2):
        ge = g[g["experiment"] == exp]
        for c in CATS + ("Overall",):
            gc = ge if c == "Overall" else ge[ge["category"] == c]
            if c != "Overall" and not len(gc):
                continue
            ledger.record(STUDY, f"guessability.exp{exp}.{c}",
                          f"No-Int trials whose wrong label is the option nearest the gold class, experiment {exp}, "
                          f"{c} (share; the paper: No-Int accuracy)",
                          paper=published.ref("shen2020_accuracy", "accuracy", experiment=exp, condition="No-Int",
                                              category=c),
                          ours=float(gc["guessable"].mean()) if len(gc) else None, data=data, tolerance=0.1,
                          reason="a baseline from the classifier's class embedding, not people's accuracy: the part "
                                 "of the No-Int accuracy label semantics alone could explain",
                          why_not="no No-Int trial at this scale")
