"""Im, Andreas & Zhou 2023 (arXiv 2312.06032): do saliency maps help people develop models?

The chapter's API (chapter 4). Only a summary of the paper is public, so today the chapter
tells the study, charts its design and computes, as our own analysis, the power that design
had; the package composes, the mechanics live in ``stats`` and ``viz``:

* :mod:`.published`: the summary's design and findings (``data/published``) and their ledger
  claims; :mod:`.power`: the power of the comparisons the design supports;
* :mod:`.figures`: every chart; :mod:`.report`: the generated sentences.

The coming rebuild adds ``pipeline.py`` (the Visual Genome task, the correctly and wrongly
labelled training sets, the two models, SmoothGrad, Grad-CAM and oracle maps, and the stimuli of
both tasks in every condition) and ``human.py`` (answers in the trial schema, human or
simulated, and their analysis).
"""
from .figures import design_chart, power_chart, size_chart
from .power import anova_f, comparisons, minimum_detectable_effect, power_by_effect, power_by_size, power_table
from .published import (ACCESS, EXPLANATIONS, STUDY, published_conditions, published_design, published_findings,
                        record_design)
from .report import allocation_sentence, reading_sentence

__all__ = [
    "ACCESS", "EXPLANATIONS", "STUDY", "allocation_sentence", "anova_f", "comparisons", "design_chart",
    "minimum_detectable_effect", "power_by_effect", "power_by_size", "power_chart", "power_table",
    "published_conditions", "published_design", "published_findings", "reading_sentence", "record_design",
    "size_chart",
]
