"""Nguyen et al. 2021, step 6: automatic localisation scores of the maps and their correlation
with how often people decided right (Sec. 2.5, 3.5, Fig. 4)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ...cache import digest
from ...data import sources
from ...data.sources import Classifier
from .explanations import Explanations, explain_maps
from .human import human_image_accuracy
from .pipeline import MAP_METHODS, STUDY, Plan, TrialSet, _scaled, _step


def _tolerance() -> float:
    """The pointing game's tolerance at the 224-px input (Sec. 2.5), from ``data/published``."""
    from ...data import published

    return published.ref("nguyen2021_methods", dataset="all", metric="pointing_game_tolerance").value


METRIC_COLUMNS = ["dataset", "method", "trial_id", "source_id", "pointing", "iou", "iou_threshold", "wsl",
                  "wsl_threshold", "mask_iou"]


@_step("6 metrics", lambda trials, explanations, methods=MAP_METHODS: {
    "trials": digest(trials.table["trial_id"].to_numpy()), "methods": list(methods)})
def localisation_scores(trials: TrialSet, explanations: "Explanations | Mapping[str, Any]",
                        methods: Sequence[str] = MAP_METHODS) -> pd.DataFrame:
    """Step 6: pointing game, IoU and WSL of each map on the correctly classified natural images.

    Against the ground-truth boxes (ImageNet's human boxes; the zoo's exact boxes) as in
    Sec. 2.5: pointing game with TorchRay's tolerance (the paper's, at 224 px, scaled), IoU of the map
    binarised at the method's best threshold of the sweep 0.05 ... 0.95, WSL = box around the
    binarised map overlaps the box with IoU > 0.5 at the method's best threshold. On the zoo,
    ``mask_iou`` also scores against the creature's exact pixels. One row per image and method.
    """
    import torch

    from ...metrics.localisation import DEFAULT_THRESHOLDS, iou, pointing_game, wsl

    all_maps = explanations.maps if isinstance(explanations, Explanations) else explanations
    t = trials.table
    rows = np.flatnonzero((t["image_type"] == "natural").to_numpy() & t["ai_correct"].to_numpy(dtype=bool))
    rows = np.asarray([r for r in rows if len(trials.boxes[r])], dtype=np.int64)
    if len(rows) == 0:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    side = trials.images.shape[-1]
    tol = max(1, round(_scaled(_tolerance(), side)))
    boxes = [trials.boxes[r] for r in rows]
    rows_t = torch.as_tensor(rows)
    out = []
    for m in methods:
        maps = all_maps[m][rows_t]
        pg = pointing_game(maps, boxes, tolerance=tol)
        io = iou(maps, boxes)
        ws = wsl(maps, boxes, threshold=DEFAULT_THRESHOLDS)
        df = pd.DataFrame({"dataset": t["dataset"].to_numpy()[rows], "method": m, "trial_id": t["trial_id"].to_numpy()[rows],
                           "source_id": t["source_id"].to_numpy()[rows], "pointing": pg.hits.astype(float),
                           "iou": io.best, "iou_threshold": io.best_threshold, "wsl": ws.best,
                           "wsl_threshold": ws.best_threshold, "mask_iou": np.nan})
        if trials.masks is not None:
            df["mask_iou"] = iou(maps, trials.masks[rows_t]).best
        out.append(df)
    res = pd.concat(out, ignore_index=True)
    res.attrs["tolerance"] = tol
    return res


