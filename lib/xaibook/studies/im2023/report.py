"""Im, Andreas & Zhou 2023: the chapter's generated sentences (every number in them is computed)."""
from __future__ import annotations

import pandas as pd

from .published import published_design

def allocation_sentence() -> str:
    """Participants per condition under equal allocation (our assumption)."""
    d = published_design()
    return (f"{int(d['participants'])} participants spread over {int(d['conditions'])} conditions leave about "
            f"{d['participants'] / d['conditions']:.1f} per condition.")


def reading_sentence(table: pd.DataFrame, power: float = 0.8) -> str:
    """The smallest effect any comparison could detect, and the largest power for a medium effect."""
    col = f"effect detectable with {power:.0%} power"
    pooled = table.set_index("comparison").loc["any explanation vs none"]
    medium = [c for c in table.columns if c.startswith("power, medium")][0]
    per = float(published_design()["participants"] / published_design()["conditions"])
    return (f"With about {per:.0f} people per condition, the study could reliably detect only very large "
            f"effects ({pooled[col]} or more, even when all explanation conditions are pooled against the "
            f"no-explanation group); for a medium effect (d = 0.5) its power was at most {table[medium].max():.2f}.")
