"""Im et al. 2023, step 6: the seven conditions' screens, written through the generic trial manifest.

Conditions (``data/published/im2023_conditions.csv``): no explanation, or SmoothGrad / Grad-CAM /
oracle maps shown in the training phase only (``*_train``) or in the training and the test phase
(``*_all``). Per condition:

* **model selection** (task 1): per pair, one screen showing the same training images for
  "Model A" and "Model B" with each model's answer (and its maps where the condition shows them);
  question: which model was trained on the mislabeled data? Pair 0 is the practice screen
  (phase ``training``, with feedback); the others are scored (phase ``test``);
* **counterfactual simulation** (task 2): per model ("Model 1", "Model 2" of one pair), the image
  with the model's answer (and its map), the object to blur outlined, and the blurred image;
  question: what will the model answer on the blurred image? Maps are shown for the unblurred
  image only.

:func:`trial_manifest` writes images, maps and composed screens as PNGs below ``out`` and the
manifest with :func:`xaibook.stimuli.write_manifest`. File names carry no answer.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw, ImageFont

from ...stimuli import write_manifest
from ...viz import overlays
from . import data as task
from .pipeline import METHODS, TASK2_PAIR, Plan, model_pairs, plan, split, task2_pair
from .published import STUDY, published_conditions
from .tasks import calibration, counterfactual_items, explain, selection_items, sigma_of

ANSWERS = ("bus or train", "no bus or train")
SELECTION_QUESTION = "One of these two models was trained on mislabeled data. Which one?"
SELECTION_OPTIONS = ("Model A", "Model B")
CF_QUESTION = ("{model} answered '{before}' on the image on the left. What will it answer on the image on the "
               "right, where the outlined object is blurred?")
TILE = 112
EXTRA_COLUMNS = {
    "task": "model selection or counterfactual simulation",
    "explanation_method": "none, SmoothGrad, GradCAM or oracle (the condition's method)",
    "maps_shown": "whether this screen shows maps (training phase: every explanation condition; test: *_all only)",
    "pair": "the model pair (seed) behind the screen",
    "model_shown": "task 2: Model 1 (the pair's baseline) or Model 2 (its mislabeled model); task 1: both",
    "blurred_object": "task 2: the class of the blurred object (car beside = a car next to a bus or train)",
    "blur_sigma": "task 2: the blur strength in pixels of the model's images (calibrated to flip about half)",
    "predictions_answer": "task 1: whether the two models' answers differ on a shown image (predictions alone answer)",
}


def answer_text(positive: bool) -> str:
    return ANSWERS[0] if positive else ANSWERS[1]


def overlay_map(image: torch.Tensor, m: torch.Tensor) -> np.ndarray:
    """A map over the grey image without rescaling: red for positive, blue for negative, opacity |m| (m in [-1, 1])."""
    g = overlays.grey(image)
    v = overlays.to_hw(m, g.shape).clip(-1, 1)
    colour = np.where(v[..., None] >= 0, overlays.colormap(0.35 + 0.65 * v, "Reds"),
                      overlays.colormap(0.35 - 0.65 * v, "Blues"))
    a = 0.85 * np.abs(v)[..., None]
    return (1 - a) * np.repeat(g[..., None], 3, axis=2) + a * colour


def _tile(array: np.ndarray | torch.Tensor) -> Image.Image:
    if isinstance(array, torch.Tensor):
        array = overlays.to_hwc(array.float() / 255 if array.dtype == torch.uint8 else array)
    return overlays.to_pil(array).resize((TILE, TILE), Image.NEAREST)


def _outline(img: Image.Image, mask: torch.Tensor) -> Image.Image:
    ys, xs = np.nonzero(mask.numpy())
    if len(xs):
        s = TILE / mask.shape[-1]
        ImageDraw.Draw(img).rectangle([xs.min() * s, ys.min() * s, (xs.max() + 1) * s, (ys.max() + 1) * s],
                                      outline=(255, 200, 0), width=2)
    return img


def _sheet(rows: list[list[tuple[Image.Image, str]]], labels: list[str]) -> Image.Image:
    """Tiles in rows, each with a caption under it and a label left of its row."""
    left, cap = 80, 18
    w = left + TILE * max(len(r) for r in rows)
    sheet = Image.new("RGB", (w, (TILE + cap) * len(rows)), "white")
    d = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    for r, (row, label) in enumerate(zip(rows, labels)):
        y = r * (TILE + cap)
        d.text((4, y + TILE // 2), label, fill="black", font=font)
        for c, (tile, text) in enumerate(row):
            sheet.paste(tile, (left + c * TILE, y))
            d.text((left + c * TILE + 3, y + TILE + 2), text, fill="black", font=font)
    return sheet


def _save(img: Image.Image, out: Path, rel: str) -> str:
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, compress_level=1)
    return rel


def _conditions() -> pd.DataFrame:
    c = published_conditions()
    return c[["condition", "explanation", "access"]]


def _shows(cond: pd.Series, phase: str) -> bool:
    return cond["explanation"] != "none" and (phase == "training" or cond["access"] == "training and evaluation")


def trial_manifest(out: str | Path, p: Plan | None = None) -> Path:
    """Write every condition's screens of both tasks into ``out`` and return the manifest CSV's path.

    ``p``: the plan (default: the current scale's, :func:`~.pipeline.plan`).
    """
    from ... import runs
    from .pipeline import sizes

    p = p or plan()
    return runs.timed(STUDY, "6 screens", sizes(p), lambda: _write(Path(out), p))


def _write(out: Path, p: Plan) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    pairs = model_pairs(p)
    train, test = split("train", p), split("test", p)
    sel = selection_items(pairs, train, p)
    tp = min(TASK2_PAIR, len(pairs) - 1)
    cal = calibration(task2_pair(pairs), test, p)
    cf = counterfactual_items(task2_pair(pairs), test, p)
    conds = _conditions()
    rows = []
    # ------------------------------------------------------------------ task 1: model selection
    for pair, items in sel.groupby("pair"):
        pr = pairs[int(pair)]
        idx = items["image"].to_numpy()
        a_is_mis = items["mislabeled_is"].iloc[0] == "Model A"
        models = [("Model A", pr.second if a_is_mis else pr.first, "pred_mislabeled" if a_is_mis else "pred_baseline"),
                  ("Model B", pr.first if a_is_mis else pr.second, "pred_baseline" if a_is_mis else "pred_mislabeled")]
        pics = [_save(_tile(train.images[int(k)]), out, f"images/select-{pair}-{j}.png") for j, k in enumerate(idx)]
        plain = [[(_tile(train.images[int(k)]), answer_text(bool(items[col].iloc[j]))) for j, k in enumerate(idx)]
                 for _, _, col in models]
        screen_plain = _save(_sheet(plain, [m for m, _, _ in models]), out, f"stimuli/none/select-{pair}.png")
        by_method = {}
        for method in METHODS:
            sheets = []
            for name, model, col in models:
                sig = sigma_of(cal, "mislabeled" if model is pr.second else "baseline")
                maps = explain(model, train, idx, method, p, sig)
                sheets.append([(_tile(overlay_map(train.images[int(k)].float() / 255, maps[j])),
                                answer_text(bool(items[col].iloc[j]))) for j, k in enumerate(idx)])
            by_method[method] = _save(_sheet(sheets, [m for m, _, _ in models]), out, f"maps/{method}/select-{pair}.png")
        phase = items["phase"].iloc[0]
        for cond in conds.to_dict("records"):
            shows = _shows(cond, phase)
            rows.append({"trial_id": f"select-{pair}", "condition": cond["condition"], "phase": phase,
                         "stimulus": by_method[cond["explanation"]] if shows else screen_plain, "image": pics[0],
                         "explanation": by_method[cond["explanation"]] if shows else "", "examples": pics,
                         "question": SELECTION_QUESTION, "options": list(SELECTION_OPTIONS),
                         "answer": items["mislabeled_is"].iloc[0], "task": "model selection",
                         "explanation_method": cond["explanation"], "maps_shown": shows, "pair": int(pair),
                         "model_shown": "both", "blurred_object": "", "blur_sigma": np.nan,
                         "predictions_answer": bool(items["answerable"].iloc[0])})
    # ----------------------------------------------------------- task 2: counterfactual simulation
    pr = pairs[tp]
    members = {"baseline": ("Model 1", pr.first), "mislabeled": ("Model 2", pr.second)}
    for (name, phase), items in cf.groupby(["model", "phase"], sort=False):
        label, model = members[name]
        sig = sigma_of(cal, name)
        idx = items["scene"].to_numpy()
        maps = {m: explain(model, test, idx, m, p, sig) for m in METHODS}
        for j, r in enumerate(items.itertuples()):
            tid = f"cf-{label[-1]}-{phase[:5]}-{j:02d}"
            mask = test.instances[int(r.scene)] == int(r.instance)
            orig = _outline(_tile(test.images[int(r.scene)]), mask)
            blur = task_blur(test, int(r.scene), int(r.instance), sig)
            img = _save(orig, out, f"images/{tid}.png")
            blurred_file = _save(_outline(_tile(blur), mask), out, f"images/{tid}-blurred.png")
            before = answer_text(r.before > 0)
            blur_tile = _outline(_tile(blur), mask)
            plain = _save(_sheet([[(orig, before), (blur_tile, "?")]], [label]), out, f"stimuli/none/{tid}.png")
            with_map = {}
            for m in METHODS:
                mp = _save(_outline(_tile(overlay_map(test.images[int(r.scene)].float() / 255, maps[m][j])), mask),
                           out, f"maps/{m}/{tid}.png")
                sheet = _sheet([[(orig, before), (Image.open(out / mp), m), (blur_tile, "?")]], [label])
                with_map[m] = (mp, _save(sheet, out, f"stimuli/{m}/{tid}.png"))
            cls = str(items["class"].iloc[j])
            pos = bool(test.scenes["positive"].iloc[int(r.scene)])
            obj = cls if cls != "car" else ("car beside" if pos else "car alone")
            for cond in conds.to_dict("records"):
                shows = _shows(cond, phase)
                rows.append({"trial_id": tid, "condition": cond["condition"], "phase": phase,
                             "stimulus": with_map[cond["explanation"]][1] if shows else plain, "image": img,
                             "explanation": with_map[cond["explanation"]][0] if shows else "",
                             "examples": [blurred_file], "question": CF_QUESTION.format(model=label, before=before),
                             "options": list(ANSWERS), "answer": answer_text(r.after > 0),
                             "task": "counterfactual simulation", "explanation_method": cond["explanation"],
                             "maps_shown": shows, "pair": tp, "model_shown": label, "blurred_object": obj,
                             "blur_sigma": sig, "predictions_answer": False})
    frame = pd.DataFrame(rows)
    frame.insert(0, "study", STUDY)
    return write_manifest(frame, out, extra_columns=EXTRA_COLUMNS)


def task_blur(data: task.TaskData, scene: int, instance: int, sigma: float) -> torch.Tensor:
    """One image with one object blurred (float ``[3,S,S]``)."""
    from ...world.scenes import blur_object

    return blur_object(data.float_images(scene), data.instances[scene] == instance, sigma=sigma, margin=1)
