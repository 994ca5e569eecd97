"""Nguyen et al.'s stimulus set: trial screens as image files plus the generic manifest.

Nguyen et al. (2021), Sec. 2.4 and A11, ran their study on Gorilla: a spreadsheet listed, per
trial, the stimulus file, the AI's decision line ("Sam guessed this is **87% lakeland
terrier**"), the question ("Is this **lakeland terrier**?") and the answer.
:func:`write_stimulus_set` writes the same ingredients for any platform (Gorilla, PsychoPy,
jsPsych, a web form):

``<out>/images/<trial_id>.png``
    the input image alone, at ``display_size`` pixels;
``<out>/explanations/<condition>/<trial_id>.png``
    the heatmap in red over an edge image (``GradCAM``, ``EP``, ``SOD``);
``<out>/examples/<trial_id>-<k>.png``
    the nearest training images (``3-NN``);
``<out>/stimuli/<condition>/<trial_id>.png``
    the whole trial screen of one condition, in the study's style (:func:`compose_panel`): the
    image titled "NN% label", then nothing (``Confidence``), the heatmap or three training
    images under "Three examples of label" (``3-NN``);
``<out>/manifest.csv``
    the generic manifest (:mod:`xaibook.stimuli.manifest`), one row per trial and condition,
    with Nguyen's own columns after the generic ones (:data:`MANIFEST_COLUMNS`; both documented
    in ``<out>/README.txt``).

File names carry no answer (the original names encoded the true and predicted class), so a
platform that shows names cannot leak the key.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import torch
from PIL import Image, ImageDraw, ImageFont

from ..errors import ParameterError
from ..progress import bar
from ..viz import overlays
from .manifest import GENERIC_COLUMNS, write_manifest

#: Nguyen's own columns, after the generic ones (:data:`~xaibook.stimuli.manifest.GENERIC_COLUMNS`).
NGUYEN_COLUMNS: dict[str, str] = {
    "dataset": "image set of the experiment (ImageNet or Dogs; on the offline zoo, its stand-ins)",
    "image_type": "natural or adversarial (PGD + JPEG, Sec. 2.4.3)",
    "difficulty": "Easy, Medium or Hard (Sec. 2.4.3: by the AI's confidence and correctness)",
    "ai_label": "the AI's top-1 label shown to the participant",
    "ai_confidence": "the AI's top-1 softmax confidence in [0, 1]",
    "ai_text": "the decision line shown with the image, e.g. '87% lakeland terrier'",
    "known_question": "the screen before, 'Have you ever seen a <label> before?' (Yes/No, no right answer)",
    "true_label": "the image's ground-truth class (not shown)",
    "ai_correct": "whether the AI's label is right (True/False); the answer is Yes exactly when it is",
    "source_id": "where the image comes from (zoo image id, or ILSVRC2012_val_XXXXXXXX)",
}
#: Every column of Nguyen's manifest, in order: the generic ones, then :data:`NGUYEN_COLUMNS`.
MANIFEST_COLUMNS: dict[str, str] = {**GENERIC_COLUMNS, **NGUYEN_COLUMNS}
#: The decision question and its options as the authors' Gorilla spreadsheet put them (its
#: ``question`` column, "Is this **label**?", without the Markdown; Fig. 1a: "decide Yes or No").
QUESTION = "Is this {label}?"
OPTIONS = ("Yes", "No")
CONDITIONS = ("Confidence", "GradCAM", "EP", "SOD", "3-NN")
HEATMAP_CONDITIONS = ("GradCAM", "EP", "SOD")
_REQUIRED_TRIAL_COLUMNS = ("trial_id", "dataset", "image_type", "difficulty", "ai_label", "ai_confidence",
                           "true_label", "ai_correct", "source_id")
GAP = 12  # white space between the tiles of a screen, in pixels
NUMBER_WORDS = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}


# ---------------------------------------------------------------------------------------------
# one trial screen


def decision_text(label: str, confidence: float) -> str:
    """The study's decision line: ``"87% lakeland terrier"`` (confidence in [0, 1], whole percent)."""
    if not 0.0 <= float(confidence) <= 1.0:
        raise ParameterError(f"confidence must be in [0, 1], got {confidence}")
    return f"{round(100 * float(confidence))}% {label}"


