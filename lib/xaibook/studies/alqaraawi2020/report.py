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


def replication_sentence(table: pd.DataFrame, shrink: float = 0.5, power: float = 0.8) -> str:
    """The participants a replication needs for a stated effect: the printed one, and ``shrink`` times it.

    Observed power (the power at the study's own size for the effect it found) is a fixed function
    of the p-value and adds no evidence, so it is not reported; a replication is planned for an
    effect stated in advance. Effects published near p = 0.05 tend to overstate the true effect,
    hence the smaller one beside the printed.
    """
    from ... import stats

    r = table.set_index(["outcome", "term"]).loc[("forecast_accuracy", "saliency_maps")]
    f_small = shrink * r["cohen_f"]
    n_small = int(stats.sample_size_anova(f_small, k=2, power=power))
    return (f"To find the printed effect of the maps on forecast accuracy (eta squared {r['eta2_reported']:g}, "
            f"Cohen's f = {r['cohen_f']:.2f}) with {power:.0%} power at alpha = 0.05, a replication needs "
            f"{int(r['participants_needed'])} participants, {r['participants_needed'] / r['participants_used']:.1f} "
            f"times the {int(r['participants_used'])} of the study; if the true effect is {shrink:g} of the printed "
            f"one (f = {f_small:.2f}), it needs {n_small}.")


def ap_sentence(aps: pd.DataFrame, source: str) -> str:
    """Our mean AP per split beside the paper's, and the gap between training and test."""
    from ...data import published
    from .claims import AP_KEYS

    a = aps[aps["variant"] == "all"].set_index("split")["AP"]
    v = aps[aps["variant"] == "voc07"].set_index("split")["AP"]
    p = {s: published.ref("alqaraawi2020_design", quantity=k).value for s, k in AP_KEYS.items()}
    return (f"On the {source} our classifier reaches a mean average precision of {a['train']:.2f} on the "
            f"training split, {a['val']:.2f} on the validation split and {a['test']:.2f} on the hold-out test split "
            f"(VOC07 11-point: {v['train']:.2f}, {v['val']:.2f}, {v['test']:.2f}); the paper reports "
            f"{p['train']:g}, {p['val']:g} and {p['test']:g}. Training minus test: {a['train'] - a['test']:.2f} here, "
            f"{p['train'] - p['test']:.2f} in the paper.")


def task_sentence(tasks: pd.DataFrame, table: pd.DataFrame) -> str:
    """The task set: outcome counts per class, candidates, how often the network is right."""
    t = table[(table["split"] == "test") & table["class"].isin(tasks["task_class"].unique())]
    cand = t.groupby(["class", "outcome"]).size()
    parts = []
    for cls in tasks["task_class"].unique():
        c = tasks[tasks["task_class"] == cls]["outcome"].value_counts()
        parts.append(f"{cls}: {c.get('TP', 0)} TP, {c.get('FN', 0)} FN, {c.get('FP', 0)} FP drawn from "
                     f"{cand.get((cls, 'TP'), 0)} TP, {cand.get((cls, 'FN'), 0)} FN and {cand.get((cls, 'FP'), 0)} FP "
                     "test images")
    right = int(tasks["network_right"].sum())
    return (f"The task set ({'; '.join(parts)}) has {len(tasks)} images, on which the network is right "
            f"{right} times ({100 * right / len(tasks):.1f} %).")


def relevance_sentence(r: dict, summary: pd.DataFrame) -> str:
    """The two readings of the maps, measured."""
    q, sh = r["fn_tp_positive_ratio"], r["fn_tp_share_ratio"]
    s = (f"Over the task classes, the median FN map holds {q:.2f} times the positive relevance (in logit units) of "
         f"the median TP map, and {sh:.2f} times its share of red (positive over all absolute relevance, which is "
         "what a map scaled to its own largest value shows). ")
    s += {(True, True): "By both measures false-negative maps show little evidence.",
          (False, True): "The evidence in false-negative maps is not small in absolute terms, but it is drowned in "
                         "evidence against the class: as displayed, they show little red.",
          (True, False): "False-negative maps hold little evidence, though as much red as TP maps when each is "
                         "scaled to its own maximum.",
          (False, False): "By neither measure do false-negative maps show markedly less evidence on this model."}[
        (bool(q < 0.5), bool(sh < 0.5))]
    if "context_ratio" in r:
        s += (f" The train maps put a median {100 * r['context_share']:.1f} % of their positive relevance on the "
              f"rails, which cover {100 * r['context_area']:.1f} % of the image ({r['context_ratio']:.1f} times their "
              f"area share)" + (": the rails do attract evidence." if r["context_ratio"] > 1
                                else ": the rails attract no more evidence than any pixel."))
    return s


