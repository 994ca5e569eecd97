"""Sixt et al. 2022: the analysis of a tidy trial table (study-kit answers, or simulated).

Each participant judged five attributes relevant or irrelevant (Sec. 5.2); Table 2 reports the
share of right judgements per condition, overall and per attribute, and the paper compares
conditions with Kruskal-Wallis on per-participant accuracy (Sec. 5). Needs the manifest's
``attribute`` column (read_studykit carries it over).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DataFormatError, ParameterError
from ...stats.tests import kruskal


def _test(trials: pd.DataFrame) -> pd.DataFrame:
    if "attribute" not in trials.columns:
        raise DataFormatError("trials lack the column 'attribute'; read study-kit files with read_studykit")
    t = trials[(trials["phase"] == "test") & trials["correct"].notna()]
    return t.assign(correct=t["correct"].astype(bool))


def attribute_accuracy(trials: pd.DataFrame) -> pd.DataFrame:
    """Table 2's layout: per condition, participants and accuracy (%) overall and per attribute."""
    t = _test(trials)
    overall = t.groupby("condition").agg(participants=("participant", "nunique"), overall=("correct", "mean"))
    per = t.pivot_table(index="condition", columns="attribute", values="correct", aggfunc="mean")
    out = overall.join(per)
    cols = [c for c in out.columns if c != "participants"]
    out[cols] = 100 * out[cols].astype(float)
    return out.reset_index()


def condition_test(trials: pd.DataFrame) -> pd.DataFrame:
    """Kruskal-Wallis H across conditions on per-participant accuracy (``note`` when untestable)."""
    t = _test(trials)
    per = t.groupby(["condition", "participant"])["correct"].mean()
    groups = [g.to_numpy() for _, g in per.groupby(level="condition") if len(g) >= 2]
    row = {"conditions": len(groups), "H": np.nan, "df": np.nan, "p": np.nan, "note": ""}
    try:
        r = kruskal(*groups)
        row.update(H=r.statistic, df=r.df, p=r.pvalue)
    except ParameterError as e:
        row["note"] = str(e).split(";")[0]
    return pd.DataFrame([row])


def summary(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The chapter's tables for these trials."""
    return {"accuracy by condition and attribute (%)": attribute_accuracy(trials),
            "conditions compared (Kruskal-Wallis)": condition_test(trials)}
