"""Shen & Huang 2020: the chapter's charts (Tables 1-2 and what they imply)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ...viz import charts
from .published import (CATEGORIES, CONDITIONS, published_accuracy, published_comparisons,
                        replication_sample_sizes, sd_bounds)

SOURCE = "published: shen2020 Table 1, Table 2"


COMPUTED = "computed from published shen2020 Table 1, Table 2"


def accuracy_chart() -> alt.TopLevelMixin:
    """Figure: Tables 1-2 as grouped bars, one panel per experiment, stars as printed."""
    acc = published_accuracy()
    comp = published_comparisons()[["experiment", "category", "significance"]]
    acc = acc.merge(comp, on=["experiment", "category"], how="left")
    acc["label"] = np.where(acc["condition"] == "No-Int", acc["significance"].fillna(""), "")
    acc["panel"] = "Experiment " + acc["experiment"].astype(str)
    base = alt.Chart(acc).encode(
        x=alt.X("category:N", title=None, sort=list(CATEGORIES), axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("condition:N", sort=list(CONDITIONS)),
        y=alt.Y("accuracy:Q", title="share of correct guesses", scale=alt.Scale(domain=[0, 1])),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("condition:N", sort=list(CONDITIONS), title="condition",
                        scale=alt.Scale(range=["#d95f02", "#7570b3"])),
        tooltip=["experiment", "category", "category_name", "condition", "accuracy", "n_images"],
    )
    stars = base.mark_text(dy=-6, fontSize=13).encode(text="label:N")
    chart = alt.layer(bars, stars).properties(width=260, height=220).facet(
        column=alt.Column("panel:N", title=None)
    ).properties(title="Guessing the wrong label with (Int) and without (No-Int) saliency maps")
    return charts.provenance(chart, data=SOURCE, scale="n/a")


def sd_bounds_chart(bounds: pd.DataFrame | None = None) -> alt.TopLevelMixin:
    """Figure: the SD each printed star (or its absence) implies, beside the answer-noise reference."""
    b = sd_bounds() if bounds is None else bounds.copy()
    b["panel"] = "Experiment " + b["experiment"].astype(str) + " (" + b["test"] + ")"
    b["kind"] = np.where(b["relation"] == "<=", "SD at most (starred)", "SD at least (no star)")
    base = alt.Chart(b).encode(y=alt.Y("category:N", sort=list(CATEGORIES), title=None))
    bound = base.mark_point(filled=True, size=90).encode(
        x=alt.X("sd_bound:Q", title="SD of per-image accuracies (Exp. 2: of differences)",
                scale=alt.Scale(domain=[0, 0.8])),
        shape=alt.Shape("kind:N", title="implied by the printed test",
                        scale=alt.Scale(domain=["SD at most (starred)", "SD at least (no star)"],
                                        range=["triangle-left", "triangle-right"])),
        color=alt.value("#1b9e77"),
        tooltip=["experiment", "category", "difference", "significance", "relation",
                 alt.Tooltip("sd_bound:Q", format=".3f"), alt.Tooltip("sd_reference:Q", format=".3f")],
    )
    ref = base.mark_tick(thickness=2, size=18, color="#666").encode(x="sd_reference:Q")
    chart = alt.layer(bound, ref).properties(width=300, height=170).facet(
        column=alt.Column("panel:N", title=None)
    ).properties(title="Which spread of per-image accuracies do the printed stars allow? "
                       "(grey tick: answer noise alone)")
    return charts.provenance(chart, data=COMPUTED, scale="n/a")


def sample_size_chart(table: pd.DataFrame | None = None) -> alt.TopLevelMixin:
    """Figure: images needed for 80 % power against the assumed SD, with the images used."""
    t = replication_sample_sizes(sds=np.round(np.arange(0.10, 0.401, 0.025), 3)) if table is None else table
    t = t.copy()
    t["panel"] = "Experiment " + t["experiment"].astype(str) + " (" + t["design"] + ")"
    need = alt.Chart().mark_line(point=True).encode(
        x=alt.X("assumed_sd:Q", title="assumed SD (Exp. 2: of per-image differences); not reported"),
        y=alt.Y("images_needed:Q", title="images per condition for 80% power"),
        tooltip=["experiment", "assumed_sd", alt.Tooltip("cohen_d:Q", format=".2f"), "images_needed"])
    used = alt.Chart().mark_rule(strokeDash=[4, 3], color="#d95f02").encode(y="max(images_used):Q")
    chart = alt.layer(need, used, data=t).properties(width=260, height=200).facet(
        column=alt.Column("panel:N", title=None)
    ).properties(title="Images a replication needs to detect the overall difference (dashed: images used)")
    return charts.provenance(chart, data=COMPUTED, scale="n/a")


# --------------------------------------------------------------------------------------
# the rebuilt pipeline's figures


def shares_chart(beside: pd.DataFrame, data: str) -> alt.TopLevelMixin:
    """Figure: the share of each error category among our sampled errors beside Tables 1-2's, per set."""
    ours = beside.assign(source="ours (" + data.split(",")[0] + ")")[["set", "category", "share", "source"]]
    paper = beside.dropna(subset=["paper"]).assign(source="paper (Tables 1-2)")
    paper = paper[["set", "category", "paper", "source"]].rename(columns={"paper": "share"})
    df = pd.concat([ours, paper], ignore_index=True)
    order = list(CATEGORIES)[:5] + ["other", "uncoded"]
    chart = alt.Chart(df).mark_bar().encode(
        x=alt.X("category:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("source:N"),
        y=alt.Y("share:Q", title="share of the set's errors (%)"),
        color=alt.Color("source:N", title=None, scale=alt.Scale(range=["#1b9e77", "#7570b3"])),
        tooltip=["set", "category", "source", alt.Tooltip("share:Q", format=".1f")],
    ).properties(width=190, height=180).facet(column=alt.Column("set:N", title=None,
                                                                sort=["Exp. 1 Int", "Exp. 1 No-Int", "Exp. 2",
                                                                      "pooled"])
    ).properties(title="Why the classifier erred: error categories C1-C5, ours from the world's record")
    return charts.provenance(chart, data=f"{data}; published: shen2020 Table 1, Table 2")


def guessability_chart(table: pd.DataFrame, data: str) -> alt.TopLevelMixin:
    """Figure: share of trials whose wrong label is the option nearest the gold class, per category."""
    order = list(CATEGORIES)[:5] + ["other", "uncoded", "Overall"]
    bars = alt.Chart(table).mark_bar().encode(
        x=alt.X("category:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("variant:N"),
        y=alt.Y("guessable:Q", title="wrong label nearest the gold class", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("variant:N", title="distractors", scale=alt.Scale(range=["#d95f02", "#1b9e77"])),
        tooltip=["variant", "category", "trials", alt.Tooltip("guessable:Q", format=".2f")])
    chance = alt.Chart(table).mark_rule(strokeDash=[4, 3], color="#666").encode(y="mean(chance):Q")
    chart = alt.layer(bars, chance).properties(
        width=420, height=200,
        title="Guessable from label semantics alone (dashed: chance, 1 in 5), both experiments pooled")
    return charts.provenance(chart, data=f"{data}; class embedding = the classifier's last layer")


def area_chart(table: pd.DataFrame, data: str) -> alt.TopLevelMixin:
    """Figure: EP areas requested and reached per panel, for the paper's and the code's areas."""
    base = alt.Chart(table).encode(y=alt.Y("panel:N", title="panel title"),
                                   yOffset=alt.YOffset("areas:N"),
                                   color=alt.Color("areas:N", title="areas passed",
                                                   scale=alt.Scale(range=["#7570b3", "#d95f02"])))
    reached = base.mark_bar().encode(
        x=alt.X("reached_mean:Q", title="share of the image kept by the mask (%)", scale=alt.Scale(domain=[0, 100])),
        tooltip=["areas", "panel", "requested", alt.Tooltip("reached_mean:Q", format=".1f"),
                 alt.Tooltip("reached_sd:Q", format=".1f"), "n"])
    asked = base.mark_tick(thickness=3, size=14, color="black").encode(x="requested:Q")
    chart = alt.layer(reached, asked).properties(
        width=380, height=150, title="Extremal perturbation: area requested (tick) and reached (bar)")
    return charts.provenance(chart, data=data)


def gallery_figure(rows, data: str):
    """Figure: six-panel trial screens (paper version, then the released code's) for the gallery trials."""
    from ...viz import panels

    return panels.titled_grid(
        rows, title="Trial screens of the Int condition: image, EP masks on black, Grad-CAM, second heatmap",
        caption=panels.provenance(data), cell=(9.0, 1.75), title_size=7, interpolation="bilinear",
        top=1 - 0.8 / (1.75 * len(rows) + 0.5), hspace=0.3)
