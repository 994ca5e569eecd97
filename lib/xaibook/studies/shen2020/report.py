"""Shen & Huang 2020: the chapter's generated sentences (every number in them is computed)."""
from __future__ import annotations

import pandas as pd

from .published import workers_per_image

def overall_sentence(check: pd.DataFrame) -> str:
    """How many printed Overall values the category columns reproduce."""
    n_ok = int(check["rounds_to_reported"].sum())
    worst = float((check["weighted_mean_of_categories"] - check["reported_overall"]).abs().max())
    within = "within" if worst <= 0.01 else "beyond"
    return (f"In {n_ok} of {len(check)} rows the image-weighted mean of the categories rounds to the printed "
            f"*Overall* value (largest gap {worst:.4f}, {within} the rounding of the printed cells).")


def granularity_sentence(check: pd.DataFrame) -> str:
    """How many printed accuracies are shares of whole answers, and the smallest cell."""
    small = check.sort_values("answers").iloc[0]
    return (f"{int(check['consistent'].sum())} of {len(check)} printed accuracies are shares of whole answers. "
            f"The smallest cell, {small['category']} in experiment {small['experiment']}, rests on "
            f"{int(small['answers'])} answers per condition, so there the constraint bites hardest.")


def bounds_sentence(bounds: pd.DataFrame) -> str:
    """Which printed results are possible and how tight the starred ones are (ratio to answer noise)."""
    starred = bounds[bounds["relation"] == "<="].copy()
    starred["room"] = starred["sd_bound"] / starred["sd_reference"]
    n_ok = int((bounds["verdict"] == "plausible").sum())
    tight = starred[starred["experiment"] == 1].sort_values("room").iloc[0]
    paired = starred[starred["experiment"] == 2].sort_values("room").iloc[0]
    overall = starred.set_index(["experiment", "category"]).loc[(1, "Overall")]
    head = ("All printed results are possible" if n_ok == len(bounds)
            else f"{n_ok} of {len(bounds)} printed results are possible")
    return (f"{head}. The tightest in experiment 1 is {tight['category']}: its stars allow an SD only "
            f"{tight['room']:.2f} times the answer-noise reference, "
            f"{'little' if tight['room'] < 1.5 else 'some'} room for images to differ in difficulty. "
            f"In experiment 2, {paired['category']} sits at {paired['room']:.2f} times its reference, which there "
            f"is no strict floor. The overall experiment 1 result tolerates {overall['room']:.1f} times the "
            "reference.")


def replication_sentence(table: pd.DataFrame, bounds: pd.DataFrame) -> str:
    """The overall differences, and the assumed SD beyond which experiment 1's images are too few."""
    diff = table.groupby("experiment")["difference"].first()
    e1 = table[table["experiment"] == 1].sort_values("assumed_sd")
    used = int(e1["images_used"].iloc[0])
    enough = e1[e1["images_needed"] <= used]
    limit = float(enough["assumed_sd"].max()) if len(enough) else float("nan")
    noise = float(bounds.set_index(["experiment", "category"]).loc[(1, "Overall"), "sd_reference"])
    return (f"The overall effects are differences of {diff[1]:.2f} (experiment 1) and {diff[2]:.2f} "
            f"(experiment 2) in accuracy. An unpaired replication of experiment 1 needs more than its {used} "
            f"images per condition as soon as the per-image SD exceeds {limit:.2f}, and the noise of "
            f"{workers_per_image(1)} answers per image alone contributes {noise:.2f}.")
