"""Nguyen et al. 2021: the paper's numbers, and ours set beside them.

Every published number is read from ``data/published/nguyen2021_*.csv`` (Fig. 1b, Fig. 2,
Fig. 4, Fig. A1, Table 1, Tables A1-A9, Sec. 2.2-2.5); this module joins them with the
reanalysis (:mod:`.human`) and with the pipeline's measurements (:mod:`.pipeline`).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ...data import published
from ...data.sources import Classifier, Pool
from .human import (_GROUP, _order, _rate, acceptance_rates, difficulty_accuracy, EXPORTS_FOLDER,
                    known_unknown)


def published_accuracy() -> pd.DataFrame:
    """Mean and SD of per-user accuracy per method: lay users (Fig. 1b, users from Table A8)
    and experts (Table 1); one row per dataset, method and population."""
    fig = published.load("nguyen2021_fig1b")
    lay = fig.pivot_table(index=["dataset", "method"], columns="metric", values="value").reset_index()
    lay = lay.merge(fig[fig["metric"] == "accuracy_mean"][["dataset", "method", "n"]], on=["dataset", "method"])
    lay = lay.rename(columns={"accuracy_mean": "mean", "accuracy_sd": "sd", "n": "users"}).assign(
        population="lay", source="Fig. 1b")
    t1 = published.load("nguyen2021_table1")
    ex = t1[t1["image_type"] == "all"].pivot_table(index=["dataset", "method"], columns="metric",
                                                    values="value").reset_index()
    ex = ex.rename(columns={"accuracy_mean": "mean", "accuracy_sd": "sd"}).assign(population="expert", source="Table 1")
    cols = ["dataset", "method", "population", "users", "mean", "sd", "source"]
    out = pd.concat([lay[cols], ex[cols]], ignore_index=True)
    out["users"] = out["users"].astype(int)
    return _order(out)


def published_trial_counts() -> pd.DataFrame:
    """Natural / adversarial correct over total trials where the paper prints them (Table 1, experts)."""
    t1 = published.load("nguyen2021_table1")
    c = t1[t1["metric"] == "correct_trials"]
    out = c.pivot_table(index=["dataset", "method"], columns="image_type", values="value").reset_index()
    tot = c.pivot_table(index=["dataset", "method"], columns="image_type", values="n").reset_index()
    out = out.rename(columns={"natural": "natural_correct", "adversarial": "adversarial_correct"})
    tot = tot.rename(columns={"natural": "natural_total", "adversarial": "adversarial_total"})
    return out.merge(tot, on=["dataset", "method"]).assign(population="expert")


def coverage(trials: pd.DataFrame | None) -> pd.DataFrame:
    """Which of the study's conditions the loaded exports cover, phase by phase.

    One row per dataset, method and population of the paper (lay: 2 x 5, experts: 2), with
    the number of participants whose validation and test trials are present, and the
    paper's number of qualified users.
    """
    pub = published_accuracy()[["dataset", "method", "population", "users"]].rename(columns={"users": "paper_users"})
    if trials is None or trials.empty:
        return pub.assign(validation_users=0, test_users=0)
    counts = (trials[trials["phase"].isin(["validation", "test"])]
              .groupby(["dataset", "condition", "population", "phase"])["participant"].nunique()
              .unstack("phase").reindex(columns=["validation", "test"]).fillna(0).astype(int)
              .rename(columns={"validation": "validation_users", "test": "test_users"}).reset_index()
              .rename(columns={"condition": "method"}))
    return _order(pub.merge(counts, on=["dataset", "method", "population"], how="left").fillna(
        {"validation_users": 0, "test_users": 0}).astype({"validation_users": int, "test_users": int}))


def coverage_sentence(trials: pd.DataFrame | None) -> str:
    """What the loaded exports cover, as one sentence for the chapter's reading."""
    cov = coverage(trials)
    if trials is None or trials.empty or (cov["validation_users"] + cov["test_users"]).sum() == 0:
        return ("No Gorilla exports were loaded, so the published numbers above stand alone; "
                f"put the public exports into <XAIBOOK_DATA>/{EXPORTS_FOLDER} to recompute them.")
    full = cov[(cov["test_users"] == cov["paper_users"])]
    part = cov[(cov["test_users"] > 0) & (cov["test_users"] < cov["paper_users"])]
    val_only = cov[(cov["validation_users"] > 0) & (cov["test_users"] == 0)]
    name = lambda r: f"{r.dataset} with {r.method} ({r.population})"  # noqa: E731
    parts = []
    if len(full):
        parts.append("complete test data for " + ", ".join(
            f"{name(r)}, {r.test_users} users" for r in full.itertuples()))
    if len(part):
        parts.append("part of the test data for " + ", ".join(
            f"{name(r)}, {r.test_users} of its {r.paper_users} users" for r in part.itertuples()))
    if len(val_only):
        parts.append("only validation trials for " + ", ".join(name(r) for r in val_only.itertuples()))
    missing = len(cov) - len(full) - len(part) - len(val_only)
    parts.append(f"nothing for the other {missing} condition(s)")
    return "The loaded exports hold " + "; ".join(parts) + "."


