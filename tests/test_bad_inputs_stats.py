"""Statistics refuse degenerate input with a ParameterError that names the argument.

Before these checks a constant outcome gave F = 0.727 and eta2 = inf from the two-way ANOVA, a NaN
mean gave a NaN t, and ``n1=nan`` raised a bare ValueError from ``int()``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xaibook import stats as S
from xaibook.errors import ParameterError

NAN, INF = math.nan, math.inf


def _design(y) -> pd.DataFrame:
    """2 x 2 design, 3 rows per cell, outcome ``acc``."""
    return pd.DataFrame({"acc": y, "saliency": ["on", "off"] * 6, "scores": ["yes"] * 6 + ["no"] * 6})


CONSTANT = _design([0.5] * 12)
CONSTANT_IN_CELLS = _design([1.0, 2.0] * 3 + [3.0, 4.0] * 3)   # each cell constant, the cells differ
ONE_IN_A_CELL = pd.DataFrame({"acc": [0.1, 0.4, 0.3, 0.9, 0.2, 0.7, 0.5],
                              "saliency": ["on", "on", "off", "off", "on", "off", "on"],
                              "scores": ["yes", "yes", "yes", "yes", "no", "no", "no"]})  # (off, no) holds one


@pytest.mark.parametrize("call,name", [
    # ANOVAs on a degenerate outcome
    (lambda: S.anova_twoway(CONSTANT, "acc", "saliency", "scores"), "'acc'"),
    (lambda: S.anova_hc3(CONSTANT, "acc", "saliency", "scores"), "'acc'"),
    (lambda: S.anova_hc3(CONSTANT, "acc", "saliency"), "'acc'"),
    (lambda: S.anova_twoway(CONSTANT_IN_CELLS, "acc", "saliency", "scores"), "'acc'"),
    (lambda: S.anova_twoway(ONE_IN_A_CELL, "acc", "saliency", "scores"), "saliency=off"),
    (lambda: S.anova_hc3(ONE_IN_A_CELL, "acc", "saliency", "scores", typ=3), "'acc'"),
    # unpaired t from summaries
    (lambda: S.ttest_from_summary(NAN, 1.0, 10, 0.5, 1.0, 10), "mean1"),
    (lambda: S.ttest_from_summary(0.5, 1.0, 10, INF, 1.0, 10), "mean2"),
    (lambda: S.ttest_from_summary(0.5, INF, 10, 0.4, 1.0, 10), "sd1"),
    (lambda: S.ttest_from_summary(0.5, 1.0, 10, 0.4, NAN, 10), "sd2"),
    (lambda: S.ttest_from_summary(0.5, 1.0, 10, 0.4, -0.2, 10), "sd2"),
    (lambda: S.ttest_from_summary(0.5, 1.0, NAN, 0.4, 1.0, 10), "n1"),
    (lambda: S.ttest_from_summary(0.5, 1.0, 10, 0.4, 1.0, 10.5), "n2"),
    (lambda: S.ttest_from_summary(0.5, 1.0, 0, 0.4, 1.0, 10), "n1"),
    (lambda: S.ttest_from_summary("0.5", 1.0, 10, 0.4, 1.0, 10), "mean1"),
    # paired t from summaries
    (lambda: S.ttest_paired_from_summary(NAN, 1.0, 10), "mean_diff"),
    (lambda: S.ttest_paired_from_summary(0.3, INF, 10), "sd_diff"),
    (lambda: S.ttest_paired_from_summary(0.3, 1.0, NAN), "n (pairs)"),
    (lambda: S.ttest_paired_from_summary(0.3, 1.0, 10.5), "n (pairs)"),
    # one-way ANOVA from summaries
    (lambda: S.anova_from_summary([0.5, INF], [1.0, 1.0], [10, 10]), "means"),
    (lambda: S.anova_from_summary([0.5, 0.6], [1.0, NAN], [10, 10]), "sds"),
    (lambda: S.anova_from_summary([0.5, 0.6], [1.0, 1.0], [NAN, 10]), "ns"),
    (lambda: S.anova_from_summary([0.5, 0.6], [1.0, -1.0], [10, 10]), "sds"),
    # power and sample sizes
    (lambda: S.power_ttest_ind(0.5, NAN), "n_per_group"),
    (lambda: S.power_ttest_ind(0.5, 20.5), "n_per_group"),
    (lambda: S.power_ttest_ind("big", 20), "d"),
    (lambda: S.power_ttest_paired(0.5, INF), "n (pairs)"),
    (lambda: S.power_anova(0.25, 3.5, 60), "k (groups)"),
    (lambda: S.power_anova(0.25, 3, NAN), "n_total"),
    (lambda: S.sample_size_anova(0.25, NAN), "k (groups)"),
    (lambda: S.power_two_proportions(0.5, 0.7, NAN), "n_per_group"),
    (lambda: S.power_mcnemar(0.3, 0.1, NAN), "n (pairs)"),
    (lambda: S.power_curve("ttest_ind", 0.5, [10, NAN]), "ns[1]"),
    (lambda: S.power_curve("ttest_paired", 0.5, [10, 12.5]), "ns[1]"),
    (lambda: S.cohens_h("half", 0.5), "p1"),
    (lambda: S.power_ttest_ind(0.5, 20, alpha="0.05"), "alpha"),
    # other tests' options
    (lambda: S.mann_whitney_u([1, 2, 3], [4, 5, 6], method="fast"), "method"),
    (lambda: S.wilcoxon_ranksum([1, 2, 3], [4, 5, 6], method="fast"), "method"),
    (lambda: S.mcnemar_exact(3, 5, n_pairs=NAN), "n_pairs"),
    (lambda: S.mcnemar_exact(3, 5, n_pairs=4), "n_pairs"),
    (lambda: S.pearson([1, 2, 3], [1, 3, 2], confidence=5), "confidence"),
    # reweighting
    (lambda: S.reweight_accuracy({"easy_correct": "high"}, {"easy_correct": 1.0}), "bin_accuracy"),
    (lambda: S.assign_bins(["0.9", "x"], [True, False]), "confidences"),
])
def test_degenerate_input_raises_parameter_error_naming_it(call, name):
    with pytest.raises(ParameterError) as err:
        call()
    assert name in str(err.value)


def test_valid_inputs_still_work():
    """The checks accept what the studies pass: numpy integers, integer-valued floats, zero SD in one group."""
    res = S.ttest_from_summary(np.float64(0.7), 0.1, np.int64(20), 0.6, 0.0, 20.0)
    assert res.df == 38 and math.isfinite(res.statistic)
    assert S.power_curve("anova", 0.25, np.array([30, 60]), k=np.int64(3))["power"].is_monotonic_increasing
    ok = _design([0.1, 0.4, 0.3, 0.9, 0.2, 0.7, 0.5, 0.6, 0.8, 0.3, 0.2, 0.4])
    assert np.isfinite(S.anova_twoway(ok, "acc", "saliency", "scores")["F"].iloc[:3]).all()
