"""Sixt et al. 2022: every chart and picture of chapter 5 (published results and the rebuilt pipeline).

Charts are Altair with a provenance footer (:func:`xaibook.viz.charts.provenance`); image grids are
drawn by :func:`xaibook.viz.panels.image_grid`.
"""
from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from ...stats.power import power_curve
from ...viz import charts, panels
from .compare import importance_comparison
from .pipeline import COLUMNS, dataset_params, plan
from .published import ATTRIBUTES, CONDITIONS, RELEVANT, counts, published_accuracy, published_importance

CONDITION_COLORS = {"Baseline": "#7f7f7f", "INN": "#1f77b4", "Concepts": "#ff7f0e"}


SOURCE_T2 = "published: Sixt et al. 2022, Table 2"


def _label(attribute: str) -> str:
    return f"{attribute} ({'relevant' if RELEVANT[attribute] else 'irrelevant'})"


# ------------------------------------------------------------------------------ published results
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


# ------------------------------------------------------------------------------- the rebuilt study
def gallery_figure(per_class: int | None = None):
    """Figure: Peeky (top row) and Stretchy (bottom row) test scenes, rendered at 128 px (Fig. 2 of the paper)."""
    import matplotlib.pyplot as plt

    from ...world.importance import render_cached

    per_class = per_class or plan().gallery_per_class
    params = dataset_params("test")
    rows = [[p for p in params if p.obj_name == name][:per_class] for name in ("peaky", "stretchy")]
    images = render_cached(rows[0] + rows[1], size=128, supersample=2, desc="gallery")
    fig, axes = plt.subplots(2, per_class, figsize=(1.7 * per_class, 4.4))
    for r in range(2):
        for c in range(per_class):
            p, ax = rows[r][c], axes[r, c]
            ax.imshow(images[r * per_class + c].permute(1, 2, 0).numpy())
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"legs {p.arm_position:.2f}\ncolour {p.obj_color:.2f}", fontsize=8)
        axes[r, 0].set_ylabel(("Peeky", "Stretchy")[r], fontsize=11)
    fig.suptitle("Two4Two test scenes of the biased sampler (rendered here at 128 px)", fontsize=11)
    fig.text(0.01, 0.005, f"Data: offline world (xaibook.world.two4two, biased sampler) · scale: {plan().scale}",
             fontsize=8, color="#666")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    plt.close(fig)
    return fig


def joint_distribution_chart(n: int = 4000, seed: int = 0, bins: int = 20) -> alt.TopLevelMixin:
    """Figure (the paper's Fig. 3): how often each combination of legs' position and shape, colour or
    background occurs in the biased sampler, per class (parameters only, no rendering).

    A 2-D histogram of ``n`` scenes with ``bins`` x ``bins`` cells per panel; the dashed lines mark the
    band [0.48, 0.52] where the legs are ambiguous.
    """
    from ...world import two4two

    params = two4two.sample(n, sampler="biased", seed=1000 + seed)
    legs = np.array([p.arm_position for p in params])
    cls = np.array(["Stretchy" if p.obj_name == "stretchy" else "Peeky" for p in params])
    factors = {"Shape (spherical)": [p.spherical for p in params], "Color": [p.obj_color for p in params],
               "Background": [p.bg_color for p in params]}
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for name, values in factors.items():
        values = np.asarray(values)
        for c in ("Peeky", "Stretchy"):
            m = cls == c
            h, _, _ = np.histogram2d(legs[m], values[m], bins=[edges, edges])
            for i in range(bins):
                for j in range(bins):
                    if h[i, j]:
                        rows.append({"factor": name, "class": c, "legs": edges[i], "legs2": edges[i + 1],
                                     "value": edges[j], "value2": edges[j + 1], "scenes": int(h[i, j])})
    df = pd.DataFrame(rows)
    rects = alt.Chart().mark_rect(aria=False).encode(
        x=alt.X("legs:Q", scale=alt.Scale(domain=[0, 1]), title="legs' position"), x2="legs2:Q",
        y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title="factor value"), y2="value2:Q",
        color=alt.Color("scenes:Q", scale=alt.Scale(scheme="greys", type="sqrt"), title="scenes"))
    band = [alt.Chart().transform_aggregate(n="count()", groupby=["factor", "class"]).mark_rule(
        strokeDash=[3, 3], color="#d62728", aria=False).encode(x=alt.datum(v)) for v in (0.48, 0.52)]
    layered = alt.layer(rects, *band, data=df)
    chart = layered.properties(width=170, height=150).facet(
        column=alt.Column("factor:N", title=None, sort=list(factors)),
        row=alt.Row("class:N", title=None))
    chart = chart.properties(title="Joint distribution of the legs' position with shape, colour and background")
    return charts.provenance(chart, data=f"offline world: {n} scenes of the study's biased sampler (dashed: legs "
                                         "ambiguous, [0.48, 0.52])", scale="n/a (parameters only)")


