"""Im et al. 2023: the analysis of a tidy trial table (study-kit answers, or simulated).

Two tasks per participant: model selection (which model learned from mislabelled data) and
counterfactual simulation (the model's answer on a blurred image). Accuracy is scored per
participant and task on the test screens and compared across the seven conditions with a
Kruskal-Wallis test (the paper reports no significant gain from any explanation). Needs the
manifest's ``task`` and ``explanation_method`` columns (read_studykit carries them over).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DataFormatError, ParameterError
from ...stats.tests import kruskal


def participant_accuracy(trials: pd.DataFrame) -> pd.DataFrame:
    """Per participant and task: condition, test screens answered and accuracy (%)."""
    if "task" not in trials.columns:
        raise DataFormatError("trials lack the column 'task'; read study-kit files with read_studykit")
    t = trials[(trials["phase"] == "test") & trials["correct"].notna()]
    t = t.assign(correct=t["correct"].astype(bool))
    out = t.groupby(["condition", "task", "participant"])["correct"].agg(screens="size", accuracy="mean").reset_index()
    out["accuracy"] = 100 * out["accuracy"]
    return out


def condition_accuracy(trials: pd.DataFrame) -> pd.DataFrame:
    """Per task and condition: participants, mean and SD of per-participant accuracy (%)."""
    p = participant_accuracy(trials)
    return p.groupby(["task", "condition"])["accuracy"].agg(participants="size", mean="mean", sd="std").reset_index()


def condition_tests(trials: pd.DataFrame) -> pd.DataFrame:
    """Per task: Kruskal-Wallis H across conditions on per-participant accuracy (``note`` when untestable)."""
    p = participant_accuracy(trials)
    rows = []
    for task, g in p.groupby("task"):
        groups = [x["accuracy"].to_numpy() for _, x in g.groupby("condition") if len(x) >= 2]
        row = {"task": task, "conditions": len(groups), "H": np.nan, "df": np.nan, "p": np.nan, "note": ""}
        try:
            r = kruskal(*groups)
            row.update(H=r.statistic, df=r.df, p=r.pvalue)
        except ParameterError as e:
            row["note"] = str(e).split(";")[0]
        rows.append(row)
    return pd.DataFrame(rows)


def summary(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The chapter's tables for these trials."""
    return {"accuracy by task and condition (%)": condition_accuracy(trials),
            "conditions compared (Kruskal-Wallis)": condition_tests(trials)}
