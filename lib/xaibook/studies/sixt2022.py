"""Sixt, Schuessler, Popescu, Weiß & Landgraf 2022 (ICLR): do users benefit from interpretable vision?

Stage 1 of the study module: the published results as charts, and what the published numbers
allow to recompute. The paper prints per-condition accuracies with their group sizes (Table 2),
the ground-truth importance of each data-generating factor (Tables 1 and 3) and a handful of
p-values (Sec. 5.3). It does not publish per-participant answers, so:

* the number of participants answering an attribute correctly is recovered as accuracy x n
  (:func:`published_accuracy` checks that the product is a whole number);
* study 1's exact McNemar tests need the paired 2x2 table, of which only the margins are
  known: :func:`study1_mcnemar_range` enumerates every table that fits the margins;
* study 2's per-attribute differences are compared with Fisher's exact test on the implied
  counts, Holm-corrected (:func:`attribute_comparisons`): a reanalysis from the published
  proportions, not the paper's own (unnamed) test;
* :func:`replication_sample_sizes` gives the participants per group a replication needs to
  detect the reported INN-vs-baseline differences.
"""
from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats as sps

from ..data import published
from ..errors import DataFormatError, ParameterError
from ..stats.corrections import holm
from ..stats.power import cohens_h, power_curve, sample_size_ttest_ind, sample_size_two_proportions
from ..stats.tests import TestResult, mcnemar_exact
from ..viz import charts

ATTRIBUTES = ("Legs", "Color", "Shape", "Background", "Posture")
#: Ground truth of the study (App. D): legs, colour and shape are relevant to the model.
RELEVANT = {"Legs": True, "Color": True, "Shape": True, "Background": False, "Posture": False}
CONDITIONS = ("Baseline", "INN", "Concepts")
CONDITION_COLORS = {"Baseline": "#7f7f7f", "INN": "#1f77b4", "Concepts": "#ff7f0e"}
SOURCE_T2 = "published: Sixt et al. 2022, Table 2"


def _label(attribute: str) -> str:
    return f"{attribute} ({'relevant' if RELEVANT[attribute] else 'irrelevant'})"


# ------------------------------------------------------------------------------- published tables
def published_accuracy(confidence: float = 0.95) -> pd.DataFrame:
    """Table 2 (Sec. 5.3): accuracy per study, condition and attribute, with the implied counts.

    Adds ``correct`` = accuracy x n rounded to a whole participant (the attribute rows only; a
    percentage printed with one decimal pins the count down for n < 1000) and a Clopper-Pearson
    interval ``ci_low``/``ci_high`` (percent) computed here from that count. The pooled "All" row of
    study 2 and the "Overall" column are kept as printed, without counts.

    Raises:
        DataFormatError: if a printed accuracy is not a whole number of participants.
    """
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must lie in (0, 1), e.g. 0.95; got {confidence}")
    df = published.load("sixt2022_table2").copy()
    df["n"] = df["n"].astype(int)
    attr = (df["attribute"] != "Overall") & (df["condition"] != "All")
    exact = df.loc[attr, "value"] / 100 * df.loc[attr, "n"]
    correct = exact.round()
    off = (exact - correct).abs() > 0.0005 * df.loc[attr, "n"] + 1e-9
    if off.any():
        bad = df.loc[attr][off][["study", "condition", "attribute", "value", "n"]].to_dict("records")
        raise DataFormatError(f"sixt2022_table2: accuracy x n is not a whole number of participants for {bad}; "
                              "check the transcription against Table 2.")
    df["correct"] = pd.Series(correct, index=df.index[attr]).astype("Int64").reindex(df.index)
    low, high = [], []
    for k, n in zip(df["correct"], df["n"]):
        if pd.isna(k):
            low.append(np.nan), high.append(np.nan)
            continue
        ci = sps.binomtest(int(k), int(n)).proportion_ci(confidence, method="exact")
        low.append(100 * ci.low), high.append(100 * ci.high)
    df["ci_low"], df["ci_high"] = low, high
    df["relevant"] = df["attribute"].map(RELEVANT)
    df["stars"] = df["stars"].fillna("")
    return df


def counts(study: int = 2) -> pd.DataFrame:
    """Implied counts of correct answers, one row per condition, one column per attribute, plus ``n``."""
    df = published_accuracy()
    df = df[(df["study"] == study) & df["correct"].notna()]
    if df.empty:
        raise ParameterError(f"study must be 1 or 2; got {study!r}")
    wide = df.pivot(index="condition", columns="attribute", values="correct")[list(ATTRIBUTES)].astype(int)
    wide["n"] = df.groupby("condition")["n"].first()
    return wide.reindex([c for c in CONDITIONS if c in wide.index])


