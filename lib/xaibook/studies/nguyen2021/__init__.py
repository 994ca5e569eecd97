"""Nguyen, Kim & Nguyen 2021 (NeurIPS): do attribution maps help a human-AI team classify images?

The chapter's API; the package composes, the mechanics live in world/explain/metrics/stats/viz.

* :mod:`.human`: the original Gorilla exports (:mod:`xaibook.data.gorilla`), the paper's
  exclusion rule and summaries; :mod:`.published`: the paper's numbers (``data/published``)
  and ours beside them; :mod:`.claims`: the chapter's reproduction-ledger claims.
* The stimulus pipeline (Sec. 2.2-2.5, appendix A1, A6, A7), one function per step, on the
  image source of :mod:`xaibook.data.sources` (the offline zoo by default, ImageNet when
  ``<XAIBOOK_DATA>/imagenet`` exists)::

    p = plan()                                          # sizes at the run's scale (.pipeline)
    clf = classifier(p)                                 # 1 ResNet (zoo) / torchvision ResNet-34
    pool = image_pool(clf, "ImageNet", p)               # 2 filtered images + predictions
    bin_distribution({"ImageNet": pool})                #   real shares of the six bins (A1, A7)
    natural = select_natural(pool, p.per_bin)           #   the controlled trial set
    ai_only(pool)                                       # 3 confidence-threshold sweep (A6)
    adv = adversarial_set(clf, pool, natural, p)        # 4 PGD + JPEG, still misclassified, E/M/H
    trials = trial_set(clf, pool, natural, adv)
    expl = explain_trials(clf, trials, pool, p)         # 5 GradCAM, EP, SOD, 3-NN (.explanations)
    export_stimuli({"ImageNet": (trials, expl)})        #   screens + one manifest CSV
    trial_manifest(out)                                 #   steps 1-5, the screens written into out
    localisation_scores(trials, expl)                   # 6 pointing game, IoU, WSL (.localisation)
    gallery(p)                                          # 7 EfficientNet-Lite0 on real photos

* ``pipeline.run_pipeline()`` runs every step at the run's scale, records the pipeline's
  ledger claims and returns the per-step timings.
* :mod:`.figures`: every chart and picture; :mod:`.cli`:
  ``python -m xaibook.studies.nguyen2021 summarize PATH`` prints the per-method summary as CSV.
"""
from __future__ import annotations

from .human import (
    METHODS, DATASETS, EXPORTS_FOLDER, HOW_TO_GET, VALIDATION_THRESHOLD, exports_dir, load_human,
    exports_status, find_bad_user_lists, validation_scores, apply_exclusion, user_accuracy, method_summary,
    known_unknown, acceptance_rates, difficulty_accuracy, bin_accuracy, method_tests, human_image_accuracy)
from .published import (
    published_accuracy, published_trial_counts, coverage, compare_with_published, comparison_view, agreement,
    compare_breakdowns, classifier_summary, bins_vs_paper, reweighted_published, ai_only_table, ai_only_best,
    correlations_vs_paper, coverage_sentence)
from .pipeline import (
    train_classifier, SOURCES, BIN_ORDER, ADVERSARIAL_BANDS, PGD_EPS, PGD_STEP, ORIGINAL_SIDE, GALLERY_PHOTOS, MAP_METHODS,
    timings, Plan, data_source, plan, classifier, image_pool, bin_distribution, select_natural,
    selection_summary, ai_only, Adversarial, adversarial_band, adversarial_set, adversarial_summary, TrialSet,
    trial_set, Classifier, Pool, ZOO_KNOBS, zoo_resnet)
from .explanations import (
    explain_ep_part, Explanations, ep_area_table, ep_area_summary, MapSet, explain_maps, explain_trials,
    export_stimuli, trial_manifest)
from .localisation import (
    METRIC_COLUMNS, localisation_scores, metric_summary, metric_correlations, human_seen_images,
    human_correlations)
from .gallery import (
    Gallery, gallery)
from .figures import (
    published_accuracy_chart, published_bins_chart, reanalysis_chart, confidence_chart, ai_only_chart,
    stimulus_sheet, metrics_chart, gallery_figure, ep_area_chart)
from .claims import (
    record_human_claims, record_classifier_claims, record_bin_claims, record_reweighting_claims,
    record_ai_only_claims, record_correlation_claims, record_ep_area_claims)
from .cli import (
    SUMMARY_COLUMNS, summarize, format_summary, main)

__all__ = [
    "train_classifier",
    "explain_ep_part",
    "METHODS", "DATASETS", "EXPORTS_FOLDER", "HOW_TO_GET", "VALIDATION_THRESHOLD", "exports_dir", "load_human",
    "exports_status", "find_bad_user_lists", "validation_scores", "apply_exclusion", "user_accuracy",
    "method_summary", "known_unknown", "acceptance_rates", "difficulty_accuracy", "bin_accuracy",
    "method_tests", "human_image_accuracy", "published_accuracy", "published_trial_counts", "coverage",
    "compare_with_published", "comparison_view", "agreement", "compare_breakdowns", "classifier_summary",
    "bins_vs_paper", "reweighted_published", "ai_only_table", "ai_only_best", "correlations_vs_paper",
    "coverage_sentence", "SOURCES", "BIN_ORDER", "ADVERSARIAL_BANDS", "PGD_EPS", "PGD_STEP", "ORIGINAL_SIDE",
    "GALLERY_PHOTOS", "MAP_METHODS", "timings", "Plan", "data_source", "plan", "classifier", "image_pool",
    "bin_distribution", "select_natural", "selection_summary", "ai_only", "Adversarial", "adversarial_band",
    "adversarial_set", "adversarial_summary", "TrialSet", "trial_set", "Classifier", "Pool", "ZOO_KNOBS",
    "zoo_resnet", "Explanations", "ep_area_table", "ep_area_summary", "trial_manifest", "MapSet",
    "explain_maps", "explain_trials", "export_stimuli",
    "METRIC_COLUMNS", "localisation_scores", "metric_summary", "metric_correlations", "human_seen_images",
    "human_correlations", "Gallery", "gallery", "published_accuracy_chart", "published_bins_chart",
    "reanalysis_chart", "confidence_chart", "ai_only_chart", "stimulus_sheet", "metrics_chart",
    "gallery_figure", "ep_area_chart", "record_human_claims", "record_classifier_claims", "record_bin_claims",
    "record_reweighting_claims", "record_ai_only_claims", "record_correlation_claims", "record_ep_area_claims",
    "SUMMARY_COLUMNS",
    "summarize", "format_summary", "main"
]
