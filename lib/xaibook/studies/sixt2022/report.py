"""Sixt et al. 2022: the chapter's generated sentences, each number computed in this build or read from
``data/published``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...data import published
from .pipeline import CF_TOLERANCE, plan
from .published import (ATTRIBUTES, LEGS, counts, paper_setting, published_accuracy, published_importance,
                        published_tests, study1_mcnemar_range)

def model_sentence(summary: pd.DataFrame) -> str:
    """The model's size, accuracy and invertibility beside the paper's, from :func:`model_summary`."""
    t = summary.set_index("quantity")["ours"]
    acc = float(t["test accuracy (%)"].split()[0])
    n_params = int(t["parameters"].replace(",", ""))
    paper_acc, paper_params = paper_setting("test_accuracy"), paper_setting("parameters")
    gap = paper_acc - acc
    how = ("matches the paper's" if abs(gap) < 1 else f"is {gap:.1f} points below the paper's" if gap > 0
           else f"is {-gap:.1f} points above the paper's")
    return (f"Our INN has {n_params:,} parameters, about 1/{paper_params / n_params:,.0f} of the paper's "
            f"{paper_params / 1e6:,.0f} million, and its test accuracy of {acc:.1f} % {how} {paper_acc} % (Sec. 4). "
            "Encoding and decoding a test "
            f"image reproduces it up to {t['max |decode(encode(x)) - x|']} per pixel (pixel values lie in [0, 1]), "
            "so the counterfactuals below are exact inverses of moved latents.")


def importance_sentence(result) -> str:
    """A sentence, generated from the numbers, on whether our ranking agrees with the paper's
    (legs > colour > shape > every unbiased factor), per measure, with the paper's own numbers
    checked the same way on the same factors."""
    from ...world.importance import PAPER_NAMES, ranking_agrees

    t = result.table.groupby("factor", as_index=False)[["prediction_flip", "median_logit_change", "r2"]].mean()
    paper = published_importance().rename(columns={"factor": "name"})
    paper["factor"] = paper["name"].map({v: k for k, v in PAPER_NAMES.items()})
    paper = paper[paper["factor"].isin(t["factor"])]

    def verdict(check: dict) -> str:
        if check["agrees"]:
            return "holds"
        pairs = ", ".join(f"{PAPER_NAMES[a]} ≤ {PAPER_NAMES[b]}" for a, b in check["violations"][:3])
        more = len(check["violations"]) - 3
        return f"breaks ({pairs}{f', and {more} more' if more > 0 else ''})"

    parts = []
    for metric, label in (("prediction_flip", "prediction flips"), ("r2", "R²"),
                          ("median_logit_change", "median |Δ logit|")):
        parts.append(f"on {label} it {verdict(ranking_agrees(t, metric))} for our model and "
                     f"{verdict(ranking_agrees(paper, metric))} for the paper's")
    return "The ranking legs > colour > shape > every unbiased factor: " + "; ".join(parts) + "."


def counterfactual_sentence(achieved, targets, exact) -> str:
    """How exactly the counterfactuals reach their target logits (the model classifies them again)."""
    import torch

    err = (torch.as_tensor(achieved, dtype=torch.float64) - torch.as_tensor(np.asarray(targets))).abs()
    ok = torch.as_tensor(exact)
    text = (f"Classified again (before clipping to [0, 1] for display), {int(ok.sum())} of the {ok.numel()} "
            f"counterfactual images reach their target logits within {CF_TOLERANCE}")
    if ok.any():
        text += f" (largest error {float(err[ok].max()):.2g})"
    if (~ok).any():
        text += (f"; the inverse of the other {int((~ok).sum())} is not numerically exact (non-finite pixels or a "
                 "logit far from the target), a failure of our small INN far from its training data, so those "
                 "cells are left blank")
    return text + "."


def concepts_sentence(explanation) -> str:
    """The kept concepts' correlations with the logit beside the paper's range (Sec. 4)."""
    sel = explanation.selected
    lo, hi = float(sel["abs_r"].min()), float(sel["abs_r"].max())
    n_pos = int((sel["r"] > 0).sum())
    ev = 100 * float(explanation.concepts.explained_variance_ratio.sum())
    n_all = len(explanation.concepts.explained_variance_ratio)
    return (f"The {len(sel)} kept components correlate with the logit at |r| from {lo:.2f} to {hi:.2f} (paper: "
            f"{paper_setting('concept_abs_r_min'):.2f} to {paper_setting('concept_abs_r_max'):.2f}, Sec. 4); {n_pos} of "
            f"them go with Stretchy (r > 0) and {len(sel) - n_pos} with Peeky. All {n_all} components together "
            f"explain {ev:.0f} % of the layer's variance. A concept row shows where a direction of the activations "
            "is strong, not what it means; the participants had to guess that, and in the study they mostly could "
            "not.")


def observer_sentence(info: dict) -> str:
    """How well our observer reads the four factors the study asks about, beside the paper's (Table 7)."""
    t = info["test_error"].set_index("factor")
    paper = published.load("sixt2022_table7").set_index("attribute")["value"]
    four = {"arm_position": "Legs' Position", "obj_color": "Color", "spherical": "Shapes", "bg_color": "Background"}
    ours = [f"{t.loc[f, 'name'].lower()} {100 * max(float(t.loc[f, 'r2']), 0.0):.0f} %" for f in four]
    share = max(float(paper[name]) / float(t.loc[f, "mse_predicting_mean"]) for f, name in four.items())
    return (f"Trained on {info['n_train']:,} unbiased images, our observer explains this share of the test variance "
            f"of each factor: {', '.join(ours)} (R², negative values shown as 0). The paper's observer reached test "
            f"MSEs (Table 7) that are at most {100 * share:.1f} % of these four factors' variance in our test set, so "
            "it read them almost exactly. A change along an interpolation is evidence only where it clearly exceeds "
            "our observer's test RMSE (last column of the next table).")


