"""Export a stimulus set: one image file per trial screen plus ONE manifest CSV a study platform loads.

Nguyen et al. (2021), Sec. 2.4 and A11, ran their study on Gorilla: a spreadsheet listed, per
trial, the stimulus file, the AI's decision line ("Sam guessed this is **87% lakeland
terrier**") and the answer. :func:`write_stimulus_set` writes the same ingredients for any
platform (Gorilla, PsychoPy, jsPsych, a web form):

``<out>/images/<trial_id>.png``
    the input image alone, at ``display_size`` pixels;
``<out>/stimuli/<condition>/<trial_id>.png``
    the trial screen of one condition, in the study's style (:func:`compose_panel`): the image
    titled "NN% label", then nothing (``Confidence``), the heatmap in red over an edge image
    (``GradCAM``, ``EP``, ``SOD``) or three training images under "Three examples of label"
    (``3-NN``);
``<out>/manifest.csv``
    one row per trial and condition, columns :data:`MANIFEST_COLUMNS` (documented there and in
    ``<out>/README.txt``); file paths are relative to the manifest.

File names carry no answer (the original names encoded the true and predicted class), so a
platform that shows names cannot leak the key. :func:`load_manifest` reads a manifest back and
checks that every file it names exists.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw, ImageFont

from ..errors import DataFormatError, DataNotFoundError, ParameterError
from ..progress import bar
from ..viz import overlays

#: The manifest's columns and what each holds (also written to ``README.txt``).
MANIFEST_COLUMNS: dict[str, str] = {
    "trial_id": "identifier of the trial image, unique within the set (also the file stem)",
    "dataset": "image set of the experiment (ImageNet or Dogs; on the offline zoo, its stand-ins)",
    "condition": "what the participant sees besides the image: Confidence, GradCAM, EP, SOD or 3-NN",
    "phase": "study phase of the row (test: scored trials without feedback)",
    "stimulus": "the trial screen as an image file, relative to the manifest",
    "image": "the input image alone, relative to the manifest",
    "image_type": "natural or adversarial (PGD + JPEG, Sec. 2.4.3)",
    "difficulty": "Easy, Medium or Hard (Sec. 2.4.3: by the AI's confidence and correctness)",
    "ai_label": "the AI's top-1 label shown to the participant",
    "ai_confidence": "the AI's top-1 softmax confidence in [0, 1]",
    "ai_text": "the decision line shown with the image, e.g. '87% lakeland terrier'",
    "known_question": "the first screen's question, 'Have you ever seen a <label> before?'",
    "true_label": "the image's ground-truth class (not shown)",
    "ai_correct": "whether the AI's label is right (True/False)",
    "answer": "the correct response to 'is the AI right?': Yes (accept) or No (reject)",
    "source_id": "where the image comes from (zoo image id, or ILSVRC2012_val_XXXXXXXX)",
}
CONDITIONS = ("Confidence", "GradCAM", "EP", "SOD", "3-NN")
HEATMAP_CONDITIONS = ("GradCAM", "EP", "SOD")
_REQUIRED_TRIAL_COLUMNS = ("trial_id", "dataset", "image_type", "difficulty", "ai_label", "ai_confidence",
                           "true_label", "ai_correct", "source_id")
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
                  neighbour_label: str | None = None, display_size: int = 224, gap: int = 12,
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
    if heatmap is not None and neighbours is not None:
        raise ParameterError("pass either heatmap or neighbours, not both")
    if display_size < 32:
        raise ParameterError(f"display_size must be >= 32 pixels, got {display_size}")
    base = overlays.to_hwc(image)
    tiles = [_tile(base, display_size)]
    if heatmap is not None:
        m = overlays.to_hw(heatmap, base.shape[:2])
        tiles.append(_tile(overlays.overlay(base, m, style), display_size))
    nbs = list(neighbours) if neighbours is not None else []
    if neighbours is not None and not nbs:
        raise ParameterError("neighbours is empty: the 3-NN screen needs at least one training image")
    tiles += [_tile(nb, display_size) for nb in nbs]
    font_size = max(12, display_size // 12)
    title_h = int(font_size * 1.8)
    width = len(tiles) * display_size + (len(tiles) - 1) * gap
    canvas = Image.new("RGB", (width, title_h + display_size), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font(font_size)
    for i, t in enumerate(tiles):
        canvas.paste(t, (i * (display_size + gap), title_h))
    _centred(draw, decision_text(label, confidence), 0, display_size, int(font_size * 0.35), font, bold=True)
    if nbs:
        n = len(nbs)
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
        the path of ``manifest.csv``.
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
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    records = trials.reset_index(drop=True).to_dict("records")
    for i, rec in enumerate(bar(records, desc="stimulus screens", unit="image")):
        tid = str(rec["trial_id"])
        img_rel = Path("images") / f"{tid}.png"
        _tile(images[i], display_size).save(out / img_rel)
        label, conf = str(rec["ai_label"]), float(rec["ai_confidence"])
        for cond in conditions:
            kwargs = {}
            if cond in HEATMAP_CONDITIONS:
                kwargs["heatmap"] = maps[cond][i]
            elif cond == "3-NN":
                kwargs["neighbours"] = neighbours[i]
            panel = compose_panel(images[i], label, conf, display_size=display_size, style=style, **kwargs)
            rel = Path("stimuli") / cond / f"{tid}.png"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            panel.save(out / rel)
            ok = bool(rec["ai_correct"])
            rows.append({
                "trial_id": tid, "dataset": rec["dataset"], "condition": cond, "phase": "test",
                "stimulus": rel.as_posix(), "image": img_rel.as_posix(), "image_type": rec["image_type"],
                "difficulty": rec["difficulty"], "ai_label": label, "ai_confidence": round(conf, 6),
                "ai_text": decision_text(label, conf), "known_question": f"Have you ever seen a {label} before?",
                "true_label": rec["true_label"], "ai_correct": ok, "answer": "Yes" if ok else "No",
                "source_id": rec["source_id"]})
    manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    path = out / "manifest.csv"
    manifest.to_csv(path, index=False)
    (out / "README.txt").write_text(
        "Stimulus set: one trial screen per image and condition, listed in manifest.csv.\n"
        "Paths in manifest.csv are relative to this folder.\n\nColumns of manifest.csv:\n"
        + "".join(f"  {k}: {v}\n" for k, v in MANIFEST_COLUMNS.items()))
    return path


def load_manifest(path: Path | str, check_files: bool = True) -> pd.DataFrame:
    """Read a manifest written by :func:`write_stimulus_set` and check it.

    Raises :class:`DataNotFoundError` when the file is missing and :class:`DataFormatError`
    when a column is missing, a value is invalid, or (``check_files``) a listed file is absent.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"stimulus manifest {path} does not exist; write it with write_stimulus_set()")
    df = pd.read_csv(path, dtype={"trial_id": str, "source_id": str})
    missing = [c for c in MANIFEST_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(f"{path} lacks the manifest columns {missing}")
    if df["ai_correct"].dtype != bool:
        raise DataFormatError(f"{path}: ai_correct must be True/False")
    bad = df[~df["condition"].isin(CONDITIONS)]
    if len(bad):
        raise DataFormatError(f"{path}: unknown condition {bad['condition'].iloc[0]!r}; expected one of {CONDITIONS}")
    if not df["answer"].eq(np.where(df["ai_correct"], "Yes", "No")).all():
        raise DataFormatError(f"{path}: the answer column disagrees with ai_correct")
    if df.duplicated(["trial_id", "condition"]).any():
        raise DataFormatError(f"{path}: a trial_id appears twice in one condition")
    if check_files:
        absent = [f for col in ("stimulus", "image") for f in df[col] if not (path.parent / f).is_file()]
        if absent:
            raise DataFormatError(f"{path}: {len(absent)} listed file(s) are missing, first {path.parent / absent[0]}")
    return df
