"""Alqaraawi et al. 2020: the chapter's charts (Sec. 4 and what it allows to derive)."""
from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from ... import stats
from ...viz import charts
from .published import (OUTCOME_TYPES, OUTCOMES, TERMS, marginal_means, outcome_table, published_design,
                        published_tests, replication_sample_sizes)

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
    return charts.provenance(chart, data="published: alqaraawi2020 Sec. 4.2, Sec. 7 (read as the map group); "
                                         "pale bars computed from published Sec. 4.1, 4.2, 7", scale="n/a")


def power_chart(ns: Sequence[int] | None = None) -> alt.TopLevelMixin:
    """Figure: power against total participants for the printed effects of saliency maps and scores."""
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
    n_used = int(published_design()["participants"])
    used = alt.Chart(pd.DataFrame({"x": [n_used]})).mark_rule(color="#d95f02").encode(x="x:Q")
    chart = alt.layer(line, target, used).properties(
        width=380, height=220, title=f"Power for the printed effects (orange: the {n_used} participants of the study)")
    return charts.provenance(chart, data="computed from published alqaraawi2020 Sec. 4.1", scale="n/a")
