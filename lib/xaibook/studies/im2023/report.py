"""Im, Andreas & Zhou 2023: the chapter's generated sentences (every number in them is computed)."""
from __future__ import annotations

import pandas as pd

from .data import source_name
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


# ------------------------------------------------------------------------ the rebuilt pipeline
def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def models_sentence(table: pd.DataFrame) -> str:
    """Step 2 in words: accuracy of both models and the pairs' agreement (means over pairs)."""
    m = table.mean(numeric_only=True)
    return (f"Across the {len(table)} pairs, the baseline models answer {_pct(m['accuracy_baseline'])} of the clean "
            f"test images correctly and the mislabeled ones {_pct(m['accuracy_mislabeled'])}. The mislabeled models call "
            f"{_pct(m['car_only_positive_mislabeled'])} of the car-only images 'bus or train' (the baseline models "
            f"{_pct(m['car_only_positive_baseline'])}). The two models of a pair answer {_pct(m['agreement_car_only'])} "
            f"of the car-only images alike and {_pct(m['agreement_other'])} of all other images: "
            f"{_pct(m['agreement'])} of the test images overall.")


def calibration_sentence(cal: pd.DataFrame, flips: pd.DataFrame) -> str:
    """Step 5 in words: the chosen blur strengths, their flip rates, and which objects flip."""
    c = cal[cal["chosen"]].set_index("model")
    f = flips.set_index(["model", "object"])["flip_rate"]
    parts = [f"{m} model: sigma {c.loc[m, 'sigma']:g} px, {_pct(c.loc[m, 'flip_rate'])} of {int(c.loc[m, 'objects'])} "
             f"blurred objects flip its answer" for m in c.index]
    car = [f"the {m} model's in {_pct(f[m, 'car alone'])}" for m in c.index if (m, "car alone") in f.index]
    return ("Calibrated blur: " + "; ".join(parts) + "." + (" Blurring a lone car flips " + " and ".join(car)
                                                             + " of those items." if car else ""))


def selection_sentence(items: pd.DataFrame) -> str:
    """Step 4 in words: how many scored items the models' answers alone settle."""
    scored = items[items["phase"] == "test"].groupby("pair")["answerable"].first()
    n = len(scored)
    k = int(scored.sum())
    per = int(items.groupby("pair").size().iloc[0])
    head = f"Each of the {n} scored selection items shows {per} training images to both models. "
    if k == 0:
        return head + ("On none of them do the two models answer a shown image differently: predictions alone "
                       "settle no item, only the maps can tell the models apart.")
    return head + (f"On {k} of them the two models answer at least one shown image differently, so predictions "
                   f"alone settle {'it' if k == 1 else 'them'}; on the other {n - k} only the maps can tell the "
                   "models apart.")


def oracle_sentence(share: float, n: int) -> str:
    """Step 3 in words: how much of task 2 the oracle answers."""
    return (f"Reading the oracle by one rule (a fully red object flips the answer when blurred: its weight reaches the "
            f"whole evidence behind the answer) answers {_pct(share)} of the {n} scored counterfactual items.")


def mass_sentence(mass: pd.DataFrame) -> str:
    """Step 7 in words: per method, the share of the map on the car for both models."""
    g = mass.groupby(["method", "model"])[["on_car", "level", "empty"]].mean().unstack()
    parts = [f"{m}: {_pct(g.loc[m, ('on_car', 'baseline')])} for the baseline model, "
             f"{_pct(g.loc[m, ('on_car', 'mislabeled')])} for the mislabeled one (mean value on the car "
             f"{g.loc[m, ('level', 'baseline')]:.2f} and {g.loc[m, ('level', 'mislabeled')]:.2f})" for m in g.index]
    empty = [f"{m} of the {k} model" for m in g.index for k in ("baseline", "mislabeled")
             if g.loc[m, ("empty", k)] > 0.5]
    return ("Share of the map on the car in car-only images (the car covers "
            f"{_pct(mass['area'].mean())} of them): " + "; ".join(parts) + "."
            + (f" Mostly empty maps (no evidence for 'bus or train' anywhere, counted as nothing on the car): "
               + ", ".join(empty) + "." if empty else ""))


def closing_sentence(p, table: pd.DataFrame, cal: pd.DataFrame, mass: pd.DataFrame) -> str:
    """The closing note: what this build computed, at which scale and source."""
    m = table.mean(numeric_only=True)
    c = cal[cal["chosen"]].set_index("model")["flip_rate"]
    g = mass.groupby(["method", "model"])["on_car"].mean().unstack()
    diff = ", ".join(f"{k} {g.loc[k, 'mislabeled'] - g.loc[k, 'baseline']:+.2f}" for k in g.index)
    return (f"This build ran at scale **{p.scale}** on the {source_name(p.source)}"
            f" ({p.train_images:,} training images at {p.image_size} px, {len(table)} model pairs). Clean test accuracy: "
            f"baseline {_pct(m['accuracy_baseline'])}, mislabeled {_pct(m['accuracy_mislabeled'])}; pairs agree on "
            f"{_pct(m['agreement'])} of the test images. Calibrated flip rates: "
            + ", ".join(f"{k} {_pct(v)}" for k, v in c.items())
            + f". Share of the map on the car, mislabeled minus baseline: {diff}. A `paper`-scale run needs a GPU; "
              "the timings below are this build's.")
