"""Im, Andreas & Zhou 2023: the chapter's charts (the design, and the power it had)."""
from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from ... import config
from ...viz import charts
from .data import source_name
from .power import power_by_effect, power_by_size
from .published import ACCESS, EXPLANATIONS, published_conditions, published_design

DESIGN_SOURCE = "published: im2023 summary (Method Summary, Limitations)"


def _computed() -> str:
    """The provenance footer of a chart computed from the design."""
    d = published_design()
    return (f"computed from the design in the im2023 summary ({int(d['participants'])} participants, "
            f"{int(d['conditions'])} conditions); our computation")


def design_chart() -> alt.TopLevelMixin:
    """Figure: the conditions as cells of explanation method x access to explanations."""
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
    d = published_design()
    chart = alt.layer(cells, text).properties(
        width=420, height=200, title=f"{len(c)} between-participant conditions, each run on {int(d['tasks'])} tasks")
    return charts.provenance(chart, data=DESIGN_SOURCE, scale="n/a")


def power_chart(alpha: float = 0.05) -> alt.TopLevelMixin:
    """Figure: power against effect size for the comparisons the published design allows."""
    p = power_by_effect(alpha=alpha)
    line = alt.Chart(p).mark_line().encode(
        x=alt.X("d:Q", title="true effect: explanation vs none, Cohen's d"),
        y=alt.Y("power:Q", title=f"power (alpha = {alpha:g})", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("comparison:N", title=None, legend=alt.Legend(orient="bottom", columns=2)),
        tooltip=["comparison", "d", alt.Tooltip("power:Q", format=".2f")])
    target = alt.Chart(pd.DataFrame({"y": [0.8]})).mark_rule(strokeDash=[4, 3], color="#666").encode(y="y:Q")
    d = published_design()
    chart = alt.layer(line, target).properties(
        width=420, height=240, title=(f"How large an effect could ~{int(d['participants'])} participants in "
                                      f"{int(d['conditions'])} conditions detect?"))
    return charts.provenance(chart, data=_computed(), scale="n/a")


def size_chart(ds: Sequence[float] = (0.5, 0.8), alpha: float = 0.05) -> alt.TopLevelMixin:
    """Figure: power of one condition vs none against participants per condition (orange: the study's)."""
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
        width=420, height=220,
        title=f"One explanation condition vs none (orange: ~{per:.0f} per condition as in the study)")
    return charts.provenance(chart, data=_computed(), scale="n/a")


# ------------------------------------------------------------------------ the rebuilt pipeline
def pipeline_data(p) -> str:
    """The provenance line of a figure computed by the pipeline."""
    return f"{source_name(p.source)}, {p.pairs} baseline/mislabeled pairs of a small VGG-style net trained here ({p.image_size} px{config.precision_note()})"


def calibration_chart(cal: pd.DataFrame, p) -> alt.TopLevelMixin:
    """Figure: each model's flip rate against the blur strength (circled: the strength chosen)."""
    base = alt.Chart(cal).encode(
        x=alt.X("sigma:Q", title="blur strength (Gaussian sigma, px)"),
        y=alt.Y("flip_rate:Q", title="share of blurred objects that flip the answer", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("model:N", title="model"))
    chosen = alt.Chart(cal[cal["chosen"]]).mark_point(size=160, filled=False, strokeWidth=2).encode(
        x="sigma:Q", y="flip_rate:Q", color="model:N")
    half = alt.Chart(pd.DataFrame({"y": [0.5]})).mark_rule(strokeDash=[4, 3], color="#666").encode(y="y:Q")
    chart = alt.layer(base.mark_line(point=True), chosen, half).properties(
        width=380, height=220, title="Blur strength calibrated per model to flip about half of the answers")
    return charts.provenance(chart, data=pipeline_data(p) + "; the pair of task 2", scale=p.scale)


def flip_chart(flips: pd.DataFrame, p) -> alt.TopLevelMixin:
    """Figure: flip rate per blurred object class and model at the calibrated strengths."""
    f = flips.assign(label=lambda d: d["object"] + " (" + d["items"].astype(str) + ")")
    chart = alt.Chart(f).mark_bar().encode(
        x=alt.X("flip_rate:Q", title="share of answers that flip", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("object:N", title="blurred object"),
        yOffset="model:N", color=alt.Color("model:N", title="model"),
        tooltip=["model", "object", "items", alt.Tooltip("flip_rate:Q", format=".2f")]).properties(
        width=380, height=200, title="Which blurred objects flip each model's answer")
    return charts.provenance(chart, data=pipeline_data(p) + "; the pair of task 2, test images", scale=p.scale)


def mass_chart(mass: pd.DataFrame, p) -> alt.TopLevelMixin:
    """Figure: the share of each method's map on the car in car-only images, per model (dots: pairs)."""
    bars = alt.Chart(mass).mark_bar(opacity=0.7).encode(
        x=alt.X("mean(on_car):Q", title="share of the map on the car", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("method:N", title=None, sort=list(("SmoothGrad", "GradCAM", "oracle"))),
        yOffset="model:N", color=alt.Color("model:N", title="model"))
    dots = alt.Chart(mass).mark_tick(color="black", thickness=1).encode(
        x="on_car:Q", y=alt.Y("method:N", sort=list(("SmoothGrad", "GradCAM", "oracle"))), yOffset="model:N")
    area = alt.Chart(pd.DataFrame({"x": [float(mass["area"].mean())]})).mark_rule(
        strokeDash=[4, 3], color="#666").encode(x="x:Q")
    chart = alt.layer(bars, dots, area).properties(
        width=380, height=200, title="Do the maps point at the car more for the mislabeled model? (dashed: car area)")
    return charts.provenance(chart, data=pipeline_data(p) + f"; {int(mass['images'].iloc[0])} car-only test images",
                             scale=p.scale)