def closing_note(aps: pd.DataFrame, timings: pd.DataFrame, p) -> str:
    """The closing note: this run's AP on the hold-out split and its time per scale."""
    a = aps[aps["variant"] == "all"].set_index("split")["AP"]
    first, now = timings["first_run_s"].sum(), timings["this_run_s"].sum()
    return (f"This run ({p.describe()}) measured a mean AP of {a['train']:.2f} / {a['val']:.2f} / {a['test']:.2f} "
            f"(training / validation / test). Its pipeline steps took {first:.0f} s with an empty cache and "
            f"{now:.0f} s in this run. The `default` scale is meant to stay under 5 minutes on a 2-core CPU from an "
            "empty cache and under 30 s warm; `paper` (a full VGG16) is meant for one GPU "
            "(`benchmarks/device_check.py` runs `pipeline.run_pipeline()` there).")


def _test(outcome: str, term: str) -> pd.Series:
    t = published_tests()
    return t[(t["outcome"] == outcome) & (t["term"] == term)].iloc[0]


def _stat(r: pd.Series) -> str:
    df = f"{int(r['df1'])},{int(r['df2'])}" if pd.notna(r["df2"]) else f"{int(r['df1'])}"
    p = f"{r['p']:.3f}" if r["p_relation"] == "=" else f"{r['p']:g}"
    return f"{r['statistic_name']}({df}) = {r['statistic']:.3f}, p {r['p_relation']} {p}"


