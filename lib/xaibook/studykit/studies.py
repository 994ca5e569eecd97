"""What each study says to its participants: title, consent, instructions, extra questions.

The texts describe each original task in the book's words (the papers' sections are cited);
the trial screens themselves (question, options, images) come from the chapter's manifest
(:func:`xaibook.studies.<study>.trial_manifest`). A manifest written by hand for a study not
listed here gets :data:`GENERIC`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CONSENT = (
    "This is a short study about how people read the explanations of an image classifier. "
    "It was built with the book 'Explanations with real people' for teaching and research.",
    "You will see a few images with what an AI system decided about them, and answer one question "
    "per screen. There are no risks beyond those of everyday computer use. Taking part is voluntary "
    "and you may stop at any time by closing the page.",
    "Your answers are saved in this browser under a random participant id, with your response "
    "times; no name or e-mail is asked. At the end you can download them as a CSV file. "
    "If you agree, press 'I agree'.",
)


@dataclass(frozen=True)
class Followup:
    """A question asked after every trial screen, e.g. a confidence rating."""

    name: str
    question: str
    options: tuple[str, ...]
    #: the phases whose screens it follows.
    phases: tuple[str, ...] = ("test",)


@dataclass(frozen=True)
class KitSpec:
    """The words around a study's trials (the trials come from its manifest)."""

    title: str
    instructions: tuple[tuple[str, ...], ...]
    phase_intro: dict[str, str] = field(default_factory=dict)
    #: a manifest column holding a question asked *before* each trial screen (answer Yes/No).
    pre_column: str | None = None
    pre_options: tuple[str, ...] = ("Yes", "No")
    followups: tuple[Followup, ...] = ()
    #: the answer buttons stay disabled this long (ms) after a screen appears.
    lock_ms: int = 0
    #: the schema's ``dataset`` when the manifest has no ``dataset`` column.
    dataset: str = ""
    #: a manifest column whose values split a condition into counterbalanced versions (e.g. task
    #: order): each participant sees one, drawn at random or fixed by the URL parameter of that name.
    group_column: str | None = None
    #: a manifest column cutting the study into blocks shown in manifest order (e.g. tasks); within
    #: a block, phases in order and screens shuffled per phase. Without it: one block.
    block_column: str | None = None
    #: a manifest column naming the unit ``trials`` counts (e.g. a task with its example screens).
    unit_column: str | None = None
    consent: tuple[str, ...] = CONSENT


_PHASES = {
    "training": "First a few practice screens: after each one you will see the right answer.",
    "validation": "Next, a few screens that check the task is clear. Answer as well as you can.",
    "test": "Now the study itself. You will not be told whether your answers were right.",
}

SPECS: dict[str, KitSpec] = {
    # Nguyen, Kim & Nguyen 2021, Sec. 2.4 and A11: accept or reject the AI's label.
    "nguyen2021": KitSpec(
        title="Is the AI right?",
        instructions=(
            ("An AI system looks at an image and names what it shows, with its confidence (for example "
             "'87% lakeland terrier').",
             "Depending on your group, you may also see an explanation: a heatmap of the pixels the AI "
             "relied on, or three training images of the class it named."),
            ("Your task: decide whether the AI's label is right. Answer 'Yes' if the image shows what "
             "the AI says, 'No' otherwise.",
             "Before each image you will be asked whether you have seen that kind of thing before."),
        ),
        phase_intro=_PHASES, pre_column="known_question", dataset="ImageNet"),
    # Shen & Huang 2020, Sec. 3: which wrong label did the classifier give?
    "shen2020": KitSpec(
        title="Which mistake did the AI make?",
        instructions=(
            ("You will see an image with its correct label. An AI system classified this image and got it "
             "wrong.",
             "Depending on your group, you may also see explanations (heatmaps) of the AI's decision."),
            ("Your task: pick, among five labels, the wrong label the AI gave. Look at the image (and the "
             "explanations) before answering: the buttons unlock after a few seconds.",),
        ),
        phase_intro=_PHASES, lock_ms=5000, dataset="ImageNet"),
    # Alqaraawi et al. 2020, Sec. 3.2: forecast the classifier's output, then rate confidence.
    "alqaraawi2020": KitSpec(
        title="Will the AI recognise it?",
        instructions=(
            ("An AI system decides whether an image contains a given object (for example a cat).",
             "Depending on your group, you may see what the AI attended to (a saliency map), its scores, "
             "both or neither, together with examples it got right and wrong."),
            ("Your task: forecast what the AI will decide for each new image, then say how confident you "
             "are in your forecast.",
             "Before each forecast you will study example images with what the AI decided about them."),
        ),
        phase_intro={}, group_column="task_order", block_column="task", unit_column="task",
        followups=(Followup("confidence", "How confident are you in your forecast?",
                            ("Not at all confident", "Slightly confident", "Fairly confident", "Very confident")),),
        dataset="PASCAL VOC"),
    # Im, Andreas & Zhou 2023: model selection and counterfactual simulation.
    "im2023": KitSpec(
        title="Which model will generalise?",
        instructions=(
            ("Two AI models were trained to tell buses and trains from other vehicles. One of them learned "
             "from mislabelled examples.",
             "Depending on your group, you may see explanations of the models' decisions."),
            ("Your task: answer each question about the models, for example which model will work better on "
             "new images, or what a model will decide on an edited image.",),
        ),
        phase_intro=_PHASES, dataset="Visual Genome", block_column="task"),
    # Sixt, Schuessler, Popescu, Weiss & Landgraf 2022, Sec. 5: which attributes does the model use?
    "sixt2022": KitSpec(
        title="What does the model look at?",
        instructions=(
            ("An AI model tells two kinds of abstract animals apart, Peaky and Stretchy, built from blocks.",
             "Depending on your group, you will study the model's predictions together with an explanation "
             "of them."),
            ("Your task: for each attribute of the animals (legs, colour, background, shape, posture), "
             "judge whether the model relies on it.",),
        ),
        phase_intro=_PHASES, dataset="Two4Two"),
}

GENERIC = KitSpec(
    title="An image study",
    instructions=(("You will see images and answer one question about each.",),),
    phase_intro=_PHASES)


def spec(study: str) -> KitSpec:
    """The kit's texts for ``study`` (:data:`GENERIC` for a study the book does not know)."""
    return SPECS.get(study, GENERIC)
