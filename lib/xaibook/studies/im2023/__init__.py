"""Im, Andreas & Zhou 2023 (arXiv 2312.06032): do saliency maps help people develop models?

The chapter's API (chapter 4). Only a summary of the paper is public, so the chapter rebuilds the
study as a reconstruction whose every open choice is stated (:mod:`.choices`). The package
composes; the mechanics live in ``world`` (scenes, blur), ``models`` (paired training),
``explain``, ``metrics``, ``stimuli``, ``stats`` and ``viz``:

* :mod:`.published`: the summary's design and findings (``data/published``) and their claims;
  :mod:`.power`: the power of the comparisons the design supports;
* :mod:`.data` and :mod:`.pipeline`: the binary task and its two label sets (offline scenes or
  Visual Genome), the scale's :class:`Plan`, the baseline/mislabeled model pairs
  (:func:`model_pair`, reusable with any seed and confuser), their accuracy and agreement;
  :func:`run_pipeline` runs every step;
* :mod:`.tasks`: SmoothGrad, Grad-CAM and oracle maps, blur calibration and flips, the items of
  both tasks, the maps' mass on the car; :mod:`.screens`: the seven conditions' screens
  (:func:`trial_manifest`);
* :mod:`.claims`: the pipeline's ledger claims; :mod:`.choices`: "what the paper says / what we
  chose / why";
* :mod:`.figures`, :mod:`.pictures`: every chart and picture; :mod:`.report`: generated sentences.
"""
from .choices import CHOICES, choices_table
from .claims import (oracle_rule, record_all, record_flips, record_items, record_labels, record_mass, record_models,
                     record_oracle, record_screens)
from .data import CONFUSER, POSITIVE, TaskData, labels
from .figures import calibration_chart, design_chart, flip_chart, mass_chart, power_chart, size_chart
from .pictures import blur_figure, data_figure, maps_figure, selection_figure
from .pipeline import (METHODS, Plan, data_source, evaluate, margins, model_pair, model_pairs, model_table, plan,
                       run_pipeline, split, task2_pair, timings)
from .power import anova_f, comparisons, minimum_detectable_effect, power_by_effect, power_by_size, power_table
from .published import (ACCESS, EXPLANATIONS, STUDY, published_conditions, published_design, published_findings,
                        record_design)
from .report import (allocation_sentence, calibration_sentence, closing_sentence, mass_sentence, models_sentence,
                     oracle_sentence, reading_sentence, selection_sentence)
from .screens import trial_manifest
from .tasks import calibration, counterfactual_items, explain, flip_table, mask_mass, selection_items, sigma_of

__all__ = [
    "calibration_sentence", "closing_sentence", "data_figure", "mass_sentence", "models_sentence",
    "oracle_sentence", "selection_sentence",
    "ACCESS", "CHOICES", "CONFUSER", "EXPLANATIONS", "METHODS", "POSITIVE", "STUDY", "Plan", "TaskData",
    "allocation_sentence", "anova_f", "blur_figure", "calibration", "calibration_chart", "choices_table",
    "comparisons", "counterfactual_items", "data_source", "design_chart", "evaluate", "explain", "flip_chart",
    "flip_table", "labels", "maps_figure", "margins", "mask_mass", "mass_chart", "minimum_detectable_effect",
    "model_pair", "model_pairs", "model_table", "oracle_rule", "plan", "power_by_effect", "power_by_size",
    "power_chart", "power_table", "published_conditions", "published_design", "published_findings",
    "reading_sentence", "record_all", "record_design", "record_flips", "record_items", "record_labels",
    "record_mass", "record_models", "record_oracle", "record_screens", "run_pipeline", "selection_figure",
    "selection_items", "sigma_of", "size_chart", "split", "task2_pair", "timings", "trial_manifest",
]
