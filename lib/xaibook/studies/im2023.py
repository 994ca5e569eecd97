"""Im, Andreas & Zhou 2023 (arXiv 2312.06032): do saliency maps help people develop models?

Stage 1 of the study module. Only a summary of the paper is public to us: it states the
design (seven conditions, two tasks) and about 48 participants, and it reports results only
as "no significant accuracy gain" without numbers. This module therefore charts the design
and computes, as our own analysis, the statistical power that design had
(:func:`power_table`, :func:`power_by_effect`, :func:`power_by_size`).
"""
from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd
from scipy.optimize import brentq

from .. import ledger
from ..data import published
from ..errors import ParameterError
from ..viz import charts

EXPLANATIONS = ("none", "SmoothGrad", "GradCAM", "oracle")
ACCESS = ("none", "training only", "training and evaluation")
DESIGN_SOURCE = "published: im2023 summary (Method Summary, Limitations)"
COMPUTED = "computed from the design in the im2023 summary (48 participants, 7 conditions)"


def published_design() -> pd.Series:
    """Summary: participants, conditions, explanation methods, access levels, tasks (quantity -> value)."""
    return published.load("im2023_design").set_index("quantity")["value"]


def published_conditions() -> pd.DataFrame:
    """Summary (Method Summary): the seven between-participant conditions."""
    return published.load("im2023_conditions")


def design_chart() -> alt.TopLevelMixin:
    """Figure: the seven conditions as cells of explanation method x access to explanations."""
    c = published_conditions().copy()
    c["label"] = c["condition"]
    grid = pd.DataFrame([(e, a) for e in EXPLANATIONS for a in ACCESS], columns=["explanation", "access"])
    grid = grid.merge(c[["explanation", "access", "label"]], on=["explanation", "access"], how="left")
    grid["in_study"] = np.where(grid["label"].notna(), "condition", "not a condition")
    grid["label"] = grid["label"].fillna("")
    base = alt.Chart(grid).encode(
        x=alt.X("access:N", sort=list(ACCESS), title="when participants see explanations",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("explanation:N", sort=list(EXPLANATIONS), title="explanation"))
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("in_study:N", title=None, scale=alt.Scale(domain=["condition", "not a condition"],
                                                                   range=["#66a61e", "#eeeeee"])))
    text = base.mark_text(fontSize=11).encode(text="label:N")
    chart = alt.layer(cells, text).properties(
        width=420, height=200, title="Seven between-participant conditions, each run on two tasks")
    return charts.provenance(chart, data=DESIGN_SOURCE, scale="n/a")


def comparisons(n_total: int | None = None, k: int | None = None) -> pd.DataFrame:
    """The comparisons a ~48-person, 7-condition study can make, with the group sizes we assume.

    Equal allocation is our assumption (the summary says only "randomly assigned"). Pooled
    "any explanation vs none" has unequal groups; its power is approximated with the harmonic
    mean of the two group sizes as the per-group n.
    """
    d = published_design()
    n_total = int(d["participants"]) if n_total is None else int(n_total)
    k = int(d["conditions"]) if k is None else int(k)
    if n_total < 2 * k or k < 2:
        raise ParameterError(f"need at least two participants per condition: n_total={n_total}, k={k}")
    per = n_total / k
    n_none, n_expl = per, n_total - per
    return pd.DataFrame([
        {"comparison": f"all {k} conditions (one-way ANOVA)", "kind": "anova", "effect_name": "f",
         "n": n_total, "k": k, "groups": f"{k} x {per:.1f}"},
        {"comparison": "one explanation condition vs none", "kind": "ttest_ind", "effect_name": "d",
         "n": per, "k": 2, "groups": f"{per:.1f} vs {per:.1f}"},
        {"comparison": "oracle (both access levels) vs none", "kind": "ttest_ind", "effect_name": "d",
         "n": 2 * 2 * per * per / (2 * per + per), "k": 2, "groups": f"{2 * per:.1f} vs {per:.1f}"},
        {"comparison": "any explanation vs none", "kind": "ttest_ind", "effect_name": "d",
         "n": 2 * n_expl * n_none / (n_expl + n_none), "k": 2, "groups": f"{n_expl:.1f} vs {n_none:.1f}"},
    ])


def anova_f(d: float, k: int) -> float:
    """Cohen's f when ``k - 1`` equal groups share an advantage ``d`` (in SD units) over one group.

    Group means ``d`` (k-1 times) and ``0`` (once) have SD ``d sqrt(k-1) / k`` around their mean.
    """
    return d * math.sqrt(k - 1) / k


