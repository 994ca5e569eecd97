"""Im, Andreas & Zhou 2023: the statistical power the published design had (our computation).

Participants spread evenly over the conditions (an assumption: the summary says only "randomly
assigned"); :func:`power_table`, :func:`power_by_effect` and :func:`power_by_size` give the
power of the comparisons such a design supports.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ... import stats
from ...errors import ParameterError
from .published import published_design

def comparisons(n_total: int | None = None, k: int | None = None) -> pd.DataFrame:
    """The comparisons the published design can make, with the group sizes we assume.

    Equal allocation is our assumption (the summary says only "randomly assigned"). Pooled
    "any explanation vs none" has unequal groups; its power is approximated with the harmonic
    mean of the two group sizes as the per-group n.
    """
    d = published_design()
    n_total = int(d["participants"]) if n_total is None else int(n_total)
    k = int(d["conditions"]) if k is None else int(k)
    if n_total < 2 * k or k < 2:
        raise ParameterError(f"need at least two participants per condition: n_total={n_total}, k={k}")
    per = n_total / k
    n_none, n_expl = per, n_total - per
    return pd.DataFrame([
        {"comparison": f"all {k} conditions (one-way ANOVA)", "kind": "anova", "effect_name": "f",
         "n": n_total, "k": k, "groups": f"{k} x {per:.1f}"},
        {"comparison": "one explanation condition vs none", "kind": "ttest_ind", "effect_name": "d",
         "n": per, "k": 2, "groups": f"{per:.1f} vs {per:.1f}"},
        {"comparison": "oracle (both access levels) vs none", "kind": "ttest_ind", "effect_name": "d",
         "n": 2 * 2 * per * per / (2 * per + per), "k": 2, "groups": f"{2 * per:.1f} vs {per:.1f}"},
        {"comparison": "any explanation vs none", "kind": "ttest_ind", "effect_name": "d",
         "n": 2 * n_expl * n_none / (n_expl + n_none), "k": 2, "groups": f"{n_expl:.1f} vs {n_none:.1f}"},
    ])


def anova_f(d: float, k: int) -> float:
    """Cohen's f when ``k - 1`` equal groups share an advantage ``d`` (in SD units) over one group.

    Group means ``d`` (k-1 times) and ``0`` (once) have SD ``d sqrt(k-1) / k`` around their mean.
    """
    return d * math.sqrt(k - 1) / k


def _power(kind: str, effect: float, n: float, k: int, alpha: float) -> float:
    if kind == "anova":
        return float(stats.power_anova(effect, k=k, n_total=int(round(n)), alpha=alpha))
    # non-integer per-group n (equal allocation, harmonic means): use the floor,
    # which errs on the side of less power
    return float(stats.power_ttest_ind(effect, n_per_group=max(int(math.floor(n)), 2), alpha=alpha))


def minimum_detectable_effect(kind: str, n: float, k: int = 2, power: float = 0.8, alpha: float = 0.05) -> float:
    """Smallest effect (d, or f for ``kind='anova'``) detected with the given power."""
    if not 0 < power < 1:
        raise ParameterError(f"power must lie in (0, 1), got {power}")
    return float(brentq(lambda e: _power(kind, e, n, k, alpha) - power, 1e-3, 3.0, xtol=1e-8))


def power_table(effects: dict[str, float] | None = None, power: float = 0.8, alpha: float = 0.05) -> pd.DataFrame:
    """Power of each comparison for Cohen's small/medium/large effects, and the effect it could detect.

    ``effects`` maps a label to Cohen's d; for the ANOVA row the effect is the pattern "every
    explanation condition better than none by d", i.e. f = :func:`anova_f` (d, k).
    """
    effects = {"small (d=0.2)": 0.2, "medium (d=0.5)": 0.5, "large (d=0.8)": 0.8} if effects is None else effects
    rows = []
    for _, c in comparisons().iterrows():
        row = {"comparison": c["comparison"], "groups": c["groups"]}
        for label, dval in effects.items():
            e = anova_f(dval, int(c["k"])) if c["kind"] == "anova" else dval
            row[f"power, {label}"] = _power(c["kind"], e, c["n"], int(c["k"]), alpha)
        mde = minimum_detectable_effect(c["kind"], c["n"], int(c["k"]), power, alpha)
        if c["kind"] == "anova":
            d_equiv = mde / anova_f(1.0, int(c["k"]))
            row[f"effect detectable with {power:.0%} power"] = f"d = {d_equiv:.2f} (f = {mde:.2f})"
        else:
            row[f"effect detectable with {power:.0%} power"] = f"d = {mde:.2f}"
        if c["kind"] == "anova":
            need = stats.sample_size_anova(anova_f(0.5, int(c["k"])), k=int(c["k"]), power=power, alpha=alpha)
        else:
            need = 2 * stats.sample_size_ttest_ind(0.5, power=power, alpha=alpha)
        row[f"participants for {power:.0%} power at d = 0.5 (balanced)"] = int(need)
        rows.append(row)
    return pd.DataFrame(rows)


def power_by_effect(ds: Sequence[float] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Power of each comparison against the effect size d (ANOVA: f = :func:`anova_f` (d, k))."""
    ds = np.round(np.arange(0.05, 2.001, 0.05), 3) if ds is None else np.asarray(ds, dtype=float)
    rows = []
    for _, c in comparisons().iterrows():
        for dval in ds:
            e = anova_f(float(dval), int(c["k"])) if c["kind"] == "anova" else dval
            rows.append({"comparison": c["comparison"], "d": float(dval),
                         "power": _power(c["kind"], e, c["n"], int(c["k"]), alpha)})
    return pd.DataFrame(rows)


def power_by_size(d: float = 0.5, ns: Sequence[int] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Power of one explanation condition vs none against participants per condition, for effect ``d``."""
    ns = list(range(4, 101, 2)) if ns is None else list(ns)
    curve = stats.power_curve("ttest_ind", d, ns, alpha=alpha)
    curve["d"] = d
    return curve