def background_sentence(table: pd.DataFrame, result: dict | None = None) -> str:
    """A sentence, generated from the numbers, on whether the background changes a little along the
    interpolations, as the paper found (Table 6)."""
    t = table.set_index("factor")
    bg, rmse = t.loc["bg_color", "mean (ours)"], t.loc["bg_color", "observer test RMSE (ours)"]
    legs = t.loc["arm_position", "mean (ours)"]
    relevant_min = t.loc[["arm_position", "obj_color", "spherical"], "mean (ours)"].min()
    verdict = ("changes a little, as the paper found" if rmse < bg < relevant_min else
               "changes no more than the observer's own error, so a change cannot be claimed" if bg <= rmse else
               "changes as much as a relevant factor")
    kept = ""
    if result is not None and result.get("n_exact", 0) < result.get("n_attempted", 0):
        kept = (f" ({result['n_exact']} of {result['n_attempted']} interpolations kept; in the others the INN's "
                "inverse was not numerically exact in some frame)")
    return (f"Along our interpolations{kept} the observer's background reading moves by {bg:.3f} on average "
            f"(paper: {t.loc['bg_color', 'paper mean']:.3f}), against {legs:.3f} for the legs "
            f"(paper: {t.loc['arm_position', 'paper mean']:.3f}); the observer's test RMSE on the "
            f"background is {rmse:.3f}. The background therefore {verdict}.")


def closing_summary(summary: pd.DataFrame, measured, changes: pd.DataFrame) -> str:
    """The closing note's numbers for this build, each beside the paper's."""
    t = summary.set_index("quantity")["ours"]
    imp = measured.table.groupby("factor")[["prediction_flip", "r2"]].mean()
    ch = changes.set_index("factor")["mean (ours)"]
    legs = imp.loc["arm_position"] if "arm_position" in imp.index else None
    acc, n = t["test accuracy (%)"].split(" ", 1)
    text = (f"This build ran at the `{plan().scale}` scale. The INN has {t['parameters']} parameters and "
            f"{acc} % test accuracy {n} (paper: {paper_setting('parameters') / 1e6:,.0f} million and "
            f"{paper_setting('test_accuracy')} %).")
    paper = published_importance().set_index("factor")
    t6 = published.load("sixt2022_table6").pivot(index="attribute", columns="metric", values="value")
    t6 = t6["mean_maximal_change"]
    p_legs = paper.loc[LEGS]
    if legs is not None:
        text += (f" Resampling the legs flips {legs['prediction_flip']:.1f} % of its predictions with R² "
                 f"{legs['r2']:.2f} (paper: {p_legs['prediction_flip']:.1f} % and "
                 f"{p_legs['r2']:.3f});")
    if "obj_color" in imp.index:
        text += (f" colour {imp.loc['obj_color', 'prediction_flip']:.1f} % and {imp.loc['obj_color', 'r2']:.2f} "
                 f"(paper: {paper.loc['Color', 'prediction_flip']:.1f} % and {paper.loc['Color', 'r2']:.3f}).")
    text += (f" Along the counterfactual interpolations the observer reads a mean largest change of "
             f"{ch['arm_position']:.3f} for the legs and {ch['bg_color']:.3f} for the background "
             f"(paper: {t6[LEGS]:.3f} and {t6['Background']:.3f}).")
    return text


