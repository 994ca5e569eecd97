"""Alqaraawi et al. 2020: the chapter's generated sentences (every number in them is computed)."""
from __future__ import annotations

import pandas as pd

from .published import published_tests

def _where(value: float, low: float, high: float) -> str:
    return "inside" if low <= value <= high else "below" if value < low else "above"


def effect_sentence(recomputed: pd.DataFrame, ranges: pd.DataFrame) -> str:
    """The recomputed saliency-map effects beside the printed ones, with the room the rounding leaves."""
    r = recomputed.set_index("outcome")
    g = ranges.set_index("outcome")
    acc, ratio = r.loc["forecast_accuracy"], r.loc["saliency_feature_ratio"]
    ga, gr = g.loc["forecast_accuracy"], g.loc["saliency_feature_ratio"]
    f_acc = _where(acc["F_reported"], ga["F_low"], ga["F_high"])
    eta_acc = _where(acc["eta2_reported"], ga["eta2_low"], ga["eta2_high"])
    together = ("The printed means, SDs and test belong together." if f_acc == eta_acc == "inside"
                else "The printed test does not follow from the printed means and SDs alone.")
    f_ratio = _where(ratio["F_reported"], gr["F_low"], gr["F_high"])
    eta_ratio = _where(ratio["eta2_reported"], gr["eta2_low"], gr["eta2_high"])
    return (f"For forecast accuracy the squared t is {acc['t_squared']:.2f} against the printed F of "
            f"{acc['F_reported']:g}; the means and SDs within their printed rounding allow anything from "
            f"{ga['F_low']:.2f} to {ga['F_high']:.2f}, and the printed F lies {f_acc} that range. Eta squared is "
            f"{acc['eta2_oneway']:.3f} against the printed {acc['eta2_reported']:g} ({eta_acc} "
            f"{ga['eta2_low']:.3f} to {ga['eta2_high']:.3f}). {together} The effect corresponds to a Cohen's d of "
            f"{acc['cohen_d']:.2f}. For the feature ratio the classical F lies between {gr['F_low']:.1f} and "
            f"{gr['F_high']:.1f} over the possible splits ({gr['splits']}) and the rounding; the printed "
            f"{ratio['F_reported']:g}, from the White-corrected ANOVA, lies {f_ratio} that range. Its eta squared "
            f"({ratio['eta2_oneway']:.3f} against the printed {ratio['eta2_reported']:g}) lies {eta_ratio} "
            f"{gr['eta2_low']:.3f} to {gr['eta2_high']:.3f}, and the effect is {_size(ratio['cohen_d'])} "
            f"(d = {ratio['cohen_d']:.2f}).")


def _size(d: float) -> str:
    """Cohen's labels for a standardised mean difference."""
    d = abs(d)
    return "very large" if d >= 1.2 else "large" if d >= 0.8 else "medium" if d >= 0.5 else "small"


def replication_sentence(table: pd.DataFrame) -> str:
    """Power of the study for its own saliency-map effect on forecasts, and the participants 80 % needs."""
    r = table.set_index(["outcome", "term"]).loc[("forecast_accuracy", "saliency_maps")]
    return (f"A p-value of {published_tests().set_index(['outcome', 'term']).loc[('forecast_accuracy', 'saliency_maps'), 'p']:g} "
            f"for an effect whose power at the study's size was {r['power_at_used_n']:.2f} means that a replication "
            f"of the same size would miss it {_how_often(r['power_at_used_n'])}; a replication that wants 80 % power "
            f"needs {int(r['participants_needed'])} participants, {r['participants_needed'] / r['participants_used']:.1f} "
            f"times the {int(r['participants_used'])} of the study.")


def _how_often(power: float) -> str:
    """How a replication of the same size fares, in words."""
    if power < 0.4:
        return "more often than it finds it"
    return "about as often as it finds it" if power <= 0.6 else "less often than it finds it"
