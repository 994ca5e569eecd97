"""Alqaraawi et al. 2020 (IUI): can people forecast a CNN's output better with LRP saliency maps?

Stage 1 of the study module: the published results (Sec. 4, with Sec. 5.1 and 7) as charts,
and the reanalysis the summaries allow:

* :func:`recompute_saliency_effect` rebuilds the main effect of saliency maps from the
  marginal means and SDs (Sec. 4.1, 4.3) and sets it beside the printed F and eta squared;
* :func:`implied_counts` recovers the whole numbers of correct forecasts behind the printed
  percentages (a GRIM-style reading), and :func:`outcome_table` derives from them the
  accuracies per outcome type of the group without saliency maps, which the paper does not print;
* :func:`consistency_checks` ties Sec. 4.1, 4.2 and 5.1 together;
* :func:`replication_sample_sizes` gives the participants a replication needs.
"""
from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from .. import ledger
from ..data import published
from ..errors import DataFormatError, ParameterError
from ..viz import charts

OUTCOMES = {"forecast_accuracy": "forecast accuracy (Sec. 4.1)",
            "saliency_feature_ratio": "share of saliency features (Sec. 4.3)"}
TERMS = {"saliency_maps": "saliency maps", "scores": "scores", "saliency_maps:scores": "interaction"}
OUTCOME_TYPES = ("TP", "FN", "FP")


def published_descriptives() -> pd.DataFrame:
    """Sec. 4.1-4.3: marginal means and SDs by presence of saliency maps; median confidence."""
    return published.load("alqaraawi2020_descriptives")


def published_tests() -> pd.DataFrame:
    """Sec. 4.1-4.3: every reported test (Shapiro-Wilk, Levene, two-way ANOVAs, Kruskal-Wallis)."""
    return published.load("alqaraawi2020_tests")


def published_outcomes() -> pd.DataFrame:
    """Sec. 4.2, 5.1 and 7: forecast accuracy per outcome type (TP, FN, FP) and related shares."""
    return published.load("alqaraawi2020_outcomes")


def published_design() -> pd.Series:
    """Sec. 3: participants, conditions, task and example images, model, payment (quantity -> value)."""
    return published.load("alqaraawi2020_design").set_index("quantity")["value"]


def marginal_means() -> pd.DataFrame:
    """Means and SDs per outcome and level of the saliency-map factor, one row each."""
    d = published_descriptives()
    d = d[d["statistic"].isin(["mean", "sd"])]
    wide = d.pivot_table(index=["outcome", "level"], columns="statistic", values="value").reset_index()
    n = d.groupby(["outcome", "level"])["n"].first().reset_index()
    return wide.merge(n, on=["outcome", "level"])