def published_importance() -> pd.DataFrame:
    """Table 3 (appendix; its first rows are Table 1, Sec. 3): ground-truth importance of each factor."""
    df = published.load("sixt2022_table3")
    wide = df.pivot(index="factor", columns="metric", values="value")
    return wide.sort_values("prediction_flip", ascending=False).reset_index()


def published_tests() -> pd.DataFrame:
    """Sec. 5.3: the paper's own test results (p-values as printed, with '<' or '=')."""
    return published.load("sixt2022_tests")


# ---------------------------------------------------------------------------------------- charts
def published_accuracy_chart() -> alt.TopLevelMixin:
    """Figure: Table 2 as bars per attribute and condition, study 1 and study 2 side by side.

    Bars are the printed accuracies; whiskers are 95 % Clopper-Pearson intervals computed here from
    the implied counts; stars are the paper's (INN vs baseline, Holm over eight tests); the dashed
    line is chance (50 %).
    """
    df = published_accuracy()
    df = df[df["condition"] != "All"].copy()
    df["panel"] = df["study"].map({1: "Study 1 (baseline only)", 2: "Study 2 (between subjects)"})
    df["attribute_label"] = [_label(a) if a in RELEVANT else "Overall" for a in df["attribute"]]
    df["condition_n"] = df["condition"] + " (n=" + df["n"].astype(str) + ")"
    order = [_label(a) for a in ATTRIBUTES] + ["Overall"]
    color = alt.Color("condition:N", scale=alt.Scale(domain=list(CONDITION_COLORS),
                                                     range=list(CONDITION_COLORS.values())),
                      title="condition")
    base = alt.Chart().encode(
        x=alt.X("attribute_label:N", sort=order, title=None, axis=alt.Axis(labelAngle=-35)),
        xOffset=alt.XOffset("condition:N", sort=list(CONDITIONS)),
    )
    bars = base.mark_bar().encode(
        y=alt.Y("value:Q", title="accuracy (%)", scale=alt.Scale(domain=[0, 105])), color=color,
        tooltip=["panel", "condition_n", "attribute", "value", "correct", "n",
                 alt.Tooltip("ci_low:Q", format=".1f"), alt.Tooltip("ci_high:Q", format=".1f")])
    whiskers = base.mark_rule(color="black", opacity=0.6).encode(y="ci_low:Q", y2="ci_high:Q")
    stars = base.mark_text(dy=-6, fontSize=13).encode(y="ci_high:Q", text="stars:N")
    chance = alt.Chart().mark_rule(strokeDash=[4, 3], color="#444").encode(y=alt.datum(50))
    layered = alt.layer(bars, whiskers, stars, chance, data=df).properties(width=300, height=220)
    chart = layered.facet(column=alt.Column("panel:N", title=None)).properties(
        title="Accuracy of the relevance judgements per attribute")
    return charts.provenance(chart, data=SOURCE_T2 + " (95 % Clopper-Pearson intervals computed here)",
                             scale="n/a")


def importance_chart() -> alt.TopLevelMixin:
    """Figure: Table 3, how strongly each factor drives the model (prediction flips and R^2)."""
    df = published_importance()
    df["role"] = np.where(df["factor"].isin(["Legs' Position"]), "class-defining",
                          np.where(df["factor"].isin(["Color", "Shape"]), "biased", "unbiased"))
    order = list(df["factor"])
    long = df.melt(id_vars=["factor", "role"], value_vars=["prediction_flip", "r2"],
                   var_name="measure", value_name="value")
    measures = {"prediction_flip": "prediction flips (%)", "r2": "R² of a linear fit, factor change -> logit change"}
    long["measure"] = long["measure"].map(measures)
    chart = alt.Chart(long).mark_bar().encode(
        y=alt.Y("factor:N", sort=order, title=None),
        x=alt.X("value:Q", title=None),
        color=alt.Color("role:N", scale=alt.Scale(domain=["class-defining", "biased", "unbiased"],
                                                  range=["#2ca02c", "#d62728", "#bbbbbb"])),
        tooltip=["factor", "measure", "value"],
    ).properties(width=230, height=200).facet(
        column=alt.Column("measure:N", title=None, sort=list(measures.values()))).resolve_scale(x="independent")
    chart = chart.properties(title="Ground-truth importance of each data-generating factor")
    return charts.provenance(chart, data="published: Sixt et al. 2022, Table 3 (Table 1 holds its first rows)",
                             scale="n/a")


