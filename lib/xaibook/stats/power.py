"""Statistical power and sample sizes for the designs of the five studies.

Effect sizes are Cohen's (1988): d for t-tests (d_z for paired designs), f for one-way ANOVA, h for two
independent proportions. Defaults: alpha = 0.05, two-sided. Power is computed exactly from the noncentral
t / F distributions (as G*Power does) and sample sizes are the smallest integers that reach the target.
McNemar (paired proportions, Sixt et al. 2022 Sec. 5) uses Connor (1987) by default, or the exact
conditional binomial test by enumeration with ``method="exact"``.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import ParameterError
from ._checks import count, finite

__all__ = [
    "power_ttest_ind", "sample_size_ttest_ind", "power_ttest_paired", "sample_size_ttest_paired",
    "power_anova", "sample_size_anova", "cohens_h", "power_two_proportions", "sample_size_two_proportions",
    "power_mcnemar", "sample_size_mcnemar", "power_curve",
]

_N_MAX = 10_000_000


def _alpha(alpha: float) -> float:
    alpha = finite(alpha, "alpha")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must lie in (0, 1), e.g. 0.05; got {alpha}")
    return float(alpha)


def _target(power: float) -> float:
    power = finite(power, "power")
    if not 0 < power < 1:
        raise ParameterError(f"power must lie in (0, 1), e.g. 0.8; got {power}")
    return float(power)


def _effect(value: float, name: str) -> float:
    if isinstance(value, str) or (np.ndim(value) != 0):
        raise ParameterError(f"{name} must be a number (an effect size); got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number (an effect size); got {value!r}") from None
    if not np.isfinite(value) or value == 0:
        raise ParameterError(f"{name} must be a finite non-zero effect size; got {value}. "
                             "With no effect the power equals alpha and no sample size reaches the target.")
    return abs(value)


def _sides(alternative: str) -> int:
    if alternative == "two-sided":
        return 2
    if alternative in ("larger", "greater", "one-sided"):
        return 1
    raise ParameterError(f"alternative must be 'two-sided' or 'greater' (one-sided in the effect's direction); "
                         f"got {alternative!r}")


def _smallest_n(power_at: Callable[[int], float], target: float, n_min: int, step: int = 1) -> int:
    """Smallest n >= n_min (a multiple of ``step`` above n_min) with power_at(n) >= target; power increases in n."""
    def at(i: int) -> float:
        return power_at(n_min + i * step)

    if at(0) >= target:
        return n_min
    hi = 1
    while at(hi) < target:
        hi *= 2
        if n_min + hi * step > _N_MAX:
            raise ParameterError(f"no sample size up to {_N_MAX} reaches power {target}; the effect is too small.")
    lo = hi // 2  # at(lo) < target <= at(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if at(mid) >= target:
            hi = mid
        else:
            lo = mid
    return n_min + hi * step


def _t_power(ncp: float, df: float, alpha: float, sides: int) -> float:
    crit = sps.t.isf(alpha / sides, df)
    power = sps.nct.sf(crit, df, ncp)
    if sides == 2:
        power += sps.nct.cdf(-crit, df, ncp)
    return float(power)


# ------------------------------------------------------------------------------------------ t-tests
def power_ttest_ind(d: float, n_per_group: int, alpha: float = 0.05, alternative: str = "two-sided") -> float:
    """Power of the unpaired t-test with n per group for Cohen's d (noncentrality d * sqrt(n / 2))."""
    d, alpha, n = _effect(d, "d"), _alpha(alpha), count(n_per_group, "n_per_group", 2)
    return _t_power(d * math.sqrt(n / 2.0), 2 * n - 2, alpha, _sides(alternative))


def sample_size_ttest_ind(d: float, power: float = 0.8, alpha: float = 0.05, alternative: str = "two-sided") -> int:
    """Smallest n per group for the unpaired t-test (d = 0.5, 80 %, alpha = .05 two-sided gives 64)."""
    _effect(d, "d"), _target(power), _alpha(alpha), _sides(alternative)
    return _smallest_n(lambda n: power_ttest_ind(d, n, alpha, alternative), power, 2)


def power_ttest_paired(d: float, n: int, alpha: float = 0.05, alternative: str = "two-sided") -> float:
    """Power of the paired t-test with n pairs for Cohen's d_z (noncentrality d_z * sqrt(n))."""
    d, alpha, n = _effect(d, "d"), _alpha(alpha), count(n, "n (pairs)", 2)
    return _t_power(d * math.sqrt(n), n - 1, alpha, _sides(alternative))


