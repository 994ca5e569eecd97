"""Im, Andreas & Zhou 2023: the chapter's generated sentences (every number in them is computed)."""
from __future__ import annotations

import pandas as pd

from .power import comparisons, minimum_detectable_effect
from .published import published_design

def allocation_sentence() -> str:
    """Participants per condition under equal allocation (our assumption)."""
    d = published_design()
    return (f"{int(d['participants'])} participants spread over {int(d['conditions'])} conditions leave about "
            f"{d['participants'] / d['conditions']:.1f} per condition.")


def reading_sentence(table: pd.DataFrame, power: float = 0.8) -> str:
    """The smallest effect the best-powered comparison could detect, and the largest power for a medium effect."""
    pooled = comparisons().set_index("comparison").loc["any explanation vs none"]
    smallest = minimum_detectable_effect(pooled["kind"], pooled["n"], int(pooled["k"]), power)
    size = "very large" if smallest >= 1.2 else "large" if smallest >= 0.8 else "moderate"
    medium = [c for c in table.columns if c.startswith("power, medium")][0]
    per = float(published_design()["participants"] / published_design()["conditions"])
    return (f"With about {per:.0f} people per condition, the study could reliably detect only {size} "
            f"effects (d = {smallest:.2f} or more, even when all explanation conditions are pooled against the "
            f"no-explanation group); for a medium effect (d = 0.5) its power was at most {table[medium].max():.2f}.")
