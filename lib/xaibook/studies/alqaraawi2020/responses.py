"""Alqaraawi et al. 2020: the analysis of a tidy trial table (study-kit answers, or simulated).

Participants forecast the classifier's decision per image and rated their confidence (4 points).
Sec. 4 reports forecast accuracy per participant in a 2 x 2 between-subject design (saliency maps
yes/no x scores yes/no; two-way ANOVA), accuracy by the model's outcome (TP, FN, FP), the share
of "system right" forecasts, and confidence compared with Kruskal-Wallis. The factors come from
the condition's name (:data:`.screens.CONDITIONS`), the outcome from the manifest's ``outcome``
column (read_studykit carries it over); what a table lacks is left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import ParameterError
from ...stats.tests import anova_twoway, kruskal

FACTORS = ("saliency_maps", "scores")
CONFIDENCE = ("Not at all confident", "Slightly confident", "Fairly confident", "Very confident")


def _test(trials: pd.DataFrame) -> pd.DataFrame:
    from .screens import CONDITIONS

    t = trials[(trials["phase"] == "test") & trials["correct"].notna()]
    t = t.assign(correct=t["correct"].astype(bool))
    if not all(f in t.columns for f in FACTORS) and t["condition"].isin(list(CONDITIONS)).all():
        t = t.assign(**{f: [CONDITIONS[c][i] for c in t["condition"]] for i, f in enumerate(FACTORS)})
    return t


def participant_accuracy(trials: pd.DataFrame) -> pd.DataFrame:
    """Per participant: condition (and its factors), forecasts, accuracy (%), mean confidence (1-4)."""
    t = _test(trials)
    keys = ["condition"] + [f for f in FACTORS if f in t.columns] + ["participant"]
    out = t.groupby(keys)["correct"].agg(forecasts="size", accuracy="mean").reset_index()
    out["accuracy"] = 100 * out["accuracy"]
    if "confidence_rating" in t.columns:
        level = t["confidence_rating"].map({c: i + 1 for i, c in enumerate(CONFIDENCE)})
        conf = t.assign(level=level).groupby("participant")["level"].mean()
        out["confidence"] = out["participant"].map(conf)
    return out


def condition_accuracy(trials: pd.DataFrame) -> pd.DataFrame:
    """Per condition: participants, mean and SD of forecast accuracy (%), and of confidence where asked."""
    p = participant_accuracy(trials)
    agg = {"participants": ("participant", "size"), "mean": ("accuracy", "mean"), "sd": ("accuracy", "std")}
    if "confidence" in p.columns:
        agg["confidence"] = ("confidence", "mean")
    return p.groupby("condition").agg(**agg).reset_index()


def outcome_accuracy(trials: pd.DataFrame) -> pd.DataFrame:
    """Forecast accuracy (%) by the model's outcome on the image (TP, FN, FP), and the share of forecasts
    that said the system would detect the object (empty without an ``outcome`` column)."""
    t = _test(trials)
    if "outcome" not in t.columns:
        return pd.DataFrame(columns=["outcome", "forecasts", "accuracy"])
    out = t.groupby("outcome")["correct"].agg(forecasts="size", accuracy="mean").reset_index()
    out["accuracy"] = 100 * out["accuracy"]
    return out


def anova(trials: pd.DataFrame) -> pd.DataFrame:
    """Two-way ANOVA of forecast accuracy on the two factors (Sec. 4.1); empty when the factors are absent
    or the design has too few participants."""
    p = participant_accuracy(trials)
    if not all(f in p.columns for f in FACTORS):
        return pd.DataFrame()
    try:
        return anova_twoway(p.assign(**{f: p[f].astype(str) for f in FACTORS}), "accuracy", *FACTORS)
    except (ParameterError, ValueError, np.linalg.LinAlgError):
        return pd.DataFrame()


def confidence_test(trials: pd.DataFrame) -> pd.DataFrame:
    """Kruskal-Wallis H of mean confidence across conditions (Sec. 4.2); ``note`` when untestable."""
    p = participant_accuracy(trials)
    row = {"H": np.nan, "df": np.nan, "p": np.nan, "note": ""}
    if "confidence" not in p.columns:
        row["note"] = "no confidence ratings"
        return pd.DataFrame([row])
    groups = [g["confidence"].dropna().to_numpy() for _, g in p.groupby("condition")]
    try:
        r = kruskal(*[g for g in groups if len(g) >= 2])
        row.update(H=r.statistic, df=r.df, p=r.pvalue)
    except ParameterError as e:
        row["note"] = str(e).split(";")[0]
    return pd.DataFrame([row])


def summary(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The chapter's tables for these trials."""
    return {"forecast accuracy by condition (%)": condition_accuracy(trials),
            "forecast accuracy by the model's outcome (%)": outcome_accuracy(trials),
            "two-way ANOVA (saliency maps x scores)": anova(trials),
            "confidence across conditions (Kruskal-Wallis)": confidence_test(trials)}
