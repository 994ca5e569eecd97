"""Hypothesis tests with effect sizes, as the five papers report them.

Which paper uses what:
- Nguyen et al. 2021, Sec. 3.1 and 4: Mann-Whitney U between methods; Pearson r between metrics and accuracy.
- Shen & Huang 2020, Tables 1-2: unpaired (Exp. 1) and paired (Exp. 2) t-tests.
- Alqaraawi et al. 2020, Sec. 4.1-4.3: Shapiro-Wilk, Levene, two-way ANOVA with eta2, the same ANOVA with a
  White/HC3 covariance matrix, Kruskal-Wallis.
- Sixt et al. 2022, Sec. 5: exact McNemar, Shapiro-Wilk, Kruskal-Wallis, Wilcoxon rank-sum with effect size
  r = |Z| / sqrt(N).

Every test returns a :class:`TestResult`. Inputs are checked: NaN, too few observations and mismatched
lengths raise :class:`xaibook.errors.ParameterError` with a message that says what to fix.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import ParameterError
from ._checks import count, finite, sd

__all__ = [
    "TestResult", "mann_whitney_u", "wilcoxon_ranksum", "ttest_ind", "ttest_rel", "ttest_from_summary",
    "ttest_paired_from_summary", "anova_oneway", "anova_welch", "anova_from_summary", "anova_twoway",
    "anova_hc3", "shapiro", "levene", "kruskal", "mcnemar_exact", "mcnemar_exact_from_pairs", "pearson",
]

_ALTERNATIVES = ("two-sided", "less", "greater")


@dataclass(frozen=True)
class TestResult:
    """One test's outcome: statistic, p-value, degrees of freedom and an effect size with its name.

    ``df`` is a number, a pair (e.g. the two F degrees of freedom) or None; ``ci`` is the confidence
    interval the test documents (mean difference for t-tests, r for Pearson).
    """

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    pvalue: float
    df: float | tuple | None = None
    effect: float | None = None
    effect_name: str | None = None
    ci: tuple[float, float] | None = None
    n: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "statistic", float(self.statistic))
        object.__setattr__(self, "pvalue", float(self.pvalue))
        if self.effect is not None:
            object.__setattr__(self, "effect", float(self.effect))
        if self.ci is not None:
            object.__setattr__(self, "ci", (float(self.ci[0]), float(self.ci[1])))
        if isinstance(self.df, (list, tuple)):
            object.__setattr__(self, "df", tuple(float(d) for d in self.df))
        elif self.df is not None:
            object.__setattr__(self, "df", float(self.df))
        if self.n is not None:
            object.__setattr__(self, "n", int(self.n))

    def as_dict(self) -> dict:
        """Plain dict (for a results table row)."""
        return dataclasses.asdict(self)

    def summary(self, digits: int = 3) -> str:
        """One line in the papers' reporting style, e.g. ``t(98) = 2.10, p = 0.038, cohen_d = 0.42``."""
        df = self.df
        if isinstance(df, tuple):
            df_txt = "(" + ",".join(f"{d:g}" for d in df) + ")"
        elif df is not None:
            df_txt = f"({df:g})"
        else:
            df_txt = ""
        parts = [f"{self.test}: stat{df_txt} = {self.statistic:.{digits}f}", f"p = {self.pvalue:.{digits}g}"]
        if self.effect is not None:
            parts.append(f"{self.effect_name} = {self.effect:.{digits}f}")
        if self.ci is not None:
            parts.append(f"CI = [{self.ci[0]:.{digits}f}, {self.ci[1]:.{digits}f}]")
        if self.n is not None:
            parts.append(f"n = {self.n}")
        return ", ".join(parts)