def sample_size_ttest_paired(d: float, power: float = 0.8, alpha: float = 0.05,
                             alternative: str = "two-sided") -> int:
    """Smallest number of pairs for the paired t-test (d_z = 0.5, 80 % gives 34)."""
    _effect(d, "d"), _target(power), _alpha(alpha), _sides(alternative)
    return _smallest_n(lambda n: power_ttest_paired(d, n, alpha, alternative), power, 2)


# ------------------------------------------------------------------------------------------- ANOVA
def power_anova(f: float, k: int, n_total: int, alpha: float = 0.05) -> float:
    """Power of the one-way ANOVA F test with k groups and N in total (noncentrality f^2 N)."""
    f, alpha, k, n_total = _effect(f, "f"), _alpha(alpha), count(k, "k (groups)", 2), count(n_total, "n_total", 1)
    if n_total <= k:
        raise ParameterError(f"n_total must exceed the number of groups ({k}); got {n_total}")
    df1, df2 = k - 1, n_total - k
    crit = sps.f.isf(alpha, df1, df2)
    return float(sps.ncf.sf(crit, df1, df2, f * f * n_total))


def sample_size_anova(f: float, k: int, power: float = 0.8, alpha: float = 0.05, equal_groups: bool = True) -> int:
    """Smallest total N for the one-way ANOVA.

    With ``equal_groups`` (default) N is a multiple of k, as G*Power reports it (f = 0.25, k = 4 gives 180).
    """
    _effect(f, "f"), _target(power), _alpha(alpha)
    k = count(k, "k (groups)", 2)
    if equal_groups:
        return _smallest_n(lambda n: power_anova(f, k, n, alpha), power, 2 * k, step=k)
    return _smallest_n(lambda n: power_anova(f, k, n, alpha), power, k + 1)


