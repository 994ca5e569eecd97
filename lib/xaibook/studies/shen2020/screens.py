"""Shen & Huang 2020: the trial screens (Method, Steps 2-3) and their manifest.

A screen of the Int condition shows six panels in a row, as in the paper's figure: the image,
the three EP masks applied to it (the image times the mask, on black, titled with the panel's
area and the area reached), Grad-CAM and the second heatmap (jet overlays) with a colour bar.
``version="paper"`` uses the paper's areas (20/40/50 %) and SmoothGrad; ``version="code"``
the released code's areas (0.2/0.35/0.45, still titled 20/40/50 %) and its pooled gradient.
The No-Int screen shows the image alone. :func:`write_manifest` writes both conditions of both
experiments through :func:`xaibook.stimuli.write_manifest`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from ...errors import ParameterError
from ...viz import overlays
from .explanations import Explanations, explained
from .pipeline import CODE_AREAS, PAPER_AREAS

GAP = 8
QUESTION = ("A computer program labelled this image of a {true_label} wrongly. "
            "Which of these labels did the program choose?")
EXTRA_COLUMNS = {
    "experiment": "1 (images split between Int and No-Int) or 2 (every image in both conditions)",
    "true_label": "the image's gold label, shown to the participant",
    "ai_label": "the classifier's wrong prediction (the answer)",
    "category": "the error's cause C1-C5 from the world's record (other: none recorded; uncoded: real photo)",
    "hard_options": "a harder option set (same-family distractors), JSON list in shown order",
    "source_id": "the image's id in its source (zoo record id or ImageNet val file)",
}


def _tile(array: np.ndarray, size: int) -> Image.Image:
    return overlays.to_pil(np.clip(array, 0, 1)).resize((size, size), Image.BILINEAR)


def _colourbar(height: int, width: int = 14) -> Image.Image:
    ramp = np.linspace(1, 0, height)[:, None].repeat(width, 1)
    return overlays.to_pil(overlays.colormap(ramp, "jet"))


def panels(image, expl: Explanations, trial_id: str, version: str = "paper") -> list[tuple[np.ndarray, str]]:
    """The six panels of one Int screen as ``(array [H,W,3], title)``."""
    if version not in ("paper", "code"):
        raise ParameterError(f"version={version!r}; use 'paper' or 'code'")
    rgb = overlays.to_hwc(image)
    if version == "paper":
        i = expl.index(trial_id)
        ep, reached, heat2, name2 = expl.ep[i], expl.reached[i], expl.smoothgrad[i, 0], "SmoothGrad"
    else:
        if trial_id not in expl.gallery_ids:
            raise ParameterError(f"trial {trial_id!r} has no maps at the code's areas; use a gallery trial")
        i = expl.gallery_ids.index(trial_id)
        ep, reached, name2 = expl.ep_code[i], expl.reached_code[i], "gradient"
        heat2 = expl.gradient[expl.index(trial_id), 0]
    j = expl.index(trial_id)
    out = [(rgb, "Image")]
    for k, panel in enumerate(PAPER_AREAS):
        mask = overlays.to_hw(ep[k].float(), rgb.shape[:2])[..., None]
        out.append((rgb * mask, f"EP {100 * panel:.0f}% (kept {100 * reached[k]:.0f}%)"))
    out.append((overlays.jet_overlay(rgb, expl.gradcam[j, 0].float()), "Grad-CAM"))
    out.append((overlays.jet_overlay(rgb, heat2.float()), name2))
    return out


def compose(tiles: list[tuple[np.ndarray, str]], size: int = 160, colourbar: bool = True) -> Image.Image:
    """Panels side by side under their titles, with a jet colour bar (0 to 1) at the right."""
    font = ImageFont.load_default(size=max(10, size // 12))
    title_h = int(font.size * 1.8)
    bar_w = 40 if colourbar else 0
    canvas = Image.new("RGB", (len(tiles) * (size + GAP) + bar_w, title_h + size), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for n, (arr, title) in enumerate(tiles):
        x = n * (size + GAP)
        canvas.paste(_tile(arr, size), (x, title_h))
        w = draw.textlength(title, font=font)
        draw.text((x + max(0, (size - w) / 2), font.size * 0.3), title, fill=(0, 0, 0), font=font)
    if colourbar:
        x = len(tiles) * (size + GAP)
        canvas.paste(_colourbar(size), (x, title_h))
        small = ImageFont.load_default(size=max(9, size // 16))
        draw.text((x + 16, title_h - 2), "1", fill=(0, 0, 0), font=small)
        draw.text((x + 16, title_h + size - small.size - 2), "0", fill=(0, 0, 0), font=small)
    return canvas


def write_manifest(out: str | Path, clf, labelled, trials: pd.DataFrame, expl: Explanations,
                   options: pd.DataFrame, size: int = 160) -> Path:
    """Write every screen of both experiments (Int and No-Int) and the manifest into ``out``."""
    from ... import stimuli

    out = Path(out)
    for d in ("images", "screens", "maps"):
        (out / d).mkdir(parents=True, exist_ok=True)
    opts = options.set_index(["trial_id", "variant"])
    shown = set(explained(trials)["trial_id"])
    rows = []
    for r in trials.itertuples(index=False):
        image = labelled.load([r.pool_index])[0]
        img_path = f"images/{r.trial_id}.png"
        _tile(overlays.to_hwc(image), size).save(out / img_path)
        conditions = ["Int", "No-Int"] if r.group == "both" else [r.group]
        for cond in conditions:
            stim = expl_path = ""
            if cond == "Int":
                if r.trial_id not in shown:
                    raise ParameterError(f"trial {r.trial_id} is shown with maps but has none")
                tiles = panels(image, expl, r.trial_id, "paper")
                stim, expl_path = f"screens/{r.trial_id}.png", f"maps/{r.trial_id}.png"
                compose(tiles, size).save(out / stim)
                compose(tiles[1:], size).save(out / expl_path)
            rand, hard = opts.loc[(r.trial_id, "random")], opts.loc[(r.trial_id, "hard")]
            rows.append({"study": "shen2020", "trial_id": r.trial_id, "condition": cond, "phase": "test",
                         "stimulus": stim or img_path, "image": img_path, "explanation": expl_path, "examples": [],
                         "question": QUESTION.format(true_label=r.true_label),
                         "options": list(rand["option_labels"]), "answer": r.ai_label,
                         "experiment": int(r.experiment), "true_label": r.true_label, "ai_label": r.ai_label,
                         "category": r.category, "hard_options": list(hard["option_labels"]),
                         "source_id": str(r.source_id)})
    frame = pd.DataFrame(rows)
    frame["hard_options"] = frame["hard_options"].map(json.dumps)
    return stimuli.write_manifest(frame, out, extra_columns=EXTRA_COLUMNS)


def gallery_rows(labelled, trials: pd.DataFrame, expl: Explanations, size: int = 120) -> list[list[tuple]]:
    """For each gallery trial, two composed screens (with colour bar): the paper's version, then the
    released code's; each as ``[(array, title)]`` for :func:`xaibook.viz.panels.titled_grid`."""
    t = trials.set_index("trial_id")
    rows = []
    for tid in expl.gallery_ids:
        image = labelled.load([int(t.loc[tid, "pool_index"])])[0]
        for version, what in (("paper", "paper: areas 20/40/50 %, SmoothGrad"),
                              ("code", "released code: areas 0.2/0.35/0.45, gradient")):
            screen = np.asarray(compose(panels(image, expl, tid, version), size)) / 255.0
            rows.append([(screen, f"{tid}: gold '{t.loc[tid, 'true_label']}', predicted "
                                  f"'{t.loc[tid, 'ai_label']}' ({t.loc[tid, 'category']}) - {what}")])
    return rows
