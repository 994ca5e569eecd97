"""Shen & Huang 2020 (HCOMP): do saliency maps help people guess a classifier's wrong label?

The chapter's API (chapter 2). Today the chapter tells the study and reanalyses its published
numbers; the package composes, the mechanics live in ``stats`` and ``viz``:

* :mod:`.published`: the paper's numbers (``data/published``), what they allow to recompute
  (consistency of the tables, shares of whole answers, the spread each star implies,
  replication sizes), and their ledger claims;
* :mod:`.figures`: every chart; :mod:`.report`: the generated sentences.

The coming rebuild adds ``pipeline.py`` (the classifier, its misclassified images, the five
maps per image and the stimuli of both experiments) and ``human.py`` (answers in the trial
schema, human or simulated, and their analysis beside the paper's).
"""
from .figures import accuracy_chart, sample_size_chart, sd_bounds_chart
from .published import (CATEGORIES, CONDITIONS, STUDY, binomial_reference_sd, design_check, granularity_check,
                        overall_check, paired_table, published_accuracy, published_comparisons, published_design,
                        record_design, record_granularity, record_overall, record_stars, replication_sample_sizes,
                        sd_bounds, workers_per_image)
from .report import bounds_sentence, granularity_sentence, overall_sentence, replication_sentence

__all__ = [
    "CATEGORIES", "CONDITIONS", "STUDY", "accuracy_chart", "binomial_reference_sd", "bounds_sentence",
    "design_check", "granularity_check", "granularity_sentence", "overall_check", "overall_sentence",
    "paired_table", "published_accuracy", "published_comparisons", "published_design", "record_design",
    "record_granularity", "record_overall", "record_stars", "replication_sample_sizes", "replication_sentence",
    "sample_size_chart", "sd_bounds", "sd_bounds_chart", "workers_per_image",
]
