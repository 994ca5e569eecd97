"""Alqaraawi et al. 2020: the figures of the rebuilt pipeline (Sec. 3.1-3.3, 5.1.1).

Image grids through :mod:`xaibook.viz.panels`, charts through altair with their provenance
line; every caption names the data and the scale.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import torch

from ...data import published
from ...viz import charts, overlays, panels
from ...viz.score_bars import score_bars
from .claims import AP_KEYS
from .screens import CONDITIONS, OUTCOME_WORDS, compose, _map_tile, _tile


def _data(m) -> str:
    return getattr(m, "plan", m).short()


def scene_grid(data: dict, p, n: int = 12):
    """The first ``n`` training images with their labels (``data`` from :func:`.pipeline.splits`)."""
    from .pipeline import classes

    tr = data["train"]
    rows, names = [], classes(p)
    for i in range(min(n, len(tr))):
        lab = ", ".join(names[j] for j in np.flatnonzero(tr.labels[i].numpy() > 0)) or "(none)"
        rows.append((tr.images[i].permute(1, 2, 0).numpy(), lab))
    grid = [rows[k:k + 6] for k in range(0, len(rows), 6)]
    return panels.titled_grid(grid, title="Training images and their labels",
                              caption=panels.provenance(_data(p)), cell=(1.6, 1.8))


def ap_chart(aps: pd.DataFrame, p) -> alt.TopLevelMixin:
    """Mean AP per split (both variants) beside the paper's (Sec. 3.1.1)."""
    a = aps[["split", "variant", "AP"]].copy()
    a["who"] = "ours (" + a["variant"].map({"all": "all points", "voc07": "VOC07 11-point"}) + ")"
    paper = pd.DataFrame([{"split": s, "AP": published.ref("alqaraawi2020_design", quantity=k).value,
                           "who": "paper (Sec. 3.1.1)"} for s, k in AP_KEYS.items()])
    d = pd.concat([a, paper], ignore_index=True)
    chart = alt.Chart(d).mark_bar().encode(
        x=alt.X("split:N", sort=list(AP_KEYS), title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("who:N"), y=alt.Y("AP:Q", scale=alt.Scale(domain=[0, 1]), title="mean average precision"),
        color=alt.Color("who:N", title=None, scale=alt.Scale(range=["#7570b3", "#b3b0d8", "#d95f02"])),
        tooltip=["split", "who", alt.Tooltip("AP:Q", format=".3f")]).properties(
        width=300, height=200, title="Average precision per split, ours beside the paper's")
    return charts.provenance(chart, data=_data(p) + "; paper: published alqaraawi2020 Sec. 3.1.1")


def examples_figure(m, task: int = 0):
    """The 12 examples of one task with their outcome labels (top), their LRP maps (below)."""
    ex = m.examples[m.examples["task"] == task]
    cls = m.tasks.loc[task, "task_class"]
    tr, te = m.data["train"], m.data["test"]
    rows = [[(te.images[m.tasks.loc[task, "image"]].permute(1, 2, 0).numpy(), f"task image ({cls})")]]
    for o in ("TP", "FN", "FP"):
        g = ex[ex["outcome"] == o]
        rows.append([(tr.images[b].permute(1, 2, 0).numpy(), o) for b in g["bank"]])
        rows.append([(overlays.signed_heatmap(m.example_maps[mi][0].numpy()), f"LRP {o}") for mi in g["map"]])
    return panels.titled_grid(
        rows, title=f"The 12 examples of a {cls} task (6 TP, 3 FN, 3 FP) and their LRP maps (red: for '{cls}', "
                    "blue: against)",
        caption=panels.provenance(_data(m) + "; LRP alpha2-beta1 from the class logit"), n_cols=6,
        cell=(1.45, 1.6))


def score_bars_figure(m, task: int = 0):
    """An example's top-10 score bars with each class's threshold, beside the image."""
    ex = m.examples[(m.examples["task"] == task) & (m.examples["outcome"] == "TP")].iloc[0]
    cls = ex["task_class"]
    probs = torch.sigmoid(m.out["train"]["logits"][ex["bank"]]).numpy()
    thr = 1 / (1 + np.exp(-m.thresholds))
    bars = np.asarray(score_bars(list(m.classes), probs, thr, highlight=cls, width=320, height=220)) / 255
    img = m.data["train"].images[ex["bank"]].permute(1, 2, 0).numpy()
    return panels.titled_grid([[(img, f"example ({cls}: TP)"), (bars, "top-10 scores | threshold")]],
                              title="Scores as participants saw them: top 10 classes, each threshold marked",
                              caption=panels.provenance(_data(m)), cell=(2.6, 2.4), interpolation="bilinear",
                              top=0.8, bottom=0.1)


def relevance_chart(meas: pd.DataFrame, m) -> alt.TopLevelMixin:
    """Positive relevance per outcome (left) and its share on the object's mask (right), per class."""
    d = meas.copy()
    d["share"] = np.where(d["outcome"] == "FP", d["on_other_objects"], d["inside_object"])
    d["region"] = np.where(d["outcome"] == "FP", "other objects", "the object")
    base = alt.Chart(d).encode(x=alt.X("outcome:N", sort=["TP", "FN", "FP"], title=None),
                               color=alt.Color("outcome:N", sort=["TP", "FN", "FP"], legend=None))
    pos = base.mark_boxplot(size=18).encode(y=alt.Y("positive:Q", title="positive relevance (logit units)"))
    share = base.mark_boxplot(size=18).encode(
        y=alt.Y("share:Q", title="share on the object (TP, FN) / other objects (FP)", scale=alt.Scale(domain=[0, 1])))
    chart = alt.hconcat(pos.properties(width=120, height=180).facet(column=alt.Column("class:N", title=None)),
                        share.properties(width=120, height=180).facet(column=alt.Column("class:N", title=None))
                        ).properties(title="How much evidence the maps show, and where, by outcome")
    return charts.provenance(chart, data=_data(m) + "; test images, object masks from the renderer")


def selection_chart(comp: pd.DataFrame, m) -> alt.TopLevelMixin:
    """Distance to the task image and coverage of the test cases, per example-selection strategy."""
    d = comp.melt(id_vars=["strategy", "outcome"], value_vars=["distance to task", "coverage distance"],
                  var_name="measure", value_name="cosine distance")
    chart = alt.Chart(d).mark_bar().encode(
        x=alt.X("outcome:N", sort=["TP", "FN", "FP"], title=None), xOffset=alt.XOffset("strategy:N"),
        y=alt.Y("cosine distance:Q"), color=alt.Color("strategy:N", title="examples chosen"),
        column=alt.Column("measure:N", title=None)).properties(
        width=170, height=180, title="Nearest examples resemble the task; spread ones cover more test cases")
    return charts.provenance(chart, data=_data(m) + "; fc7 embedding, cosine")


def screens_figure(m, task: int = 0):
    """One example screen as each of the four conditions showed it."""
    ex = m.examples[m.examples["task"] == task].iloc[0]
    tr = m.data["train"]
    cls, b = ex["task_class"], ex["bank"]
    img = _tile(tr.images[b])
    lrp = _map_tile(m.example_maps[ex["map"]], tr.images[b])
    probs = torch.sigmoid(m.out["train"]["logits"][b]).numpy()
    bars = score_bars(list(m.classes), probs, 1 / (1 + np.exp(-m.thresholds)), highlight=cls, height=160)
    header = "Example: " + OUTCOME_WORDS[ex["outcome"]].format(c=cls)
    rows = [[(np.asarray(compose(img, header, lrp if sm else None, bars if sc else None)) / 255, cond)]
            for cond, (sm, sc) in CONDITIONS.items()]
    return panels.titled_grid(rows, title="One example screen in the four conditions (maps x scores)",
                              caption=panels.provenance(_data(m) + "; screens of the trial manifest"),
                              cell=(6.5, 2.2), interpolation="bilinear")