# ----------------------------------------------------------------------------------------- input checks
def _sample(x, name: str, min_n: int = 2) -> np.ndarray:
    """A 1-D float array without NaN/inf and with at least ``min_n`` values."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a sequence of numbers; got {type(x).__name__} ({exc})") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be one-dimensional; got shape {arr.shape}. Flatten it or pick a column.")
    n_nan = int(np.isnan(arr).sum())
    if n_nan:
        raise ParameterError(f"{name} contains {n_nan} NaN value(s); drop or impute missing observations "
                             "before testing (the tests never drop them silently).")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} contains infinite values; remove them before testing.")
    if arr.size < min_n:
        raise ParameterError(f"{name} has {arr.size} observation(s); this test needs at least {min_n}.")
    return arr


def _pair(x, y, min_n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    a, b = _sample(x, "x", min_n), _sample(y, "y", min_n)
    if a.size != b.size:
        raise ParameterError(f"paired samples must have the same length; got len(x)={a.size}, len(y)={b.size}. "
                             "Each position must hold the two measurements of one participant or item.")
    return a, b


def _groups(groups: Sequence, min_groups: int = 2, min_n: int = 2) -> list[np.ndarray]:
    if len(groups) == 1 and not np.isscalar(groups[0]) and len(groups[0]) and not np.isscalar(groups[0][0]):
        groups = tuple(groups[0])  # a single list of groups was passed
    if len(groups) < min_groups:
        raise ParameterError(f"need at least {min_groups} groups; got {len(groups)}. "
                             "Pass each group as a separate argument.")
    return [_sample(g, f"group {i}", min_n) for i, g in enumerate(groups)]


def _alternative(alternative: str) -> str:
    if alternative not in _ALTERNATIVES:
        raise ParameterError(f"alternative must be one of {_ALTERNATIVES}; got {alternative!r}")
    return alternative


def _method(method: str) -> str:
    if method not in ("auto", "exact", "asymptotic"):
        raise ParameterError(f"method must be 'auto', 'exact' or 'asymptotic'; got {method!r}")
    return method


def _confidence(confidence: float) -> float:
    confidence = finite(confidence, "confidence")
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must lie in (0, 1), e.g. 0.95; got {confidence}")
    return float(confidence)


# ------------------------------------------------------------------------------------ rank-sum tests
def _rank_sum_z(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Rank sum W of x, U of x, and the tie-corrected normal deviate Z of U (no continuity correction)."""
    n1, n2 = x.size, y.size
    n = n1 + n2
    ranks = sps.rankdata(np.concatenate([x, y]))
    w = float(ranks[:n1].sum())
    u = w - n1 * (n1 + 1) / 2.0
    _, counts = np.unique(np.concatenate([x, y]), return_counts=True)
    ties = float(np.sum(counts.astype(float) ** 3 - counts))
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        raise ParameterError("all observations are equal (every value tied); a rank test is undefined here.")
    return w, u, (u - n1 * n2 / 2.0) / math.sqrt(var)


def mann_whitney_u(x, y, alternative: str = "two-sided", method: str = "auto") -> TestResult:
    """Mann-Whitney U test of x vs y (Nguyen et al. 2021, Sec. 3.1).

    Args:
        x, y: independent samples (e.g. per-user accuracies of two explanation methods).
        alternative: "two-sided", "less" or "greater" (x tends to be smaller / larger than y).
        method: p-value method passed to :func:`scipy.stats.mannwhitneyu` ("auto", "asymptotic", "exact").

    Returns:
        statistic = U of x; effect r = |Z| / sqrt(N) with Z the tie-corrected normal deviate of U
        (no continuity correction).
    """
    a, b = _sample(x, "x", 2), _sample(y, "y", 2)
    _, u, z = _rank_sum_z(a, b)
    res = sps.mannwhitneyu(a, b, alternative=_alternative(alternative), method=_method(method))
    n = a.size + b.size
    return TestResult("Mann-Whitney U", u, res.pvalue, None, abs(z) / math.sqrt(n), "r", None, n)


def wilcoxon_ranksum(x, y, alternative: str = "two-sided", method: str = "auto") -> TestResult:
    """Wilcoxon rank-sum test with effect size r = |Z| / sqrt(N) (Sixt et al. 2022, Sec. 5, second study).

    The same test as Mann-Whitney U; the statistic is Wilcoxon's W, the sum of the ranks of x in the
    pooled sample (W = U + n_x (n_x + 1) / 2). p-value as in :func:`mann_whitney_u`.
    """
    a, b = _sample(x, "x", 2), _sample(y, "y", 2)
    w, _, z = _rank_sum_z(a, b)
    res = sps.mannwhitneyu(a, b, alternative=_alternative(alternative), method=_method(method))
    n = a.size + b.size
    return TestResult("Wilcoxon rank-sum", w, res.pvalue, None, abs(z) / math.sqrt(n), "r", None, n)


