"""Alqaraawi et al. 2020 (IUI): can people forecast a CNN's output better with LRP saliency maps?

The chapter's API (chapter 3). Today the chapter tells the study and reanalyses its published
summaries; the package composes, the mechanics live in ``stats`` and ``viz``:

* :mod:`.published`: the paper's numbers (``data/published``), what they allow to recompute
  (the saliency-map effect from the marginal means, whole counts of forecasts, consistency
  across sections, replication sizes), and their ledger claims;
* :mod:`.figures`: every chart; :mod:`.report`: the generated sentences.

The rebuilt computational side (issue 13):

* :mod:`.data`: the splits, from the offline scenes or PASCAL VOC;
* :mod:`.pipeline`: the plan by scale, the VGG classifier, AP per split, F1 thresholds and
  outcomes, the task images, :func:`~.pipeline.materials` and :func:`~.pipeline.run_pipeline`;
* :mod:`.explanations`: example images (nearest, random, k-centre), LRP maps, relevance mass;
* :mod:`.screens`: the screens of the 2x2 design and :func:`trial_manifest`;
* :mod:`.claims`: the pipeline's ledger claims; :mod:`.model_figures`: its figures.
"""
from .figures import anova_chart, means_chart, outcome_chart, power_chart
from .published import (OUTCOME_TYPES, OUTCOMES, STUDY, TERMS, consistency_checks, effect_ranges, implied_count,
                        implied_counts, marginal_means, outcome_table, published_descriptives, published_design,
                        published_outcomes, published_tests, recompute_saliency_effect, record_consistency,
                        record_counts, record_effect, record_unrecomputed, replication_sample_sizes)
from .report import effect_sentence, replication_sentence
from .screens import trial_manifest

__all__ = [
    "OUTCOMES", "OUTCOME_TYPES", "STUDY", "TERMS", "anova_chart", "consistency_checks", "effect_ranges",
    "effect_sentence", "implied_count", "implied_counts", "marginal_means", "means_chart", "outcome_chart",
    "outcome_table", "power_chart", "published_descriptives", "published_design", "published_outcomes",
    "published_tests", "recompute_saliency_effect", "record_consistency", "record_counts", "record_effect",
    "record_unrecomputed", "replication_sample_sizes", "replication_sentence", "trial_manifest",
]
