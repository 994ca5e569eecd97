"""Nguyen et al. 2021: the chapter's claims in the reproduction ledger (:mod:`xaibook.ledger`).

Each ``record_*`` function records one group of claims, a claim per published number the
chapter sets ours beside, with the same ids whether or not the data are present (a claim
whose data are absent is ``not recomputable`` and says why).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ... import ledger
from ...data import published, sources
from ...data.sources import Classifier, Pool
from .human import DATASETS, EXPORTS_FOLDER, apply_exclusion, method_summary, validation_scores
from .published import published_accuracy, reweighted_published


def _no_exports_why() -> str:
    return f"no Gorilla exports under <XAIBOOK_DATA>/{EXPORTS_FOLDER} (see exports_status())"


def record_human_claims(trials: pd.DataFrame | None) -> pd.DataFrame:
    """Record the reanalysis claims (Fig. 1b for lay users, Table 1 for experts) in the ledger.

    One claim per published condition and statistic, whether or not the exports are present
    (so the claim ids never depend on the data): mean and SD of per-user accuracy for all 12
    conditions, and for the experts (Table 1) the users, mean validation score and the
    natural / adversarial correct trials. Conditions without test trials in the public exports
    are ``not recomputable``; partial ones differ by the users they lack. Returns the claims.
    """
    from ... import ledger

    summary = scores = None
    if trials is not None and not trials.empty:
        summary = method_summary(apply_exclusion(trials)).set_index(["dataset", "method", "population"])
        scores = validation_scores(trials)
    out = []
    for r in published_accuracy().itertuples():
        cond = (r.dataset, r.method, r.population)
        row = summary.loc[cond] if summary is not None and cond in summary.index else None
        if trials is None or trials.empty:
            why = _no_exports_why()
        else:
            why = "the public exports hold no test trials of this condition"
        base = f"accuracy.{r.population}.{r.dataset}.{r.method}".lower()
        name = f"{r.dataset}, {r.method}, {r.population} users"
        complete = row is not None and int(row["users"]) == int(r.users)
        reason = None if row is None or complete else \
            f"the public exports hold {int(row['users'])} of the {int(r.users)} users"
        if r.population == "lay":
            refs = {"mean": published.ref("nguyen2021_fig1b", dataset=r.dataset, method=r.method, image_type="all",
                                          metric="accuracy_mean"),
                    "sd": published.ref("nguyen2021_fig1b", dataset=r.dataset, method=r.method, image_type="all",
                                        metric="accuracy_sd")}
        else:
            sel = dict(dataset=r.dataset, method=r.method, user_group="expert")
            refs = {"mean": published.ref("nguyen2021_table1", image_type="all", metric="accuracy_mean", **sel),
                    "sd": published.ref("nguyen2021_table1", image_type="all", metric="accuracy_sd", **sel)}
        data = "Gorilla exports (public part), reanalysed"
        for stat, label in (("mean", "mean"), ("sd", "SD")):
            out.append(ledger.record("nguyen2021", f"{base}.{stat}", f"per-user accuracy {label}, {name} (%)",
                                     paper=refs[stat], ours=None if row is None else float(row[stat]), data=data,
                                     reason=reason, why_not=why))
        if r.population != "expert":
            continue
        sel = dict(dataset=r.dataset, method=r.method, user_group="expert")
        out.append(ledger.record("nguyen2021", f"{base}.users", f"users, {name}",
                                 paper=published.ref("nguyen2021_table1", image_type="all", metric="users", **sel),
                                 ours=None if row is None else int(row["users"]), data=data, why_not=why))
        val = None
        if scores is not None:
            s = scores[(scores["dataset"] == r.dataset) & (scores["condition"] == r.method)
                       & (scores["population"] == "expert") & (scores["validation_trials"] > 0)]
            val = float(s["validation_correct"].mean()) if len(s) else None
        out.append(ledger.record("nguyen2021", f"{base}.validation_score", f"mean validation score (of 10), {name}",
                                 paper=published.ref("nguyen2021_table1", image_type="all",
                                                     metric="validation_score_mean", **sel),
                                 ours=val, data=data, why_not=why if scores is None else
                                 "the public exports hold no validation trials of this condition"))
        for kind in ("natural", "adversarial"):
            out.append(ledger.record(
                "nguyen2021", f"{base}.{kind}_correct", f"correct {kind} trials, {name}",
                paper=published.ref("nguyen2021_table1", image_type=kind, metric="correct_trials", **sel),
                ours=None if row is None else int(row[f"{kind}_correct"]), data=data, reason=reason, why_not=why))
    return ledger.frame(out)


def _stand_in(clf: Classifier, pool: Pool | None = None) -> str:
    """Why a pipeline number may differ from the paper's: what stands in for the study's data."""
    return sources.get(clf.source, "nguyen2021").stand_in(clf, None if pool is None else len(pool))


def record_classifier_claims(clf: "Classifier", pools: Mapping[str, "Pool"]) -> pd.DataFrame:
    """Record the classifier's top-1 accuracy beside ResNet-34's on ImageNet val (Sec. 2.2)."""
    from ... import ledger

    pool = pools.get("ImageNet")
    c = ledger.record("nguyen2021", "classifier.top1.imagenet", "classifier top-1 accuracy, ImageNet pool (%)",
                      paper=published.ref("nguyen2021_methods", dataset="ImageNet", metric="classifier_top1_accuracy"),
                      ours=None if pool is None or not len(pool) else 100 * pool.accuracy, data=clf.provenance,
                      tolerance=1.0, reason=_stand_in(clf, pool), why_not="no ImageNet pool in this run")
    return ledger.frame([c])


def record_bin_claims(distribution: pd.DataFrame, clf: "Classifier") -> pd.DataFrame:
    """Record the Easy / Medium / Hard shares of the binned images beside Table A7, and the Dogs
    Easy-correct share beside Fig. A1 (appendix A1)."""
    from ... import ledger

    shares = distribution.groupby(["dataset", "difficulty"], sort=False)["share"].sum(min_count=1)
    out = []
    for d in DATASETS:
        for level in ("Easy", "Medium", "Hard"):
            v = shares.get((d, level), np.nan)
            out.append(ledger.record(
                "nguyen2021", f"bins.share.{d}.{level}".lower(), f"share of {level} images among the binned, {d} (%)",
                paper=published.ref("nguyen2021_tableA7", dataset=d, difficulty=level, metric="percentage"),
                ours=None if pd.isna(v) else 100 * float(v), data=clf.provenance, tolerance=2.0,
                reason=_stand_in(clf), why_not=f"no binned {d} image in this run"))
    a1 = published.load("nguyen2021_figA1").iloc[0]
    ec = distribution[(distribution["dataset"] == a1["dataset"]) & (distribution["bin"] == "easy_correct")]["share"]
    v = float(ec.iloc[0]) if len(ec) and pd.notna(ec.iloc[0]) else None
    out.append(ledger.record(
        "nguyen2021", f"bins.share.{a1['dataset']}.easy_correct".lower(),
        f"share of Easy-correct images among the binned, {a1['dataset']} (%)",
        paper=published.ref("nguyen2021_figA1", dataset=a1["dataset"], difficulty="Easy", ai_prediction="Correct",
                            metric="ratio_original"),
        ours=None if v is None else 100 * v, data=clf.provenance, tolerance=2.0, reason=_stand_in(clf),
        why_not=f"no binned {a1['dataset']} image in this run"))
    return ledger.frame(out)


def record_reweighting_claims(distribution: pd.DataFrame, clf: "Classifier") -> pd.DataFrame:
    """Record the published Table A1 accuracies reweighted with this run's bin shares beside the
    reweighted values Fig. 2 quotes (appendix A1)."""
    from ... import ledger

    ours = reweighted_published(distribution)
    ours = ours.set_index(["dataset", "method"])["reweighted with our shares (%)"] if len(ours) else pd.Series(dtype=float)
    fig2 = published.load("nguyen2021_fig2")
    out = []
    for r in fig2[(fig2["image_type"] == "natural") & (fig2["method"] != "AI-only")].itertuples():
        v = ours.get((r.dataset, r.method), np.nan)
        out.append(ledger.record(
            "nguyen2021", f"reweighted.{r.dataset}.{r.method}".lower(),
            f"Table A1 accuracy reweighted to the real bin mix, {r.dataset}, {r.method} (%)",
            paper=published.ref("nguyen2021_fig2", dataset=r.dataset, method=r.method, image_type="natural",
                                metric="accuracy"),
            ours=None if pd.isna(v) else float(v), data=f"published Table A1 x bin shares of {clf.provenance}",
            tolerance=1.0, reason="bin shares from the " + _stand_in(clf), why_not=f"no binned {r.dataset} image in this run"))
    return ledger.frame(out)


def record_ai_only_claims(sweeps: Mapping[str, "Any"], clf: "Classifier") -> pd.DataFrame:
    """Record the AI-only best threshold and its accuracy beside the paper's (Sec. 2.3, Table A6)."""
    from ... import ledger

    out = []
    for d in DATASETS:
        s = sweeps.get(d)
        t_ref = published.ref("nguyen2021_ai_only_threshold", dataset=d, method="AI-only", metric="optimal_threshold")
        out.append(ledger.record(
            "nguyen2021", f"ai_only.best_threshold.{d}".lower(), f"AI-only best confidence threshold T*, {d}",
            paper=t_ref, ours=None if s is None else s.best_threshold, data=clf.provenance, tolerance=0.05,
            reason=_stand_in(clf), why_not=f"no {d} image in this run"))
        a6 = published.load("nguyen2021_tableA6")
        thr = a6[(a6["dataset"] == d) & (a6["threshold"].round(2) == round(t_ref.value, 2))]["threshold"].iloc[0]
        out.append(ledger.record(
            "nguyen2021", f"ai_only.best_accuracy.{d}".lower(), f"AI-only accuracy at the best threshold, {d} (%)",
            paper=published.ref("nguyen2021_tableA6", dataset=d, method="AI-only", threshold=float(thr),
                                metric="accuracy"),
            ours=None if s is None else 100 * s.best_accuracy, data=clf.provenance, tolerance=1.0,
            reason=_stand_in(clf), why_not=f"no {d} image in this run"))
    return ledger.frame(out)


