"""Alqaraawi et al. 2020: the published numbers, and what they allow to recompute (Sec. 3-5, 7).

* :func:`recompute_saliency_effect` rebuilds the main effect of saliency maps from the
  marginal means and SDs (Sec. 4.1, 4.3) and sets it beside the printed F and eta squared;
  :func:`effect_ranges` bounds it over the printed rounding;
* :func:`implied_counts` recovers the whole numbers of correct forecasts behind the printed
  percentages (a GRIM-style reading), and :func:`outcome_table` derives from them the
  accuracies per outcome type of the group without saliency maps, which the paper does not print;
* :func:`consistency_checks` ties Sec. 4.1, 4.2 and 5.1 together;
* :func:`replication_sample_sizes` gives the participants a replication needs.

The ``record_*`` functions put each recomputed value beside the printed one in the ledger.
"""
from __future__ import annotations

import math
from itertools import product

import numpy as np
import pandas as pd

from ... import ledger, stats
from ...data import published
from ...errors import DataFormatError, ParameterError

OUTCOMES = {"forecast_accuracy": "forecast accuracy (Sec. 4.1)",
            "saliency_feature_ratio": "share of saliency features (Sec. 4.3)"}


TERMS = {"saliency_maps": "saliency maps", "scores": "scores", "saliency_maps:scores": "interaction"}


OUTCOME_TYPES = ("TP", "FN", "FP")
PRINTED_HALF_UNIT = 0.05  # means and SDs of Sec. 4.1 and 4.3 are printed to one decimal


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


def _feature_ns(n_total: int) -> tuple[int, int]:
    """An assumed split of the participants of Sec. 4.3 into shown/omitted (not reported): equal halves."""
    return n_total // 2, n_total - n_total // 2


def recompute_saliency_effect() -> pd.DataFrame:
    """The saliency-map main effect rebuilt from the printed marginal means and SDs.

    A two-group comparison of the marginal means ignores the scores factor, so it pools its
    (small, non-significant) effect into the error term; the classical F of a balanced 2x2
    design for a one-df factor equals the square of this t up to that pooling and the error df
    (N-2 here, N-4 in the paper). For Sec. 4.3 the split of the remaining participants is not
    reported (equal halves assumed) and the paper's F comes from a heteroscedasticity-corrected
    ANOVA, so only a rough match is expected; the Welch t is shown beside it.
    """
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
            n_note = (f"{n1}/{n2} ({int(design['conditions']) // 2} x "
                      f"{int(design['participants_per_condition'])} per condition)")
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

    Denominators: participants in the group (all, or the half with saliency maps; Sec. 3.5)
    times task images of that outcome type (Sec. 3.2.2).
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

    Printed: TP/FN/FP over all participants (Sec. 4.2); FN and FP of Sec. 7, which names no group,
    read here as the saliency-map group's (an inference).
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
    * share of task images the system got right (Sec. 5.1) = the TP share of the task design;
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


def replication_sample_sizes(power: float = 0.8, alpha: float = 0.05) -> pd.DataFrame:
    """Participants a replication needs for each printed ANOVA effect (eta squared -> Cohen's f).

    Each term has one numerator df, so the two-group ANOVA power of ``sample_size_anova(f, k=2)``
    applies to the 2x2 design up to the error df. The printed eta squared is taken as partial
    eta squared for the conversion ``f = sqrt(eta2 / (1 - eta2))`` (for a balanced design with
    small other effects the two nearly coincide).
    """
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


STUDY = "alqaraawi2020"


def _feature_splits(n_total: int) -> list[tuple[int, int]]:
    """Possible shown/omitted splits of Sec. 4.3 (each map group held half the participants, Sec. 3.5)."""
    half = int(published_design()["participants"]) // 2
    lost = 2 * half - n_total
    return [(half - a, half - (lost - a)) for a in range(lost + 1)]


def effect_ranges() -> pd.DataFrame:
    """The saliency-map F, eta squared and p over everything the printed summaries leave open.

    Means and SDs are printed to one decimal, so each may lie half a unit (:data:`PRINTED_HALF_UNIT`) from its printed value
    (all 16 corners are tried); for Sec. 4.3 the split of the remaining participants also varies
    over every split the exclusions allow (:func:`_feature_splits`). ``*_low``/``*_high``
    bound the classical one-way F (= t squared), eta squared and p.
    """
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
        for (n1, n2), signs in product(splits, product((-PRINTED_HALF_UNIT, PRINTED_HALF_UNIT), repeat=4)):
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
    m = marginal_means().set_index(["outcome", "level"])["n"]
    splits = g.loc["saliency_feature_ratio", "splits"].split(", ")
    data = {"forecast_accuracy": (f"published Sec. 4.1 (marginal means, SDs, "
                                  f"{int(m[('forecast_accuracy', 'shown')])}/{int(m[('forecast_accuracy', 'omitted')])})"),
            "saliency_feature_ratio": (f"published Sec. 4.3 (marginal means, SDs; split {splits[-1]} to "
                                       f"{splits[0]})")}
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