def _power(kind: str, effect: float, n: float, k: int, alpha: float) -> float:
    from .. import stats

    if kind == "anova":
        return float(stats.power_anova(effect, k=k, n_total=int(round(n)), alpha=alpha))
    # non-integer per-group n (equal allocation of 48 to 7, harmonic means): use the floor,
    # which errs on the side of less power
    return float(stats.power_ttest_ind(effect, n_per_group=max(int(math.floor(n)), 2), alpha=alpha))


def minimum_detectable_effect(kind: str, n: float, k: int = 2, power: float = 0.8, alpha: float = 0.05) -> float:
    """Smallest effect (d, or f for ``kind='anova'``) detected with the given power."""
    if not 0 < power < 1:
        raise ParameterError(f"power must lie in (0, 1), got {power}")
    return float(brentq(lambda e: _power(kind, e, n, k, alpha) - power, 1e-3, 3.0, xtol=1e-8))


def power_table(effects: dict[str, float] | None = None, power: float = 0.8, alpha: float = 0.05) -> pd.DataFrame:
    """Power of each comparison for Cohen's small/medium/large effects, and the effect it could detect.

    ``effects`` maps a label to Cohen's d; for the ANOVA row the effect is the pattern "every
    explanation condition better than none by d", i.e. f = :func:`anova_f` (d, k).
    """
    from .. import stats

    effects = {"small (d=0.2)": 0.2, "medium (d=0.5)": 0.5, "large (d=0.8)": 0.8} if effects is None else effects
    rows = []
    for _, c in comparisons().iterrows():
        row = {"comparison": c["comparison"], "groups": c["groups"]}
        for label, dval in effects.items():
            e = anova_f(dval, int(c["k"])) if c["kind"] == "anova" else dval
            row[f"power, {label}"] = _power(c["kind"], e, c["n"], int(c["k"]), alpha)
        mde = minimum_detectable_effect(c["kind"], c["n"], int(c["k"]), power, alpha)
        if c["kind"] == "anova":
            d_equiv = mde / anova_f(1.0, int(c["k"]))
            row[f"effect detectable with {power:.0%} power"] = f"d = {d_equiv:.2f} (f = {mde:.2f})"
        else:
            row[f"effect detectable with {power:.0%} power"] = f"d = {mde:.2f}"
        if c["kind"] == "anova":
            need = stats.sample_size_anova(anova_f(0.5, int(c["k"])), k=int(c["k"]), power=power, alpha=alpha)
        else:
            need = 2 * stats.sample_size_ttest_ind(0.5, power=power, alpha=alpha)
        row[f"participants for {power:.0%} power at d = 0.5 (balanced)"] = int(need)
        rows.append(row)
    return pd.DataFrame(rows)