def _tile(image, size: int) -> Image.Image:
    """An image (tensor ``[3,H,W]``, array or PIL) as a ``size`` x ``size`` RGB PIL image."""
    pil = overlays.to_pil(overlays.to_hwc(image))
    if pil.size != (size, size):
        pil = pil.resize((size, size), Image.BILINEAR)
    return pil


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _centred(draw: ImageDraw.ImageDraw, text: str, x0: int, x1: int, y: int, font, bold: bool = False) -> None:
    width = draw.textlength(text, font=font)
    x = x0 + max(0.0, (x1 - x0 - width) / 2)
    draw.text((x, y), text, fill=(0, 0, 0), font=font, stroke_width=1 if bold else 0, stroke_fill=(0, 0, 0))


def compose_panel(image, label: str, confidence: float, *, heatmap=None, neighbours: Sequence | None = None,
                  neighbour_label: str | None = None, display_size: int = 224, gap: int = GAP,
                  style: str = "nguyen") -> Image.Image:
    """One trial screen as a PIL image, in Nguyen et al.'s layout (their Fig. 1a, Sec. A11).

    Args:
        image: the input image (``[3,H,W]`` tensor, ``[H,W,3]`` array or PIL), values in [0, 1].
        label, confidence: the AI's top-1 label and confidence, shown as "NN% label" in bold.
        heatmap: an explanation map of the image (``[1,H,W]`` or ``[H,W]``), drawn beside the image
            in ``style`` (``"nguyen"``: red over an edge image).
        neighbours: training images drawn beside the image under "Three examples of <label>"
            (``neighbour_label`` if given).
        display_size: side of each tile in pixels (images are resized bilinearly).
        gap: white space between tiles.

    With neither ``heatmap`` nor ``neighbours`` the screen shows the image alone (Confidence).
    """
    parts = _parts(image, heatmap=heatmap, neighbours=neighbours, display_size=display_size, style=style)
    return _arrange(*parts, label, confidence, neighbour_label=neighbour_label, display_size=display_size, gap=gap)


def _parts(image, *, heatmap, neighbours, display_size: int, style: str):
    """The screen's tiles: the image, the explanation (or None) and the examples (maybe [])."""
    if heatmap is not None and neighbours is not None:
        raise ParameterError("pass either heatmap or neighbours, not both")
    if display_size < 32:
        raise ParameterError(f"display_size must be >= 32 pixels, got {display_size}")
    base = overlays.to_hwc(image)
    explanation = None
    if heatmap is not None:
        m = overlays.to_hw(heatmap, base.shape[:2])
        explanation = _tile(overlays.overlay(base, m, style), display_size)
    nbs = list(neighbours) if neighbours is not None else []
    if neighbours is not None and not nbs:
        raise ParameterError("neighbours is empty: the 3-NN screen needs at least one training image")
    return _tile(base, display_size), explanation, [_tile(nb, display_size) for nb in nbs]