def compare_with_published(summary: pd.DataFrame) -> pd.DataFrame:
    """The reanalysis (from :func:`method_summary`) beside the published mean, SD and users."""
    pub = published_accuracy().rename(columns={"users": "paper_users", "mean": "paper_mean", "sd": "paper_sd",
                                               "source": "paper_source"})
    out = summary.merge(pub, on=["dataset", "method", "population"], how="left")
    counts = published_trial_counts().rename(columns=lambda c: f"paper_{c}" if c.endswith(("_correct", "_total")) else c)
    out = out.merge(counts, on=["dataset", "method", "population"], how="left")
    out["complete"] = out["users"] == out["paper_users"]
    return _order(out)


def comparison_view(comparison: pd.DataFrame) -> pd.DataFrame:
    """A compact, readable form of :func:`compare_with_published`: ours beside the paper's,
    trial counts as ``correct/total``."""
    c = comparison
    frac = lambda a, b: [f"{int(x)}/{int(y)}" if pd.notna(x) and pd.notna(y) else "" for x, y in zip(c[a], c[b])]
    return pd.DataFrame({
        "dataset": c["dataset"], "method": c["method"], "population": c["population"],
        "users": c["users"], "paper users": c["paper_users"],
        "mean": c["mean"].round(2), "paper mean": c["paper_mean"], "sd": c["sd"].round(2), "paper sd": c["paper_sd"],
        "natural": frac("natural_correct", "natural_total"),
        "paper natural": frac("paper_natural_correct", "paper_natural_total"),
        "adversarial": frac("adversarial_correct", "adversarial_total"),
        "paper adversarial": frac("paper_adversarial_correct", "paper_adversarial_total"),
        "paper source": c["paper_source"]})


def agreement(comparison: pd.DataFrame) -> pd.DataFrame:
    """Does the reanalysis match the published numbers to the printed precision (2 decimals)?

    ``comparison`` comes from :func:`compare_with_published`. Trial counts are compared where
    the paper prints them (Table 1); elsewhere the column is missing.
    """
    c = comparison
    out = c[["dataset", "method", "population", "users", "paper_users"]].copy()
    out["users_match"] = c["users"] == c["paper_users"]
    out["mean_match"] = (c["mean"].round(2) - c["paper_mean"]).abs() < 0.005
    out["sd_match"] = (c["sd"].round(2) - c["paper_sd"]).abs() < 0.005
    have = c["paper_natural_total"].notna()
    counts = ((c["natural_correct"] == c["paper_natural_correct"]) & (c["natural_total"] == c["paper_natural_total"])
              & (c["adversarial_correct"] == c["paper_adversarial_correct"])
              & (c["adversarial_total"] == c["paper_adversarial_total"]))
    out["counts_match"] = counts.where(have)
    return out


