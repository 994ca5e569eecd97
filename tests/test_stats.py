"""xaibook.stats against independent references: a second library (pingouin, statsmodels, scipy's other
code paths), hand-computed cases, published worked examples and numbers printed in the papers."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import linalg
from scipy import stats as sps

from xaibook import stats as S
from xaibook.errors import ParameterError


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


def _with_summary(mean: float, sd: float, n: int, rng) -> np.ndarray:
    """n values whose sample mean and SD (ddof=1) are exactly ``mean`` and ``sd``."""
    z = rng.normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + sd * z


# --------------------------------------------------------------------------------------- TestResult
def test_testresult_is_frozen_and_serialisable():
    r = S.TestResult("x", np.float64(1.5), np.float64(0.2), (1, 10), 0.3, "eta2", (0.1, 0.5), 12)
    assert isinstance(r.statistic, float) and r.df == (1.0, 10.0)
    d = r.as_dict()
    assert d["pvalue"] == 0.2 and d["effect_name"] == "eta2" and d["n"] == 12
    with pytest.raises(Exception):
        r.pvalue = 0.5  # frozen
    assert "eta2 = 0.300" in r.summary()


# ------------------------------------------------------------------------------------ rank-sum tests
def test_mann_whitney_matches_pingouin_and_ranksums(rng):
    x, y = rng.normal(size=23), rng.normal(0.6, size=31)  # continuous: no ties
    res = S.mann_whitney_u(x, y)
    ref = pg.mwu(x, y)
    assert res.statistic == pytest.approx(ref["U_val"].iloc[0])
    assert res.pvalue == pytest.approx(ref["p_val"].iloc[0], rel=1e-9)
    # without ties, |Z| equals scipy's ranksums statistic (a separate implementation)
    z = sps.ranksums(x, y).statistic
    assert res.effect == pytest.approx(abs(z) / math.sqrt(54), rel=1e-12)
    assert res.effect_name == "r" and res.n == 54
    less = S.mann_whitney_u(x, y, alternative="less")
    assert less.pvalue == pytest.approx(pg.mwu(x, y, alternative="less")["p_val"].iloc[0], rel=1e-9)


def test_rank_sum_effect_r_with_ties_hand_computed():
    # x = [1,2,2,3], y = [2,3,4,5]. Pooled ranks: 1 -> 1; the three 2s -> 3; the two 3s -> 5.5; 4 -> 7; 5 -> 8.
    # W_x = 1 + 3 + 3 + 5.5 = 12.5, U_x = 12.5 - 4*5/2 = 2.5, E[U] = 8.
    # Var(U) = 4*4/12 * (9 - ((27-3) + (8-2)) / (8*7)) = 1.33333 * 8.4642857 = 11.285714
    # Z = (2.5 - 8) / sqrt(11.285714) = -1.6371858, r = 1.6371858 / sqrt(8) = 0.5788333
    x, y = [1, 2, 2, 3], [2, 3, 4, 5]
    mw, wr = S.mann_whitney_u(x, y), S.wilcoxon_ranksum(x, y)
    assert mw.statistic == 2.5 and wr.statistic == 12.5
    assert mw.effect == pytest.approx(0.5788333, abs=1e-6) and wr.effect == pytest.approx(mw.effect)
    assert wr.pvalue == pytest.approx(mw.pvalue)


def test_wilcoxon_ranksum_is_mann_whitney_with_rank_sum(rng):
    # Sixt et al. 2022, Sec. 5: counts of correct answers per participant (many ties)
    x, y = rng.integers(0, 9, size=40), rng.integers(2, 11, size=35)
    wr = S.wilcoxon_ranksum(x, y)
    ref = pg.mwu(x, y)
    assert wr.statistic - 40 * 41 / 2 == pytest.approx(ref["U_val"].iloc[0])
    assert wr.pvalue == pytest.approx(ref["p_val"].iloc[0], rel=1e-9)
    assert 0 < wr.effect < 1


# ------------------------------------------------------------------------------------------- t-tests
@pytest.mark.parametrize("equal_var", [True, False])
def test_ttest_ind_matches_pingouin(rng, equal_var):
    x, y = rng.normal(0, 1, size=15), rng.normal(0.5, 2, size=22)
    res = S.ttest_ind(x, y, equal_var=equal_var)
    ref = pg.ttest(x, y, correction=not equal_var).iloc[0]
    assert res.statistic == pytest.approx(ref["T"], rel=1e-9)
    assert res.pvalue == pytest.approx(ref["p_val"], rel=1e-9)
    assert res.df == pytest.approx(ref["dof"], rel=1e-9)
    assert abs(res.effect) == pytest.approx(ref["cohen_d"], rel=1e-9)  # pingouin: |d| with pooled SD
    assert res.ci == pytest.approx(tuple(ref["CI95"]), abs=0.006)  # pingouin rounds the CI to 2 decimals


def test_ttest_rel_matches_pingouin(rng):
    x = rng.normal(size=25)
    y = x + rng.normal(0.3, 0.5, size=25)
    res = S.ttest_rel(x, y)
    ref = pg.ttest(x, y, paired=True).iloc[0]
    assert res.statistic == pytest.approx(ref["T"], rel=1e-9)
    assert res.pvalue == pytest.approx(ref["p_val"], rel=1e-9)
    assert res.df == 24
    assert res.ci == pytest.approx(tuple(ref["CI95"]), abs=0.006)
    assert res.effect_name == "cohen_dz" and res.effect == pytest.approx(res.statistic / 5.0)  # d_z = t / sqrt(n)


@pytest.mark.parametrize("equal_var", [True, False])
def test_ttest_from_summary_matches_scipy_from_stats(equal_var):
    res = S.ttest_from_summary(0.73, 0.20, 100, 0.81, 0.18, 100, equal_var=equal_var)
    ref = sps.ttest_ind_from_stats(0.73, 0.20, 100, 0.81, 0.18, 100, equal_var=equal_var)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9)


def test_ttest_from_summary_agrees_with_raw_data(rng):
    x, y = rng.normal(size=12), rng.normal(1, size=9)
    a = S.ttest_ind(x, y)
    b = S.ttest_from_summary(x.mean(), x.std(ddof=1), 12, y.mean(), y.std(ddof=1), 9)
    assert (a.statistic, a.pvalue, a.effect) == pytest.approx((b.statistic, b.pvalue, b.effect))


def test_ttest_paired_from_summary_matches_scipy(rng):
    d = _with_summary(-0.10, 0.35, 200, rng)  # Shen & Huang Exp. 2 has N = 200 images
    res = S.ttest_paired_from_summary(-0.10, 0.35, 200)
    ref = sps.ttest_rel(d, np.zeros_like(d))
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9)


def test_shen2020_gives_no_dispersion_to_recompute_its_t_tests(shared_dir):
    """Shen & Huang 2020, Tables 1-2, report only accuracies, image counts and significance stars; without
    SDs the t statistics cannot be recomputed. This test pins that fact so nobody invents SDs."""
    text = (next((shared_dir / "seeds").glob("001_*.txt"))).read_text(errors="ignore")
    assert "Unpaired t-test" in text and "Paired t-test" in text
    assert not any(k in text for k in ("SD =", "SD=", "std", "standard deviation"))


# -------------------------------------------------------------------------------------------- ANOVAs
def test_anova_oneway_matches_pingouin(rng):
    groups = [rng.normal(m, 1, size=n) for m, n in ((0, 10), (0.5, 14), (1.2, 9))]
    res = S.anova_oneway(*groups)
    df = pd.DataFrame({"y": np.concatenate(groups), "g": np.repeat(["a", "b", "c"], [10, 14, 9])})
    ref = pg.anova(df, dv="y", between="g").iloc[0]
    assert res.statistic == pytest.approx(ref["F"], rel=1e-9)
    assert res.pvalue == pytest.approx(ref["p_unc"], rel=1e-9)
    assert res.effect == pytest.approx(ref["np2"], rel=1e-9)  # one-way: partial eta2 = eta2
    assert res.df == (2, 30)


def test_anova_welch_matches_pingouin_and_welch_t(rng):
    groups = [rng.normal(m, s, size=n) for m, s, n in ((0, 1, 10), (0.5, 2, 14), (1.2, 0.5, 9))]
    res = S.anova_welch(*groups)
    df = pd.DataFrame({"y": np.concatenate(groups), "g": np.repeat(["a", "b", "c"], [10, 14, 9])})
    ref = pg.welch_anova(df, dv="y", between="g").iloc[0]
    assert res.statistic == pytest.approx(ref["F"], rel=1e-9)
    assert res.df[1] == pytest.approx(ref["ddof2"], rel=1e-9)
    two = S.anova_welch(groups[0], groups[1])
    t = S.ttest_ind(groups[0], groups[1], equal_var=False)
    assert two.statistic == pytest.approx(t.statistic ** 2, rel=1e-9) and two.pvalue == pytest.approx(t.pvalue)


def test_anova_from_summary_matches_raw_data(rng):
    means, sds, ns = [3.0, 3.4, 2.5, 3.9], [1.0, 0.8, 1.3, 1.1], [11, 16, 13, 20]
    res = S.anova_from_summary(means, sds, ns)
    ref = sps.f_oneway(*[_with_summary(m, s, n, rng) for m, s, n in zip(means, sds, ns)])
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.df == (3, 56)


def test_alqaraawi2020_eta2_from_reported_means_and_sds(shared_dir):
    """Alqaraawi et al. 2020, Sec. 4.1 (p. 6): saliency maps present mu = 60.7 %, sigma = 11.0 % vs absent
    mu = 55.1 %, sigma = 10.8 %; 64 participants in a balanced 2 x 2 design (Levene F(3,60)), so 32 per level.
    Reported: F(1,60) = 4.191, eta2 = 0.063 (and eta2 = 0.029 for scores, 0.001 for the interaction).
    In a balanced design the two-way eta2 of a factor equals the one-way eta2 of that factor alone, so the
    reported summaries must give eta2 = 0.063 up to the rounding of the means and SDs."""
    text = (next((shared_dir / "seeds").glob("002_*.txt"))).read_text(errors="ignore")
    for printed in ("F(1,60) = 4.191", "60.7%", "55.1%", "11.0%", "10.8%", "F(3,60)"):
        assert printed in text, f"{printed!r} not found in the paper text"
    res = S.anova_from_summary([60.7, 55.1], [11.0, 10.8], [32, 32])
    corners = [S.anova_from_summary([m1, m2], [s1, s2], [32, 32]).effect
               for m1 in (60.65, 60.75) for m2 in (55.05, 55.15) for s1 in (10.95, 11.05) for s2 in (10.75, 10.85)]
    assert min(corners) <= 0.0635 and max(corners) >= 0.0625  # reported 0.063 lies within the rounding range
    assert res.effect == pytest.approx(0.063, abs=0.001)
    # the two-way F follows from eta2: F_A = eta2_A * df_res / (1 - sum of eta2) with df_res = 60
    f_two_way = res.effect * 60 / (1 - res.effect - 0.029 - 0.001)
    assert f_two_way == pytest.approx(4.191, rel=0.02)


def _twoway_frame(rng, sizes, het=False):
    rows = []
    for (a, b), n in sizes.items():
        sd = 3.0 if (het and a == "on") else 1.0
        mu = (0.8 if a == "on" else 0) + (0.3 if b == "yes" else 0) + (0.4 if (a, b) == ("on", "yes") else 0)
        rows += [{"saliency": a, "scores": b, "acc": v} for v in rng.normal(mu, sd, size=n)]
    return pd.DataFrame(rows)


def test_anova_twoway_matches_pingouin_unbalanced(rng):
    df = _twoway_frame(rng, {("on", "yes"): 12, ("on", "no"): 9, ("off", "yes"): 15, ("off", "no"): 11})
    res = S.anova_twoway(df, "acc", "saliency", "scores")
    assert list(res.index) == ["saliency", "scores", "saliency:scores", "Residual"]
    ref = pg.anova(df, dv="acc", between=["saliency", "scores"], ss_type=2).set_index("Source")
    for ours, theirs in (("saliency", "saliency"), ("scores", "scores"), ("saliency:scores", "saliency * scores")):
        assert res.loc[ours, "F"] == pytest.approx(ref.loc[theirs, "F"], rel=1e-8)
        assert res.loc[ours, "pvalue"] == pytest.approx(ref.loc[theirs, "p_unc"], rel=1e-8)
        assert res.loc[ours, "partial_eta2"] == pytest.approx(ref.loc[theirs, "np2"], rel=1e-8)
    ss_total = ((df["acc"] - df["acc"].mean()) ** 2).sum()
    assert res.loc["saliency", "eta2"] == pytest.approx(res.loc["saliency", "sum_sq"] / ss_total)
    assert res.loc["Residual", "df"] == len(df) - 4


def test_anova_twoway_balanced_types_agree_and_eta2_identity(rng):
    df = _twoway_frame(rng, {k: 16 for k in (("on", "yes"), ("on", "no"), ("off", "yes"), ("off", "no"))})
    t2, t3 = (S.anova_twoway(df, "acc", "saliency", "scores", typ=t) for t in (2, 3))
    assert np.allclose(t2["F"].iloc[:3], t3["F"].iloc[:3])
    # balanced: the eta2 add up, and F = eta2 * df_res / (1 - sum eta2) (used on the paper's numbers above)
    e = t2["eta2"].iloc[:3]
    assert t2.loc["saliency", "F"] == pytest.approx(e["saliency"] * 60 / (1 - e.sum()), rel=1e-9)


def _hc3_wald(X: np.ndarray, y: np.ndarray, L: np.ndarray) -> float:
    """White/HC3 Wald F written out: V = (X'X)^-1 X' diag(e^2 / (1-h)^2) X (X'X)^-1."""
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    e = y - X @ beta
    h = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
    V = xtx_inv @ (X.T * (e / (1 - h)) ** 2) @ X @ xtx_inv
    Lb = L @ beta
    return float(Lb @ np.linalg.solve(L @ V @ L.T, Lb) / L.shape[0]), V


def _effect_coded(df):
    a = np.where(df["saliency"] == "off", 1.0, -1.0)  # sum-to-zero coding, first level (sorted) = +1
    b = np.where(df["scores"] == "no", 1.0, -1.0)
    return np.column_stack([np.ones(len(df)), a, b, a * b]), df["acc"].to_numpy()


def test_anova_hc3_type3_matches_hand_sandwich(rng):
    df = _twoway_frame(rng, {("on", "yes"): 14, ("on", "no"): 17, ("off", "yes"): 15, ("off", "no"): 16}, het=True)
    res = S.anova_hc3(df, "acc", "saliency", "scores", typ=3)
    X, y = _effect_coded(df)
    for col, term in ((1, "saliency"), (2, "scores"), (3, "saliency:scores")):
        f, _ = _hc3_wald(X, y, np.eye(4)[[col]])
        assert res.loc[term, "F"] == pytest.approx(f, rel=1e-8)
        assert res.loc[term, "pvalue"] == pytest.approx(sps.f.sf(f, 1, len(df) - 4), rel=1e-8)
    plain = S.anova_twoway(df, "acc", "saliency", "scores", typ=3)
    assert np.allclose(res["eta2"].iloc[:3], plain["eta2"].iloc[:3])


def test_anova_hc3_type2_matches_car_style_conjugate_complement(rng):
    """Type II robust tests as in R's car::Anova(white.adjust=): the hypothesis for a main effect is the
    part of (main + interaction) conjugate-orthogonal, w.r.t. the HC3 covariance, to the interaction."""
    df = _twoway_frame(rng, {("on", "yes"): 14, ("on", "no"): 17, ("off", "yes"): 15, ("off", "no"): 16}, het=True)
    res = S.anova_hc3(df, "acc", "saliency", "scores", typ=2)
    X, y = _effect_coded(df)
    _, V = _hc3_wald(X, y, np.eye(4)[[3]])
    for col, term in ((1, "saliency"), (2, "scores")):
        H1, H2 = np.eye(4)[[3]], np.eye(4)[[col, 3]]
        comp = linalg.null_space((H2 @ V @ H1.T).T)  # vectors u with u' H2 V H1' = 0
        f, _ = _hc3_wald(X, y, comp.T @ H2)
        assert res.loc[term, "F"] == pytest.approx(f, rel=1e-7)
    f_int, _ = _hc3_wald(X, y, np.eye(4)[[3]])
    assert res.loc["saliency:scores", "F"] == pytest.approx(f_int, rel=1e-8)


def test_anova_hc3_oneway_two_groups_closed_form(rng):
    # cell-means model: HC3 variance of a group mean is s^2 / (n - 1), so F = diff^2 / (s1^2/(n1-1) + s2^2/(n2-1))
    x, y = rng.normal(0, 1, size=12), rng.normal(1, 3, size=20)
    df = pd.DataFrame({"v": np.concatenate([x, y]), "g": ["x"] * 12 + ["y"] * 20})
    res = S.anova_hc3(df, "v", "g")
    f = (x.mean() - y.mean()) ** 2 / (x.var(ddof=1) / 11 + y.var(ddof=1) / 19)
    assert list(res.index) == ["g", "Residual"]
    assert res.loc["g", "F"] == pytest.approx(f, rel=1e-9)


def test_anova_input_errors(rng):
    df = _twoway_frame(rng, {("on", "yes"): 3, ("on", "no"): 3, ("off", "yes"): 3})
    with pytest.raises(ParameterError, match="empty cells"):
        S.anova_twoway(df, "acc", "saliency", "scores")
    with pytest.raises(ParameterError, match="not in the data frame"):
        S.anova_twoway(df, "accuracy", "saliency", "scores")
    df2 = _twoway_frame(rng, {k: 3 for k in (("on", "yes"), ("on", "no"), ("off", "yes"), ("off", "no"))})
    df2.loc[0, "acc"] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        S.anova_hc3(df2, "acc", "saliency", "scores")
    with pytest.raises(ParameterError, match="typ"):
        S.anova_hc3(df2.dropna(), "acc", "saliency", typ=1)
    with pytest.raises(ParameterError, match="at least 2"):
        S.anova_from_summary([1.0], [1.0], [10])
    with pytest.raises(ParameterError, match="at least 2 groups"):
        S.anova_oneway([1.0, 2.0, 3.0])


# ------------------------------------------------------------------------------------ assumptions
def test_shapiro_published_example():
    """Shapiro & Wilk (1965, Biometrika 52:591-611, Sec. 4 worked example): weights of 11 men,
    W = 0.79 (significant at the 1 % level)."""
    res = S.shapiro([148, 154, 158, 160, 161, 162, 166, 170, 182, 195, 236])
    assert res.statistic == pytest.approx(0.79, abs=0.005)
    assert res.pvalue < 0.01 and res.n == 11


@pytest.mark.parametrize("center", ["median", "mean"])
def test_levene_is_anova_on_absolute_deviations(rng, center):
    groups = [rng.normal(0, s, size=n) for s, n in ((1, 16), (2, 16), (1.5, 16), (0.7, 16))]
    res = S.levene(*groups, center=center)
    c = np.median if center == "median" else np.mean
    ref = S.anova_oneway(*[np.abs(g - c(g)) for g in groups])
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.df == (3, 60)  # 4 groups of 16 as in Alqaraawi et al. 2020 Sec. 4.1: F(3,60)


def test_kruskal_matches_pingouin_and_epsilon2(rng):
    groups = [rng.integers(0, 10, size=n) for n in (62, 71, 59)]  # Sixt et al. 2022 group sizes, tied scores
    res = S.kruskal(*groups)
    df = pd.DataFrame({"y": np.concatenate(groups), "g": np.repeat(["inn", "base", "con"], [62, 71, 59])})
    ref = pg.kruskal(df, dv="y", between="g").iloc[0]
    assert res.statistic == pytest.approx(ref["H"], rel=1e-9)
    assert res.pvalue == pytest.approx(ref["p_unc"], rel=1e-9)
    assert res.effect == pytest.approx(res.statistic / (192 - 1), rel=1e-12)  # H (n+1)/(n^2-1) = H/(n-1)
    assert res.df == 2


# ------------------------------------------------------------------------------------------ McNemar
def test_mcnemar_exact_matches_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar

    for b, c in ((16, 0), (9, 6), (3, 11), (25, 25), (1, 0)):
        ref = mcnemar([[10, b], [c, 12]], exact=True)
        assert S.mcnemar_exact(b, c).pvalue == pytest.approx(ref.pvalue, rel=1e-12)


def test_mcnemar_exact_hand_computed():
    # b = 16, c = 0: p = 2 * 0.5^16 = 3.0518e-05 (< 0.0001, as reported for legs vs colour in Sixt et al. Sec. 5)
    assert S.mcnemar_exact(16, 0).pvalue == pytest.approx(2 * 0.5 ** 16)
    # one-sided, b = 9, c = 6: P(X <= 6 | 15, 1/2) = (1+15+105+455+1365+3003+5005) / 32768 = 0.303619
    assert S.mcnemar_exact(9, 6, alternative="greater").pvalue == pytest.approx(9949 / 32768)
    assert S.mcnemar_exact(6, 9, alternative="less").pvalue == pytest.approx(9949 / 32768)
    r = S.mcnemar_exact(9, 6)
    assert r.effect == pytest.approx(1.5) and r.n == 15
    with pytest.raises(ParameterError, match="no discordant"):
        S.mcnemar_exact(0, 0)
    with pytest.raises(ParameterError, match="non-negative integer"):
        S.mcnemar_exact(-1, 3)


def test_mcnemar_from_pairs_counts_discordant_pairs():
    legs = np.array([1, 1, 1, 1, 1, 0, 0, 1, 1, 0], dtype=bool)
    colour = np.array([0, 0, 1, 0, 1, 0, 1, 0, 1, 0], dtype=bool)
    res = S.mcnemar_exact_from_pairs(legs, colour)  # b = 4 (legs only), c = 1 (colour only)
    assert res.statistic == 4 and res.n == 10
    assert res.pvalue == pytest.approx(S.mcnemar_exact(4, 1).pvalue)
    with pytest.raises(ParameterError, match="same length"):
        S.mcnemar_exact_from_pairs(legs, colour[:-1])


# ------------------------------------------------------------------------------------- correlation
def test_pearson_matches_pingouin_and_scipy_ci(rng):
    x = rng.normal(size=30)
    y = 0.5 * x + rng.normal(size=30)
    res = S.pearson(x, y)
    ref = pg.corr(x, y).iloc[0]
    assert res.statistic == pytest.approx(ref["r"], rel=1e-9) and res.pvalue == pytest.approx(ref["p_val"], rel=1e-9)
    ci = sps.pearsonr(x, y).confidence_interval(0.95)
    assert res.ci == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert res.df == 28


def test_pearson_fisher_ci_hand_computed():
    # r = 0.5, n = 28: atanh(0.5) = 0.549306, se = 1/5 = 0.2, 1.959964 * 0.2 = 0.391993
    # tanh(0.549306 - 0.391993) = tanh(0.157313) = 0.156028, tanh(0.549306 + 0.391993) = tanh(0.941299) = 0.735818
    x = np.arange(28, dtype=float)
    rng = np.random.default_rng(0)
    noise = rng.normal(size=28)
    noise -= np.polyval(np.polyfit(x, noise, 1), x)  # orthogonal to x: r is set exactly below
    noise *= x.std() / noise.std() * math.sqrt(1 / 0.25 - 1)
    res = S.pearson(x, x + noise)
    assert res.statistic == pytest.approx(0.5, abs=1e-9)
    assert res.ci == pytest.approx((0.156028, 0.735818), abs=1e-5)


# -------------------------------------------------------------------------------------- input errors
def test_clear_errors_for_bad_samples():
    with pytest.raises(ParameterError, match="NaN"):
        S.mann_whitney_u([1, 2, np.nan], [3, 4, 5])
    with pytest.raises(ParameterError, match="at least 2"):
        S.ttest_ind([1.0], [2.0, 3.0])
    with pytest.raises(ParameterError, match="same length"):
        S.ttest_rel([1, 2, 3], [1, 2])
    with pytest.raises(ParameterError, match="at least 3"):
        S.shapiro([1.0, 2.0])
    with pytest.raises(ParameterError, match="constant"):
        S.pearson([1, 1, 1, 1], [1, 2, 3, 4])
    with pytest.raises(ParameterError, match="tied"):
        S.wilcoxon_ranksum([2, 2, 2], [2, 2])
    with pytest.raises(ParameterError, match="one-dimensional"):
        S.kruskal(np.ones((2, 2)), [1, 2, 3])
    with pytest.raises(ParameterError, match="alternative"):
        S.mann_whitney_u([1, 2], [3, 4], alternative="bigger")
    with pytest.raises(ParameterError, match="infinite"):
        S.levene([1, 2, np.inf], [1, 2, 3])


# ----------------------------------------------------------------------------------- corrections
def test_corrections_match_statsmodels(rng):
    from statsmodels.stats.multitest import multipletests

    p = rng.uniform(0, 0.2, size=8)  # Sixt et al.: Holm over eight tests
    assert np.allclose(S.bonferroni(p), multipletests(p, method="bonferroni")[1])
    assert np.allclose(S.holm(p), multipletests(p, method="holm")[1])


def test_holm_hand_computed_monotone():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    assert np.allclose(S.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert np.allclose(S.bonferroni([0.01, 0.04, 0.3, 0.005]), [0.04, 0.16, 1.0, 0.02])
    with pytest.raises(ParameterError, match="NaN"):
        S.holm([0.1, np.nan])
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        S.bonferroni([0.1, 1.2])
    with pytest.raises(ParameterError, match="empty"):
        S.holm([])


# ----------------------------------------------------------------------------------------- power
def test_ttest_power_matches_statsmodels_and_gpower():
    from statsmodels.stats.power import TTestIndPower, TTestPower

    for d, n in ((0.5, 20), (0.3, 64), (0.8, 10)):
        assert S.power_ttest_ind(d, n) == pytest.approx(TTestIndPower().power(d, n, 0.05), rel=1e-7)
        assert S.power_ttest_paired(d, n) == pytest.approx(TTestPower().power(d, n, 0.05), rel=1e-7)
    # G*Power (exact noncentral t), d = 0.2, 0.5, 0.8 at 80 %: total 788, 128, 52 = 394, 64, 26 per group
    # (Cohen's 1988 Table 2.4.1 prints 393 for d = 0.2 from a normal approximation)
    assert [S.sample_size_ttest_ind(d) for d in (0.2, 0.5, 0.8)] == [394, 64, 26]
    # G*Power, t test for matched pairs, d_z = 0.5: 34 pairs
    assert S.sample_size_ttest_paired(0.5) == 34
    assert S.sample_size_ttest_ind(0.5, power=0.9) == math.ceil(TTestIndPower().solve_power(0.5, power=0.9, alpha=0.05))


def test_anova_power_matches_statsmodels_and_gpower():
    from statsmodels.stats.power import FTestAnovaPower

    assert S.power_anova(0.25, 4, 120) == pytest.approx(FTestAnovaPower().power(0.25, 120, 0.05, k_groups=4), rel=1e-7)
    # G*Power "ANOVA: fixed effects, omnibus, one-way", f = 0.25, 80 %: k = 3 -> 159, k = 4 -> 180 (equal groups)
    assert S.sample_size_anova(0.25, 3) == 159 and S.sample_size_anova(0.25, 4) == 180
    unequal = S.sample_size_anova(0.25, 4, equal_groups=False)
    assert unequal == math.ceil(FTestAnovaPower().solve_power(0.25, power=0.8, alpha=0.05, k_groups=4)) == 179


def test_two_proportions_match_statsmodels_and_cohen():
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = proportion_effectsize(0.65, 0.45)
    assert S.cohens_h(0.65, 0.45) == pytest.approx(h)
    assert S.power_two_proportions(0.65, 0.45, 50) == pytest.approx(NormalIndPower().power(h, 50, 0.05), rel=1e-9)
    assert S.sample_size_two_proportions(0.65, 0.45) == math.ceil(NormalIndPower().solve_power(h, power=0.8, alpha=0.05))
    # Cohen (1988) Table 6.4.1: h = 0.2 / 0.5 / 0.8 at 80 % need 392 / 63 / 25 per group
    for p_h, n in ((0.2, 393), (0.5, 63), (0.8, 25)):  # h = 0.2: 392.4 -> 393 when rounded up
        p1 = math.sin((2 * math.asin(math.sqrt(0.3)) + p_h) / 2) ** 2  # p1 with h(p1, 0.3) = p_h
        assert S.sample_size_two_proportions(p1, 0.3) == n


def test_mcnemar_sample_size_published_examples():
    # Connor (1987) formula as worked in powerandsamplesize.com (McNemar Z-test, 2-sided): p01 = .45, p10 = .05 -> 23
    assert S.sample_size_mcnemar(0.45, 0.05) == 23
    # clinicaltrials-tools McNemar calculator (Connor 1987): discordant share .45, odds ratio 2 -> 155 pairs
    assert S.sample_size_mcnemar(0.30, 0.15) == 155
    # hand: p01 = .2, p10 = .1: (1.959964*sqrt(.3) + 0.841621*sqrt(.29))^2 / .01 = 233.1 -> 234
    assert S.sample_size_mcnemar(0.2, 0.1) == 234
    assert S.power_mcnemar(0.30, 0.15, 155) >= 0.8 > S.power_mcnemar(0.30, 0.15, 154)


def test_exact_mcnemar_power_against_simulation():
    rng = np.random.default_rng(7)
    n, p01, p10, reps = 60, 0.30, 0.10, 20000
    counts = rng.multinomial(n, [p01, p10, 1 - p01 - p10], size=reps)
    b, c = counts[:, 0], counts[:, 1]
    m = b + c
    p = np.minimum(1, 2 * sps.binom.cdf(np.minimum(b, c), np.maximum(m, 1), 0.5))
    sim = np.mean((m > 0) & (p <= 0.05))
    exact = S.power_mcnemar(p01, p10, n, method="exact")
    assert exact == pytest.approx(sim, abs=4 * math.sqrt(sim * (1 - sim) / reps))
    n_exact = S.sample_size_mcnemar(p01, p10, method="exact")
    assert S.power_mcnemar(p01, p10, n_exact, method="exact") >= 0.8
    assert all(S.power_mcnemar(p01, p10, k, method="exact") < 0.8 for k in range(1, n_exact))


def test_power_curve_and_errors():
    curve = S.power_curve("ttest_ind", 0.5, [10, 20, 40, 64])
    assert list(curve.columns) == ["n", "power"] and curve["power"].is_monotonic_increasing
    assert curve["power"].iloc[-1] == pytest.approx(S.power_ttest_ind(0.5, 64))
    anova = S.power_curve("anova", 0.25, [60, 120], k=3)
    assert anova["power"].iloc[1] == pytest.approx(S.power_anova(0.25, 3, 120))
    mc = S.power_curve("mcnemar", (0.3, 0.15), [155])
    assert mc["power"].iloc[0] == pytest.approx(S.power_mcnemar(0.3, 0.15, 155))
    with pytest.raises(ParameterError, match="k="):
        S.power_curve("anova", 0.25, [60])
    with pytest.raises(ParameterError, match="kind"):
        S.power_curve("chi2", 0.25, [60])
    with pytest.raises(ParameterError, match="non-zero"):
        S.sample_size_ttest_ind(0.0)
    with pytest.raises(ParameterError, match="power"):
        S.sample_size_ttest_paired(0.5, power=1.2)
    with pytest.raises(ParameterError, match="no effect"):
        S.sample_size_mcnemar(0.1, 0.1)


# ---------------------------------------------------------------------------------------- reweight
def test_bin_edges_follow_nguyen2021():
    # Sec. 2.4.3: low = [0, 0.3), medium = [0.4, 0.6), high = [0.8, 1.0]; others belong to no bin
    conf = [0.0, 0.29, 0.3, 0.35, 0.4, 0.59, 0.6, 0.79, 0.8, 1.0, 0.1, 0.5, 0.9]
    corr = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    labels = S.assign_bins(conf, corr).tolist()
    assert labels == ["hard_correct", "hard_correct", None, None, "medium_correct", "medium_correct", None, None,
                      "easy_correct", "easy_correct", "easy_wrong", "medium_wrong", "hard_wrong"]


def test_bin_shares_counts_binned_images_only():
    conf = np.array([0.9] * 6 + [0.1] * 2 + [0.5] * 1 + [0.95] * 1 + [0.7] * 5)
    corr = np.array([1] * 6 + [0] * 2 + [1] * 1 + [0] * 1 + [1] * 5)
    table = S.bin_shares(conf, corr).set_index("bin")
    assert table.attrs == {"n_images": 15, "n_unbinned": 5}
    assert table.loc["easy_correct", "n"] == 6 and table.loc["easy_correct", "share"] == pytest.approx(0.6)
    assert table.loc["hard_wrong", "share"] == pytest.approx(0.1) and table.loc["hard_correct", "n"] == 0
    assert table["share"].sum() == pytest.approx(1.0)


def test_reweight_accuracy_hand_computed():
    # Table A1 ImageNet "Confidence" row (%) reweighted by illustrative shares:
    acc = {"easy_correct": 92.23, "easy_wrong": 78.64, "medium_correct": 88.78, "medium_wrong": 59.22,
           "hard_correct": 75.51, "hard_wrong": 43.16}
    share = {"easy_correct": 0.70, "easy_wrong": 0.05, "medium_correct": 0.10, "medium_wrong": 0.08,
             "hard_correct": 0.04, "hard_wrong": 0.03}
    # 0.70*92.23 + 0.05*78.64 + 0.10*88.78 + 0.08*59.22 + 0.04*75.51 + 0.03*43.16
    # = 64.561 + 3.932 + 8.878 + 4.7376 + 3.0204 + 1.2948 = 86.4238
    assert S.reweight_accuracy(acc, share) == pytest.approx(86.4238)
    assert S.reweight_accuracy(acc, {k: 100 * v for k, v in share.items()}) == pytest.approx(86.4238)  # in %
    equal = {k: 1 / 6 for k in acc}
    assert S.reweight_accuracy(acc, equal) == pytest.approx(np.mean(list(acc.values())))
    with pytest.raises(ParameterError, match="bins differ"):
        S.reweight_accuracy(acc, {k: v for k, v in share.items() if k != "hard_wrong"})
    with pytest.raises(ParameterError, match="sum to"):
        S.reweight_accuracy(acc, {k: 2 * v for k, v in share.items()}, normalize=False)


def test_reweight_accepts_bin_shares_table():
    conf = np.array([0.9, 0.9, 0.9, 0.1, 0.5, 0.5, 0.2, 0.85])
    corr = np.array([1, 1, 1, 0, 1, 0, 1, 0])
    table = S.bin_shares(conf, corr)
    acc = dict(zip(table["bin"], [1.0, 0.5, 0.8, 0.6, 0.4, 0.2]))
    expected = (3 * 1.0 + 1 * 0.5 + 1 * 0.8 + 1 * 0.6 + 1 * 0.4 + 1 * 0.2) / 8
    assert S.reweight_accuracy(acc, table) == pytest.approx(expected)
    with pytest.raises(ParameterError, match="same length"):
        S.bin_shares(conf, corr[:-1])
    with pytest.raises(ParameterError, match="NaN"):
        S.bin_shares([np.nan, 0.5], [1, 0])
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        S.bin_shares([1.5, 0.5], [1, 0])
