"""Shen & Huang 2020 (HCOMP): do saliency maps help people guess a classifier's wrong label?

The chapter's API (chapter 2). The package composes; the mechanics live in ``world``,
``explain``, ``stimuli``, ``stats`` and ``viz``:

* :mod:`.pipeline`: the plan by scale, the classifier, the misclassified pool and the two
  experiments, :func:`run_pipeline` (every step, cached and timed); :mod:`.data`: the zoo with
  its error-cause knobs or ImageNet val with ResNet-50;
* :mod:`.categories`: C1-C5 from ground truth, the published mix's chi-square tests and
  reweighting; :mod:`.explanations`: EP, Grad-CAM, SmoothGrad and the gradient of the wrong
  prediction; :mod:`.task`: answer options and the guessability baseline; :mod:`.screens`:
  the six-panel screens and their manifest;
* :mod:`.published`: the paper's numbers and what they allow to recompute; :mod:`.figures`
  every chart; :mod:`.report` the generated sentences.
"""
from __future__ import annotations

from pathlib import Path

from .categories import (CATS, beside_paper, ground_truth, mix_tests, published_counts, record_accuracy,
                         record_shares, reweighted_gap, shares)
from .data import TEST_KNOBS, TRAIN_KNOBS, class_embedding
from .explanations import explain_trials, explained, reached_areas, record_areas
from .figures import (accuracy_chart, area_chart, gallery_figure, guessability_chart, sample_size_chart,
                      sd_bounds_chart, shares_chart)
from .pipeline import (CODE_AREAS, PAPER_AREAS, Plan, classifier, data_source, labelled_images, misclassified_pool,
                       plan, released_draw, run_pipeline, sample_experiments, timings)
from .published import (CATEGORIES, CONDITIONS, STUDY, binomial_reference_sd, design_check, granularity_check,
                        overall_check, paired_table, published_accuracy, published_comparisons, published_design,
                        record_design, record_granularity, record_overall, record_stars, replication_sample_sizes,
                        sd_bounds, workers_per_image)
from .report import (areas_sentence, bounds_sentence, closing_note, granularity_sentence, guessability_sentence, mix_sentence,
                     overall_sentence, pool_sentence, replication_sentence, shares_sentence)
from .task import answer_options, guessability, guessability_table, record_guessability


def trial_manifest(out: str | Path) -> Path:
    """Write the Int and No-Int screens of both experiments (options in shown order, answer key)
    into the folder ``out`` through :func:`xaibook.stimuli.write_manifest`, at ``config.scale()``
    through the cache; returns the manifest CSV's path."""
    from . import data, screens

    p = plan()
    clf = classifier(p)
    lab = labelled_images(clf, p)
    trials = sample_experiments(misclassified_pool(clf, lab, p), p)
    expl = explain_trials(clf, lab, trials, p)
    opts = answer_options(clf, trials, data.side(p.source).families(clf), p)
    return screens.write_manifest(out, clf, lab, trials, expl, opts)


__all__ = [
    "CATEGORIES", "CATS", "CODE_AREAS", "CONDITIONS", "PAPER_AREAS", "Plan", "STUDY", "TEST_KNOBS", "TRAIN_KNOBS",
    "accuracy_chart", "answer_options", "area_chart", "areas_sentence", "beside_paper", "binomial_reference_sd",
    "bounds_sentence", "class_embedding", "closing_note", "classifier", "data_source", "design_check", "explain_trials", "explained",
    "gallery_figure", "granularity_check", "granularity_sentence", "ground_truth", "guessability",
    "guessability_chart", "guessability_sentence", "guessability_table", "labelled_images", "misclassified_pool",
    "mix_sentence", "mix_tests", "overall_check", "overall_sentence", "paired_table", "plan", "pool_sentence",
    "published_accuracy", "published_comparisons", "published_counts", "published_design", "reached_areas",
    "record_accuracy", "record_areas", "record_design", "record_granularity", "record_guessability",
    "record_overall", "record_shares", "record_stars", "released_draw", "replication_sample_sizes",
    "replication_sentence", "reweighted_gap", "run_pipeline", "sample_experiments", "sample_size_chart",
    "sd_bounds", "sd_bounds_chart", "shares", "shares_chart", "shares_sentence", "timings", "trial_manifest",
    "workers_per_image",
]