def compare_breakdowns(test: pd.DataFrame) -> pd.DataFrame:
    """Known/unknown (Table A5), accept/reject (Table A9), easy/medium/hard (Table A3) and
    AI-correct/AI-wrong (Table A4) accuracies of the lay conditions in ``test``, beside the
    published values (which pool all of the condition's users)."""
    pieces = []
    ku = known_unknown(test).rename(columns={"knowledge": "level", "accuracy": "value"})
    pieces.append(("known vs unknown (Table A5)", ku, "nguyen2021_tableA5", "knowledge", "accuracy"))
    acc = acceptance_rates(test).rename(columns={"response": "level", "rate": "value"})
    pieces.append(("accept vs reject, natural (Table A9)", acc, "nguyen2021_tableA9", "response", "response_rate"))
    dif = difficulty_accuracy(test).rename(columns={"difficulty": "level", "accuracy": "value"})
    pieces.append(("easy / medium / hard, natural (Table A3)", dif, "nguyen2021_tableA3", "difficulty", "accuracy"))
    t = test[test["image_type"] == "natural"].assign(ai_prediction=lambda d: np.where(d["ai_correct"], "Correct", "Wrong"))
    cw = _order(_rate(t, _GROUP + ["ai_prediction"])).rename(columns={"ai_prediction": "level", "accuracy": "value"})
    pieces.append(("AI correct vs wrong, natural (Table A4)", cw, "nguyen2021_tableA4", "ai_prediction", "accuracy"))
    rows = []
    for label, ours, table, level_col, metric in pieces:
        pub = published.load(table)
        pub = pub[pub["metric"] == metric].rename(columns={level_col: "level", "value": "published"})
        ours = ours[ours["population"] == "lay"]
        merged = ours.merge(pub[["dataset", "method", "level", "published"]], on=["dataset", "method", "level"],
                            how="left")
        merged["breakdown"] = label
        rows.append(merged)
    cols = ["breakdown", "dataset", "method", "level", "value", "trials", "published"]
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)
    return out.reindex(columns=cols).rename(columns={"value": "ours"})


def classifier_summary(clf: Classifier, pools: Mapping[str, Pool]) -> pd.DataFrame:
    """Top-1 accuracy of the classifier on each pool, beside ResNet-34's on ImageNet val (Sec. 2.2)."""
    paper = published.load("nguyen2021_methods")
    ref = paper[(paper["metric"] == "classifier_top1_accuracy")].set_index("dataset")["value"]
    rows = [{"dataset": d, "classifier": clf.name, "images": len(pl), "top-1 accuracy (%)": round(100 * pl.accuracy, 2),
             "paper (%)": ref.get(d, np.nan)} for d, pl in pools.items()]
    return pd.DataFrame(rows)


def bins_vs_paper(distribution: pd.DataFrame) -> pd.DataFrame:
    """Share of Easy / Medium / Hard images among the binned ones, ours beside Table A7, plus
    the share of Easy-correct Dogs images beside Fig. A1 (quoted in Sec. 3.2)."""
    d = distribution.groupby(["dataset", "difficulty"], sort=False)["share"].sum().mul(100).round(2).rename("ours (%)")
    a7 = published.load("nguyen2021_tableA7")
    a7 = a7[a7["metric"] == "percentage"].set_index(["dataset", "difficulty"])["value"].rename("paper (%)")
    out = d.reset_index().merge(a7.reset_index(), on=["dataset", "difficulty"], how="left")
    out["bins"] = out["difficulty"] + " (correct + wrong)"
    out["paper source"] = "Table A7"
    a1 = published.load("nguyen2021_figA1").iloc[0]
    ec = distribution[(distribution["dataset"] == a1["dataset"]) & (distribution["bin"] == "easy_correct")]
    if len(ec):
        out = pd.concat([out, pd.DataFrame([{"dataset": a1["dataset"], "difficulty": "Easy", "bins": "Easy correct",
                                             "ours (%)": round(100 * float(ec["share"].iloc[0]), 2),
                                             "paper (%)": a1["value"], "paper source": "Fig. A1 (Sec. 3.2)"}])],
                        ignore_index=True)
    return out[["dataset", "bins", "ours (%)", "paper (%)", "paper source"]]


