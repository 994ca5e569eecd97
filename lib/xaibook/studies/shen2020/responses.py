"""Shen & Huang 2020: the analysis of a tidy trial table (human answers from the study kit, or simulated).

The paper scores each image by the share of workers who picked the model's wrong label, and compares
the Int (saliency maps) and No-Int conditions per error category: experiment 1 with an unpaired
t-test (different images per condition, Table 1), experiment 2 with a paired t-test (every image in
both conditions, Table 2). The table needs the manifest's ``experiment`` and ``category`` columns
(:func:`xaibook.data.responses.read_studykit` carries them over).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DataFormatError, ParameterError
from ...stats.tests import ttest_ind, ttest_rel

CONDITIONS = ("Int", "No-Int")
_NEEDED = ("experiment", "category", "condition", "stimulus", "correct", "phase")


def _test_trials(trials: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _NEEDED if c not in trials.columns]
    if missing:
        raise DataFormatError(f"trials lack {missing}; read study-kit files with read_studykit, which adds the "
                              "manifest's experiment and category columns")
    t = trials[(trials["phase"] == "test") & trials["correct"].notna()]
    return t.assign(correct=t["correct"].astype(bool), experiment=pd.to_numeric(t["experiment"]).astype(int))


def image_accuracy(trials: pd.DataFrame) -> pd.DataFrame:
    """Per experiment, condition, category and image: answers and the share that named the model's label."""
    t = _test_trials(trials)
    g = t.groupby(["experiment", "condition", "category", "stimulus"])["correct"]
    return g.agg(answers="size", accuracy="mean").reset_index()


def category_accuracy(trials: pd.DataFrame) -> pd.DataFrame:
    """Per experiment, condition and category (and ``all``): images, answers, mean per-image accuracy (%)."""
    img = image_accuracy(trials)
    both = pd.concat([img, img.assign(category="all")], ignore_index=True)
    out = both.groupby(["experiment", "condition", "category"]).agg(
        images=("stimulus", "nunique"), answers=("answers", "sum"), accuracy=("accuracy", "mean")).reset_index()
    out["accuracy"] = 100 * out["accuracy"]
    return out


def condition_tests(trials: pd.DataFrame) -> pd.DataFrame:
    """Int vs No-Int per experiment and category (and ``all``): experiment 1 unpaired, 2 paired t-test on
    per-image accuracy; ``note`` says why a row has no test (fewer than two images per side)."""
    img = image_accuracy(trials)
    img = pd.concat([img, img.assign(category="all")], ignore_index=True)
    rows = []
    for (exp, cat), g in img.groupby(["experiment", "category"]):
        a = g[g["condition"] == "Int"].set_index("stimulus")["accuracy"]
        b = g[g["condition"] == "No-Int"].set_index("stimulus")["accuracy"]
        row = {"experiment": exp, "category": cat, "test": "paired t" if exp == 2 else "unpaired t",
               "n_int": len(a), "n_no_int": len(b), "t": np.nan, "df": np.nan, "p": np.nan, "d": np.nan, "note": ""}
        try:
            if exp == 2:
                common = a.index.intersection(b.index)
                r = ttest_rel(a[common].to_numpy(), b[common].to_numpy())
            else:
                r = ttest_ind(a.to_numpy(), b.to_numpy())
            row.update(t=r.statistic, df=r.df, p=r.pvalue, d=r.effect)
        except ParameterError as e:
            row["note"] = str(e).split(";")[0]
        rows.append(row)
    return pd.DataFrame(rows)


def summary(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The chapter's tables for these trials: accuracy by category, and the Int vs No-Int tests."""
    return {"accuracy by experiment, condition and category (%)": category_accuracy(trials),
            "Int vs No-Int (t-tests on per-image accuracy)": condition_tests(trials)}