def means_chart() -> alt.TopLevelMixin:
    """Figure: marginal means +- 1 SD with and without saliency maps, for both outcomes (Sec. 4.1, 4.3)."""
    m = marginal_means()
    m["low"], m["high"] = m["mean"] - m["sd"], m["mean"] + m["sd"]
    m["panel"] = m["outcome"].map(OUTCOMES)
    base = alt.Chart(m).encode(x=alt.X("level:N", title="saliency maps", sort=["omitted", "shown"],
                                       axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(width=40).encode(
        y=alt.Y("mean:Q", title="percent (mean ± 1 SD)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("level:N", sort=["omitted", "shown"], legend=None,
                        scale=alt.Scale(range=["#bbbbbb", "#e7298a"])),
        tooltip=["outcome", "level", "mean", "sd"])
    err = base.mark_rule(strokeWidth=2).encode(y="low:Q", y2="high:Q")
    chart = alt.layer(bars, err).properties(width=160, height=220).facet(
        column=alt.Column("panel:N", title=None, sort=list(OUTCOMES.values()))
    ).properties(title="Saliency maps: small gain in forecasts, large shift in what people mention")
    return charts.provenance(chart, data="published: alqaraawi2020 Sec. 4.1, Sec. 4.3", scale="n/a")


def anova_chart() -> alt.TopLevelMixin:
    """Figure: eta squared of each term of the two two-way ANOVAs, with the printed F and p."""
    t = published_tests()
    t = t[t["test"].str.startswith("two-way ANOVA")].copy()
    t["term_name"] = t["term"].map(TERMS)
    t["panel"] = t["outcome"].map(OUTCOMES)
    t["label"] = [f"F({int(a)},{int(b)})={s:g}, p{r}{p:g}" for a, b, s, r, p in
                  zip(t["df1"], t["df2"], t["statistic"], t["p_relation"], t["p"])]
    base = alt.Chart(t).encode(y=alt.Y("term_name:N", title=None, sort=list(TERMS.values())))
    bars = base.mark_bar(color="#7570b3").encode(
        x=alt.X("eta_squared:Q", title="eta squared (as printed)", scale=alt.Scale(domain=[0, 0.45])),
        tooltip=["outcome", "term", "statistic", "p", "eta_squared"])
    text = base.mark_text(align="left", dx=4, fontSize=10).encode(x="eta_squared:Q", text="label:N")
    chart = alt.layer(bars, text).properties(width=250, height=110).facet(
        row=alt.Row("panel:N", title=None, sort=list(OUTCOMES.values()),
                    header=alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold"))
    ).properties(title="Two-way ANOVAs: only the saliency-map factor is significant")
    return charts.provenance(chart, data="published: alqaraawi2020 Sec. 4.1, Sec. 4.3", scale="n/a")


def _feature_ns(n_total: int) -> tuple[int, int]:
    """An assumed split of the 62 participants of Sec. 4.3 into shown/omitted (not reported)."""
    return n_total // 2, n_total - n_total // 2


def recompute_saliency_effect() -> pd.DataFrame:
    """The saliency-map main effect rebuilt from the printed marginal means and SDs.

    A two-group comparison of the marginal means ignores the scores factor, so it pools its
    (small, non-significant) effect into the error term; the classical F of a balanced 2x2
    design for a one-df factor equals the square of this t up to that pooling and the error df
    (N-2 here, N-4 in the paper). For Sec. 4.3 the split of the 62 participants is not
    reported (31/31 assumed) and the paper's F comes from a heteroscedasticity-corrected
    ANOVA, so only a rough match is expected; the Welch t is shown beside it.
    """
    from .. import stats

    m = marginal_means().set_index(["outcome", "level"])
    tests = published_tests()
    design = published_design()
    rows = []
    for outcome in OUTCOMES:
        shown, omitted = m.loc[(outcome, "shown")], m.loc[(outcome, "omitted")]
        if pd.isna(shown["n"]):
            n_total = int(design["participants"] - design["excluded_from_feature_analysis"])
            n1, n2 = _feature_ns(n_total)
            n_note = f"{n1}/{n2} assumed (split of {n_total} not reported)"
        else:
            n1, n2 = int(shown["n"]), int(omitted["n"])
            n_note = "32/32 (2 x 16 per condition)"
        pooled = stats.ttest_from_summary(shown["mean"], shown["sd"], n1, omitted["mean"], omitted["sd"], n2,
                                          equal_var=True)
        welch = stats.ttest_from_summary(shown["mean"], shown["sd"], n1, omitted["mean"], omitted["sd"], n2,
                                         equal_var=False)
        oneway = stats.anova_from_summary([shown["mean"], omitted["mean"]], [shown["sd"], omitted["sd"]], [n1, n2])
        rep = tests[(tests["outcome"] == outcome) & (tests["term"] == "saliency_maps")].iloc[0]
        rows.append({"outcome": outcome, "n_shown/n_omitted": n_note,
                     "t_pooled": pooled.statistic, "t_squared": pooled.statistic ** 2,
                     "F_oneway": oneway.statistic, "eta2_oneway": oneway.effect,
                     "p_pooled": pooled.pvalue, "t_welch": welch.statistic, "p_welch": welch.pvalue,
                     "cohen_d": pooled.effect,
                     "F_reported": rep["statistic"], "p_reported": f"{rep['p_relation']} {rep['p']:g}",
                     "eta2_reported": rep["eta_squared"]})
    return pd.DataFrame(rows)


def _denominator(row: pd.Series, participants: int) -> int:
    group = participants if row["saliency_maps"] == "all" else participants // 2
    return group * int(row["n_task_images"])


def implied_count(percent: float, trials: int, decimals: int = 1) -> int:
    """The whole number ``k`` of correct forecasts with ``round(100 k / trials, decimals) == percent``.

    Raises :class:`DataFormatError` when no whole number (or more than one) fits: the printed
    percentage then cannot come from ``trials`` forecasts.
    """
    if trials < 1:
        raise ParameterError(f"trials must be a positive count, got {trials}")
    tol = 0.5 * 10 ** (-decimals) + 1e-9
    lo, hi = math.ceil((percent - tol) * trials / 100), math.floor((percent + tol) * trials / 100)
    fits = [k for k in range(max(lo, 0), min(hi, trials) + 1) if abs(100 * k / trials - percent) <= tol]
    if len(fits) != 1:
        raise DataFormatError(f"{percent}% of {trials} trials fits {len(fits)} whole counts {fits}; "
                              "check the denominator (participants x task images)")
    return fits[0]


def implied_counts() -> pd.DataFrame:
    """Correct forecasts behind every printed accuracy (Sec. 4.1, 4.2, 7).

    Denominators: participants in the group (64, or 32 with saliency maps) times task images
    of that outcome type (Sec. 3.2.2: 6 TP, 4 FN, 4 FP of 14).
    """
    design = published_design()
    participants = int(design["participants"])
    out = published_outcomes()
    out = out[out["quantity"] == "forecast_accuracy"].copy()
    m = marginal_means()
    acc = m[m["outcome"] == "forecast_accuracy"]
    extra = pd.DataFrame({"quantity": "forecast_accuracy", "outcome_type": "all",
                          "saliency_maps": acc["level"].values, "percent": acc["mean"].values,
                          "n_task_images": int(design["task_images"]), "source": "Sec. 4.1"})
    rows = pd.concat([out[["quantity", "outcome_type", "saliency_maps", "percent", "n_task_images", "source"]],
                      extra], ignore_index=True)
    rows["trials"] = [_denominator(r, participants) for _, r in rows.iterrows()]
    rows["correct"] = [implied_count(p, t) for p, t in zip(rows["percent"], rows["trials"])]
    return rows


def outcome_table() -> pd.DataFrame:
    """Forecast accuracy per outcome type and saliency-map group, printed where printed, else derived.

    Printed: TP/FN/FP over all 64 participants (Sec. 4.2), FN and FP with saliency maps (Sec. 7).
    Derived from :func:`implied_counts`: the group without maps (all minus shown), and TP with
    maps (the Sec. 4.1 total of the shown group minus its FN and FP counts).
    """
    c = implied_counts().set_index(["outcome_type", "saliency_maps"])
    design = published_design()
    half = int(design["participants"]) // 2
    n_task = {"TP": 2 * int(design["task_tp_per_class"]), "FN": 2 * int(design["task_fn_per_class"]),
              "FP": 2 * int(design["task_fp_per_class"])}
    shown = {t: int(c.loc[(t, "shown"), "correct"]) for t in ("FN", "FP")}
    shown["TP"] = int(c.loc[("all", "shown"), "correct"]) - shown["FN"] - shown["FP"]
    rows = []
    for t in OUTCOME_TYPES:
        total = int(c.loc[(t, "all"), "correct"])
        rows.append({"outcome_type": t, "saliency_maps": "all", "percent": float(c.loc[(t, "all"), "percent"]),
                     "correct": total, "trials": 2 * half * n_task[t], "origin": "printed"})
        k_shown = shown[t]
        rows.append({"outcome_type": t, "saliency_maps": "shown", "percent": 100 * k_shown / (half * n_task[t]),
                     "correct": k_shown, "trials": half * n_task[t],
                     "origin": "printed" if (t, "shown") in c.index else "derived"})
        rows.append({"outcome_type": t, "saliency_maps": "omitted",
                     "percent": 100 * (total - k_shown) / (half * n_task[t]),
                     "correct": total - k_shown, "trials": half * n_task[t], "origin": "derived"})
    return pd.DataFrame(rows)


def consistency_checks() -> pd.DataFrame:
    """Printed numbers that must agree with each other, each with our recomputation.

    * overall accuracy = task-weighted mean of the TP/FN/FP accuracies (Sec. 4.1 vs 4.2);
    * share of forecasts 'the system will be right' (Sec. 5.1) = TP accuracy on TP images plus
      the errors on FN and FP images (a wrong forecast there says the system is right);
    * share of task images the system got right (Sec. 5.1) = 6 TP of 14;
    * correct forecasts counted by outcome type = counted by group (Sec. 4.2 vs 4.1).
    """
    out = published_outcomes().set_index(["quantity", "outcome_type", "saliency_maps"])["percent"]
    design = published_design()
    n = {"TP": 2 * design["task_tp_per_class"], "FN": 2 * design["task_fn_per_class"],
         "FP": 2 * design["task_fp_per_class"]}
    acc = {t: out[("forecast_accuracy", t, "all")] for t in OUTCOME_TYPES}
    total = sum(n.values())
    m = marginal_means().set_index(["outcome", "level"])["mean"]
    counts = implied_counts().set_index(["outcome_type", "saliency_maps"])["correct"]
    rows = [
        {"check": "overall accuracy (mean of the two groups, Sec. 4.1)",
         "printed": (m[("forecast_accuracy", "shown")] + m[("forecast_accuracy", "omitted")]) / 2,
         "recomputed": sum(acc[t] * n[t] for t in n) / total,
         "from": "TP/FN/FP accuracies weighted by task images (Sec. 4.2)"},
        {"check": "forecasts saying the system is right (Sec. 5.1)",
         "printed": out[("predicted_system_correct", "all", "all")],
         "recomputed": (acc["TP"] * n["TP"] + (100 - acc["FN"]) * n["FN"] + (100 - acc["FP"]) * n["FP"]) / total,
         "from": "TP/FN/FP accuracies (Sec. 4.2)"},
        {"check": "task images the system got right (Sec. 5.1)",
         "printed": out[("system_correct", "all", "all")],
         "recomputed": 100 * n["TP"] / total, "from": "task design (Sec. 3.2.2)"},
        {"check": "correct forecasts: sum over outcome types = sum over groups",
         "printed": float(counts[("all", "shown")] + counts[("all", "omitted")]),
         "recomputed": float(sum(counts[(t, "all")] for t in OUTCOME_TYPES)),
         "from": "implied counts (Sec. 4.1 vs Sec. 4.2)"},
    ]
    df = pd.DataFrame(rows)
    df["agrees"] = (df["printed"] - df["recomputed"]).abs() <= np.where(df["check"].str.startswith("correct"), 0, 0.051)
    return df


def outcome_chart(table: pd.DataFrame | None = None) -> alt.TopLevelMixin:
    """Figure: forecast accuracy per outcome type, printed and derived, against the 50 % chance line."""
    t = outcome_table() if table is None else table.copy()
    t = t[t["saliency_maps"] != "all"].copy()
    t["group"] = "saliency maps " + t["saliency_maps"]
    base = alt.Chart(t).encode(x=alt.X("outcome_type:N", title="outcome of the CNN on the task image",
                                       sort=list(OUTCOME_TYPES), axis=alt.Axis(labelAngle=0)),
                               xOffset=alt.XOffset("group:N", sort=["saliency maps omitted", "saliency maps shown"]))
    bars = base.mark_bar().encode(
        y=alt.Y("percent:Q", title="correct forecasts (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("group:N", title=None, sort=["saliency maps omitted", "saliency maps shown"],
                        scale=alt.Scale(range=["#bbbbbb", "#e7298a"])),
        opacity=alt.Opacity("origin:N", title="value", sort=["printed", "derived"],
                            scale=alt.Scale(domain=["printed", "derived"], range=[1.0, 0.45])),
        tooltip=["outcome_type", "group", alt.Tooltip("percent:Q", format=".1f"), "correct", "trials", "origin"])
    chance = alt.Chart(pd.DataFrame({"y": [50]})).mark_rule(strokeDash=[4, 3]).encode(y="y:Q")
    chart = alt.layer(bars, chance).properties(
        width=320, height=220,
        title="Forecasts of the CNN's errors stay below chance (dashed), with or without maps")
    return charts.provenance(chart, data="published: alqaraawi2020 Sec. 4.2, Sec. 7; pale bars computed from "
                                         "published Sec. 4.1, 4.2, 7", scale="n/a")


def replication_sample_sizes(power: float = 0.8, alpha: float = 0.05) -> pd.DataFrame:
    """Participants a replication needs for each printed ANOVA effect (eta squared -> Cohen's f).

    Each term has one numerator df, so the two-group ANOVA power of ``sample_size_anova(f, k=2)``
    applies to the 2x2 design up to the error df. The printed eta squared is taken as partial
    eta squared for the conversion ``f = sqrt(eta2 / (1 - eta2))`` (for a balanced design with
    small other effects the two nearly coincide).
    """
    from .. import stats

    t = published_tests()
    t = t[t["test"].str.startswith("two-way ANOVA")]
    used = {"forecast_accuracy": int(published_design()["participants"]),
            "saliency_feature_ratio": int(published_design()["participants"]
                                          - published_design()["excluded_from_feature_analysis"])}
    rows = []
    for _, r in t.iterrows():
        eta = float(r["eta_squared"])
        f = math.sqrt(eta / (1 - eta))
        n = stats.sample_size_anova(f, k=2, power=power, alpha=alpha)
        rows.append({"outcome": r["outcome"], "term": r["term"], "eta2_reported": eta, "cohen_f": f,
                     "participants_needed": int(n), "participants_used": used[r["outcome"]],
                     "power_at_used_n": float(stats.power_anova(f, k=2, n_total=used[r["outcome"]], alpha=alpha))})
    return pd.DataFrame(rows)


def power_chart(ns: Sequence[int] | None = None) -> alt.TopLevelMixin:
    """Figure: power against total participants for the printed effects of saliency maps and scores."""
    from .. import stats

    ns = list(range(16, 401, 8)) if ns is None else list(ns)
    need = replication_sample_sizes()
    need = need[(need["outcome"] == "forecast_accuracy") & (need["term"] != "saliency_maps:scores")]
    frames = []
    for _, r in need.iterrows():
        curve = stats.power_curve("anova", r["cohen_f"], ns, k=2)
        curve["effect"] = f"{TERMS[r['term']]} (eta2 = {r['eta2_reported']:g}, f = {r['cohen_f']:.2f})"
        frames.append(curve)
    curves = pd.concat(frames, ignore_index=True)
    line = alt.Chart(curves).mark_line().encode(
        x=alt.X("n:Q", title="participants in total (2x2 design)"),
        y=alt.Y("power:Q", title="power (alpha = 0.05)", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("effect:N", title="effect on forecast accuracy",
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0)))
    target = alt.Chart(pd.DataFrame({"y": [0.8]})).mark_rule(strokeDash=[4, 3], color="#666").encode(y="y:Q")
    used = alt.Chart(pd.DataFrame({"x": [int(published_design()["participants"])]})).mark_rule(
        color="#d95f02").encode(x="x:Q")
    chart = alt.layer(line, target, used).properties(
        width=380, height=220, title="Power for the printed effects (orange: the 64 participants of the study)")
    return charts.provenance(chart, data="computed from published alqaraawi2020 Sec. 4.1", scale="n/a")


# --------------------------------------------------------------------------- ledger and sentences

STUDY = "alqaraawi2020"


def _feature_splits(n_total: int) -> list[tuple[int, int]]:
    """Possible shown/omitted splits of Sec. 4.3: each map group had 32 (Sec. 3.5), 2 were excluded."""
    half = int(published_design()["participants"]) // 2
    lost = 2 * half - n_total
    return [(half - a, half - (lost - a)) for a in range(lost + 1)]


def effect_ranges() -> pd.DataFrame:
    """The saliency-map F, eta squared and p over everything the printed summaries leave open.

    Means and SDs are printed to one decimal, so each may lie +-0.05 from its printed value
    (all 16 corners are tried); for Sec. 4.3 the split of the 62 participants also varies over
    30/32, 31/31 and 32/30 (each map group had 32 before the 2 exclusions). ``*_low``/``*_high``
    bound the classical one-way F (= t squared), eta squared and p.
    """
    from itertools import product

    from .. import stats

    m = marginal_means().set_index(["outcome", "level"])
    design = published_design()
    rows = []
    for outcome in OUTCOMES:
        shown, omitted = m.loc[(outcome, "shown")], m.loc[(outcome, "omitted")]
        if pd.isna(shown["n"]):
            splits = _feature_splits(int(design["participants"] - design["excluded_from_feature_analysis"]))
        else:
            splits = [(int(shown["n"]), int(omitted["n"]))]
        fs, etas, ps = [], [], []
        for (n1, n2), signs in product(splits, product((-0.05, 0.05), repeat=4)):
            m1, s1, m2, s2 = (shown["mean"] + signs[0], shown["sd"] + signs[1], omitted["mean"] + signs[2],
                              omitted["sd"] + signs[3])
            res = stats.anova_from_summary([m1, m2], [s1, s2], [n1, n2])
            fs.append(res.statistic)
            etas.append(res.effect)
            ps.append(res.pvalue)
        rows.append({"outcome": outcome, "splits": ", ".join(f"{a}/{b}" for a, b in splits),
                     "F_low": min(fs), "F_high": max(fs), "eta2_low": min(etas), "eta2_high": max(etas),
                     "p_low": min(ps), "p_high": max(ps)})
    return pd.DataFrame(rows)


def _spread(ours: float, low: float, high: float) -> float:
    return max(high - ours, ours - low)


def record_effect(recomputed: pd.DataFrame, ranges: pd.DataFrame) -> None:
    """Ledger: the saliency-map main effects (Sec. 4.1, 4.3) against :func:`recompute_saliency_effect`.

    Each tolerance is how far the value can move within the printed rounding (and, Sec. 4.3,
    the possible splits): :func:`effect_ranges`.
    """
    r = recomputed.set_index("outcome")
    g = ranges.set_index("outcome")
    data = {"forecast_accuracy": "published Sec. 4.1 (marginal means, SDs, 32/32)",
            "saliency_feature_ratio": "published Sec. 4.3 (marginal means, SDs; split 30/32 to 32/30)"}
    for outcome in OUTCOMES:
        test = published_tests()
        test = test[(test["outcome"] == outcome) & (test["term"] == "saliency_maps")].iloc[0]
        where = {"outcome": outcome, "test": test["test"], "term": "saliency_maps"}
        ours_f, ours_eta = float(r.loc[outcome, "F_oneway"]), float(r.loc[outcome, "eta2_oneway"])
        white = "White" in test["test"]
        ledger.record(STUDY, f"{outcome}.saliency_maps.F",
                      f"F of the saliency-map effect on the {OUTCOMES[outcome]} (ours: t squared of the marginal means)",
                      paper=published.ref("alqaraawi2020_tests", "statistic", **where), ours=ours_f,
                      data=data[outcome], tolerance=_spread(ours_f, g.loc[outcome, "F_low"], g.loc[outcome, "F_high"]),
                      reason=("the paper's F uses a White (heteroscedasticity-consistent) covariance, which the "
                              "classical F from summaries cannot rebuild" if white
                              else "beyond the rounding of the printed means and SDs"))
        ledger.record(STUDY, f"{outcome}.saliency_maps.eta2",
                      f"eta squared of the saliency-map effect on the {OUTCOMES[outcome]}",
                      paper=published.ref("alqaraawi2020_tests", "eta_squared", **where), ours=ours_eta,
                      data=data[outcome],
                      tolerance=_spread(ours_eta, g.loc[outcome, "eta2_low"], g.loc[outcome, "eta2_high"]),
                      reason="beyond the rounding of the printed means and SDs")
        if test["p_relation"] == "=":
            ours_p = float(r.loc[outcome, "p_pooled"])
            ledger.record(STUDY, f"{outcome}.saliency_maps.p", f"p of the saliency-map effect on the {OUTCOMES[outcome]}",
                          paper=published.ref("alqaraawi2020_tests", "p", **where), ours=ours_p, data=data[outcome],
                          tolerance=_spread(ours_p, g.loc[outcome, "p_low"], g.loc[outcome, "p_high"]),
                          reason="beyond the rounding of the printed means and SDs")


def record_counts(counts: pd.DataFrame) -> None:
    """Ledger: every printed accuracy against the share of whole forecasts behind it (:func:`implied_counts`)."""
    for _, r in counts.iterrows():
        if r["outcome_type"] == "all":
            paper = published.ref("alqaraawi2020_descriptives", "value", outcome="forecast_accuracy",
                                  level=r["saliency_maps"], statistic="mean")
        else:
            paper = published.ref("alqaraawi2020_outcomes", "percent", quantity=r["quantity"],
                                  outcome_type=r["outcome_type"], saliency_maps=r["saliency_maps"])
        ledger.record(STUDY, f"counts.{r['outcome_type']}.{r['saliency_maps']}",
                      f"forecast accuracy {r['outcome_type']}, maps {r['saliency_maps']}, as "
                      f"{int(r['correct'])}/{int(r['trials'])} whole forecasts (%)",
                      paper=paper, ours=100 * r["correct"] / r["trials"],
                      data=f"published {r['source']} x participants and task images (Sec. 3.2.2, 3.5)",
                      tolerance=0.0, reason="no whole count of forecasts gives the printed percentage")


def record_consistency(check: pd.DataFrame) -> None:
    """Ledger: the printed shares that follow from the TP/FN/FP accuracies (:func:`consistency_checks`).

    The group mean without maps (Sec. 4.1) is twice the task-weighted overall accuracy minus
    the mean with maps; tolerance 0.15 (the inputs' rounding, +-0.05 each, through the formula).
    The share of "system right" forecasts inherits +-0.05 from the accuracies; the share of
    images the system got right is exact.
    """
    c = check.set_index("check")["recomputed"]
    shown = published.ref("alqaraawi2020_descriptives", "value", outcome="forecast_accuracy", level="shown",
                          statistic="mean")
    overall = float(c.iloc[0])
    ledger.record(STUDY, "consistency.omitted_mean",
                  "mean forecast accuracy without maps (%), from the TP/FN/FP accuracies and the mean with maps",
                  paper=published.ref("alqaraawi2020_descriptives", "value", outcome="forecast_accuracy",
                                      level="omitted", statistic="mean"),
                  ours=2 * overall - shown.value, data="published Sec. 4.1, 4.2, task design (Sec. 3.2.2)",
                  tolerance=0.15, reason="beyond the rounding of the printed accuracies")
    ledger.record(STUDY, "consistency.predicted_system_correct",
                  "forecasts saying the system is right (%), from the TP/FN/FP accuracies",
                  paper=published.ref("alqaraawi2020_outcomes", "percent", quantity="predicted_system_correct"),
                  ours=float(c.iloc[1]), data="published Sec. 4.2, task design (Sec. 3.2.2)", tolerance=0.05,
                  reason="beyond the rounding of the printed accuracies")
    ledger.record(STUDY, "consistency.system_correct", "task images the system got right (%), from the task design",
                  paper=published.ref("alqaraawi2020_outcomes", "percent", quantity="system_correct"),
                  ours=float(c.iloc[2]), data="task design (Sec. 3.2.2)", tolerance=0.0,
                  reason="the task design gives another share")


def record_unrecomputed() -> None:
    """Ledger: the printed tests that need per-participant data (or cell means) the paper does not give."""
    t = published_tests()
    for _, r in t[t["term"] != "saliency_maps"].iterrows():
        why = ("needs the four cell means and SDs, which the paper does not print" if r["test"].startswith("two-way")
               else "needs per-participant data, which are not public")
        ledger.record(STUDY, f"{r['outcome']}.{r['test'].split(' (')[0].replace(' ', '_')}.{r['term'].replace(' ', '_')}",
                      f"{r['statistic_name']} of the {r['test']} ({r['term']}) on the {r['outcome'].replace('_', ' ')}",
                      paper=published.ref("alqaraawi2020_tests", "statistic", outcome=r["outcome"], test=r["test"],
                                          term=r["term"]),
                      ours=None, data=f"published {r['source']}", why_not=why)


def effect_sentence(recomputed: pd.DataFrame, ranges: pd.DataFrame) -> str:
    """The recomputed saliency-map effects beside the printed ones, with the room the rounding leaves."""
    r = recomputed.set_index("outcome")
    g = ranges.set_index("outcome")
    acc, ratio = r.loc["forecast_accuracy"], r.loc["saliency_feature_ratio"]
    ga, gr = g.loc["forecast_accuracy"], g.loc["saliency_feature_ratio"]
    return (f"For forecast accuracy the squared t is {acc['t_squared']:.2f} against the printed F of "
            f"{acc['F_reported']:g}, and the means and SDs within their printed rounding allow anything from "
            f"{ga['F_low']:.2f} to {ga['F_high']:.2f}; eta squared is {acc['eta2_oneway']:.3f} against "
            f"{acc['eta2_reported']:g}. The printed means, SDs and test belong together. The effect corresponds "
            f"to a Cohen's d of {acc['cohen_d']:.2f}. For the feature ratio the classical F lies between "
            f"{gr['F_low']:.1f} and {gr['F_high']:.1f} over the possible splits ({gr['splits']}) and the rounding, "
            f"above the printed {ratio['F_reported']:g}, which comes from the White-corrected ANOVA; eta squared "
            f"({ratio['eta2_oneway']:.3f} against {ratio['eta2_reported']:g}) agrees, and the effect is very large "
            f"(d = {ratio['cohen_d']:.2f}).")


def replication_sentence(table: pd.DataFrame) -> str:
    """Power of the study for its own saliency-map effect on forecasts, and the participants 80 % needs."""
    r = table.set_index(["outcome", "term"]).loc[("forecast_accuracy", "saliency_maps")]
    return (f"A p-value of {published_tests().set_index(['outcome', 'term']).loc[('forecast_accuracy', 'saliency_maps'), 'p']:g} "
            f"for an effect whose power at the study's size was {r['power_at_used_n']:.2f} means that a replication "
            f"of the same size would miss it about as often as it finds it; a replication that wants 80 % power "
            f"needs {int(r['participants_needed'])} participants, {r['participants_needed'] / r['participants_used']:.1f} "
            f"times the {int(r['participants_used'])} of the study.")
