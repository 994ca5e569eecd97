"""Shen & Huang 2020: the published numbers, and what they allow to recompute (Tables 1-2).

The paper prints accuracies, image counts and significance stars, but no standard deviations
and no t statistics, so the t-tests cannot be recomputed. What the tables allow:

* :func:`design_check`, :func:`overall_check` and :func:`granularity_check` tie the printed
  counts and accuracies together (the Overall column as the image-weighted mean of C1-C5, each
  accuracy as a share of whole answers);
* :func:`sd_bounds` asks which spread of per-image accuracies each printed star implies, and
  :func:`replication_sample_sizes` what a replication needs under stated assumptions.

The ``record_*`` functions put each recomputed value beside the printed one in the ledger.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ... import ledger, stats
from ...data import published
from ...errors import ParameterError

CATEGORIES = {
    "C1": "local character",
    "C2": "multiple objects",
    "C3": "similar appearance",
    "C4": "correlation learning",
    "C5": "wrong gold label",
    "Overall": "overall",
}


CONDITIONS = ("Int", "No-Int")


def published_accuracy() -> pd.DataFrame:
    """Tables 1-2: guessing accuracy per experiment, condition and error category (C1-C5)."""
    df = published.load("shen2020_accuracy")
    df["category_name"] = df["category"].map(CATEGORIES)
    return df


def published_comparisons() -> pd.DataFrame:
    """Tables 1-2: the t-test of each category (paired or not) and its printed significance."""
    return published.load("shen2020_comparisons")


def published_design() -> pd.DataFrame:
    """Method and Experimental Results: images, workers, submissions, MTurk settings."""
    return published.load("shen2020_design")


def workers_per_image(experiment: int) -> int:
    """Answers each image received per condition (Experimental Results, ``shen2020_design``)."""
    d = published_design().set_index(["experiment", "quantity"])["value"]
    key = {1: "workers_per_image", 2: "workers_per_image_per_condition"}.get(experiment)
    if key is None:
        raise ParameterError(f"experiment must be 1 or 2, not {experiment!r}")
    return int(d[(str(experiment), key)])


def paired_table() -> pd.DataFrame:
    """One row per experiment and category: both accuracies, image counts and the printed test."""
    acc = published_accuracy()
    wide = acc.pivot_table(index=["experiment", "category"], columns="condition",
                           values=["accuracy", "n_images"]).reset_index()
    wide.columns = ["experiment", "category", "acc_int", "acc_no_int", "n_int", "n_no_int"]
    wide[["n_int", "n_no_int"]] = wide[["n_int", "n_no_int"]].astype(int)
    comp = published_comparisons()[["experiment", "category", "test", "significance", "p_bound"]]
    out = wide.merge(comp, on=["experiment", "category"])
    out["significance"] = out["significance"].fillna("")
    out["difference"] = out["acc_int"] - out["acc_no_int"]
    out["category_name"] = out["category"].map(CATEGORIES)
    return out


def overall_check() -> pd.DataFrame:
    """The printed 'Overall' column against the image-weighted mean of the C1-C5 columns."""
    acc = published_accuracy()
    rows = []
    for (exp, cond), g in acc.groupby(["experiment", "condition"]):
        cats = g[g["category"] != "Overall"]
        overall = g[g["category"] == "Overall"].iloc[0]
        weighted = float((cats["accuracy"] * cats["n_images"]).sum() / cats["n_images"].sum())
        rows.append({"experiment": exp, "condition": cond, "reported_overall": overall["accuracy"],
                     "weighted_mean_of_categories": round(weighted, 4),
                     "rounds_to_reported": round(weighted, 2) == overall["accuracy"]})
    return pd.DataFrame(rows)


def granularity_check() -> pd.DataFrame:
    """Whether each printed accuracy can arise from whole answers (a GRIM-style test).

    An accuracy over ``n`` images with ``m`` answers each is ``k / (n m)``; the printed
    two-decimal value must be within 0.005 of such a fraction.
    """
    acc = published_accuracy()
    rows = []
    for _, r in acc.iterrows():
        answers = int(r["n_images"]) * workers_per_image(int(r["experiment"]))
        k = int(round(r["accuracy"] * answers))
        nearest = k / answers
        rows.append({"experiment": r["experiment"], "condition": r["condition"], "category": r["category"],
                     "accuracy": r["accuracy"], "answers": answers, "correct_answers": k,
                     "nearest_fraction": round(nearest, 4),
                     "consistent": abs(nearest - r["accuracy"]) <= 0.005 + 1e-12})
    return pd.DataFrame(rows)


def binomial_reference_sd(p: float | Sequence[float], answers_per_image: int) -> float:
    """SD of per-image accuracies if every image had the same accuracy ``p`` (answers independent).

    For a list of accuracies (one per condition) the variances are averaged (pooled SD).
    Variation of difficulty between images only adds to this, so for the unpaired test it
    is the smallest SD the data can have.
    """
    ps = np.atleast_1d(np.asarray(p, dtype=float))
    if np.any((ps < 0) | (ps > 1)) or answers_per_image < 1:
        raise ParameterError("accuracies must lie in [0, 1] and answers_per_image must be >= 1")
    return float(math.sqrt(np.mean(ps * (1 - ps)) / answers_per_image))


def _pvalue(row: pd.Series, sd: float) -> float:
    if row["experiment"] == 1:
        res = stats.ttest_from_summary(row["acc_no_int"], sd, int(row["n_no_int"]),
                                       row["acc_int"], sd, int(row["n_int"]), equal_var=True)
    else:
        res = stats.ttest_paired_from_summary(row["acc_no_int"] - row["acc_int"], sd, int(row["n_int"]))
    return float(res.pvalue)


def sd_bounds(alpha: float = 0.05) -> pd.DataFrame:
    """The spread of per-image accuracies that each printed test result implies.

    For experiment 1 (unpaired t-test, equal variances) the unknown is the pooled SD of
    per-image accuracies; for experiment 2 (paired t-test over images) the SD of per-image
    differences. A starred cell (``p < bound``) implies ``SD <= sd_bound``; an unstarred cell
    (``p >= alpha``) implies ``SD >= sd_bound``. ``t_at_bound`` is the t statistic at that SD:
    the paper's own t must lie beyond it (starred) or inside it (unstarred).
    ``sd_reference`` is :func:`binomial_reference_sd` (pooled for experiment 1; for
    experiment 2 the SD of a difference of two independent 5-answer means).
    """
    tab = paired_table()
    rows = []
    for _, r in tab.iterrows():
        bound = float(r["p_bound"]) if not pd.isna(r["p_bound"]) else alpha
        relation = "<=" if not pd.isna(r["p_bound"]) else ">="
        diff = r["acc_no_int"] - r["acc_int"]
        m = workers_per_image(int(r["experiment"]))
        if r["experiment"] == 1:
            ref = binomial_reference_sd([r["acc_int"], r["acc_no_int"]], m)
        else:
            ref = math.sqrt(2) * binomial_reference_sd([r["acc_int"], r["acc_no_int"]], m)
        if diff == 0:
            sd_bound, t_bound = 0.0, 0.0
        else:
            lo, hi = 1e-6, 10.0
            if (_pvalue(r, lo) - bound) * (_pvalue(r, hi) - bound) > 0:
                sd_bound = float("nan")
            else:
                sd_bound = brentq(lambda s: _pvalue(r, s) - bound, lo, hi, xtol=1e-10)
            if r["experiment"] == 1:
                t_bound = stats.ttest_from_summary(r["acc_no_int"], sd_bound, int(r["n_no_int"]), r["acc_int"],
                                                   sd_bound, int(r["n_int"])).statistic
            else:
                t_bound = stats.ttest_paired_from_summary(diff, sd_bound, int(r["n_int"])).statistic
        if relation == "<=":
            verdict = "plausible" if ref <= sd_bound else "needs less spread than answer noise alone"
        else:
            verdict = "plausible"
        rows.append({"experiment": r["experiment"], "category": r["category"], "test": r["test"],
                     "difference": round(r["acc_int"] - r["acc_no_int"], 4), "significance": r["significance"],
                     "relation": relation, "sd_bound": sd_bound, "t_at_bound": abs(float(t_bound)),
                     "sd_reference": ref, "verdict": verdict})
    return pd.DataFrame(rows)


def replication_sample_sizes(sds: Sequence[float] = (0.15, 0.2, 0.25, 0.3), power: float = 0.8,
                             alpha: float = 0.05) -> pd.DataFrame:
    """Images a replication needs to detect the overall differences, for a range of assumed SDs.

    Experiment 1 design (unpaired, images per condition) and experiment 2 design (paired,
    images seen in both conditions), effect = the published overall difference / assumed SD.
    The SD is an assumption because the paper does not report it.
    """
    tab = paired_table()
    rows = []
    for _, r in tab[tab["category"] == "Overall"].iterrows():
        diff = abs(r["acc_no_int"] - r["acc_int"])
        for sd in sds:
            if sd <= 0:
                raise ParameterError(f"assumed SDs must be positive, got {sd}")
            d = diff / sd
            if r["experiment"] == 1:
                n = stats.sample_size_ttest_ind(d, power=power, alpha=alpha)
                design = "unpaired: images per condition"
            else:
                n = stats.sample_size_ttest_paired(d, power=power, alpha=alpha)
                design = "paired: images in both conditions"
            rows.append({"experiment": r["experiment"], "difference": round(diff, 4), "assumed_sd": sd,
                         "cohen_d": d, "design": design, "images_needed": int(n),
                         "images_used": int(r["n_int"])})
    return pd.DataFrame(rows)


STUDY = "shen2020"


TABLES = "published Table 1, Table 2"


def design_check() -> pd.DataFrame:
    """Counts of the Method and Experimental Results sections that follow from other printed counts.

    Workers of experiment 1 (per condition, minus those in both), of both experiments, submissions
    per condition (images x answers per image), in total, and the N of each overall t-test
    against the image counts of Tables 1-2.
    """
    d = published_design().set_index(["experiment", "quantity"])["value"]
    acc = published_accuracy().set_index(["experiment", "condition", "category"])["n_images"]
    comp = published_comparisons().set_index(["experiment", "category"])["n_stated"]

    def v(exp: str, q: str) -> float:
        return float(d[(exp, q)])

    rows = [
        ("workers.exp1", "workers in experiment 1", ("1", "workers_total"),
         v("1", "workers_int") + v("1", "workers_no_int") - v("1", "workers_both_conditions"),
         "workers per condition minus those in both"),
        ("workers.all", "workers in both experiments", ("all", "workers_total"),
         v("1", "workers_total") + v("2", "workers_int") + v("2", "workers_no_int"),
         "experiment 1 total plus the two groups of experiment 2"),
        ("submissions.exp1.per_condition", "submissions per condition, experiment 1",
         ("1", "submissions_per_condition"), v("1", "images_per_condition") * v("1", "workers_per_image"),
         "images per condition x answers per image"),
        ("submissions.exp2.per_condition", "submissions per condition, experiment 2",
         ("2", "submissions_per_condition"), v("2", "images") * v("2", "workers_per_image_per_condition"),
         "images x answers per image and condition"),
        ("submissions.exp2.per_image", "workers per image, experiment 2", ("2", "workers_per_image"),
         2 * v("2", "workers_per_image_per_condition"), "two conditions x answers per image and condition"),
        ("submissions.all", "submissions in both experiments", ("all", "submissions"),
         v("1", "submissions") + v("2", "submissions"), "the two experiments' submissions"),
    ]
    out = [{"claim": c, "quantity": q, "printed": float(d[key]), "recomputed": r, "from": how,
            "table": "shen2020_design", "where": {"experiment": key[0], "quantity": key[1]}}
           for c, q, key, r, how in rows]
    for exp in (1, 2):
        out.append({"claim": f"ttest_n.exp{exp}", "quantity": f"N of the overall t-test, experiment {exp}",
                    "printed": float(comp[(exp, "Overall")]),
                    "recomputed": float(acc[(exp, "Int", "Overall")]),
                    "from": f"images per condition in Table {exp}", "table": "shen2020_comparisons",
                    "where": {"experiment": exp, "category": "Overall"}})
    df = pd.DataFrame(out)
    df["agrees"] = df["printed"] == df["recomputed"]
    return df


def record_design(check: pd.DataFrame) -> None:
    """Ledger: each row of :func:`design_check` as a claim (exact counts, no tolerance)."""
    column = {"shen2020_design": "value", "shen2020_comparisons": "n_stated"}
    for _, r in check.iterrows():
        ledger.record(STUDY, f"design.{r['claim']}", r["quantity"],
                      paper=published.ref(r["table"], column[r["table"]], **r["where"]),
                      ours=r["recomputed"], data=f"published text ({r['from']})", tolerance=0.0)


def record_overall(check: pd.DataFrame) -> None:
    """Ledger: the printed Overall accuracies against :func:`overall_check`.

    Tolerance 0.01: the five category accuracies are rounded to two decimals (their weighted
    mean carries up to 0.005 of rounding) and so is the printed Overall value.
    """
    for _, r in check.iterrows():
        exp, cond = int(r["experiment"]), r["condition"]
        ledger.record(STUDY, f"overall.exp{exp}.{cond}",
                      f"overall accuracy, experiment {exp}, {cond} (image-weighted mean of C1-C5)",
                      paper=published.ref("shen2020_accuracy", "accuracy", experiment=exp, condition=cond,
                                          category="Overall"),
                      ours=r["weighted_mean_of_categories"], data=f"{TABLES} (C1-C5 accuracies, image counts)",
                      tolerance=0.01, reason="beyond the rounding of the printed accuracies")


def record_granularity(check: pd.DataFrame) -> None:
    """Ledger: each printed accuracy against the nearest share of whole answers (:func:`granularity_check`)."""
    for _, r in check.iterrows():
        exp, cond, cat = int(r["experiment"]), r["condition"], r["category"]
        ledger.record(STUDY, f"granularity.exp{exp}.{cond}.{cat}",
                      f"accuracy as whole answers k/{r['answers']}, experiment {exp}, {cond}, {cat}",
                      paper=published.ref("shen2020_accuracy", "accuracy", experiment=exp, condition=cond,
                                          category=cat),
                      ours=r["nearest_fraction"], data=f"{TABLES} (image counts) x answers per image (text)",
                      tolerance=0.0, reason="no whole number of correct answers gives the printed value")


def record_stars(bounds: pd.DataFrame) -> None:
    """Ledger: the starred t-tests, not recomputable; the reason names the SD each star needs."""
    for _, r in bounds[bounds["relation"] == "<="].iterrows():
        exp, cat = int(r["experiment"]), r["category"]
        paper = published.ref("shen2020_comparisons", "p_bound", experiment=exp, category=cat)
        ledger.record(STUDY, f"ttest.exp{exp}.{cat}", f"p of the {r['test']}, experiment {exp}, {cat} (bound)",
                      paper=paper, ours=None, data=TABLES,
                      why_not=(f"only the star (p < {paper.value:g}) is printed, no SD, t or per-image answers; "
                               f"the star needs an SD of at most {r['sd_bound']:.3f} "
                               f"(answer noise alone: {r['sd_reference']:.3f})"))