def power_by_effect(ds: Sequence[float] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Power of each comparison against the effect size d (ANOVA: f = :func:`anova_f` (d, k))."""
    ds = np.round(np.arange(0.05, 2.001, 0.05), 3) if ds is None else np.asarray(ds, dtype=float)
    rows = []
    for _, c in comparisons().iterrows():
        for dval in ds:
            e = anova_f(float(dval), int(c["k"])) if c["kind"] == "anova" else dval
            rows.append({"comparison": c["comparison"], "d": float(dval),
                         "power": _power(c["kind"], e, c["n"], int(c["k"]), alpha)})
    return pd.DataFrame(rows)


def power_by_size(d: float = 0.5, ns: Sequence[int] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Power of one explanation condition vs none against participants per condition, for effect ``d``."""
    from .. import stats

    ns = list(range(4, 101, 2)) if ns is None else list(ns)
    curve = stats.power_curve("ttest_ind", d, ns, alpha=alpha)
    curve["d"] = d
    return curve


def power_chart(alpha: float = 0.05) -> alt.TopLevelMixin:
    """Figure: power against effect size for the comparisons the 48-person design allows."""
    p = power_by_effect(alpha=alpha)
    line = alt.Chart(p).mark_line().encode(
        x=alt.X("d:Q", title="true effect: explanation vs none, Cohen's d"),
        y=alt.Y("power:Q", title=f"power (alpha = {alpha:g})", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("comparison:N", title=None, legend=alt.Legend(orient="bottom", columns=2)),
        tooltip=["comparison", "d", alt.Tooltip("power:Q", format=".2f")])
    target = alt.Chart(pd.DataFrame({"y": [0.8]})).mark_rule(strokeDash=[4, 3], color="#666").encode(y="y:Q")
    chart = alt.layer(line, target).properties(
        width=420, height=240, title="How large an effect could ~48 participants in 7 conditions detect?")
    return charts.provenance(chart, data=COMPUTED + "; our computation", scale="n/a")


def size_chart(ds: Sequence[float] = (0.5, 0.8), alpha: float = 0.05) -> alt.TopLevelMixin:
    """Figure: power of one condition vs none against participants per condition (~7 in the study)."""
    p = pd.concat([power_by_size(d, alpha=alpha) for d in ds], ignore_index=True)
    p["effect"] = "d = " + p["d"].astype(str)
    line = alt.Chart(p).mark_line().encode(
        x=alt.X("n:Q", title="participants per condition"),
        y=alt.Y("power:Q", title=f"power (alpha = {alpha:g})", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("effect:N", title="true effect"))
    target = alt.Chart(pd.DataFrame({"y": [0.8]})).mark_rule(strokeDash=[4, 3], color="#666").encode(y="y:Q")
    per = float(published_design()["participants"] / published_design()["conditions"])
    used = alt.Chart(pd.DataFrame({"x": [per]})).mark_rule(color="#d95f02").encode(x="x:Q")
    chart = alt.layer(line, target, used).properties(
        width=420, height=220, title="One explanation condition vs none (orange: ~7 per condition as in the study)")
    return charts.provenance(chart, data=COMPUTED + "; our computation", scale="n/a")


# --------------------------------------------------------------------------- ledger and sentences

STUDY = "im2023"
SUMMARY_ONLY = "only a summary of the paper is public: no accuracies, tests or per-participant data"


def published_findings() -> pd.DataFrame:
    """Summary (Key Results): the reported absence of significant accuracy gains, per task."""
    return published.load("im2023_findings")


def record_design() -> None:
    """Ledger: the design counts the summary allows to recompute, and the rest as not recomputable.

    The seven conditions are counted twice: as the conditions the Method Summary lists, and as
    no explanation plus explanation methods x access levels. The participant count and the
    findings cannot be recomputed from a summary.
    """
    d = published_design()
    conds = published_conditions()
    ref = published.ref("im2023_design", "value", quantity="conditions")
    ledger.record(STUDY, "design.conditions.listed", "conditions listed in the Method Summary", paper=ref,
                  ours=len(conds), data="published summary (Method Summary)", tolerance=0.0,
                  reason="the listed conditions differ in number from the stated count")
    methods = conds.loc[conds["explanation"] != "none", "explanation"].nunique()
    access = conds.loc[conds["access"] != "none", "access"].nunique()
    ledger.record(STUDY, "design.conditions.crossed",
                  "conditions as no explanation + explanation methods x access levels", paper=ref,
                  ours=1 + methods * access, data="published summary (Method Summary)", tolerance=0.0,
                  reason="the design's factors give another number of conditions")
    ledger.record(STUDY, "design.participants", "participants",
                  paper=published.ref("im2023_design", "value", quantity="participants"), ours=None,
                  data="published summary (Limitations)",
                  why_not=f"{SUMMARY_ONLY}; the summary states n = {int(d['participants'])} once, "
                          "without the allocation to conditions")
    for _, r in published_findings().iterrows():
        ledger.record(STUDY, f"findings.{r['task'].replace(' ', '_')}",
                      f"explanation conditions with a significant accuracy gain, {r['task']}",
                      paper=published.ref("im2023_findings", "value", quantity=r["quantity"], task=r["task"]),
                      ours=None, data="published summary (Key Results)", why_not=SUMMARY_ONLY)


def allocation_sentence() -> str:
    """Participants per condition under equal allocation (our assumption)."""
    d = published_design()
    return (f"{int(d['participants'])} participants spread over {int(d['conditions'])} conditions leave about "
            f"{d['participants'] / d['conditions']:.1f} per condition.")


def reading_sentence(table: pd.DataFrame, power: float = 0.8) -> str:
    """The smallest effect any comparison could detect, and the largest power for a medium effect."""
    col = f"effect detectable with {power:.0%} power"
    pooled = table.set_index("comparison").loc["any explanation vs none"]
    medium = [c for c in table.columns if c.startswith("power, medium")][0]
    per = float(published_design()["participants"] / published_design()["conditions"])
    return (f"With about {per:.0f} people per condition, the study could reliably detect only very large "
            f"effects ({pooled[col]} or more, even when all explanation conditions are pooled against the "
            f"no-explanation group); for a medium effect (d = 0.5) its power was at most {table[medium].max():.2f}.")
