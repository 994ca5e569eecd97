"""Nguyen, Kim & Nguyen 2021 (NeurIPS): do attribution maps help a human-AI team classify images?

Stage 1 of the study module: the human data. The published results (Fig. 1b, Table 1,
appendix Tables A1-A9) are read from ``data/published``; the original Gorilla exports
(:mod:`xaibook.data.gorilla`) are re-analysed with the paper's exclusion rule and summaries
and set beside the published numbers. ``python -m xaibook.studies.nguyen2021 summarize PATH``
prints the per-method summary as CSV.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .. import config
from ..data import gorilla, published
from ..errors import DataFormatError, DataNotFoundError, ParameterError, XaibookError

METHODS = gorilla.METHOD_ORDER
DATASETS = ("ImageNet", "Dogs")
EXPORTS_FOLDER = "nguyen2021-gorilla"
HOW_TO_GET = (
    "The Gorilla exports are public in the authors' repository "
    "https://github.com/anguyen8/effectiveness-attribution-maps (folder src/): copy its "
    "'users_data' folder (Data-v2/Natural, Data-v2/Dog, Expert_Data) and, optionally, 'csv_files' "
    f"into <XAIBOOK_DATA>/{EXPORTS_FOLDER}/. Files are found recursively, so any layout under that folder works."
)

# ======================================================================================
# Human data: loading and exclusion (paper Sec. 2.4, A11.3)
# ======================================================================================

#: Validation trials a participant must get right, out of 10 (A11.3; the authors' analysis):
#: 10/10 for lay users on ImageNet, 8/10 on Dogs and for the experts.
VALIDATION_THRESHOLD = {("lay", "ImageNet"): 10, ("lay", "Dogs"): 8, ("expert", "ImageNet"): 8, ("expert", "Dogs"): 8}


def exports_dir() -> Path | None:
    """``<XAIBOOK_DATA>/nguyen2021-gorilla`` if it exists, else None."""
    path = config.data_root() / EXPORTS_FOLDER
    return path if path.is_dir() else None


def load_human(paths: Iterable[Path | str] | Path | str | None = None) -> pd.DataFrame:
    """All trials of the original exports as a tidy trial table (default: :func:`exports_dir`)."""
    if paths is None:
        paths = exports_dir()
        if paths is None:
            raise DataNotFoundError(f"{config.data_root() / EXPORTS_FOLDER} does not exist. {HOW_TO_GET}")
    return gorilla.load_exports(paths)


def exports_status(path: Path | None = None) -> str:
    """One line saying which exports were found (``path`` defaults to :func:`exports_dir`)."""
    path = path if path is not None else exports_dir()
    if path is None:
        return f"No Gorilla exports at {config.data_root() / EXPORTS_FOLDER}. {HOW_TO_GET}"
    try:
        files = gorilla.find_exports(path)
    except XaibookError as err:
        return f"{path}: {err}"
    return f"Found {len(files)} Gorilla task export(s) under {path}: {', '.join(f.name for f in files)}"


def find_bad_user_lists(paths: Iterable[Path | str] | Path | str) -> list[Path]:
    """The authors' ``*_bad_users.csv`` lists found in the given folders (searched recursively)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(p.rglob("*_bad_users.csv"))
    return found