def findings(part: str) -> str:
    """The paper's results in words, every number read from ``data/published`` (Sec. 3.1.1, 4, 7).

    ``part``: ``"model"``, ``"explanations"``, ``"task"``, ``"conditions"`` (Sec. 3), ``"forecasts"``,
    ``"features"`` or ``"errors"`` (Sec. 4, 5.1, 7).
    """
    from ...data import published
    from ...errors import ParameterError
    from .published import marginal_means, published_design, published_outcomes

    m = marginal_means().set_index(["outcome", "level"])["mean"]
    if part == "model":
        ap = {k: published.ref("alqaraawi2020_design", quantity=k).value
              for k in ("ap_train", "ap_validation", "ap_test_voc2007")}
        return (f"**Model.** A VGG16 network pre-trained on ImageNet was fine-tuned for multi-label classification on "
                f"PASCAL VOC 2012 ({int(published_design()['voc_classes'])} classes). It reached an average precision of "
                f"{ap['ap_train']:g} on the training set, {ap['ap_validation']:g} on the validation set and "
                f"{ap['ap_test_voc2007']:g} on the VOC 2007 test set, deliberately short of the state of the art so that "
                "it would make instructive mistakes. Each class has its own decision threshold, chosen to maximise the "
                "F1 score on the training set.")
    if part == "forecasts":
        a, s, i = (_test("forecast_accuracy", t) for t in ("saliency_maps", "scores", "saliency_maps:scores"))
        k = _test("confidence", "condition")
        return (f"**Forecasts.** With saliency maps, participants forecast the network's output correctly in "
                f"{m[('forecast_accuracy', 'shown')]:.1f} % of the tasks, without them in "
                f"{m[('forecast_accuracy', 'omitted')]:.1f} % (two-way ANOVA, {_stat(a)}, eta squared = "
                f"{a['eta_squared']:.3f}). Scores had no significant effect ({_stat(s)}) and there was no interaction "
                f"({_stat(i)}). Confidence did not differ between the conditions (Kruskal-Wallis {_stat(k)}).")
    if part == "features":
        a = _test("saliency_feature_ratio", "saliency_maps")
        return (f"**Features.** In the free-text answers, participants who had seen maps named a much larger share of "
                f"features that a map can highlight, such as legs, ears or outline, rather than general image "
                f"attributes such as background, colour or contrast ({m[('saliency_feature_ratio', 'shown')]:.1f} % "
                f"against {m[('saliency_feature_ratio', 'omitted')]:.1f} %; {_stat(a)}, eta squared = "
                f"{a['eta_squared']:.3f}; {int(published_design()['excluded_from_feature_analysis'])} participants "
                "were excluded from this analysis).")
    if part == "errors":
        o = published_outcomes().set_index(["quantity", "outcome_type", "saliency_maps"])["percent"]
        acc = lambda t, g="all": o[("forecast_accuracy", t, g)]  # noqa: E731
        return (f"**Errors of the network.** Across all conditions, participants were good at forecasting the "
                f"network's correct detections ({acc('TP'):.1f} % for TP) and worse than chance at forecasting its "
                f"errors ({acc('FP'):.1f} % for FP, {acc('FN'):.1f} % for FN). In "
                f"{o[('predicted_system_correct', 'all', 'all')]:.1f} % of all forecasts they said the network would be "
                f"right, while it was right on {o[('system_correct', 'all', 'all')]:.1f} % of the task images. The "
                f"conclusion (Sec. 7) adds error forecasts of {acc('FN', 'shown'):.1f} % (FN) and "
                f"{acc('FP', 'shown'):.1f} % (FP) without saying for which group; they fit the group that saw maps, and "
                "this chapter reads them so (an inference, not a statement of the paper).")
    d = published_design()
    n = {k: int(d[k]) for k in ("task_images", "task_images_per_class", "task_tp_per_class", "task_fn_per_class",
                                "task_fp_per_class", "examples_per_task", "examples_tp", "examples_fn", "examples_fp",
                                "confidence_scale_points", "scores_shown_top", "participants",
                                "participants_per_condition", "lrp_alpha", "lrp_beta")}
    if part == "explanations":
        return (f"**Explanations.** Saliency maps came from LRP with the alpha-beta rule (alpha = {n['lrp_alpha']}, "
                f"beta = {n['lrp_beta']}), chosen over LIME after pilot studies because it follows object contours. "
                "Red marks evidence for the class, blue evidence against it.")
    if part == "task":
        return (f"**Task.** Each participant worked through {n['task_images']} task images from the held-out test set, "
                f"{n['task_images_per_class']} for the class *cat* and {n['task_images_per_class']} for *horse*, each "
                f"class with {n['task_tp_per_class']} true positives (TP), {n['task_fn_per_class']} false negatives (FN) "
                f"and {n['task_fp_per_class']} false positives (FP); all had mid-range scores. Next to every task image "
                f"were {n['examples_per_task']} training images that were closest to it in the network's "
                f"penultimate-layer embedding: {n['examples_tp']} TP, {n['examples_fn']} FN and {n['examples_fp']} FP, "
                "each labelled with its outcome. Participants listed features they thought the network was sensitive "
                "to, forecast whether it would recognise the object in the task image, and rated their confidence on "
                f"a {n['confidence_scale_points']}-point scale. Maps (and scores) were shown for the examples only, "
                "never for the task image.")
    if part == "conditions":
        return (f"**Conditions and participants.** A 2 x 2 between-group design crossed *saliency maps* (shown or "
                f"omitted) with *scores* (a bar chart of the top {n['scores_shown_top']} class scores, shown or "
                f"omitted). {n['participants']} participants with a degree in computing or engineering were recruited "
                f"on Prolific, {n['participants_per_condition']} per condition, paid £{d['payment']:g} plus "
                f"£{d['bonus_per_correct']:.2f} per correct forecast.")
    raise ParameterError(f"part={part!r}; use 'model', 'explanations', 'task', 'conditions', 'forecasts', "
                         "'features' or 'errors'")