def metric_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and method: images, pointing-game and WSL hit rates (%), mean IoU and the best thresholds."""
    if scores.empty:
        return pd.DataFrame(columns=["dataset", "method", "images", "pointing game (%)", "mean IoU",
                                     "IoU threshold", "WSL (%)", "WSL threshold", "mean mask IoU"])
    g = scores.groupby(["dataset", "method"], sort=False)
    out = g.agg(images=("trial_id", "size"), pointing=("pointing", "mean"), iou=("iou", "mean"),
                iou_t=("iou_threshold", "first"), wsl=("wsl", "mean"), wsl_t=("wsl_threshold", "first"),
                mask=("mask_iou", "mean")).reset_index()
    return pd.DataFrame({"dataset": out["dataset"], "method": out["method"], "images": out["images"],
                         "pointing game (%)": (100 * out["pointing"]).round(1), "mean IoU": out["iou"].round(3),
                         "IoU threshold": out["iou_t"], "WSL (%)": (100 * out["wsl"]).round(1),
                         "WSL threshold": out["wsl_t"], "mean mask IoU": out["mask"].round(3)})


def metric_correlations(scores: pd.DataFrame, human: pd.DataFrame) -> pd.DataFrame:
    """Pearson r between each localisation score and per-image human accuracy (Sec. 3.5, Fig. 4).

    ``scores`` from :func:`localisation_scores` (on the images the people saw), ``human`` from
    :func:`human_image_accuracy`. One row per dataset, method, population and metric with the
    number of images; r is missing (with a reason) where fewer than 3 images or a constant score.
    """
    from ...stats.tests import pearson

    rows = []
    merged = scores.merge(human, on=["dataset", "method", "source_id"], how="inner")
    for (d, m, pop), g in merged.groupby(["dataset", "method", "population"]):
        for metric, col in (("IoU", "iou"), ("WSL", "wsl"), ("Pointing Game", "pointing")):
            r, pval, why = np.nan, np.nan, ""
            if len(g) < 3:
                why = f"only {len(g)} image(s)"
            elif np.ptp(g[col]) == 0 or np.ptp(g["accuracy"]) == 0:
                why = "constant score or accuracy"
            else:
                res = pearson(g[col].to_numpy(float), g["accuracy"].to_numpy(float))
                r, pval = res.statistic, res.pvalue
            rows.append({"dataset": d, "method": m, "population": pop, "metric": metric, "images": len(g),
                         "r": r, "p": pval, "note": why})
    return pd.DataFrame(rows, columns=["dataset", "method", "population", "metric", "images", "r", "p", "note"])


@_step("6 metrics", lambda clf, human, p: {"model": clf.key, "images": digest(human["source_id"].to_numpy())})
def human_seen_images(clf: Classifier, human: pd.DataFrame, p: Plan) -> TrialSet | None:
    """The AI-correct natural images people judged (from :func:`human_image_accuracy`) as a
    :class:`TrialSet`, for scoring their maps; the source finds them by id.

    Returns None when the source's images are not the ones people saw (the zoo). Images missing
    locally are listed in ``table.attrs["missing"]``.
    """
    if human.empty:
        return None
    want = human.drop_duplicates(["dataset", "source_id"])
    found = sources.get(clf.source, STUDY).seen_images(clf, list(want["source_id"]))
    if found is None:
        return None
    rows, images, boxes, missing = found
    dataset = dict(zip(want["source_id"], want["dataset"]))
    table = pd.DataFrame([{"trial_id": f"{dataset[r['source_id']]}-human-{i:03d}", "dataset": dataset[r["source_id"]],
                           "image_type": "natural", "difficulty": "", "bin": "", "ai_correct": True,
                           "label": r["label"], "prediction": r["label"], "true_label": clf.categories[r["label"]],
                           "ai_label": clf.categories[r["label"]], "ai_confidence": np.nan,
                           "source_id": r["source_id"], "pool_index": -1} for i, r in enumerate(rows)])
    if table.empty:
        return None
    table.attrs["missing"] = missing
    return TrialSet("human-seen", table, images, boxes, None)


def human_correlations(clf: Classifier, test: pd.DataFrame | None, p: Plan,
                       methods: Sequence[str] = ("GradCAM", "EP")) -> tuple[pd.DataFrame | None, str]:
    """Pearson r of each localisation score with per-image human accuracy, where that can be computed.

    Needs the original Gorilla exports (``test``: kept test trials, :func:`apply_exclusion`)
    AND the images they show, from a source that holds them (ImageNet val): the zoo's images
    are not ImageNet's, so offline there is no per-image human accuracy for them. Returns the
    table of :func:`metric_correlations` (or None) and a sentence saying what was possible.
    """
    if test is None or test.empty:
        return None, "No Gorilla exports were loaded, so there is no per-image human accuracy to correlate with."
    human = human_image_accuracy(test)
    human = human[human["method"].isin(methods)]
    if human.empty:
        return None, ("The loaded exports hold no GradCAM or EP test trial on an AI-correct natural image seen by "
                      "more than one user, so no correlation can be computed.")
    seen = human_seen_images(clf, human, p)
    if seen is None:
        if sources.get(clf.source, STUDY).seen_images(clf, []) is None:
            return None, (f"The exports give per-image accuracy for {len(human)} image(s), but they are ImageNet "
                          f"validation images and this run uses the {clf.source} source, whose images people never "
                          "saw: no correlation is computed. Put ImageNet val under <XAIBOOK_DATA>/imagenet to "
                          "compute it.")
        return None, "None of the images the people saw is in the local ImageNet validation set."
    maps = explain_maps(clf, seen, p, methods=methods)
    scores = localisation_scores(seen, maps, methods=methods)
    corr = metric_correlations(scores, human)
    missing = seen.table.attrs.get("missing", [])
    return corr, (f"Scored the maps of {len(seen)} image(s) people judged"
                  + (f" ({len(missing)} not found locally)" if missing else "") + ".")
