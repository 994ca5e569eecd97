"""Controlled-to-original accuracy conversion (Nguyen et al. 2021, Sec. 3.2 and appendix A1, A7).

The study shows each method on six controlled bins of 50 images: {Easy, Medium, Hard} x {AI correct,
AI wrong}, defined by the classifier's top-1 confidence (Sec. 2.4.3). The accuracy on the original dataset is
estimated as sum_{B, P} R_{B,P} * Acc_{B,P}, where R_{B,P} is the share of the dataset's images that fall in
bin (B, P) (Fig. A1). Images with confidence in [0.3, 0.4) or [0.6, 0.8) belong to no bin; like Table A7,
the shares are taken over the binned images only, so they sum to 1.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = ["ConfidenceBin", "NGUYEN_BINS", "bin_shares", "assign_bins", "reweight_accuracy"]


class ConfidenceBin(NamedTuple):
    """One controlled bin: the AI's correctness and a confidence interval [low, high) (high = 1 is closed)."""

    difficulty: str
    ai_correct: bool
    low: float
    high: float


#: The six bins of Nguyen et al. 2021, Sec. 2.4.3: Easy = correct & high confidence or wrong & low;
#: Hard = correct & low or wrong & high; Medium = either in [0.4, 0.6).
NGUYEN_BINS: dict[str, ConfidenceBin] = {
    "easy_correct": ConfidenceBin("easy", True, 0.8, 1.0),
    "easy_wrong": ConfidenceBin("easy", False, 0.0, 0.3),
    "medium_correct": ConfidenceBin("medium", True, 0.4, 0.6),
    "medium_wrong": ConfidenceBin("medium", False, 0.4, 0.6),
    "hard_correct": ConfidenceBin("hard", True, 0.0, 0.3),
    "hard_wrong": ConfidenceBin("hard", False, 0.8, 1.0),
}


def _check_bins(bins: Mapping[str, ConfidenceBin]) -> dict[str, ConfidenceBin]:
    if not bins:
        raise ParameterError("bins is empty; pass a mapping name -> ConfidenceBin (see NGUYEN_BINS).")
    out = {}
    for name, b in bins.items():
        try:
            b = ConfidenceBin(*b)
        except TypeError:
            raise ParameterError(f"bin {name!r} must be (difficulty, ai_correct, low, high); got {b!r}") from None
        if not 0 <= b.low < b.high <= 1:
            raise ParameterError(f"bin {name!r} needs 0 <= low < high <= 1; got [{b.low}, {b.high})")
        out[str(name)] = b
    for i, (n1, b1) in enumerate(out.items()):
        for n2, b2 in list(out.items())[i + 1:]:
            if b1.ai_correct == b2.ai_correct and b1.low < b2.high and b2.low < b1.high:
                raise ParameterError(f"bins {n1!r} and {n2!r} overlap; an image must fall in at most one bin.")
    return out


def assign_bins(confidences, correct, bins: Mapping[str, ConfidenceBin] = NGUYEN_BINS) -> np.ndarray:
    """The bin name of each image (None for images outside every bin).

    Args:
        confidences: top-1 softmax confidence per image, in [0, 1].
        correct: whether the classifier's top-1 label was right, per image.
    """
    try:
        conf = np.asarray(confidences, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"confidences must be numbers in [0, 1] ({exc})") from None
    corr = np.asarray(correct).ravel()
    if conf.size != corr.size:
        raise ParameterError(f"confidences and correct must have the same length; got {conf.size} and {corr.size}")
    if conf.size == 0:
        raise ParameterError("no images: confidences is empty.")
    if np.isnan(conf).any():
        raise ParameterError("confidences contains NaN; every image needs a confidence score.")
    if ((conf < 0) | (conf > 1)).any():
        raise ParameterError("confidences must be probabilities in [0, 1] (top-1 softmax scores).")
    if corr.dtype != bool:
        if not np.isin(corr, (0, 1)).all():
            raise ParameterError("correct must hold booleans or 0/1 values.")
        corr = corr.astype(bool)
    labels = np.full(conf.size, None, dtype=object)
    for name, b in _check_bins(bins).items():
        inside = (conf >= b.low) & ((conf < b.high) | ((b.high == 1.0) & (conf == 1.0)))
        labels[inside & (corr == b.ai_correct)] = name
    return labels


