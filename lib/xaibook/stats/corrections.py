"""Multiple-comparison corrections of p-values.

- Bonferroni: Sixt et al. 2022, Sec. 5 (two Wilcoxon rank-sum tests; pre-registered alpha = 0.025).
- Holm (Holm 1979, step-down Bonferroni): Sixt et al. 2022, Sec. 5 footnote 1 (eight attribute tests).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ParameterError

__all__ = ["bonferroni", "holm"]


def _pvalues(pvalues: Sequence[float]) -> np.ndarray:
    try:
        p = np.asarray(pvalues, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"pvalues must be a sequence of numbers ({exc})") from exc
    if p.ndim == 0:
        p = p.reshape(1)
    if p.ndim != 1:
        raise ParameterError(f"pvalues must be one-dimensional; got shape {p.shape}")
    if p.size == 0:
        raise ParameterError("pvalues is empty; pass the p-values of the family of tests to correct.")
    if np.isnan(p).any():
        raise ParameterError("pvalues contains NaN; every test in the family needs a p-value.")
    if ((p < 0) | (p > 1)).any():
        raise ParameterError(f"p-values must lie in [0, 1]; got {p[(p < 0) | (p > 1)].tolist()}")
    return p


def bonferroni(pvalues: Sequence[float]) -> np.ndarray:
    """Bonferroni-adjusted p-values: min(1, m * p) for a family of m tests, in the input order."""
    p = _pvalues(pvalues)
    return np.minimum(1.0, p * p.size)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values, in the input order.

    With p sorted ascending, adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)); the running maximum keeps the
    adjusted values monotone, so neighbours can share one value (as the two P = 0.033 in Sixt et al. 2022).
    """
    p = _pvalues(pvalues)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted
