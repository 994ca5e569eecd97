"""Alqaraawi et al. 2020: the chapter's generated sentences (every number in them is computed)."""
from __future__ import annotations

import pandas as pd

from .published import published_tests

def effect_sentence(recomputed: pd.DataFrame, ranges: pd.DataFrame) -> str:
    """The recomputed saliency-map effects beside the printed ones, with the room the rounding leaves."""
    r = recomputed.set_index("outcome")
    g = ranges.set_index("outcome")
    acc, ratio = r.loc["forecast_accuracy"], r.loc["saliency_feature_ratio"]
    ga, gr = g.loc["forecast_accuracy"], g.loc["saliency_feature_ratio"]
    return (f"For forecast accuracy the squared t is {acc['t_squared']:.2f} against the printed F of "
            f"{acc['F_reported']:g}, and the means and SDs within their printed rounding allow anything from "
            f"{ga['F_low']:.2f} to {ga['F_high']:.2f}; eta squared is {acc['eta2_oneway']:.3f} against "
            f"{acc['eta2_reported']:g}. The printed means, SDs and test belong together. The effect corresponds "
            f"to a Cohen's d of {acc['cohen_d']:.2f}. For the feature ratio the classical F lies between "
            f"{gr['F_low']:.1f} and {gr['F_high']:.1f} over the possible splits ({gr['splits']}) and the rounding, "
            f"above the printed {ratio['F_reported']:g}, which comes from the White-corrected ANOVA; eta squared "
            f"({ratio['eta2_oneway']:.3f} against {ratio['eta2_reported']:g}) agrees, and the effect is very large "
            f"(d = {ratio['cohen_d']:.2f}).")


def replication_sentence(table: pd.DataFrame) -> str:
    """Power of the study for its own saliency-map effect on forecasts, and the participants 80 % needs."""
    r = table.set_index(["outcome", "term"]).loc[("forecast_accuracy", "saliency_maps")]
    return (f"A p-value of {published_tests().set_index(['outcome', 'term']).loc[('forecast_accuracy', 'saliency_maps'), 'p']:g} "
            f"for an effect whose power at the study's size was {r['power_at_used_n']:.2f} means that a replication "
            f"of the same size would miss it about as often as it finds it; a replication that wants 80 % power "
            f"needs {int(r['participants_needed'])} participants, {r['participants_needed'] / r['participants_used']:.1f} "
            f"times the {int(r['participants_used'])} of the study.")
