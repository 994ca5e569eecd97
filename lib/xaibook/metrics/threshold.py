"""The AI-only baseline: accept the top-1 label when its confidence reaches a threshold.

Nguyen et al. (2021), Sec. 2.3 and appendix A6 / Table A6: a top-1 label is accepted
when its confidence is >= T and rejected otherwise; a decision is correct when an
accepted label is right or a rejected label is wrong. The accuracy of these decisions
is swept over T = 0.05, 0.10, ..., 0.95 and the best T is reported (0.55 on ImageNet,
0.50 on Stanford Dogs in the paper).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..errors import ParameterError

DEFAULT_THRESHOLDS = np.round(np.arange(0.05, 1.0, 0.05), 10)


@dataclass
class ThresholdSweep:
    """Accuracy of the accept/reject decisions at each threshold and the best threshold.

    ``accuracy`` and ``accept_rate`` are ``[T]`` fractions in [0, 1]; ``best_threshold``
    is the lowest threshold reaching the maximum accuracy.
    """

    thresholds: np.ndarray
    accuracy: np.ndarray
    accept_rate: np.ndarray
    best_index: int
    best_threshold: float
    best_accuracy: float

    def table(self):
        """The sweep as a DataFrame with columns threshold, accuracy, accept_rate."""
        import pandas as pd

        return pd.DataFrame({"threshold": self.thresholds, "accuracy": self.accuracy,
                             "accept_rate": self.accept_rate})


def _vector(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.ndim != 1 or a.size == 0:
        raise ParameterError(f"{name} must be a non-empty 1-D array (one value per image), got shape {a.shape}")
    return a


def threshold_sweep(confidences, correct, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> ThresholdSweep:
    """Accuracy of the AI-only accept/reject rule ``confidence >= T`` for each ``T``.

    ``confidences`` are the top-1 softmax confidences in [0, 1] and ``correct`` says
    whether each top-1 label is right (bool or 0/1), one entry per image.
    """
    conf = _vector(confidences, "confidences").astype(np.float64)
    ok = _vector(correct, "correct")
    if ok.shape != conf.shape:
        raise ParameterError(f"correct has {ok.shape[0]} entries but confidences has {conf.shape[0]}")
    if not np.isfinite(conf).all() or (conf < 0).any() or (conf > 1).any():
        raise ParameterError("confidences must be finite probabilities in [0, 1]")
    if ok.dtype != np.bool_:
        if not np.isin(ok, (0, 1)).all():
            raise ParameterError("correct must be boolean (or 0/1): whether each top-1 label is right")
        ok = ok.astype(bool)
    ts = np.round(np.atleast_1d(np.asarray(thresholds, dtype=np.float64)), 10)
    if ts.ndim != 1 or ts.size == 0 or not np.isfinite(ts).all():
        raise ParameterError(f"thresholds must be a non-empty 1-D sequence of numbers, got {thresholds!r}")
    accept = conf[None, :] >= ts[:, None]                       # [T, N]
    decision_correct = accept == ok[None, :]                    # accept a right label / reject a wrong one
    accuracy = decision_correct.mean(axis=1)
    best = int(np.argmax(accuracy))
    return ThresholdSweep(thresholds=ts, accuracy=accuracy, accept_rate=accept.mean(axis=1),
                          best_index=best, best_threshold=float(ts[best]), best_accuracy=float(accuracy[best]))
