"""Statistics of the five studies: hypothesis tests with effect sizes, multiple-comparison corrections,
power and sample sizes, and Nguyen et al.'s (2021, appendix A1) reweighting of per-bin accuracies.

    from xaibook import stats
    stats.mann_whitney_u(acc_nn, acc_gradcam).summary()
"""
from __future__ import annotations

from .corrections import bonferroni, holm
from .power import (cohens_h, power_anova, power_curve, power_mcnemar, power_ttest_ind, power_ttest_paired,
                    power_two_proportions, sample_size_anova, sample_size_mcnemar, sample_size_ttest_ind,
                    sample_size_ttest_paired, sample_size_two_proportions)
from .reweight import NGUYEN_BINS, ConfidenceBin, assign_bins, bin_shares, reweight_accuracy
from .tests import (TestResult, anova_from_summary, anova_hc3, anova_oneway, anova_twoway, anova_welch, kruskal,
                    levene, mann_whitney_u, mcnemar_exact, mcnemar_exact_from_pairs, pearson, shapiro, ttest_from_summary,
                    ttest_ind, ttest_paired_from_summary, ttest_rel, wilcoxon_ranksum)

__all__ = [
    "TestResult", "mann_whitney_u", "wilcoxon_ranksum", "ttest_ind", "ttest_rel", "ttest_from_summary",
    "ttest_paired_from_summary", "anova_oneway", "anova_welch", "anova_from_summary", "anova_twoway", "anova_hc3",
    "shapiro", "levene", "kruskal", "mcnemar_exact", "mcnemar_exact_from_pairs", "pearson",
    "bonferroni", "holm",
    "power_ttest_ind", "sample_size_ttest_ind", "power_ttest_paired", "sample_size_ttest_paired", "power_anova",
    "sample_size_anova", "cohens_h", "power_two_proportions", "sample_size_two_proportions", "power_mcnemar",
    "sample_size_mcnemar", "power_curve",
    "ConfidenceBin", "NGUYEN_BINS", "assign_bins", "bin_shares", "reweight_accuracy",
]
