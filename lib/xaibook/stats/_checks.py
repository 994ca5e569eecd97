"""Checks of scalar arguments shared by the stats modules (each error names the argument)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import ParameterError


def finite(value, name: str) -> float:
    """``value`` as a finite float; ParameterError naming ``name`` for NaN, inf or a non-number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) and not _numeric_scalar(value):
        raise ParameterError(f"{name} must be a finite number; got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ParameterError(f"{name} must be a finite number; got {out}. Check the reported value "
                             "(a missing value cannot enter the test).")
    return out


def count(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``; refuses NaN, inf, fractions (10.5 is not a sample size) and bools."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) and not _numeric_scalar(value):
        raise ParameterError(f"{name} must be an integer count >= {minimum}; got {value!r}")
    v = float(value)
    if not math.isfinite(v) or not v.is_integer():
        raise ParameterError(f"{name} must be an integer count >= {minimum}; got {value!r}")
    if v < minimum:
        raise ParameterError(f"{name} must be at least {minimum}; got {int(v)}")
    return int(v)


def sd(value, name: str, positive: bool = False) -> float:
    """A standard deviation: finite and >= 0 (> 0 with ``positive``)."""
    v = finite(value, name)
    if v < 0 or (positive and v == 0):
        raise ParameterError(f"{name} is a standard deviation and must be {'positive' if positive else 'non-negative'}"
                             f"; got {v}")
    return v


def _numeric_scalar(value) -> bool:
    """0-d numpy arrays of a real dtype (numpy scalars are already numbers.Real)."""
    return isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"