# ------------------------------------------------------------------------------------ proportions
def _proportion(p: float, name: str) -> float:
    p = finite(p, name)
    if not 0 <= p <= 1:
        raise ParameterError(f"{name} must be a proportion in [0, 1]; got {p}")
    return p


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p2))."""
    p1, p2 = _proportion(p1, "p1"), _proportion(p2, "p2")
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


def power_two_proportions(p1: float, p2: float, n_per_group: int, alpha: float = 0.05) -> float:
    """Power of the two-sided z test of two independent proportions on the arcsine scale (Cohen's h)."""
    h = _effect(cohens_h(p1, p2), "h (p1 must differ from p2)")
    alpha, n = _alpha(alpha), count(n_per_group, "n_per_group", 1)
    z, shift = sps.norm.isf(alpha / 2), h * math.sqrt(n / 2.0)
    return float(sps.norm.sf(z - shift) + sps.norm.cdf(-z - shift))


def sample_size_two_proportions(p1: float, p2: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """Smallest n per group to tell p1 from p2 (Cohen's h; h = 0.5 at 80 % gives 63)."""
    _effect(cohens_h(p1, p2), "h (p1 must differ from p2)"), _target(power), _alpha(alpha)
    return _smallest_n(lambda n: power_two_proportions(p1, p2, n, alpha), power, 2)


# --------------------------------------------------------------------------------------- McNemar
def _discordant(p01: float, p10: float) -> tuple[float, float]:
    p01, p10 = _proportion(p01, "p01"), _proportion(p10, "p10")
    if p01 + p10 > 1:
        raise ParameterError(f"p01 + p10 is the share of discordant pairs and cannot exceed 1; got {p01 + p10}")
    if p01 == p10:
        raise ParameterError("p01 equals p10: there is no effect to detect.")
    return p01, p10


def _exact_mcnemar_power(p01: float, p10: float, n: int, alpha: float) -> float:
    """Power of the two-sided exact McNemar test (reject when min(1, 2 P[X <= min(b, c)]) <= alpha)."""
    psi = p01 + p10
    m = np.arange(n + 1)
    # largest k with 2 * Binom(k; m, 1/2) <= alpha (-1 if none): the lower critical count for m discordant
    k = sps.binom.ppf(alpha / 2, m, 0.5).astype(int)
    k = np.where(sps.binom.cdf(k, m, 0.5) * 2 <= alpha * (1 + 1e-12), k, k - 1)
    share = p01 / psi
    lower = np.where(k >= 0, sps.binom.cdf(k, m, share), 0.0)
    upper = np.where(k >= 0, sps.binom.sf(m - k - 1, m, share), 0.0)
    reject = np.where(2 * k + 1 >= m, 1.0, lower + upper)  # overlapping tails cannot occur for alpha < 1
    reject = np.where(k < 0, 0.0, reject)
    return float(np.sum(sps.binom.pmf(m, n, psi) * reject))


def power_mcnemar(p01: float, p10: float, n: int, alpha: float = 0.05, method: str = "connor") -> float:
    """Power of the two-sided McNemar test with n pairs.

    Args:
        p01, p10: expected shares of the two kinds of discordant pairs.
        method: "connor" (normal approximation of Connor 1987, Biometrics 43:207) or "exact"
            (the exact conditional binomial test, enumerated over the number of discordant pairs).
    """
    p01, p10 = _discordant(p01, p10)
    alpha, n = _alpha(alpha), count(n, "n (pairs)", 1)
    if method == "exact":
        return _exact_mcnemar_power(p01, p10, n, alpha)
    if method != "connor":
        raise ParameterError(f"method must be 'connor' or 'exact'; got {method!r}")
    psi, delta = p01 + p10, abs(p01 - p10)
    z = sps.norm.isf(alpha / 2)
    sd = math.sqrt(psi - delta ** 2)
    return float(sps.norm.cdf((delta * math.sqrt(n) - z * math.sqrt(psi)) / sd)
                 + sps.norm.cdf((-delta * math.sqrt(n) - z * math.sqrt(psi)) / sd))


def sample_size_mcnemar(p01: float, p10: float, power: float = 0.8, alpha: float = 0.05,
                        method: str = "connor") -> int:
    """Number of pairs for the two-sided McNemar test.

    ``method="connor"``: Connor's (1987) closed form
    n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2, psi = p01 + p10,
    delta = p01 - p10 (p01 = 0.45, p10 = 0.05 gives 23).
    ``method="exact"``: the smallest n whose exact-test power reaches the target; the exact power is a
    saw-tooth in n, so a few larger n can fall just below the target again.
    """
    p01, p10 = _discordant(p01, p10)
    target, alpha = _target(power), _alpha(alpha)
    psi, delta = p01 + p10, abs(p01 - p10)
    connor = (sps.norm.isf(alpha / 2) * math.sqrt(psi) + sps.norm.isf(1 - target) * math.sqrt(psi - delta ** 2)) ** 2
    n_connor = max(1, math.ceil(connor / delta ** 2 - 1e-9))
    if method == "connor":
        return n_connor
    if method != "exact":
        raise ParameterError(f"method must be 'connor' or 'exact'; got {method!r}")
    for n in range(max(1, n_connor // 2), 20 * n_connor + 100):
        if _exact_mcnemar_power(p01, p10, n, alpha) >= target:
            return n
    raise ParameterError("the exact McNemar power did not reach the target within 20x Connor's sample size.")


# ------------------------------------------------------------------------------------------ curves
def power_curve(kind: str, effect, ns: Iterable[int], alpha: float = 0.05, **kwargs) -> pd.DataFrame:
    """Power at each sample size, for charts.

    Args:
        kind: "ttest_ind" (effect d, n per group), "ttest_paired" (d_z, n pairs), "anova" (f, total N;
            pass ``k=``), "two_proportions" (effect = (p1, p2), n per group) or "mcnemar"
            (effect = (p01, p10), n pairs; optional ``method=``).
        ns: the sample sizes.

    Returns:
        DataFrame with columns ``n`` and ``power``.
    """
    fns = {
        "ttest_ind": lambda n: power_ttest_ind(effect, n, alpha, **kwargs),
        "ttest_paired": lambda n: power_ttest_paired(effect, n, alpha, **kwargs),
        "anova": lambda n: power_anova(effect, kwargs["k"], n, alpha),
        "two_proportions": lambda n: power_two_proportions(effect[0], effect[1], n, alpha),
        "mcnemar": lambda n: power_mcnemar(effect[0], effect[1], n, alpha, **kwargs),
    }
    if kind not in fns:
        raise ParameterError(f"kind must be one of {sorted(fns)}; got {kind!r}")
    if kind == "anova" and "k" not in kwargs:
        raise ParameterError("power_curve('anova', ...) needs the number of groups: pass k=...")
    if kind in ("two_proportions", "mcnemar") and (np.ndim(effect) != 1 or len(effect) != 2):
        raise ParameterError(f"for kind={kind!r} the effect is a pair of proportions; got {effect!r}")
    ns = [count(n, f"ns[{i}]", 1) for i, n in enumerate(ns)]
    if not ns:
        raise ParameterError("ns is empty; pass the sample sizes to evaluate.")
    return pd.DataFrame({"n": ns, "power": [fns[kind](n) for n in ns]})