# ------------------------------------------------------------------------------ study 1: McNemar
def paired_tables(k_first: int, k_second: int, n: int) -> pd.DataFrame:
    """Every paired 2x2 table of n participants with k_first and k_second correct answers.

    ``b`` = first correct and second wrong, ``c`` = first wrong and second correct, ``a`` = both
    correct, ``d`` = both wrong. The margins fix b - c = k_first - k_second; c ranges over what keeps
    all four cells non-negative.
    """
    for name, v in (("k_first", k_first), ("k_second", k_second)):
        if not 0 <= v <= n:
            raise ParameterError(f"{name} must lie in [0, n={n}]; got {v}")
    rows = []
    for c in range(0, n + 1):
        b = c + k_first - k_second
        a = k_second - c
        d = n - a - b - c
        if min(a, b, c, d) >= 0:
            rows.append({"a": a, "b": b, "c": c, "d": d})
    return pd.DataFrame(rows)


def study1_mcnemar_range(first: str = "Legs", second: str = "Color") -> pd.DataFrame:
    """Sec. 5.3, study 1: the exact McNemar p-value of every paired table consistent with Table 2.

    The paper compared, within the 43 participants, the answers on the legs with those on the colour
    (and on the shape). Only the margins (Table 2) are published; each row is one possible pairing
    with its two-sided exact p (``xaibook.stats.mcnemar_exact``).
    """
    c1 = counts(1)
    for a in (first, second):
        if a not in ATTRIBUTES:
            raise ParameterError(f"attribute must be one of {ATTRIBUTES}; got {a!r}")
    n = int(c1["n"].iloc[0])
    k1, k2 = int(c1[first].iloc[0]), int(c1[second].iloc[0])
    tables = paired_tables(k1, k2, n)
    res = [mcnemar_exact(int(b), int(c), n_pairs=n) if b + c > 0 else None for b, c in zip(tables["b"], tables["c"])]
    tables["pvalue"] = [r.pvalue if r is not None else 1.0 for r in res]
    tables.insert(0, "comparison", f"{first} vs {second}")
    tables["k_first"], tables["k_second"], tables["n"] = k1, k2, n
    return tables


def study1_mcnemar_summary() -> pd.DataFrame:
    """The range of exact McNemar p-values for the two pre-registered study-1 comparisons, next to the paper's."""
    paper = published_tests()
    paper = paper[paper["study"] == 1].set_index("comparison")
    rows = []
    for second in ("Color", "Shape"):
        t = study1_mcnemar_range("Legs", second)
        comp = f"Legs vs {second}"
        rel, p = paper.loc[comp, "p_relation"], float(paper.loc[comp, "pvalue"])
        fits = t[t["pvalue"] < p] if rel == "<" else t[np.isclose(t["pvalue"], p, atol=5e-5)]
        rows.append({
            "comparison": comp, "legs_correct": int(t["k_first"].iloc[0]), "other_correct": int(t["k_second"].iloc[0]),
            "n": int(t["n"].iloc[0]), "pairings": len(t), "p_min": t["pvalue"].min(), "p_max": t["pvalue"].max(),
            "paper_p": f"{rel} {paper.loc[comp, 'pvalue']:g}",
            "pairings_matching_paper": ", ".join(f"(b={b}, c={c})" for b, c in zip(fits["b"], fits["c"])) or "none",
        })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ study 2: per-attribute tests
def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> TestResult:
    """Fisher's exact test (two-sided) of k1/n1 vs k2/n2 correct, via :func:`scipy.stats.fisher_exact`.

    Effect: Cohen's h of the two proportions (positive when group 1 is more accurate); statistic:
    the sample odds ratio.
    """
    for name, k, n in (("group 1", k1, n1), ("group 2", k2, n2)):
        if not (0 <= k <= n and n > 0):
            raise ParameterError(f"{name}: need 0 <= k <= n and n > 0; got k={k}, n={n}")
    res = sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])
    return TestResult("Fisher exact", res.statistic, res.pvalue, None, cohens_h(k1 / n1, k2 / n2), "cohen_h",
                      None, n1 + n2)


