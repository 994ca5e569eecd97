"""Alqaraawi et al. 2020: the ledger claims of the rebuilt pipeline (Sec. 3.1.1, 3.2.2, 5.1.1, Fig. 2).

* AP per split (macro mean over every recall point) beside the paper's 0.91 / 0.73 / 0.74;
* the task set's outcome counts (3 TP, 2 FN, 2 FP per class) and the share the network gets right;
* the paper's two readings of its maps, measured (coded 1 = the reading holds):
  FN maps hold less than half the positive relevance of TP maps (median, task classes), and, as
  a second reading of "little evidence", less than half their share of red (positive over absolute
  relevance: what a map scaled to its own maximum shows);
  the train maps put more of their positive relevance on the rails than the rails' share of the image.
"""
from __future__ import annotations

import pandas as pd

from ... import ledger
from ...data import published
from .data import data_source
from .pipeline import ERROR_OUTCOMES, Plan
from .published import STUDY

AP_KEYS = {"train": "ap_train", "val": "ap_validation", "test": "ap_test_voc2007"}
AP_TOLERANCE = 0.05
#: FN maps "highlight very little evidence": their median positive relevance below this share of the TP maps'.
LITTLE_EVIDENCE = 0.5


def _data(p: Plan) -> str:
    return f"{p.source} ({p.describe()})"


def record_ap(aps: pd.DataFrame, p: Plan) -> None:
    """AP per split (macro mean, every recall point) against Sec. 3.1.1."""
    a = aps[aps["variant"] == "all"].set_index("split")["AP"]
    for split, key in AP_KEYS.items():
        ledger.record(STUDY, f"model.ap.{split}", f"mean average precision, {split} split",
                      paper=published.ref("alqaraawi2020_design", quantity=key), ours=float(a[split]),
                      data=_data(p), tolerance=AP_TOLERANCE,
                      reason=("another model on other data: a smaller VGG trained here on the offline scenes"
                              if data_source(p.source).generated and p.widths is not None else
                              "another training run (data, epochs and optimiser differ from the paper's)"))


def record_task_counts(tasks: pd.DataFrame, p: Plan) -> None:
    """The task set's outcome counts per class (Sec. 3.2.2) and the share of task images the network gets right."""
    c = tasks.groupby(["task_class", "outcome"]).size()
    per_class = {o: c.xs(o, level="outcome").min() if o in c.index.get_level_values("outcome") else 0
                 for o in ERROR_OUTCOMES}
    for o in ERROR_OUTCOMES:
        ledger.record(STUDY, f"tasks.{o}", f"{o} task images per class (fewest over {', '.join(p.task_classes)})",
                      paper=published.ref("alqaraawi2020_design", quantity=f"task_{o.lower()}_per_class"),
                      ours=float(per_class[o]), data=_data(p), reason="the selection found fewer candidates")
    ledger.record(STUDY, "tasks.system_correct", "task images the network gets right (%)",
                  paper=published.ref("alqaraawi2020_outcomes", "percent", quantity="system_correct"),
                  ours=100 * float(tasks["network_right"].mean()), data=_data(p),
                  reason="the task set has another outcome mix")


def record_readings(r: dict, p: Plan) -> None:
    """The paper's readings of its maps, measured on ground truth (1 = holds, 0 = does not)."""
    ratio = r.get("fn_tp_positive_ratio", float("nan"))
    ledger.record(STUDY, "maps.fn_little_evidence",
                  f"FN maps hold little evidence: median positive relevance FN/TP = {ratio:.2f} "
                  f"(holds below {LITTLE_EVIDENCE}; 1 = holds)",
                  paper=published.ref("alqaraawi2020_readings", quantity="fn_maps_little_evidence"),
                  ours=None if ratio != ratio else float(ratio < LITTLE_EVIDENCE), data=_data(p),
                  reason="FN maps of this model carry no less than half the positive relevance of TP maps",
                  why_not="no FN or TP maps measured")
    share = r.get("fn_tp_share_ratio", float("nan"))
    ledger.record(STUDY, "maps.fn_little_red",
                  f"FN maps show little evidence as displayed: median share of red (positive over absolute relevance) "
                  f"FN/TP = {share:.2f} (holds below {LITTLE_EVIDENCE}; 1 = holds)",
                  paper=published.ref("alqaraawi2020_readings", quantity="fn_maps_little_evidence"),
                  ours=None if share != share else float(share < LITTLE_EVIDENCE), data=_data(p),
                  reason="FN maps of this model show no less than half the red of TP maps",
                  why_not="no FN or TP maps measured")
    if "context_ratio" in r:
        q = r["context_ratio"]
        ledger.record(STUDY, "maps.train_rails",
                      f"train maps highlight the rails: median share of positive relevance on the rails "
                      f"{r['context_share']:.3f} vs their area {r['context_area']:.3f} (x{q:.1f}; 1 = holds above x1)",
                      paper=published.ref("alqaraawi2020_readings", quantity="train_maps_highlight_rails"),
                      ours=None if q != q else float(q > 1), data=_data(p),
                      reason="the rails get no more relevance than their area", why_not="no rails visible")
    else:
        ledger.record(STUDY, "maps.train_rails", "train maps highlight the rails",
                      paper=published.ref("alqaraawi2020_readings", quantity="train_maps_highlight_rails"),
                      ours=None, data=_data(p), why_not="this data source has no rails mask (VOC gives boxes only)")