def record_correlation_claims(correlations: pd.DataFrame | None, status: str) -> pd.DataFrame:
    """Record Pearson r of each localisation score with per-image human accuracy beside Fig. 4
    (Sec. 3.5), for the cases the paper prints; ``status`` from :func:`human_correlations` says
    why they are missing."""
    from ... import ledger

    fig4 = published.load("nguyen2021_fig4")
    out = []
    for r in fig4[fig4["metric"] == "pearson_r"].itertuples():
        v = None
        if correlations is not None and len(correlations):
            c = correlations[(correlations["dataset"] == r.dataset) & (correlations["method"] == r.method)
                             & (correlations["metric"] == r.localization_metric)
                             & (correlations["population"] == "lay")]["r"]
            v = float(c.iloc[0]) if len(c) and pd.notna(c.iloc[0]) else None
        why = " ".join(status.split()) if v is None and correlations is None else \
            "no lay-user test trials of this condition on an AI-correct natural image in the loaded exports"
        out.append(ledger.record(
            "nguyen2021", f"correlation.{r.dataset}.{r.method}.{r.localization_metric}".replace(" ", "_").lower(),
            f"Pearson r of {r.localization_metric} with per-image human accuracy, {r.dataset}, {r.method}",
            paper=published.ref("nguyen2021_fig4", dataset=r.dataset, method=r.method,
                                localization_metric=r.localization_metric, metric="pearson_r"),
            ours=v, data="Gorilla exports x maps of the ImageNet images people saw", tolerance=0.1,
            reason="a subset of the users and images", why_not=why))
    return ledger.frame(out)