def attribute_comparisons(conditions: Sequence[str] = ("INN", "Concepts"), reference: str = "Baseline") -> pd.DataFrame:
    """Study 2 per attribute: each condition vs the reference, Fisher exact on the implied counts, Holm.

    One answer per participant and attribute, so the two groups are independent samples. The Holm
    family is all rows returned (by default 2 comparisons x 5 attributes = 10 tests). This is a
    reanalysis from the published proportions; the paper's own per-attribute p-values (INN vs
    baseline only, Holm over eight tests, test not named) are joined as ``paper_p``.
    """
    c2 = counts(2)
    for cond in (*conditions, reference):
        if cond not in c2.index:
            raise ParameterError(f"condition must be one of {list(c2.index)}; got {cond!r}")
    rows = []
    for cond in conditions:
        for attr in ATTRIBUTES:
            r = fisher_exact(int(c2.loc[cond, attr]), int(c2.loc[cond, "n"]),
                             int(c2.loc[reference, attr]), int(c2.loc[reference, "n"]))
            rows.append({"comparison": f"{cond} vs {reference}", "attribute": attr,
                         "acc_condition": 100 * c2.loc[cond, attr] / c2.loc[cond, "n"],
                         "acc_reference": 100 * c2.loc[reference, attr] / c2.loc[reference, "n"],
                         "correct_condition": int(c2.loc[cond, attr]), "n_condition": int(c2.loc[cond, "n"]),
                         "correct_reference": int(c2.loc[reference, attr]), "n_reference": int(c2.loc[reference, "n"]),
                         "odds_ratio": r.statistic, "cohen_h": r.effect, "p_fisher": r.pvalue})
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p_fisher"].to_numpy())
    paper = published_tests()
    paper = paper[paper["comparison"].isin({f"{c} vs {reference}" for c in conditions})
                  & paper["attribute"].isin(ATTRIBUTES)]
    paper = paper.assign(paper_p=[("< " if rel == "<" else "") + f"{p:g}"
                                  for rel, p in zip(paper["p_relation"], paper["pvalue"])])
    out = out.merge(paper[["comparison", "attribute", "paper_p"]], on=["comparison", "attribute"], how="left")
    out["paper_p"] = out["paper_p"].fillna("not reported")
    return out


def pvalue_floor(attribute: str = "Legs", condition: str = "INN", reference: str = "Baseline",
                            family_size: int = 8, smaller_in_family: int = 2) -> pd.DataFrame:
    """How small can one attribute's p-value get with standard tests of two independent proportions?

    Sec. 5.3 does not name its per-attribute test. This runs Fisher's exact test (two- and one-sided),
    Boschloo's exact test and Pearson's chi-square (with and without Yates' correction) on the implied
    counts (scipy), and gives the smallest Holm-adjusted value each allows: Holm multiplies the k-th
    smallest of m p-values by at least m - k + 1, and the paper's family of eight held two
    pre-registered p-values below 0.001 (``smaller_in_family``), so the factor is at least 8 - 2 = 6.
    """
    c2 = counts(2)
    if attribute not in ATTRIBUTES:
        raise ParameterError(f"attribute must be one of {ATTRIBUTES}; got {attribute!r}")
    k1, n1 = int(c2.loc[condition, attribute]), int(c2.loc[condition, "n"])
    k2, n2 = int(c2.loc[reference, attribute]), int(c2.loc[reference, "n"])
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    side = "greater" if k1 / n1 > k2 / n2 else "less"
    rows = [("Fisher exact, two-sided", sps.fisher_exact(table).pvalue),
            (f"Fisher exact, one-sided ({side})", sps.fisher_exact(table, alternative=side).pvalue),
            ("Boschloo exact, two-sided", sps.boschloo_exact(table).pvalue),
            ("chi-square, no correction", sps.chi2_contingency(table, correction=False)[1]),
            ("chi-square, Yates", sps.chi2_contingency(table, correction=True)[1])]
    out = pd.DataFrame(rows, columns=["test", "p_raw"])
    factor = family_size - smaller_in_family
    out["min_holm_factor"] = factor
    out["p_holm_at_least"] = np.minimum(1.0, factor * out["p_raw"])
    out.insert(0, "attribute", attribute)
    out.insert(1, "counts", f"{condition} {k1}/{n1} vs {reference} {k2}/{n2}")
    return out


def study2_overall() -> pd.DataFrame:
    """Study 2 overall accuracy per condition: the printed value, and the mean of the implied counts."""
    acc = published_accuracy()
    c2 = counts(2)
    printed = acc[(acc["study"] == 2) & (acc["attribute"] == "Overall")].set_index("condition")["value"]
    out = pd.DataFrame({"n": c2["n"], "correct_answers": c2[list(ATTRIBUTES)].sum(axis=1)})
    out["answers"] = out["n"] * len(ATTRIBUTES)
    out["accuracy_from_counts"] = 100 * out["correct_answers"] / out["answers"]
    out["accuracy_printed"] = printed.reindex(out.index)
    return out.reset_index()