def mcnemar_sentence(summary: pd.DataFrame) -> str:
    """Study 1: what the unknown pairing does to the McNemar tests, from :func:`study1_mcnemar_summary`."""
    s = summary.set_index("comparison")
    col, shp = s.loc["Legs vs Color"], s.loc["Legs vs Shape"]
    alpha = paper_setting("study1_alpha")
    t = study1_mcnemar_range("Legs", "Shape")
    paper_shape = float(published_tests().set_index("comparison").loc["Legs vs Shape", "pvalue"])
    near = t.loc[(t["pvalue"] - paper_shape).abs().idxmin()]
    colour = ("colour is found less often than the legs at every possible table (the largest p, "
              f"{col['p_max']:.4f}, is below the pre-registered α = {alpha})" if col["p_max"] < alpha else
              f"colour is not found significantly less often at every table (largest p {col['p_max']:.4f})")
    shape = ("shape never differs significantly" if shp["p_min"] >= alpha else
             f"shape differs at some tables (smallest p {shp['p_min']:.4f})")
    match = col["pairings_matching_paper"]
    return (f"Table 2 implies {int(col['legs_correct'])} of {int(col['n'])} correct answers on the legs, "
            f"{int(col['other_correct'])} on colour and {int(shp['other_correct'])} on shape. Both conclusions "
            f"hold for any pairing: {colour}, and {shape}. The printed P {col['paper_p']} is reached by "
            f"{'no table' if match == 'none' else 'the table ' + match}, in which every participant who found the "
            f"colour bias also rated the legs correctly. The printed P {shp['paper_p']} for shape matches "
            f"{'none of the possible tables exactly' if shp['pairings_matching_paper'] == 'none' else 'a table'}; "
            f"the nearest, b = {int(near['b'])} and c = {int(near['c'])}, gives {near['pvalue']:.3f}.")


def attribute_sentence(comparisons: pd.DataFrame) -> str:
    """Study 2: which INN-vs-baseline differences survive Holm here and in the paper; the legs' counts."""
    inn = comparisons[comparisons["comparison"] == "INN vs Baseline"].set_index("attribute")
    paper = published_tests()
    paper = paper[paper["comparison"] == "INN vs Baseline"].set_index("attribute")["pvalue"]
    ours_sig = [a for a in ATTRIBUTES if inn.loc[a, "p_holm"] < 0.05]
    paper_sig = [a for a in ATTRIBUTES if paper[a] < 0.05]
    conc = comparisons[comparisons["comparison"] == "Concepts vs Baseline"]
    below = int((conc["acc_condition"] < conc["acc_reference"]).sum())
    legs = inn.loc["Legs"]
    agree = "agrees" if ours_sig == paper_sig else "does not agree"
    return (f"The reanalysis {agree} with the paper on which INN-vs-baseline differences survive the correction "
            f"(here: {', '.join(a.lower() for a in ours_sig) or 'none'}; paper: "
            f"{', '.join(a.lower() for a in paper_sig) or 'none'}). Concepts fall below the baseline on {below} of "
            f"{len(conc)} attributes. The legs are the exception: the paper prints P < {paper['Legs']:g} after "
            f"Holm's correction, while with {int(legs['correct_condition'])} of {int(legs['n_condition'])} against "
            f"{int(legs['correct_reference'])} of {int(legs['n_reference'])} correct our Holm-adjusted p is "
            f"{legs['p_holm']:.4f}.")


def overall_sentence() -> str:
    """The rounding notes of Table 2's overall rows, from the implied counts."""
    c1, c2 = counts(1), counts(2)
    attrs = list(ATTRIBUTES)
    k1, n1 = int(c1[attrs].to_numpy().sum()), len(attrs) * int(c1["n"].iloc[0])
    acc = published_accuracy().set_index(["study", "condition", "attribute"])["value"]
    pooled = 100 * c2["Color"].sum() / c2["n"].sum()
    return (f"The overall accuracies in Table 2 are the means of these counts, with one rounding exception: in "
            f"study 1 the attribute counts give {k1} of {n1} correct answers ({100 * k1 / n1:.1f} %), printed as "
            f"{acc[(1, 'Baseline', 'Overall')]}. The pooled study-2 row is printed as in the paper; it is not exactly "
            f"the n-weighted mean of the three conditions (colour: {pooled:.1f} % from the counts, "
            f"{acc[(2, 'All', 'Color')]} % printed).")


def replication_sentence(table: pd.DataFrame) -> str:
    """What the replication sizes say, from :func:`replication_sample_sizes`."""
    t = table.set_index("attribute")
    n_study = int(t["n_study"].iloc[0])
    large = [a for a in ATTRIBUTES if pd.notna(t.loc[a, "n_per_group"]) and t.loc[a, "n_per_group"] <= n_study]
    small = [a for a in ATTRIBUTES if a not in large]
    return (f"With {n_study} participants in its smaller group the study had at least 80 % power for "
            f"{', '.join(a.lower() for a in large)} (at most {int(t.loc[large, 'n_per_group'].max())} per group "
            f"needed), but the overall INN-vs-baseline difference, if real, would need "
            f"{int(t.loc['Overall', 'n_per_group'])} participants per group, and "
            f"{' and '.join(a.lower() for a in small)} would need "
            f"{int(t.loc[small, 'n_per_group'].min()):,} or more.")