def importance_comparison_chart(result) -> alt.TopLevelMixin:
    """Figure: prediction flips and R^2 per factor, ours beside the paper's Table 3."""
    cmp = importance_comparison(result)
    cmp = cmp[cmp["measured here"]]
    rows = []
    for _, r in cmp.iterrows():
        for m, label in (("prediction_flip", "prediction flips (%)"), ("r2", "R² (delta factor -> delta logit)"),
                         ("median_logit_change", "median |delta logit|")):
            rows.append({"factor": r["factor"], "measure": label, "source": "ours", "value": r[f"{m} (ours)"]})
            rows.append({"factor": r["factor"], "measure": label, "source": "paper (Table 3)",
                         "value": r[f"{m} (paper)"]})
    df = pd.DataFrame(rows)
    order = list(cmp["factor"])
    measures = ["prediction flips (%)", "median |delta logit|", "R² (delta factor -> delta logit)"]
    chart = alt.Chart(df).mark_bar().encode(
        y=alt.Y("factor:N", sort=order, title=None), x=alt.X("value:Q", title=None),
        yOffset=alt.YOffset("source:N"),
        color=alt.Color("source:N", scale=alt.Scale(domain=["ours", "paper (Table 3)"], range=["#1f77b4", "#bbbbbb"])),
        tooltip=["factor", "measure", "source", alt.Tooltip("value:Q", format=".3f")],
    ).properties(width=190, height=200).facet(column=alt.Column("measure:N", title=None, sort=measures)).resolve_scale(
        x="independent")
    chart = chart.properties(title="Ground-truth importance: our INN beside the paper's")
    s = plan()
    return charts.provenance(chart, data=f"ours: INN trained here, {s.importance_n} test scenes per factor, "
                                         "resampled one factor at a time; paper: Sixt et al. 2022, Table 3")


def baseline_figure(images, grid: pd.DataFrame):
    """Figure: the baseline grid as participants saw it (columns labelled by certainty)."""
    n_rows = int(grid["row"].max()) + 1
    cells = {(int(r.row), int(r.column)): images[int(r.index)] for r in grid.itertuples()}
    spans = grid.groupby("column")[["column_low", "column_high"]].first()
    titles = [f"{COLUMNS[c]}\n[{spans.loc[c, 'column_low']:.1f}, {spans.loc[c, 'column_high']:.1f}]"
              if c in spans.index else COLUMNS[c] for c in range(len(COLUMNS))]
    return panels.image_grid(cells, n_rows, len(COLUMNS), "Baseline: real test images sorted into five logit columns",
                       f"Data: offline Two4Two test set, INN trained here; column range in logits · scale: "
                       f"{plan().scale}", col_titles=titles)


def counterfactual_figure(cf, targets, exact=None):
    """Figure: the counterfactual rows, columns labelled by their target logit; cells whose inverse
    failed numerically (``exact`` False) are left blank."""
    titles = [f"{COLUMNS[c]}\nlogit {t:+.1f}" for c, t in enumerate(targets)]
    cells = [[cf[r, c] if exact is None or bool(exact[r, c]) else None for c in range(cf.shape[1])]
             for r in range(cf.shape[0])]
    failed = 0 if exact is None else int((~exact).sum())
    note = f"; {failed} blank cell(s): inverse not numerically exact" if failed else ""
    return panels.image_grid(cells, cf.shape[0], cf.shape[1],
                       "INN counterfactuals: each row moves one real image along the classifier weight",
                       f"Data: offline Two4Two test images (start images not shown), INN trained here{note} · "
                       f"scale: {plan().scale}", col_titles=titles)


def concepts_figure(explanation):
    """Figure: the five concepts as participants saw them, one row each with its correlation r."""
    sel = explanation.selected
    k, m = explanation.panels.shape[:2]
    rows = [f"concept {int(c) + 1}\nr = {r:+.2f}" for c, r in zip(sel["component"], sel["r"])]
    return panels.image_grid([[explanation.panels[i, j] for j in range(m)] for i in range(k)], k, m,
                       "Concepts: exemplars of the five components most correlated with the logit",
                       "Data: offline Two4Two test images, PCA of an 8x8 coupling layer of the INN trained here; "
                       f"bright = concept region · scale: {plan().scale}", row_titles=rows)


def observer_chart(result: dict, factors: Sequence[str] = ("arm_position", "obj_color", "spherical", "bg_color",
                                                            "bending", "obj_rotation_yaw")) -> alt.TopLevelMixin:
    """Figure (the paper's Fig. 5/6): the observer's reading of each factor along every interpolation."""
    from ...world.importance import PAPER_NAMES
    from ...world.two4two import FACTORS

    r = result["readings"].numpy()
    rows = []
    for b in range(r.shape[0]):
        for t, target in enumerate(result["targets"]):
            for f in factors:
                rows.append({"sample": b, "target logit": float(target), "factor": PAPER_NAMES[f],
                             "observer reading": float(r[b, t, FACTORS.index(f)])})
    df = pd.DataFrame(rows)
    chart = alt.Chart(df).mark_line(opacity=0.5, strokeWidth=1).encode(
        x=alt.X("target logit:Q"), y=alt.Y("observer reading:Q", scale=alt.Scale(domain=[-0.1, 1.1])),
        detail="sample:N", color=alt.value("#1f77b4"),
    ).properties(width=150, height=130).facet(
        facet=alt.Facet("factor:N", sort=[PAPER_NAMES[f] for f in factors], title=None), columns=3)
    chart = chart.properties(title="Factor values read by the observer along the INN counterfactual interpolations")
    return charts.provenance(chart, data=f"{r.shape[0]} interpolations of test images (INN trained here), observer "
                                         "MobileNetV2 trained here on unbiased Two4Two; units: factor range -> [0, 1]")