def validation_scores(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: validation score, threshold, and whether they are kept.

    A participant is kept if they got at least the threshold of validation trials right.
    Participants whose validation node is not among the loaded exports are kept if Gorilla's
    branch node recorded them as ``Qualified`` (the lay study's branch let only those reach
    the test node); with neither, the rule cannot be applied and they are dropped.
    """
    keys = ["dataset", "condition", "population", "participant"]
    val = trials[trials["phase"] == "validation"]
    score = val.groupby(keys)["correct"].agg(validation_correct="sum", validation_trials="size")
    tests = trials[trials["phase"] == "test"].groupby(keys).size().rename("test_trials")
    qualified = trials.groupby(keys)["gorilla_qualified"].agg(lambda s: bool(s.dropna().any()) if s.notna().any() else None)
    out = pd.concat([score, tests, qualified], axis=1).reset_index()
    out["validation_trials"] = out["validation_trials"].fillna(0).astype(int)
    out["test_trials"] = out["test_trials"].fillna(0).astype(int)
    out["threshold"] = [VALIDATION_THRESHOLD[(p, d)] for p, d in zip(out["population"], out["dataset"])]
    has_val = out["validation_trials"] > 0
    out["kept"] = np.where(has_val, out["validation_correct"] >= out["threshold"], out["gorilla_qualified"].eq(True))
    out["reason"] = np.select(
        [has_val & out["kept"], has_val & ~out["kept"], ~has_val & out["kept"]],
        ["validation passed", "validation below threshold", "no validation trials loaded; Gorilla branch: Qualified"],
        "no validation trials loaded and no Gorilla branch verdict")
    return out


def apply_exclusion(trials: pd.DataFrame, bad_users: Iterable[str] = ()) -> pd.DataFrame:
    """Test trials of the participants kept by :func:`validation_scores`, minus ``bad_users``.

    ``bad_users`` are ids from the authors' ``*_bad_users.csv`` lists (see
    :func:`xaibook.data.gorilla.read_bad_users`). Those lists were written by the authors'
    analysis with the same validation rule; the public copies are empty, and every
    participant in the public exports passes the rule, so both give the same (empty)
    exclusion there.
    """
    scores = validation_scores(trials)
    kept = scores[scores["kept"]]
    key = ["dataset", "condition", "population", "participant"]
    test = trials[trials["phase"] == "test"].merge(kept[key], on=key, how="inner")
    return test[~test["participant"].isin(set(bad_users))].reset_index(drop=True)


# ======================================================================================
# Summaries the paper reports (Fig. 1b, Table 1, Tables A1, A3, A4, A5, A8, A9)
# ======================================================================================

_GROUP = ["dataset", "condition", "population"]


def user_accuracy(test: pd.DataFrame) -> pd.DataFrame:
    """Per participant: accuracy (%) over their test trials, and natural / adversarial counts."""
    t = test.assign(nat=test["image_type"].eq("natural"), adv=test["image_type"].eq("adversarial"))
    t = t.assign(nat_ok=t["nat"] & t["correct"], adv_ok=t["adv"] & t["correct"])
    g = t.groupby(_GROUP + ["participant"])
    out = g.agg(correct=("correct", "sum"), trials=("correct", "size"), natural_correct=("nat_ok", "sum"),
                natural_total=("nat", "sum"), adversarial_correct=("adv_ok", "sum"),
                adversarial_total=("adv", "sum")).reset_index()
    out["accuracy"] = 100.0 * out["correct"] / out["trials"]
    return out


def method_summary(test: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, method and population: users, mean and SD (ddof=1) of per-user accuracy,
    and natural / adversarial correct over total trials (Fig. 1b, Table 1)."""
    users = user_accuracy(test)
    g = users.groupby(_GROUP)
    out = g.agg(users=("participant", "nunique"), mean=("accuracy", "mean"), sd=("accuracy", "std"),
                natural_correct=("natural_correct", "sum"), natural_total=("natural_total", "sum"),
                adversarial_correct=("adversarial_correct", "sum"),
                adversarial_total=("adversarial_total", "sum")).reset_index()
    return _order(out.rename(columns={"condition": "method"}))


def _order(df: pd.DataFrame) -> pd.DataFrame:
    method_col = "method" if "method" in df.columns else "condition"
    rank = {m: i for i, m in enumerate(METHODS)}
    order = df["dataset"].map({d: i for i, d in enumerate(DATASETS)}).fillna(9) * 100 + df[method_col].map(rank).fillna(99)
    if "population" in df.columns:
        order = order + df["population"].eq("expert") * 1000
    return df.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)


def _rate(df: pd.DataFrame, by: list[str], value: str = "correct") -> pd.DataFrame:
    g = df.groupby(by)[value]
    out = g.agg(hits="sum", trials="size").reset_index()
    out["accuracy"] = 100.0 * out["hits"] / out["trials"]
    return out.rename(columns={"condition": "method"})


def known_unknown(test: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on trials whose class the user said they knew vs did not (Table A5).

    ``known`` is the participant's own Screen-1 answer on that trial. (The authors' analysis
    carried a participant's first answer for a predicted class over to later trials of the
    same class; the two agree whenever a participant answers consistently.)
    """
    t = test[test["known"].notna()].assign(knowledge=lambda d: np.where(d["known"].astype(bool), "Known", "Unknown"))
    return _order(_rate(t, _GROUP + ["knowledge"]))


def acceptance_rates(test: pd.DataFrame) -> pd.DataFrame:
    """Share of accept / reject answers on natural images (Table A9)."""
    t = test[test["image_type"] == "natural"]
    out = t.groupby(_GROUP)["response"].value_counts().rename("answers").reset_index()
    out["trials"] = out.groupby(_GROUP)["answers"].transform("sum")
    out["rate"] = 100.0 * out["answers"] / out["trials"]
    out["response"] = out["response"].str.capitalize()
    return _order(out.rename(columns={"condition": "method"}))


_DIFFICULTY_ORDER = {"Easy": 0, "Medium": 1, "Hard": 2}


def difficulty_accuracy(test: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on easy / medium / hard natural images (Table A3)."""
    t = test[test["image_type"] == "natural"].assign(difficulty=lambda d: d["difficulty"].str.capitalize())
    out = _rate(t, _GROUP + ["difficulty"])
    return _order(out.sort_values("difficulty", key=lambda c: c.map(_DIFFICULTY_ORDER), kind="stable"))


