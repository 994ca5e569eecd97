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


# --------------------------------------------------------------------------------------
# the rebuilt pipeline


def pool_sentence(pool: pd.DataFrame, trials: pd.DataFrame, draw: dict, history: pd.DataFrame | None = None) -> str:
    """The classifier's accuracy, the misclassified pool, the two experiments and the code's draw
    (``history``: the training history, whose last validation accuracy is quoted beside)."""
    n1 = int((trials["experiment"] == 1).sum())
    n2 = int((trials["experiment"] == 2).sum())
    val = ""
    if history is not None and "val_acc" in history and len(history):
        val = (f" (on held-out images drawn like its training images: "
               f"{100 * float(history['val_acc'].iloc[-1]):.1f} %)")
    return (f"The classifier labelled {pool.attrs['pool']} images with a top-1 accuracy of "
            f"{100 * pool.attrs['accuracy']:.1f} %{val}, leaving {len(pool)} misclassified images. From them, one seeded "
            f"draw without replacement gives experiment 1 {n1} images ({n1 // 2} per condition) and experiment 2 "
            f"{n2} others. The released code's draw ({draw['drawn']} indices with replacement, the first "
            f"{draw['used']} used) would, on a pool of {draw['pool']} images, have repeated {draw['repeats']} of "
            f"its {draw['used']} images.")


def shares_sentence(beside: pd.DataFrame) -> str:
    """The pooled shares beside the paper's, and what is left unexplained."""
    pooled = beside[beside["set"] == "pooled"].set_index("category")
    parts = [f"{c} {pooled.loc[c, 'share']:.1f} % (paper {pooled.loc[c, 'paper']:.1f} %)"
             for c in ("C1", "C2", "C3", "C4", "C5") if c in pooled.index]
    rest = [f"{c}: {pooled.loc[c, 'share']:.1f} %" for c in ("other", "uncoded") if c in pooled.index]
    tail = (f"; the remainder has no recorded cause ({', '.join(rest)})" if rest
            else "; every error has a recorded cause")
    return "Pooled over both experiments, the sampled errors are " + ", ".join(parts) + tail + "."


def mix_sentence(tests: pd.DataFrame, gap: pd.DataFrame) -> str:
    """The chi-square tests of the published mix and the reweighted experiment-1 gap."""
    t = tests.set_index("comparison")
    a, b = t.iloc[0], t.iloc[1]
    g = gap.set_index("weights")["gap"]
    pooled = g[[i for i in g.index if i.startswith("pooled")][0]]
    own = g[[i for i in g.index if i.startswith("experiment")][0]]
    printed = g.iloc[0]
    if abs(pooled) >= abs(printed):
        verdict = ("so the groups' different mix does not explain the gap; if anything it made the gap look "
                   "slightly smaller")
    else:
        verdict = f"so the groups' different mix explains {100 * (1 - abs(pooled) / abs(printed)):.0f} % of the gap"
    return (f"In the published counts, the category mix differs between the two experiment-1 groups "
            f"(chi-square({int(a['dof'])}) = {a['chi2']:.1f}, p = {a['p']:.3f}) and between the experiments "
            f"(chi-square({int(b['dof'])}) = {b['chi2']:.1f}, p = {b['p']:.3f}). Reweighting both experiment-1 "
            f"groups to the pooled mix of all 400 images turns the printed gap of {printed:+.2f} into {pooled:+.2f} "
            f"(to experiment 1's own mix: {own:+.2f}), {verdict}.")


def areas_sentence(table: pd.DataFrame) -> str:
    """The EP areas reached against the panel titles."""
    t = table.set_index(["areas", "panel"])
    paper = ", ".join(f"{r['reached_mean']:.0f} %" for _, r in table[table["areas"] == "paper"].iterrows())
    code = ", ".join(f"{r['reached_mean']:.0f} %" for _, r in table[table["areas"] == "released code"].iterrows())
    n = int(t.iloc[0]["n"])
    return (f"Asked for the paper's 20, 40 and 50 %, the masks kept on average {paper} of the image "
            f"({n} images); at the released code's 0.2, 0.35 and 0.45 they kept {code} (gallery trials), "
            "under the same panel titles.")


def guessability_sentence(table: pd.DataFrame) -> str:
    """The overall guessability for both variants, and the most guessable category."""
    t = table.set_index(["variant", "category"])
    rnd, hard = t.loc[("random", "Overall")], t.loc[("hard", "Overall")]
    cats = table[(table["variant"] == "random") & (table["category"] != "Overall")].sort_values("guessable")
    top = cats.iloc[-1]
    return (f"With random distractors, the wrong label is the option nearest the gold class in "
            f"{100 * rnd['guessable']:.0f} % of {int(rnd['trials'])} trials (chance: {100 * rnd['chance']:.0f} %); "
            f"with same-family distractors in {100 * hard['guessable']:.0f} %. The most guessable category is "
            f"{top['category']} ({100 * top['guessable']:.0f} % of {int(top['trials'])} trials). Label semantics "
            "alone thus account for a large part of what the No-Int workers could get right, a part the paper "
            "could not separate from what the maps add or take away.")


def closing_note(p, beside: pd.DataFrame, guess: pd.DataFrame, areas: pd.DataFrame, timings: pd.DataFrame) -> str:
    """The chapter's closing note: this run's scale, the measured shares and baseline, the run's cost."""
    pooled = beside[beside["set"] == "pooled"].set_index("category")["share"]
    shares = ", ".join(f"{c} {v:.1f} %" for c, v in pooled.items())
    rnd = guess.set_index(["variant", "category"]).loc[("random", "Overall"), "guessable"]
    reached = ", ".join(f"{v:.0f} %" for v in areas.loc[areas["areas"] == "paper", "reached_mean"])
    cold, now = timings["first_run_s"].sum(), timings["this_run_s"].sum()
    return (f"*This run* (scale `{p.scale}`, source `{p.source}`): error shares {shares}; wrong label nearest the "
            f"gold class in {100 * rnd:.0f} % of trials (random distractors); EP areas reached {reached} for the "
            f"panels titled 20/40/50 %. The pipeline's steps took {cold:.0f} s with a cold cache and {now:.0f} s in "
            "this run. The `paper` scale (200 + 200 images, a ResNet-50) is meant for a GPU: "
            "`XAIBOOK_SCALE=paper python -c 'from xaibook.studies.shen2020.pipeline import run_pipeline; "
            "print(run_pipeline())'` runs every step and writes the ledger.")