def _arrange(image: Image.Image, explanation: Image.Image | None, examples: list, label: str, confidence: float,
             *, neighbour_label: str | None, display_size: int, gap: int) -> Image.Image:
    """Lay the tiles out in a row under the decision line (and "N examples of label")."""
    tiles = [image] + ([explanation] if explanation is not None else []) + examples
    font_size = max(12, display_size // 12)
    title_h = int(font_size * 1.8)
    width = len(tiles) * display_size + (len(tiles) - 1) * gap
    canvas = Image.new("RGB", (width, title_h + display_size), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font(font_size)
    for i, t in enumerate(tiles):
        canvas.paste(t, (i * (display_size + gap), title_h))
    _centred(draw, decision_text(label, confidence), 0, display_size, int(font_size * 0.35), font, bold=True)
    if examples:
        n = len(examples)
        text = f"{NUMBER_WORDS.get(n, str(n))} example{'s' if n != 1 else ''} of {neighbour_label or label}"
        _centred(draw, text, display_size + gap, width, int(font_size * 0.35), font)
    return canvas


# ---------------------------------------------------------------------------------------------
# the whole set


def _check_trials(trials: pd.DataFrame, n_images: int) -> None:
    if not isinstance(trials, pd.DataFrame):
        raise ParameterError(f"trials must be a DataFrame, got {type(trials).__name__}")
    missing = [c for c in _REQUIRED_TRIAL_COLUMNS if c not in trials.columns]
    if missing:
        raise ParameterError(f"trials lack the columns {missing}; needed: {list(_REQUIRED_TRIAL_COLUMNS)}")
    if len(trials) != n_images:
        raise ParameterError(f"trials has {len(trials)} rows but there are {n_images} images")
    if trials["trial_id"].duplicated().any():
        dup = trials.loc[trials["trial_id"].duplicated(), "trial_id"].iloc[0]
        raise ParameterError(f"trial_id must be unique; {dup!r} repeats")
    bad = [t for t in trials["trial_id"].astype(str) if not t or any(c in t for c in '/\\:*?"<>| ')]
    if bad:
        raise ParameterError(f"trial_id {bad[0]!r} cannot be a file name (no spaces or /\\:*?\"<>|)")


def write_stimulus_set(out: Path | str, trials: pd.DataFrame, images: torch.Tensor | Sequence, *,
                       maps: Mapping[str, torch.Tensor | Sequence] | None = None,
                       neighbours: Sequence[Sequence] | None = None,
                       conditions: Sequence[str] = CONDITIONS, display_size: int = 224,
                       style: str = "nguyen") -> Path:
    """Write the images, one trial screen per trial and condition, and ``manifest.csv``.

    Args:
        out: the folder (created; existing files of the same names are overwritten).
        trials: one row per trial image with at least the columns ``trial_id, dataset,
            image_type, difficulty, ai_label, ai_confidence, true_label, ai_correct, source_id``.
        images: ``[N,3,H,W]`` in [0, 1] (or a sequence of images), in the order of ``trials``.
        maps: per heatmap condition (``GradCAM``, ``EP``, ``SOD``) ``[N,1,H,W]`` maps.
        neighbours: per trial image, its nearest training images (for ``3-NN``).
        conditions: which conditions to write (default all five).

    Returns:
        the path of ``manifest.csv`` (the generic manifest, study ``nguyen2021``, phase ``test``;
        read it with :func:`xaibook.stimuli.load_manifest`).
    """
    out = Path(out)
    n = len(images)
    _check_trials(trials, n)
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise ParameterError(f"unknown condition(s) {unknown}; use {list(CONDITIONS)}")
    maps = dict(maps or {})
    for c in conditions:
        if c in HEATMAP_CONDITIONS and (c not in maps or len(maps[c]) != n):
            raise ParameterError(f"condition {c} needs maps[{c!r}] with one map per image ({n})")
    if "3-NN" in conditions and (neighbours is None or len(neighbours) != n):
        raise ParameterError(f"condition 3-NN needs neighbours: a list of training images per trial image ({n})")
    rows = []
    records = trials.reset_index(drop=True).to_dict("records")
    for i, rec in enumerate(bar(records, desc="stimulus screens", unit="image")):
        tid = str(rec["trial_id"])
        label, conf, ok = str(rec["ai_label"]), float(rec["ai_confidence"]), bool(rec["ai_correct"])
        img_rel = f"images/{tid}.png"
        for j, cond in enumerate(conditions):
            image, expl, nbs = _parts(images[i], heatmap=maps[cond][i] if cond in HEATMAP_CONDITIONS else None,
                                      neighbours=neighbours[i] if cond == "3-NN" else None,
                                      display_size=display_size, style=style)
            expl_rel = f"explanations/{cond}/{tid}.png" if expl is not None else ""
            examples = [f"examples/{tid}-{k + 1}.png" for k in range(len(nbs))]
            rel = f"stimuli/{cond}/{tid}.png"
            screen = _arrange(image, expl, nbs, label, conf, neighbour_label=None, display_size=display_size, gap=GAP)
            files = ([(img_rel, image)] if j == 0 else []) + ([(expl_rel, expl)] if expl_rel else [])
            for path, tile in files + list(zip(examples, nbs)) + [(rel, screen)]:
                _save(tile, out / path)
            rows.append({
                "study": "nguyen2021", "trial_id": tid, "condition": cond, "phase": "test", "stimulus": rel,
                "image": img_rel, "explanation": expl_rel, "examples": examples,
                "question": QUESTION.format(label=label), "options": list(OPTIONS), "answer": "Yes" if ok else "No",
                "dataset": rec["dataset"], "image_type": rec["image_type"], "difficulty": rec["difficulty"],
                "ai_label": label, "ai_confidence": round(conf, 6), "ai_text": decision_text(label, conf),
                "known_question": f"Have you ever seen a {label} before?", "true_label": rec["true_label"],
                "ai_correct": ok, "source_id": rec["source_id"]})
    return write_manifest(pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)), out, extra_columns=NGUYEN_COLUMNS)


def _save(tile: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tile.save(path)