def reweighted_published(distribution: pd.DataFrame) -> pd.DataFrame:
    """The published per-bin human accuracies (Table A1) reweighted with the bin shares measured
    here (appendix A1: sum over bins of R_{B,P} * Acc_{B,P}), beside the paper's reweighted values
    where Fig. 2 quotes them.

    On ImageNet with the full validation set the shares are the paper's own R_{B,P}, so the
    result should land on Fig. 2; on the zoo it shows how its (different) mix of easy and hard
    images would weigh the same people.
    """
    from ...stats import reweight_accuracy

    a1 = published.load("nguyen2021_tableA1")
    a1 = a1[a1["metric"] == "accuracy"].assign(
        bin=lambda d: d["difficulty"].str.lower() + "_" + d["ai_prediction"].str.lower())
    fig2 = published.load("nguyen2021_fig2")
    fig2 = fig2[fig2["image_type"] == "natural"].set_index(["dataset", "method"])["value"]
    rows = []
    for d, dist in distribution.groupby("dataset", sort=False):
        if dist["share"].isna().all():
            continue
        share = dict(zip(dist["bin"], dist["share"]))
        for m, acc in a1[a1["dataset"] == d].groupby("method", sort=False):
            ours = reweight_accuracy(dict(zip(acc["bin"], acc["value"])), share)
            rows.append({"dataset": d, "method": m, "reweighted with our shares (%)": round(ours, 2),
                         "paper, Fig. 2 (%)": fig2.get((d, m), np.nan)})
    return _order(pd.DataFrame(rows))


def ai_only_table(sweeps: Mapping[str, "Any"]) -> pd.DataFrame:
    """Accuracy of AI-only per threshold, ours beside Table A6 (both in %)."""
    a6 = published.load("nguyen2021_tableA6")[["dataset", "threshold", "value"]].rename(columns={"value": "paper (%)"})
    rows = []
    for d, s in sweeps.items():
        if s is None:
            continue
        t = s.table().assign(dataset=d)
        t["ours (%)"] = (100 * t["accuracy"]).round(2)
        t["accept rate (%)"] = (100 * t["accept_rate"]).round(1)
        rows.append(t[["dataset", "threshold", "ours (%)", "accept rate (%)"]])
    out = pd.concat(rows, ignore_index=True)
    out["threshold"] = out["threshold"].round(2)
    a6["threshold"] = a6["threshold"].round(2)
    return out.merge(a6, on=["dataset", "threshold"], how="left")


def ai_only_best(sweeps: Mapping[str, "Any"]) -> pd.DataFrame:
    """The best threshold and its accuracy, ours beside the paper's (Sec. 2.3, Table A6)."""
    ref = published.load("nguyen2021_ai_only_threshold").set_index("dataset")["value"]
    a6 = published.load("nguyen2021_tableA6")
    rows = []
    for d, s in sweeps.items():
        t_paper = float(ref.get(d, np.nan))
        acc = a6[(a6["dataset"] == d) & (a6["threshold"].round(2) == round(t_paper, 2))]["value"]
        rows.append({"dataset": d, "best T (ours)": s.best_threshold if s else np.nan,
                     "accuracy at best T (ours, %)": round(100 * s.best_accuracy, 2) if s else np.nan,
                     "best T (paper)": t_paper,
                     "accuracy at best T (paper, %)": float(acc.iloc[0]) if len(acc) else np.nan})
    return pd.DataFrame(rows)


def correlations_vs_paper(ours: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's Fig. 4 / Sec. 3.5 correlations, with ours beside where they could be computed."""
    fig4 = published.load("nguyen2021_fig4")
    rows = []
    for r in fig4.itertuples():
        if r.metric == "pearson_r":
            rows.append({"dataset": r.dataset, "method": r.method, "metric": r.localization_metric,
                         "paper r": r.value, "paper": "Fig. 4 / Sec. 3.5"})
        else:
            rows.append({"dataset": "", "method": r.scope, "metric": "all three",
                         "paper r": f"{r.metric.split('_')[-1]} {r.value}", "paper": "Sec. 3.5 (bound)"})
    out = pd.DataFrame(rows)
    if ours is not None and len(ours):
        o = ours.rename(columns={"r": "our r", "images": "our images"})
        out = out.merge(o[["dataset", "method", "metric", "population", "our r", "our images", "note"]],
                        on=["dataset", "method", "metric"], how="outer")
    return out
