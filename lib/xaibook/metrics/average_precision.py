"""Multi-label classification metrics: average precision, F1 thresholds and outcomes.

Alqaraawi et al. (2020, Sec. 3.1.1) report the average precision (AP) of a multi-label VGG16
on PASCAL VOC (0.91 training, 0.73 validation, 0.74 VOC 2007 test) and give each class the
decision threshold that maximises F1 on the training set. This module computes:

* :func:`average_precision`: per-class AP and its macro mean, either over every recall point
  (``variant="all"``, the area under the precision-recall step curve as in scikit-learn and the
  VOC devkit since 2010) or the VOC 2007 11-point interpolated variant (``variant="voc07"``);
* :func:`f1_thresholds`: per-class thresholds maximising F1, the lowest one on ties;
* :func:`outcomes`: the TP / FN / FP / TN outcome of every image and class.

Scores are anything monotone in the class probability (logits or sigmoids); an image counts as
predicted positive for a class when its score is at or above the threshold.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError

VARIANTS = ("all", "voc07")
OUTCOMES = ("TP", "FN", "FP", "TN")


def _matrices(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores.detach().cpu() if hasattr(scores, "detach") else scores, dtype=np.float64)
    y = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
    if s.ndim == 1:
        s = s[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if s.ndim != 2 or s.shape != y.shape:
        raise ParameterError(f"scores and labels must both be [N, C], got {s.shape} and {y.shape}")
    if s.shape[0] == 0:
        raise ParameterError("scores and labels hold no images")
    if not np.isfinite(s).all():
        raise ParameterError("scores hold NaN or infinite values")
    if not np.isin(y, (0, 1)).all():
        raise ParameterError("labels must be 0/1 (multi-hot)")
    return s, y.astype(bool)


def _ap_one(s: np.ndarray, y: np.ndarray, variant: str) -> float:
    if not y.any():
        return float("nan")
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    # one point per distinct score (tied images enter together)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / y.sum()
    if variant == "all":
        return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    ap = 0.0
    for t in np.linspace(0, 1, 11):
        above = precision[recall >= t]
        ap += (above.max() if above.size else 0.0) / 11
    return float(ap)


def average_precision(scores, labels, variant: str = "all") -> tuple[np.ndarray, float]:
    """Per-class average precision ``[C]`` and its mean over the classes that have positives.

    Args:
        scores: ``[N, C]`` class scores (logits or probabilities).
        labels: ``[N, C]`` multi-hot ground truth.
        variant: ``"all"`` (every recall point) or ``"voc07"`` (11-point interpolation).

    A class without a positive image has AP ``nan`` and is left out of the mean.
    """
    if variant not in VARIANTS:
        raise ParameterError(f"variant={variant!r}; use one of {VARIANTS}")
    s, y = _matrices(scores, labels)
    per_class = np.array([_ap_one(s[:, c], y[:, c], variant) for c in range(s.shape[1])])
    if np.isnan(per_class).all():
        raise ParameterError("no class has a positive image; average precision is undefined")
    return per_class, float(np.nanmean(per_class))


def f1_thresholds(scores, labels) -> np.ndarray:
    """Per-class thresholds ``[C]`` that maximise F1 on (``scores``, ``labels``); the lowest on ties.

    Candidate thresholds are the observed scores (predict positive at ``score >= threshold``).
    A class without positives gets a threshold above every score (it is never predicted).
    """
    s, y = _matrices(scores, labels)
    out = np.empty(s.shape[1])
    for c in range(s.shape[1]):
        sc, yc = s[:, c], y[:, c]
        if not yc.any():
            out[c] = np.nextafter(sc.max(), np.inf)
            continue
        cand = np.unique(sc)  # ascending: argmax picks the lowest threshold on ties
        pred = sc[None, :] >= cand[:, None]
        tp = (pred & yc[None, :]).sum(1)
        f1 = 2 * tp / (pred.sum(1) + yc.sum())
        out[c] = cand[int(np.argmax(f1))]
    return out


def outcomes(scores, labels, thresholds) -> np.ndarray:
    """``[N, C]`` array of ``"TP"``, ``"FN"``, ``"FP"``, ``"TN"`` (predicted at ``score >= threshold``)."""
    s, y = _matrices(scores, labels)
    t = np.asarray(thresholds, dtype=np.float64)
    if t.shape != (s.shape[1],):
        raise ParameterError(f"thresholds must be [C] = [{s.shape[1]}], got {t.shape}")
    pred = s >= t[None, :]
    out = np.full(s.shape, "TN", dtype="<U2")
    out[pred & y] = "TP"
    out[~pred & y] = "FN"
    out[pred & ~y] = "FP"
    return out