# ------------------------------------------------------------------------------------------ t-tests
def _t_ci(diff: float, se: float, df: float, confidence: float) -> tuple[float, float]:
    q = sps.t.ppf(0.5 + confidence / 2.0, df)
    return diff - q * se, diff + q * se


def _two_sample_t(m1, s1, n1, m2, s2, n2, equal_var, alternative, confidence, test) -> TestResult:
    m1, m2 = finite(m1, "mean1"), finite(m2, "mean2")
    s1, s2 = sd(s1, "sd1"), sd(s2, "sd2")
    n1, n2 = count(n1, "n1", 2), count(n2, "n2", 2)
    v1, v2 = s1 ** 2, s2 ** 2
    sp2 = ((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2)
    if equal_var:
        se = math.sqrt(sp2 * (1.0 / n1 + 1.0 / n2))
        df = n1 + n2 - 2.0
    else:
        a, b = v1 / n1, v2 / n2
        se = math.sqrt(a + b)
        df = (a + b) ** 2 / (a ** 2 / (n1 - 1) + b ** 2 / (n2 - 1)) if se > 0 else n1 + n2 - 2.0
    if se == 0:
        raise ParameterError("both groups have zero variance; the t statistic is undefined.")
    diff = m1 - m2
    t = diff / se
    p = _t_pvalue(t, df, alternative)
    d = diff / math.sqrt(sp2) if sp2 > 0 else math.copysign(math.inf, diff)
    return TestResult(test, t, p, df, d, "cohen_d", _t_ci(diff, se, df, confidence), int(n1 + n2))


def _t_pvalue(t: float, df: float, alternative: str) -> float:
    alternative = _alternative(alternative)
    if alternative == "two-sided":
        return float(2 * sps.t.sf(abs(t), df))
    if alternative == "greater":
        return float(sps.t.sf(t, df))
    return float(sps.t.cdf(t, df))


def ttest_ind(x, y, equal_var: bool = True, alternative: str = "two-sided",
              confidence: float = 0.95) -> TestResult:
    """Unpaired t-test (Shen & Huang 2020, Table 1); Welch's test when ``equal_var=False``.

    Returns the t statistic, its df, Cohen's d = (mean_x - mean_y) / pooled SD (pooled SD in both
    variants) and the confidence interval of the mean difference.
    """
    a, b = _sample(x, "x", 2), _sample(y, "y", 2)
    name = "Student t (unpaired)" if equal_var else "Welch t (unpaired)"
    return _two_sample_t(a.mean(), a.std(ddof=1), a.size, b.mean(), b.std(ddof=1), b.size, equal_var,
                         alternative, _confidence(confidence), name)


def ttest_rel(x, y, alternative: str = "two-sided", confidence: float = 0.95) -> TestResult:
    """Paired t-test (Shen & Huang 2020, Table 2: the same images with and without interpretation).

    Effect size is Cohen's d_z = mean(x - y) / SD(x - y), the one power analyses for paired designs use;
    ``ci`` is the interval of the mean difference.
    """
    a, b = _pair(x, y, 2)
    d = a - b
    return ttest_paired_from_summary(float(d.mean()), float(d.std(ddof=1)), d.size, alternative, confidence)


def ttest_from_summary(mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int,
                       equal_var: bool = True, alternative: str = "two-sided",
                       confidence: float = 0.95) -> TestResult:
    """Unpaired t-test recomputed from reported means, SDs (ddof=1) and group sizes.

    Raises ParameterError naming the argument for a NaN or infinite mean or SD, a negative SD, or a
    group size that is not an integer >= 2 (NaN, 10.5, 1).
    """
    return _two_sample_t(mean1, sd1, n1, mean2, sd2, n2, equal_var,
                         alternative, _confidence(confidence),
                         "Student t (from summary)" if equal_var else "Welch t (from summary)")


def ttest_paired_from_summary(mean_diff: float, sd_diff: float, n: int, alternative: str = "two-sided",
                              confidence: float = 0.95) -> TestResult:
    """Paired t-test recomputed from the mean and SD (ddof=1) of the n pairwise differences."""
    n = count(n, "n (pairs)", 2)
    mean_diff, sd_diff = finite(mean_diff, "mean_diff"), finite(sd_diff, "sd_diff")
    if not sd_diff > 0:
        raise ParameterError(f"sd_diff, the SD of the differences, must be positive; got {sd_diff}. "
                             "All differences equal: the t statistic is undefined.")
    se = sd_diff / math.sqrt(n)
    t = mean_diff / se
    df = n - 1.0
    return TestResult("paired t", t, _t_pvalue(t, df, alternative), df, mean_diff / sd_diff, "cohen_dz",
                      _t_ci(mean_diff, se, df, _confidence(confidence)), n)


# ------------------------------------------------------------------------------------------ ANOVAs
def anova_oneway(*groups) -> TestResult:
    """One-way between-subjects ANOVA with eta2 = SS_between / SS_total."""
    gs = _groups(groups)
    allv = np.concatenate(gs)
    grand = allv.mean()
    ss_b = float(sum(g.size * (g.mean() - grand) ** 2 for g in gs))
    ss_t = float(((allv - grand) ** 2).sum())
    res = sps.f_oneway(*gs)
    if not np.isfinite(res.statistic):
        raise ParameterError("every group has zero variance; the F statistic is undefined.")
    k, n = len(gs), allv.size
    return TestResult("one-way ANOVA", res.statistic, res.pvalue, (k - 1, n - k), ss_b / ss_t, "eta2", None, n)


def anova_welch(*groups) -> TestResult:
    """Welch's heteroscedastic one-way ANOVA (Sixt et al. 2022, App. D.2: the pre-registered fallback).

    The effect reported is eta2 = SS_between / SS_total of the raw data (descriptive only).
    """
    gs = _groups(groups)
    k = len(gs)
    n = np.array([g.size for g in gs], dtype=float)
    m = np.array([g.mean() for g in gs])
    v = np.array([g.var(ddof=1) for g in gs])
    if np.any(v <= 0):
        raise ParameterError("Welch's ANOVA needs a positive variance in every group.")
    w = n / v
    mw = float((w * m).sum() / w.sum())
    a = float((w * (m - mw) ** 2).sum() / (k - 1))
    lam = float(((1 - w / w.sum()) ** 2 / (n - 1)).sum())
    b = 1 + 2 * (k - 2) / (k ** 2 - 1) * lam
    f = a / b
    df2 = (k ** 2 - 1) / (3 * lam)
    allv = np.concatenate(gs)
    eta2 = float((n * (m - allv.mean()) ** 2).sum() / ((allv - allv.mean()) ** 2).sum())
    return TestResult("Welch ANOVA", f, sps.f.sf(f, k - 1, df2), (k - 1, df2), eta2, "eta2", None, int(n.sum()))


def anova_from_summary(means: Sequence[float], sds: Sequence[float], ns: Sequence[int]) -> TestResult:
    """One-way ANOVA recomputed from reported group means, SDs (ddof=1) and sizes; effect eta2."""
    arrays = {}
    for name, v in (("means", means), ("sds", sds), ("ns", ns)):
        try:
            arrays[name] = np.asarray(v, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"{name} must be a sequence of numbers ({exc})") from exc
    m, s, n = arrays["means"], arrays["sds"], arrays["ns"]
    if not (m.shape == s.shape == n.shape) or m.ndim != 1:
        raise ParameterError(f"means, sds and ns must be 1-D of equal length; got {m.shape}, {s.shape}, {n.shape}")
    if m.size < 2:
        raise ParameterError(f"need at least 2 groups; got {m.size}")
    for name, v in arrays.items():
        if not np.all(np.isfinite(v)):
            raise ParameterError(f"{name} must be finite numbers (no NaN or inf); got {v.tolist()}")
    if np.any(n < 2) or np.any(n != np.round(n)):
        raise ParameterError(f"ns: every group size must be an integer >= 2; got {n.tolist()}")
    if np.any(s < 0):
        raise ParameterError(f"sds: standard deviations must be non-negative; got {s.tolist()}")
    k, total = m.size, n.sum()
    grand = float((n * m).sum() / total)
    ss_b = float((n * (m - grand) ** 2).sum())
    ss_w = float(((n - 1) * s ** 2).sum())
    if ss_w == 0:
        raise ParameterError("all SDs are zero; the F statistic is undefined.")
    df1, df2 = k - 1, total - k
    f = (ss_b / df1) / (ss_w / df2)
    return TestResult("one-way ANOVA (from summary)", f, sps.f.sf(f, df1, df2), (df1, df2),
                      ss_b / (ss_b + ss_w), "eta2", None, int(total))


def _design_frame(df: pd.DataFrame, dv: str, factors: Iterable[str]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"df must be a pandas DataFrame; got {type(df).__name__}")
    factors = list(factors)
    missing = [c for c in [dv, *factors] if c not in df.columns]
    if missing:
        raise ParameterError(f"columns {missing} are not in the data frame (columns: {list(df.columns)})")
    if len(set([dv, *factors])) != len(factors) + 1:
        raise ParameterError("dv and the factors must be different columns")
    y = _sample(df[dv].to_numpy(), f"column {dv!r}", 3)
    if np.ptp(y) == 0:
        raise ParameterError(f"column {dv!r} (the outcome) is constant ({y[0]:g} in every row); an ANOVA of a "
                             "constant outcome has no variance to explain (F and eta2 are undefined).")
    out = pd.DataFrame({"y": y})
    for i, fac in enumerate(factors):
        col = df[fac]
        if col.isna().any():
            raise ParameterError(f"factor {fac!r} has missing levels (NaN); drop those rows first.")
        if col.nunique() < 2:
            raise ParameterError(f"factor {fac!r} has {col.nunique()} level(s); an ANOVA needs at least 2.")
        out[f"f{i}"] = col.astype(str).to_numpy()
    cells = out.groupby([f"f{i}" for i in range(len(factors))]).size()
    n_cells = int(np.prod([out[f"f{i}"].nunique() for i in range(len(factors))]))
    if len(cells) < n_cells:
        raise ParameterError(f"the design has empty cells ({len(cells)} of {n_cells} factor combinations observed);"
                             " the interaction cannot be estimated.")
    if len(out) - n_cells < 1:
        raise ParameterError(f"{len(out)} observations for {n_cells} cells leave no residual degrees of freedom.")
    if cells.min() < 2:
        small = cells[cells < 2]
        names = ", ".join("(" + ", ".join(f"{f}={v}" for f, v in zip(factors, np.atleast_1d(k))) + ")"
                          for k in small.index[:3])
        raise ParameterError(f"column {dv!r}: cell(s) {names} hold a single observation; every combination of "
                             f"{factors} needs at least 2 (one value has no within-cell variance, and its HC3 "
                             "leverage is 1).")
    cell_mean = out.groupby([f"f{i}" for i in range(len(factors))])["y"].transform("mean")
    ss_within = float(((out["y"] - cell_mean) ** 2).sum())
    if ss_within <= 1e-12 * float(((out["y"] - out["y"].mean()) ** 2).sum()):
        raise ParameterError(f"column {dv!r} is constant within every cell of {factors}; the residual variance is "
                             "zero and the F statistics are undefined.")
    return out


def _formula(n_factors: int) -> str:
    terms = [f"C(f{i}, Sum)" for i in range(n_factors)]
    return "y ~ " + " * ".join(terms)


def _ols_table(data: pd.DataFrame, n_factors: int, typ: int, robust: str | None) -> pd.DataFrame:
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    model = smf.ols(_formula(n_factors), data=data).fit()
    table = anova_lm(model, typ=typ, robust=robust)
    return table.drop(index=[i for i in table.index if i == "Intercept"])


def _rename_terms(table: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    def rename(term: str) -> str:
        if term == "Residual":
            return term
        parts = term.split(":")
        return ":".join(names[int(p.split(",")[0].replace("C(f", ""))] for p in parts)

    return table.rename(index=rename)


def _with_eta(table: pd.DataFrame, ss_total: float) -> pd.DataFrame:
    ss_res = float(table.loc["Residual", "sum_sq"])
    out = table.copy()
    out["eta2"] = out["sum_sq"] / ss_total
    out["partial_eta2"] = out["sum_sq"] / (out["sum_sq"] + ss_res)
    out.loc["Residual", ["eta2", "partial_eta2"]] = np.nan
    return out


def anova_twoway(df: pd.DataFrame, dv: str, a: str, b: str, typ: int = 2) -> pd.DataFrame:
    """Two-way independent ANOVA with interaction (Alqaraawi et al. 2020, Sec. 4.1).

    Args:
        df: one row per participant; ``dv`` numeric, ``a`` and ``b`` the two between-subjects factors.
        typ: sums-of-squares type (1, 2 or 3; sum-to-zero contrasts, so type 3 is meaningful). In a balanced
            design, as in the paper, all three agree.

    Returns:
        DataFrame indexed ``[a, b, "a:b", "Residual"]`` (with the real column names) and columns
        ``sum_sq, df, F, pvalue, eta2, partial_eta2``; eta2 = SS_effect / SS_total (the papers' eta2).
    """
    if typ not in (1, 2, 3):
        raise ParameterError(f"typ must be 1, 2 or 3; got {typ}")
    data = _design_frame(df, dv, [a, b])
    table = _rename_terms(_ols_table(data, 2, typ, None), [a, b])
    table = table.rename(columns={"PR(>F)": "pvalue"})[["sum_sq", "df", "F", "pvalue"]]
    ss_total = float(((data["y"] - data["y"].mean()) ** 2).sum())
    return _with_eta(table, ss_total).loc[[a, b, f"{a}:{b}", "Residual"]]


def anova_hc3(df: pd.DataFrame, dv: str, a: str, b: str | None = None, typ: int = 2) -> pd.DataFrame:
    """ANOVA with White's heteroscedasticity-consistent HC3 covariance (Alqaraawi et al. 2020, Sec. 4.3).

    F tests are Wald tests of each term with the HC3 covariance (statsmodels ``anova_lm(robust="hc3")``;
    type 2 uses the conjugate-complement hypotheses of R's ``car::Anova(white.adjust=...)``). eta2 and
    partial eta2 come from the ordinary sums of squares, which the covariance choice does not change.

    Args:
        b: optional second factor; with it the model includes the a:b interaction.
        typ: 2 or 3 (type 1 sequential sums of squares have no robust version).

    Returns:
        DataFrame indexed by term (and "Residual") with columns ``df, F, pvalue, eta2, partial_eta2``.
    """
    if typ not in (2, 3):
        raise ParameterError(f"typ must be 2 or 3 for a robust ANOVA; got {typ} (type 1 ignores the HC3 "
                             "covariance in statsmodels)")
    factors = [a] if b is None else [a, b]
    data = _design_frame(df, dv, factors)
    k = len(factors)
    robust = _rename_terms(_ols_table(data, k, typ, "hc3"), factors)
    plain = _rename_terms(_ols_table(data, k, typ, None), factors)
    ss_total = float(((data["y"] - data["y"].mean()) ** 2).sum())
    eta = _with_eta(plain[["sum_sq", "df"]], ss_total)
    out = robust.rename(columns={"PR(>F)": "pvalue"})[["df", "F", "pvalue"]].copy()
    out["eta2"] = eta["eta2"]
    out["partial_eta2"] = eta["partial_eta2"]
    order = factors + ([f"{a}:{b}"] if b is not None else []) + ["Residual"]
    return out.loc[order]


# ----------------------------------------------------------------------------------- assumptions
def shapiro(x) -> TestResult:
    """Shapiro-Wilk test of normality (Alqaraawi et al. 2020, Sec. 4.1; Sixt et al. 2022, Sec. 5).

    For "within groups" normality as in Alqaraawi, pass the residuals (values minus their group mean).
    """
    a = _sample(x, "x", 3)
    if np.ptp(a) == 0:
        raise ParameterError("x is constant; the Shapiro-Wilk W is undefined.")
    res = sps.shapiro(a)
    return TestResult("Shapiro-Wilk", res.statistic, res.pvalue, None, None, None, None, a.size)


def levene(*groups, center: str = "median") -> TestResult:
    """Levene's test of equal variances (Alqaraawi et al. 2020, Sec. 4.1 and 4.3).

    ``center="median"`` is the Brown-Forsythe variant (scipy's default, robust to skew);
    ``center="mean"`` is Levene's original. df = (k - 1, N - k).
    """
    if center not in ("median", "mean", "trimmed"):
        raise ParameterError(f"center must be 'median', 'mean' or 'trimmed'; got {center!r}")
    gs = _groups(groups)
    res = sps.levene(*gs, center=center)
    if not np.isfinite(res.statistic):
        raise ParameterError("all groups have zero spread; Levene's F is undefined.")
    n = sum(g.size for g in gs)
    return TestResult(f"Levene ({center})", res.statistic, res.pvalue, (len(gs) - 1, n - len(gs)),
                      None, None, None, n)


def kruskal(*groups) -> TestResult:
    """Kruskal-Wallis H test (Sixt et al. 2022, Sec. 5; Alqaraawi et al. 2020, Sec. 4.2).

    Effect size epsilon2 = H (n + 1) / (n^2 - 1) = H / (n - 1) (Tomczak & Tomczak 2014).
    """
    gs = _groups(groups)
    allv = np.concatenate(gs)
    if np.ptp(allv) == 0:
        raise ParameterError("all observations are equal; the Kruskal-Wallis H is undefined.")
    res = sps.kruskal(*gs)
    n = allv.size
    return TestResult("Kruskal-Wallis H", res.statistic, res.pvalue, len(gs) - 1,
                      res.statistic * (n + 1) / (n ** 2 - 1), "epsilon2", None, n)


# ------------------------------------------------------------------------------------------ McNemar
def mcnemar_exact(b: int, c: int, alternative: str = "two-sided", n_pairs: int | None = None) -> TestResult:
    """Exact McNemar test: a binomial test of the discordant counts against 1/2 (Sixt et al. 2022, Sec. 5).

    Args:
        b: pairs where the first measurement is correct and the second wrong.
        c: pairs where the first is wrong and the second correct.
        alternative: "two-sided" (p = min(1, 2 P[X <= min(b, c)])), "greater" (b > c) or "less" (b < c).
        n_pairs: total number of pairs, only recorded in ``n`` (default b + c).

    Returns:
        statistic = b; effect = the discordant odds ratio b / c.
    """
    alternative = _alternative(alternative)
    for name, v in (("b", b), ("c", c)):
        try:
            ok = float(v).is_integer() and float(v) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ParameterError(f"{name} must be a non-negative integer count; got {v!r}")
    b, c = int(b), int(c)
    m = b + c
    if n_pairs is not None:
        n_pairs = count(n_pairs, "n_pairs", max(m, 1))
    if m == 0:
        raise ParameterError("there are no discordant pairs (b = c = 0); McNemar's test is undefined.")
    if alternative == "two-sided":
        p = min(1.0, 2.0 * sps.binom.cdf(min(b, c), m, 0.5))
    elif alternative == "greater":
        p = sps.binom.sf(b - 1, m, 0.5)
    else:
        p = sps.binom.cdf(b, m, 0.5)
    odds = b / c if c > 0 else math.inf
    return TestResult("exact McNemar", b, p, None, odds, "odds_ratio", None, m if n_pairs is None else n_pairs)


def mcnemar_exact_from_pairs(x_correct, y_correct, alternative: str = "two-sided") -> TestResult:
    """Exact McNemar test from two paired boolean (0/1) vectors, e.g. per-participant success on two attributes."""
    x, y = _pair(x_correct, y_correct, 1)
    if not (np.isin(x, (0, 1)).all() and np.isin(y, (0, 1)).all()):
        raise ParameterError("x_correct and y_correct must hold booleans or 0/1 values.")
    b = int(np.sum((x == 1) & (y == 0)))
    c = int(np.sum((x == 0) & (y == 1)))
    return mcnemar_exact(b, c, alternative, n_pairs=x.size)


# ------------------------------------------------------------------------------------- correlation
def pearson(x, y, confidence: float = 0.95, alternative: str = "two-sided") -> TestResult:
    """Pearson correlation (Nguyen et al. 2021, Sec. 4: metric scores vs human-AI team accuracy).

    statistic = effect = r; df = n - 2; ``ci`` is the Fisher-z interval tanh(atanh r +- z / sqrt(n - 3))
    (None when n = 3).
    """
    a, b = _pair(x, y, 3)
    confidence = _confidence(confidence)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        raise ParameterError("x or y is constant; the correlation is undefined.")
    res = sps.pearsonr(a, b, alternative=_alternative(alternative))
    r, n = float(res.statistic), a.size
    ci = None
    if n > 3:
        q = sps.norm.ppf(0.5 + confidence / 2.0)
        z, se = math.atanh(min(max(r, -1 + 1e-15), 1 - 1e-15)), 1.0 / math.sqrt(n - 3)
        ci = (math.tanh(z - q * se), math.tanh(z + q * se))
    return TestResult("Pearson r", r, res.pvalue, n - 2, r, "r", ci, n)
