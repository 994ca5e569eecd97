"""Sixt et al. 2022: the study's screens as a generic trial manifest (Sec. 5.1-5.2, App. D).

Each participant saw one explanation of the model (study 2, between subjects: the baseline grid,
INN counterfactuals or concepts; study 1: the baseline only) and judged five attributes:
"How relevant is <attribute> for the system?", *relevant* or *irrelevant* (Sec. 5.2; wording of
the pre-registration, App. D.1). Before that, three tutorial videos, each followed by true/false
comprehension statements; failing them twice excluded a participant (Sec. 5.1).

The manifest (:func:`xaibook.stimuli.write_manifest`) holds, per condition:

* ``training``: the tutorial screen of the condition's explanation (no right answer);
* ``validation``: comprehension statements about the task and how to read the explanation, true
  by construction of the screens. The paper does not publish its statements; these are ours
  (column ``source`` says so);
* ``test``: the five attribute questions. The key comes from the ground-truth importance of the
  model shown (:func:`answer_key`).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .published import ATTRIBUTES, CONDITIONS, RELEVANT, STUDY

QUESTIONS = {
    "Legs": "How relevant is the legs' position relative to the spine for the system?",
    "Color": "How relevant is the color of the animal for the system?",
    "Background": "How relevant is the background of the animal for the system?",
    "Shape": "How relevant is the rounded or rectangular shape of the animal's blocks for the system?",
    "Posture": "How relevant is the rotation and bending of the animal for the system?",
}
"""The five test questions, as pre-registered (App. D.1)."""

OPTIONS = ("Relevant", "Irrelevant")

FACTORS_OF = {"Legs": ("arm_position",), "Color": ("obj_color",), "Shape": ("spherical",),
              "Background": ("bg_color",), "Posture": ("obj_rotation_yaw", "obj_rotation_pitch",
                                                       "obj_rotation_roll", "bending")}
"""The data-generating factors behind each attribute of the questions (Table 1/3)."""

_READ = {
    "Baseline": ("The five columns sort real images by how certain the system is: the leftmost column holds "
                 "the images it is most certain show Peeky, the rightmost those it is most certain show Stretchy."),
    "INN": ("Each row starts from one image and changes it step by step so that the system's prediction moves "
            "from very certain Peeky (left) to very certain Stretchy (right); what changes along a row is what "
            "the system reacts to."),
    "Concepts": ("Each row shows one concept the system uses, with example images; bright regions mark where "
                 "the concept lies in the image."),
}
_STATEMENTS = {  # (statement, true?) per condition, after the tutorial; None: every condition
    None: [("Peeky and Stretchy are two abstract animals, each built from eight blocks.", True),
           ("Each question asks whether a property of the animals or their images matters to the system.", True)],
    "Baseline": [("Images in the leftmost column are those the system is most certain show Stretchy.", False)],
    "INN": [("Along a row, the images change so that the system's prediction moves from Peeky to Stretchy.", True)],
    "Concepts": [("Each row of the concepts explanation shows a single training image in five sizes.", False)],
}
_SOURCE_OURS = ("reconstructed here: the paper's comprehension statements are not published "
                "(Sec. 5.1: true/false statements after each tutorial video)")


def answer_key(importance_table: pd.DataFrame) -> pd.DataFrame:
    """The test questions' key from the model's measured ground-truth importance (Tables 1/3).

    An attribute is *relevant* when the data set carries it as a class bias (:data:`RELEVANT`: legs,
    colour, shape) and the model's logit follows it: the R² of its logit changes (mean over
    intervention seeds) exceeds that of every attribute without a class bias (background, posture),
    whose changes move the logit in random directions. Background and posture are keyed *irrelevant*,
    as in the paper. Returns one row per attribute: ``attribute``, ``r2`` (the largest of its
    measured factors), ``paper_answer`` and ``answer``.
    """
    r2 = importance_table.groupby("factor")["r2"].mean()
    value = {a: max((float(r2[f]) for f in FACTORS_OF[a] if f in r2.index), default=float("nan"))
             for a in ATTRIBUTES}
    unbiased = max(v for a, v in value.items() if not RELEVANT[a])
    rows = []
    for a in ATTRIBUTES:
        relevant = RELEVANT[a] and value[a] > unbiased
        rows.append({"attribute": a, "r2": value[a], "paper_answer": OPTIONS[0] if RELEVANT[a] else OPTIONS[1],
                     "answer": OPTIONS[0] if relevant else OPTIONS[1]})
    return pd.DataFrame(rows)


def _panels(out: Path) -> dict[str, str]:
    """The three explanations of the model, drawn as participants saw them; paths relative to ``out``."""
    import matplotlib.pyplot as plt

    from . import figures, pipeline

    model, _ = pipeline.trained_model()
    _, images, _ = pipeline.dataset_images("test")
    logits = pipeline.test_logits(model)
    cf, _, targets, _, exact = pipeline.counterfactual_grid(model, images, logits)
    figs = {"Baseline": figures.baseline_figure(images, pipeline.baseline_grid(logits)),
            "INN": figures.counterfactual_figure(cf, targets, exact),
            "Concepts": figures.concepts_figure(pipeline.concepts(model, images, logits))}
    (out / "screens").mkdir(parents=True, exist_ok=True)
    paths = {}
    for condition, fig in figs.items():
        paths[condition] = f"screens/{condition.lower()}.png"
        fig.savefig(out / paths[condition], dpi=100)
        plt.close(fig)
    return paths


def trial_manifest(out: str | Path) -> Path:
    """Write the study's screens (every condition; training, validation and test phases) into the folder
    ``out`` through :func:`xaibook.stimuli.write_manifest`; returns the manifest CSV's path.

    Runs (or reads from the cache) the chapter's model, its three explanations and its ground-truth
    importance at ``config.scale()``.
    """
    from ...stimuli import write_manifest
    from . import pipeline

    out = Path(out)
    panels = _panels(out)
    key = answer_key(pipeline.importance(pipeline.trained_model()[0]).table).set_index("attribute")
    rows = []

    def screen(condition: str, trial_id: str, phase: str, question: str, options, answer: str, **extra) -> None:
        rows.append({"study": STUDY, "trial_id": trial_id, "condition": condition, "phase": phase,
                     "stimulus": "", "image": panels[condition], "explanation": "", "examples": [],
                     "question": question, "options": list(options), "answer": answer,
                     "paper_study": "1 and 2" if condition == "Baseline" else "2", **extra})

    for condition in CONDITIONS:
        screen(condition, "tutorial", "training", f"Tutorial: how to read this explanation. {_READ[condition]}",
               ["Continue"], "", attribute="", paper_answer="", r2_ours=None, source="Sec. 5.1 (tutorial)")
        for i, (text, true) in enumerate(_STATEMENTS[None] + _STATEMENTS[condition]):
            screen(condition, f"check-{i + 1}", "validation", f"True or false? {text}", ["True", "False"],
                   "True" if true else "False", attribute="", paper_answer="", r2_ours=None, source=_SOURCE_OURS)
        for a in ATTRIBUTES:
            screen(condition, f"attribute-{a.lower()}", "test", QUESTIONS[a], OPTIONS, key.loc[a, "answer"],
                   attribute=a, paper_answer=key.loc[a, "paper_answer"], r2_ours=round(float(key.loc[a, "r2"]), 3),
                   source="Sec. 5.2 and App. D.1 (question); key from the measured importance")
    columns = {"paper_study": "the paper's study (1: baseline only, within subjects; 2: three conditions)",
               "attribute": "the attribute a test question asks about (Table 2's columns)",
               "paper_answer": "the paper's key for the question (legs, colour, shape relevant)",
               "r2_ours": "R² of the logit changes when the attribute is resampled, for the model shown "
                          "(largest over its factors, mean over intervention seeds)",
               "source": "where the screen comes from"}
    return write_manifest(pd.DataFrame(rows), out, extra_columns=columns)