#: Relative tolerance of the EP areas: a mask area within 20 % of its target counts as reached.
EP_AREA_TOLERANCE = 0.2


def record_ep_area_claims(areas: Mapping[str, "Any"], p: "Any") -> pd.DataFrame:
    """Record, for each of EP's four areas (Sec. 2.3: 2.5, 5, 10, 20 %), the mean area the masks
    reached, in the paper's unit (% of the mask with its margin, TorchRay's constraint), with a
    tolerance of 20 % of the target ("reproduced" only within 0.05 points, the precision of the
    paper's 2.5). ``areas``: dataset -> ``[N, 4]`` reached areas as fractions
    of the image (:attr:`MapSet.ep_areas`); ``p``: the run's :class:`Plan`."""
    from ... import ledger
    from .explanations import ep_area_summary

    present = {d: a for d, a in areas.items() if a is not None and len(a)}
    summary = ep_area_summary(present, p.image_size, p.ep_step, p.ep_sigma)
    out = []
    for k, r in enumerate(summary.itertuples(), start=1):
        ref = published.ref("nguyen2021_extremal", metric=f"area_{k}")
        reached = r[summary.columns.get_loc("reached (%)") + 1]
        out.append(ledger.record(
            "nguyen2021", f"ep.area_reached.{k}", f"EP mask area reached, target {ref.value:g} % (% of the mask "
            "with its margin)", paper=ref, ours=None if pd.isna(reached) else float(reached),
            data=f"EP masks of every trial image, {p.ep_iterations} iterations, {p.ep_step}-px cells at "
                 f"{p.image_size} px ({p.source})",
            tolerance=EP_AREA_TOLERANCE * ref.value, decimals=1,
            reason="the optimisation stopped before the mask shrank (or grew) to its area",
            why_not="no trial image in this run"))
    return ledger.frame(out)
