"""Im, Andreas & Zhou 2023: what the public summary states (design, participants, findings).

Only a summary of the paper is public: it states the design (conditions, tasks), the number of
participants once, and its findings only as "no significant accuracy gain", without numbers.
:func:`record_design` puts the counts the summary allows to recompute in the ledger, and the
participant count and findings as not recomputable.
"""
from __future__ import annotations

import pandas as pd

from ... import ledger
from ...data import published

EXPLANATIONS = ("none", "SmoothGrad", "GradCAM", "oracle")
ACCESS = ("none", "training only", "training and evaluation")
STUDY = "im2023"
SUMMARY_ONLY = "only a summary of the paper is public: no accuracies, tests or per-participant data"


def published_design() -> pd.Series:
    """Summary: participants, conditions, explanation methods, access levels, tasks (quantity -> value)."""
    return published.load("im2023_design").set_index("quantity")["value"]


def published_conditions() -> pd.DataFrame:
    """Summary (Method Summary): the between-participant conditions."""
    return published.load("im2023_conditions")


def published_findings() -> pd.DataFrame:
    """Summary (Key Results): the reported absence of significant accuracy gains, per task."""
    return published.load("im2023_findings")


def record_design() -> None:
    """Ledger: the design counts the summary allows to recompute, and the rest as not recomputable.

    The conditions are counted twice: as the conditions the Method Summary lists, and as
    no explanation plus explanation methods x access levels. The participant count and the
    findings cannot be recomputed from a summary.
    """
    d = published_design()
    conds = published_conditions()
    ref = published.ref("im2023_design", "value", quantity="conditions")
    ledger.record(STUDY, "design.conditions.listed", "conditions listed in the Method Summary", paper=ref,
                  ours=len(conds), data="published summary (Method Summary)", tolerance=0.0,
                  reason="the listed conditions differ in number from the stated count")
    methods = conds.loc[conds["explanation"] != "none", "explanation"].nunique()
    access = conds.loc[conds["access"] != "none", "access"].nunique()
    ledger.record(STUDY, "design.conditions.crossed",
                  "conditions as no explanation + explanation methods x access levels", paper=ref,
                  ours=1 + methods * access, data="published summary (Method Summary)", tolerance=0.0,
                  reason="the design's factors give another number of conditions")
    ledger.record(STUDY, "design.participants", "participants",
                  paper=published.ref("im2023_design", "value", quantity="participants"), ours=None,
                  data="published summary (Limitations)",
                  why_not=f"{SUMMARY_ONLY}; the summary states n = {int(d['participants'])} once, "
                          "without the allocation to conditions")
    for _, r in published_findings().iterrows():
        ledger.record(STUDY, f"findings.{r['task'].replace(' ', '_')}",
                      f"explanation conditions with a significant accuracy gain, {r['task']}",
                      paper=published.ref("im2023_findings", "value", quantity=r["quantity"], task=r["task"]),
                      ours=None, data="published summary (Key Results)", why_not=SUMMARY_ONLY)
