"""Sixt, Schuessler, Popescu, Weiß & Landgraf 2022 (ICLR): do users benefit from interpretable vision?

The chapter's API (chapter 5). The study package composes; the mechanics live in ``world``
(Two4Two, importance, observer), ``models.glow``, ``explain`` (counterfactuals, concepts),
``stats`` and ``viz``:

* :mod:`.published`: the paper's numbers (``data/published``), what they allow to recompute
  (implied counts, McNemar over every pairing, Fisher per attribute, replication sizes), and
  their ledger claims;
* :mod:`.pipeline`: the scale's :class:`SixtPlan` and the rebuilt steps (data set, INN,
  importance, baseline grid, counterfactuals, concepts, observer, interpolations);
* :mod:`.compare`: our results beside the paper's, and their ledger claims;
* :mod:`.figures`: every chart and picture; :mod:`.report`: the generated sentences;
* :mod:`.screens`: the study's screens as a trial manifest (:func:`trial_manifest`);
  :func:`.pipeline.run_pipeline` runs every rebuilt step and writes the ledger.
"""
from .compare import (model_summary, importance_comparison, observer_change_table, observer_error_table,
                      record_concepts, record_importance, record_interpolations, record_model, record_observer)
from .figures import (baseline_figure, concepts_figure, counterfactual_figure, gallery_figure,
                      importance_chart, importance_comparison_chart, joint_distribution_chart, observer_chart,
                      published_accuracy_chart, replication_power_chart)
from .pipeline import (CF_TOLERANCE, COLUMNS, TABLE1_FACTORS, SixtPlan, baseline_grid, column_targets,
                       concept_layer, concepts, counterfactual_grid, dataset_images, dataset_params, importance,
                       interpolations, logit_edges, observer, observer_data, plan, sizes, test_accuracy,
                       test_logits, run_pipeline, timings, train_model, train_observer, trained_model)
from .published import (ATTRIBUTES, CONDITIONS, RELEVANT, STUDY, attribute_comparisons, counts, fisher_exact,
                        paired_tables, paper_setting, published_accuracy, published_importance, published_tests,
                        pvalue_floor, r_to_d, record_attribute_tests, record_mcnemar,
                        record_study2_tests_not_recomputable, record_table2, replication_sample_sizes,
                        study1_mcnemar_range, study1_mcnemar_summary, study2_overall, study_code)
from .screens import answer_key, trial_manifest
from .report import (attribute_sentence, background_sentence, closing_summary, concepts_sentence,
                     counterfactual_sentence, importance_sentence, mcnemar_sentence, model_sentence,
                     observer_sentence, overall_sentence, replication_sentence)

__all__ = [
    "ATTRIBUTES", "CF_TOLERANCE", "answer_key", "run_pipeline", "trial_manifest", "COLUMNS", "CONDITIONS", "RELEVANT", "STUDY", "TABLE1_FACTORS", "SixtPlan",
    "attribute_comparisons", "attribute_sentence", "background_sentence", "baseline_figure", "baseline_grid",
    "closing_summary", "column_targets", "concept_layer", "concepts", "concepts_figure", "concepts_sentence",
    "counterfactual_figure", "counterfactual_grid", "counterfactual_sentence", "counts", "dataset_images",
    "dataset_params", "fisher_exact", "gallery_figure", "importance", "importance_chart", "importance_comparison",
    "importance_comparison_chart", "importance_sentence", "interpolations", "joint_distribution_chart",
    "logit_edges", "mcnemar_sentence", "model_sentence", "model_summary", "observer", "observer_change_table",
    "observer_chart", "observer_data", "observer_error_table", "observer_sentence", "overall_sentence", "paired_tables",
    "paper_setting", "plan", "published_accuracy", "published_accuracy_chart", "published_importance",
    "published_tests", "pvalue_floor", "r_to_d", "record_attribute_tests", "record_concepts", "record_importance",
    "record_interpolations", "record_mcnemar", "record_model", "record_observer",
    "record_study2_tests_not_recomputable", "record_table2", "replication_power_chart",
    "replication_sample_sizes", "replication_sentence", "sizes", "study1_mcnemar_range",
    "study1_mcnemar_summary", "study2_overall", "study_code", "test_accuracy", "test_logits", "timings",
    "train_model", "train_observer", "trained_model",
]