def bin_accuracy(test: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on natural images per difficulty and AI-correct / AI-wrong bin (Tables A1, A4)."""
    t = test[test["image_type"] == "natural"].assign(
        difficulty=lambda d: d["difficulty"].str.capitalize(),
        ai_prediction=lambda d: np.where(d["ai_correct"], "Correct", "Wrong"))
    out = _rate(t, _GROUP + ["difficulty", "ai_prediction"])
    return _order(out.sort_values("difficulty", key=lambda c: c.map(_DIFFICULTY_ORDER), kind="stable"))


def method_tests(users: pd.DataFrame) -> pd.DataFrame:
    """Two-sided Mann-Whitney U tests of per-user accuracy between every pair of methods
    within a dataset and population (Sec. 3.1). Pairs where a method has fewer than 2 users
    are skipped."""
    from ..stats.tests import mann_whitney_u

    rows = []
    for (dataset, population), g in users.groupby(["dataset", "population"]):
        by = {m: a["accuracy"].to_numpy() for m, a in g.groupby("condition")}
        present = [m for m in METHODS if m in by and len(by[m]) >= 2]
        for a, b in itertools.combinations(present, 2):
            r = mann_whitney_u(by[a], by[b])
            rows.append(dict(dataset=dataset, population=population, method_a=a, method_b=b,
                             n_a=len(by[a]), n_b=len(by[b]), U=r.statistic, p=r.pvalue, r=r.effect))
    return pd.DataFrame(rows, columns=["dataset", "population", "method_a", "method_b", "n_a", "n_b", "U", "p", "r"])


# ======================================================================================
# Published results and the reanalysis beside them
# ======================================================================================

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


# ======================================================================================
# Charts (every figure carries its provenance footer)
# ======================================================================================

# altair is imported inside the chart functions so that the command line starts quickly.


def published_accuracy_chart() -> "alt.TopLevelMixin":
    """Fig. 1b (lay users) and Table 1 (experts): mean per-user accuracy +- 1 SD per method."""
    import altair as alt
    from ..viz import charts

    df = published_accuracy()
    df["group"] = df["dataset"] + np.where(df["population"] == "expert", " (experts)", " (lay users)")
    df["lo"], df["hi"] = df["mean"] - df["sd"], df["mean"] + df["sd"]
    base = alt.Chart(df).encode(y=alt.Y("method:N", sort=list(METHODS), title=None))
    bars = base.mark_bar(color="#9ecae1").encode(
        x=alt.X("mean:Q", title="per-user accuracy (%), mean ± 1 SD", scale=alt.Scale(domain=[0, 100])),
        tooltip=["dataset", "method", "population", "users", "mean", "sd"])
    err = base.mark_rule(color="#08306b").encode(x="lo:Q", x2="hi:Q")
    text = base.mark_text(align="left", dx=4, dy=-7, fontSize=9, color="#333").encode(
        x="hi:Q", text=alt.Text("users:Q", format="d"))
    chart = (bars + err + text).properties(width=220, height=110).facet(
        facet=alt.Facet("group:N", title=None, sort=["ImageNet (lay users)", "Dogs (lay users)", "ImageNet (experts)"]),
        columns=3).properties(title="Human-AI team accuracy per explanation method (numbers: users)")
    return charts.provenance(chart, data="published: nguyen2021 Fig. 1b, Table 1 (users: Table A8)", scale="n/a")


def published_bins_chart() -> "alt.TopLevelMixin":
    """Table A1: accuracy on natural images when the AI is right vs wrong, by difficulty bin."""
    import altair as alt
    from ..viz import charts

    df = published.load("nguyen2021_tableA1")
    base = alt.Chart(df).encode(
        x=alt.X("difficulty:N", sort=["Easy", "Medium", "Hard"], title="difficulty bin", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title="human-AI team accuracy (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("method:N", scale=alt.Scale(domain=list(METHODS)), title="method"),
        detail="ai_prediction:N",
        tooltip=["dataset", "method", "difficulty", "ai_prediction", "value"])
    lines = base.mark_line().encode(strokeDash=alt.StrokeDash("ai_prediction:N", title="AI's label"))
    chart = (lines + base.mark_circle(size=30)).properties(width=240, height=200).facet(
        column=alt.Column("dataset:N", sort=list(DATASETS), title=None)).properties(
        title="Accuracy on natural images: AI right (solid) vs AI wrong (dashed), easy to hard")
    return charts.provenance(chart, data="published: nguyen2021 Table A1", scale="n/a")


def reanalysis_chart(users: pd.DataFrame) -> "alt.TopLevelMixin":
    """Per-user accuracy recomputed from the exports (dots) beside the published mean +- 1 SD (bar)."""
    import altair as alt
    from ..viz import charts

    u = users.rename(columns={"condition": "method"}).copy()
    pub = published_accuracy()
    present = u[["dataset", "method", "population"]].drop_duplicates()
    pub = pub.merge(present, on=["dataset", "method", "population"])
    label = lambda d: d["dataset"] + " · " + d["method"] + np.where(d["population"] == "expert", " (experts)", " (lay)")
    u["condition"] = label(u)
    u = u.sort_values(["condition", "accuracy", "participant"])
    u["slot"] = u.groupby("condition").cumcount()  # spreads the users of one condition vertically
    pub["condition"] = label(pub)
    pub["lo"], pub["hi"] = pub["mean"] - pub["sd"], pub["mean"] + pub["sd"]
    order = list(_order(pub)["condition"])
    y = alt.Y("condition:N", sort=order, title=None, scale=alt.Scale(paddingInner=0.35))
    band = alt.Chart(pub).mark_rule(size=10, opacity=0.35, color="#e6550d").encode(
        y=y, x=alt.X("lo:Q", title="per-user accuracy (%)", scale=alt.Scale(domain=[20, 100])), x2="hi:Q")
    mean = alt.Chart(pub).mark_tick(color="#e6550d", thickness=2, size=18).encode(
        y=y, x="mean:Q", tooltip=["condition", "users", "mean", "sd", "source"])
    dots = alt.Chart(u).mark_circle(size=45, color="#08519c", opacity=0.8).encode(
        y=y, x="accuracy:Q", yOffset=alt.YOffset("slot:O", title=None),
        tooltip=["participant", "accuracy", "correct", "trials"])
    chart = (band + mean + dots).properties(width=420, height=70 * len(order),
                                            title="Original exports (dots: one user) vs published mean ± 1 SD (orange)")
    return charts.provenance(
        chart, data="human: Nguyen et al. 2021 Gorilla exports (public part), reanalysed; orange: published Fig. 1b / Table 1",
        scale="n/a (every trial of the exports)")


# ======================================================================================
# Command line: python -m xaibook.studies.nguyen2021 summarize PATH [PATH ...]
# ======================================================================================

SUMMARY_COLUMNS = ("dataset", "method", "users", "mean", "sd", "natural_correct", "natural_total",
                   "adversarial_correct", "adversarial_total")


def summarize(paths: Sequence[Path | str], population: str | None = None) -> pd.DataFrame:
    """The CLI's table: one row per dataset and method, columns :data:`SUMMARY_COLUMNS`.

    Applies the exclusion rule (:func:`apply_exclusion`, including ``*_bad_users.csv`` lists
    found in the given folders). Lay users and experts are never pooled: if one dataset and
    method holds test trials of both, pass ``population`` (``lay`` or ``expert``).
    """
    if population not in (None, "lay", "expert"):
        raise ParameterError(f"population must be 'lay', 'expert' or None, not {population!r}")
    trials = gorilla.load_exports(paths)
    bad: set[str] = set()
    for f in find_bad_user_lists(paths):
        bad |= gorilla.read_bad_users(f)
    test = apply_exclusion(trials, bad)
    if population is not None:
        test = test[test["population"] == population]
    if test.empty:
        raise DataFormatError("the exports hold no test trials of a kept participant"
                              + (f" in population {population!r}" if population else "")
                              + " (validation-only exports cannot be summarised)")
    summary = method_summary(test)
    mixed = summary.groupby(["dataset", "method"])["population"].nunique()
    mixed = mixed[mixed > 1]
    if len(mixed):
        d, m = mixed.index[0]
        raise DataFormatError(f"{d}/{m} has test trials of both lay users and experts; "
                              "pass --population lay or --population expert")
    return summary[list(SUMMARY_COLUMNS)]


def format_summary(table: pd.DataFrame) -> str:
    """CSV text: header line, then one row per dataset and method; accuracies with 2 decimals."""
    t = table[list(SUMMARY_COLUMNS)].copy()
    for c in ("users", "natural_correct", "natural_total", "adversarial_correct", "adversarial_total"):
        t[c] = t[c].astype(int)
    return t.to_csv(index=False, float_format="%.2f", lineterminator="\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m xaibook.studies.nguyen2021``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m xaibook.studies.nguyen2021",
                                     description="Nguyen et al. 2021: summaries of the original Gorilla exports.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("summarize", help="per-method accuracy of the kept participants, as CSV on stdout")
    s.add_argument("paths", nargs="+", help="Gorilla export files or folders (searched recursively)")
    s.add_argument("--population", choices=("lay", "expert"), default=None,
                   help="only lay users or only experts (needed when both took the same dataset and method)")
    args = parser.parse_args(argv)
    try:
        table = summarize(args.paths, population=args.population)
    except XaibookError as err:
        print("error: " + " ".join(str(err).split()), file=sys.stderr)
        return 2
    sys.stdout.write(format_summary(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