# -------------------------------------------------------------------------------- replication
def r_to_d(r: float) -> float:
    """Convert a rank-biserial-like effect size r = Z / sqrt(N) to Cohen's d = 2 r / sqrt(1 - r^2)."""
    if not -1 < r < 1:
        raise ParameterError(f"r must lie in (-1, 1); got {r}")
    return 2 * r / math.sqrt(1 - r * r)


def replication_sample_sizes(power: float = 0.8, alpha: float = 0.05, comparison: str = "INN") -> pd.DataFrame:
    """Participants per group to detect the reported INN-vs-baseline differences with the given power.

    Per attribute: the two-sided test of two proportions at the published accuracies (Cohen's h,
    ``xaibook.stats.sample_size_two_proportions``). Overall: the paper's Wilcoxon effect r (Sec. 5.3)
    turned into Cohen's d, sized for an unpaired t-test (an approximation: the per-participant
    accuracy takes only six values). ``n_study`` is the smaller group the paper had.
    """
    c2 = counts(2)
    if comparison not in c2.index or comparison == "Baseline":
        raise ParameterError(f"comparison must be 'INN' or 'Concepts'; got {comparison!r}")
    rows = []
    for attr in ATTRIBUTES:
        p1 = c2.loc[comparison, attr] / c2.loc[comparison, "n"]
        p2 = c2.loc["Baseline", attr] / c2.loc["Baseline", "n"]
        n = sample_size_two_proportions(p1, p2, power=power, alpha=alpha) if p1 != p2 else None
        rows.append({"attribute": attr, "basis": "two proportions (Cohen's h)", "acc_condition": 100 * p1,
                     "acc_baseline": 100 * p2, "effect": cohens_h(p1, p2), "effect_name": "cohen_h",
                     "n_per_group": n})
    paper = published_tests().set_index("comparison")
    r = float(paper.loc[f"Baseline vs {comparison}", "effect_r"])
    d = r_to_d(r)
    rows.append({"attribute": "Overall", "basis": "Wilcoxon r -> Cohen's d, t-test",
                 "acc_condition": float(published_accuracy().query("study == 2 and condition == @comparison "
                                                                   "and attribute == 'Overall'")["value"].iloc[0]),
                 "acc_baseline": float(published_accuracy().query("study == 2 and condition == 'Baseline' "
                                                                  "and attribute == 'Overall'")["value"].iloc[0]),
                 "effect": d, "effect_name": "cohen_d", "n_per_group": sample_size_ttest_ind(d, power=power, alpha=alpha)})
    out = pd.DataFrame(rows)
    out["n_study"] = int(min(c2.loc[comparison, "n"], c2.loc["Baseline", "n"]))
    out["n_per_group"] = out["n_per_group"].astype("Int64")
    return out


def replication_power_chart(ns: Sequence[int] = tuple(range(10, 401, 10)), alpha: float = 0.05) -> alt.TopLevelMixin:
    """Figure: power of a two-proportion test at the INN and baseline accuracies of Table 2, per attribute.

    The vertical line marks the study's group size (the smaller of INN and baseline).
    """
    c2 = counts(2)
    frames = []
    for attr in ATTRIBUTES:
        p1 = c2.loc["INN", attr] / c2.loc["INN", "n"]
        p2 = c2.loc["Baseline", attr] / c2.loc["Baseline", "n"]
        if p1 == p2:
            continue
        curve = power_curve("two_proportions", (p1, p2), ns, alpha=alpha)
        curve["attribute"] = f"{attr}: {100 * p1:.1f} vs {100 * p2:.1f} %"
        frames.append(curve)
    df = pd.concat(frames, ignore_index=True)
    n_study = int(min(c2.loc["INN", "n"], c2.loc["Baseline", "n"]))
    lines = alt.Chart(df).mark_line().encode(
        x=alt.X("n:Q", title="participants per group"),
        y=alt.Y("power:Q", title="power", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("attribute:N", title="attribute: INN vs baseline"),
        tooltip=["attribute", "n", alt.Tooltip("power:Q", format=".2f")])
    target = alt.Chart(pd.DataFrame({"y": [0.8]})).mark_rule(strokeDash=[4, 3], color="#444").encode(y="y:Q")
    study = alt.Chart(pd.DataFrame({"x": [n_study]})).mark_rule(color="#999").encode(x="x:Q")
    chart = alt.layer(lines, target, study).properties(
        width=420, height=240, title=f"Power of a replication (two-sided, alpha = {alpha:g}) at the published accuracies")
    return charts.provenance(chart, data=SOURCE_T2 + "; power computed here (xaibook.stats.power_curve)", scale="n/a")