def bin_shares(confidences, correct, bins: Mapping[str, ConfidenceBin] = NGUYEN_BINS) -> pd.DataFrame:
    """The real distribution R_{B,P} of a dataset over the controlled bins (Nguyen et al. 2021, Fig. A1).

    Returns:
        One row per bin: ``bin, difficulty, ai_correct, low, high, n, share``; ``share`` = n / (images in
        any bin). ``attrs`` holds ``n_images`` and ``n_unbinned`` (images in no bin, left out of the shares).
    """
    bins = _check_bins(bins)
    labels = assign_bins(confidences, correct, bins)
    counts = pd.Series(labels[labels != None]).value_counts()  # noqa: E711 (object array)
    n_binned = int(counts.sum())
    if n_binned == 0:
        raise ParameterError("no image falls in any bin; check the confidences and the bin edges.")
    rows = [{"bin": name, "difficulty": b.difficulty, "ai_correct": b.ai_correct, "low": b.low, "high": b.high,
             "n": int(counts.get(name, 0)), "share": counts.get(name, 0) / n_binned} for name, b in bins.items()]
    table = pd.DataFrame(rows)
    table.attrs["n_images"] = int(labels.size)
    table.attrs["n_unbinned"] = int(labels.size - n_binned)
    return table


def _as_mapping(obj, what: str) -> dict[str, float]:
    if isinstance(obj, pd.DataFrame):
        if not {"bin", "share"} <= set(obj.columns):
            raise ParameterError(f"{what} as a DataFrame needs columns 'bin' and 'share' (as bin_shares returns)")
        obj = dict(zip(obj["bin"], obj["share"]))
    if not hasattr(obj, "items"):
        raise ParameterError(f"{what} must be a mapping bin -> value; got {type(obj).__name__}")
    out = {}
    for k, v in obj.items():
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ParameterError(f"{what}[{k!r}] must be a number; got {v!r}") from None
        if not np.isfinite(v):
            raise ParameterError(f"{what}[{k!r}] is {v}; every bin needs a finite value.")
        out[str(k)] = v
    return out


def reweight_accuracy(bin_accuracy: Mapping[str, float], target_share: Mapping[str, float],
                      normalize: bool = True) -> float:
    """Accuracy on the original distribution: sum over bins of R_{B,P} * Acc_{B,P} (Nguyen et al. 2021, A1).

    Args:
        bin_accuracy: accuracy per bin (any unit: fractions or %, the result has the same unit).
        target_share: share of each bin in the real distribution (a mapping, a Series, or the DataFrame
            from :func:`bin_shares`). Must name exactly the bins of ``bin_accuracy``.
        normalize: divide the shares by their sum (so % or counts work too). With False they must sum to 1.
    """
    acc = _as_mapping(bin_accuracy, "bin_accuracy")
    share = _as_mapping(target_share, "target_share")
    if not acc:
        raise ParameterError("bin_accuracy is empty.")
    if set(acc) != set(share):
        raise ParameterError(f"bins differ: missing shares for {sorted(set(acc) - set(share))}, missing accuracies "
                             f"for {sorted(set(share) - set(acc))}. Give both for exactly the same bins.")
    w = np.array([share[k] for k in acc])
    if (w < 0).any():
        raise ParameterError(f"shares must be non-negative; got {share}")
    total = w.sum()
    if total <= 0:
        raise ParameterError("the shares sum to zero.")
    if normalize:
        w = w / total
    elif abs(total - 1) > 1e-6:
        raise ParameterError(f"shares sum to {total}, not 1; pass normalize=True to rescale them.")
    return float(np.dot(w, [acc[k] for k in acc]))
