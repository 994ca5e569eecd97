"""Alqaraawi et al. 2020: the screens of the 2x2 design, written as a generic trial manifest (Sec. 3.2-3.3).

For every task the participant first saw 12 example images, each with its outcome label (TP, FN,
FP in words), with or without the LRP map and with or without the top-10 score bars (the four
conditions), then the task image alone and the question whether the network would recognise the
class in it. Two task orders: cats first or horses first. :func:`write_screens` composes every
screen as a PNG and writes the manifest (:func:`xaibook.stimuli.write_manifest`): examples are
``training`` rows (the outcome label is their feedback), task images ``test`` rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw, ImageFont

from ...stimuli import write_manifest
from ...viz import overlays
from ...viz.score_bars import score_bars
from .published import STUDY

#: The four conditions (Sec. 3.3): name -> (saliency maps shown, scores shown).
CONDITIONS = {"maps and scores": (True, True), "maps only": (True, False), "scores only": (False, True),
              "neither": (False, False)}
#: The two task orders (Sec. 3.2): the task class shown first.
ORDERS = {"cats first": ("cat", "horse"), "horses first": ("horse", "cat")}
OUTCOME_WORDS = {"TP": "the network detected the {c} (true positive)",
                 "FN": "the network missed the {c} (false negative)",
                 "FP": "the network saw a {c} that is not there (false positive)"}
TILE = 160
EXTRA_COLUMNS = {
    "task_order": "the participant's task order (cats first or horses first): show only that order's rows",
    "task_class": "the class the task is about (cat or horse)",
    "task": "position of the task in the order (1-14); examples belong to the task with the same number",
    "outcome": "the network's outcome on the image for the task class (TP, FN, FP); shown on example "
               "screens, hidden (the answer key) on task screens",
    "score": "the network's sigmoid score for the task class",
    "threshold": "the class's decision threshold (F1-optimal on the training split), as a score",
}


def _tile(img_u8: torch.Tensor) -> Image.Image:
    return overlays.to_pil(img_u8.permute(1, 2, 0).numpy() / 255).resize((TILE, TILE), Image.BILINEAR)


def _map_tile(m, img_u8: torch.Tensor) -> Image.Image:
    arr = overlays.signed_heatmap(m[0].numpy(), img_u8.permute(1, 2, 0).numpy() / 255)
    return overlays.to_pil(arr).resize((TILE, TILE), Image.NEAREST)


def compose(image: Image.Image, header: str, explanation: Image.Image | None = None,
            bars: Image.Image | None = None) -> Image.Image:
    """One screen: a header line above the image, its map and its score bars, side by side."""
    parts = [image] + [x for x in (explanation, bars) if x is not None]
    w = sum(x.width for x in parts) + 12 * (len(parts) + 1)
    h = max(x.height for x in parts) + 40
    screen = Image.new("RGB", (max(w, 420), h), "white")
    ImageDraw.Draw(screen).text((12, 8), header, fill="black", font=ImageFont.load_default(size=13))
    x = 12
    for part in parts:
        screen.paste(part, (x, 32))
        x += part.width + 12
    return screen


def _sig(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def write_screens(m, out: str | Path) -> Path:
    """Compose every screen of the four conditions and both orders from :class:`~.pipeline.Materials`
    ``m`` into ``out`` and write the manifest there; returns its path."""
    out = Path(out)
    (out / "screens").mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    names, thr = list(m.classes), m.thresholds
    train, test = m.data["train"], m.data["test"]
    thr_s = [_sig(t) for t in thr]
    files: dict[tuple, str] = {}

    def save(img: Image.Image, rel: str) -> str:  # screens as JPEG (fast to write), tiles as PNG
        if rel.endswith(".jpg"):
            img.save(out / rel, quality=90)
        else:
            img.save(out / rel, compress_level=1)
        return rel

    # the example screens, once per (example, task class, condition)
    for (b, cls, mi, outcome), _ in m.examples.groupby(["bank", "task_class", "map", "outcome"]):
        img = _tile(train.images[b])
        base = save(img, f"images/train-{b}.png")
        lrp_tile = _map_tile(m.example_maps[mi], train.images[b])
        expl = save(lrp_tile, f"images/train-{b}-{cls}-lrp.png")
        probs = torch.sigmoid(m.out["train"]["logits"][b]).numpy()
        bars = score_bars(names, probs, thr_s, highlight=cls, height=TILE)
        header = "Example: " + OUTCOME_WORDS[outcome].format(c=cls)
        for cond, (show_map, show_scores) in CONDITIONS.items():
            key = cond.replace(" ", "-")
            screen = compose(img, header, lrp_tile if show_map else None, bars if show_scores else None)
            files[(b, cls, cond)] = (save(screen, f"screens/{key}-train-{b}-{cls}.jpg"), base,
                                     expl if show_map else "")
    rows = []
    for order, first in ORDERS.items():
        okey = order.split()[0]
        seq = pd.concat([m.tasks[m.tasks["task_class"] == c] for c in first])
        for k, (t, task) in enumerate(seq.iterrows(), 1):
            cls = task["task_class"]
            img = _tile(test.images[task["image"]])
            base = save(img, f"images/test-{task['image']}.png")
            question = f"Will the network recognise a {cls} in this image?"
            screen = save(compose(img, question), f"screens/test-{task['image']}.jpg")
            c = names.index(cls)
            for cond in CONDITIONS:
                ex = m.examples[m.examples["task"] == t]
                for j, e in enumerate(ex.itertuples(), 1):
                    stim, ebase, expl = files[(e.bank, cls, cond)]
                    rows.append({"study": STUDY, "trial_id": f"{okey}-t{k:02d}-e{j:02d}", "condition": cond,
                                 "phase": "training", "stimulus": stim, "image": ebase, "explanation": expl,
                                 "examples": [], "question": f"Example {j} of {len(ex)}: did the network detect "
                                                             f"a {cls}?", "options": ["Yes", "No"],
                                 "answer": "Yes" if e.outcome in ("TP", "FP") else "No", "task_order": order,
                                 "task_class": cls, "task": k, "outcome": e.outcome,
                                 "score": float(torch.sigmoid(m.out["train"]["logits"][e.bank, c])),
                                 "threshold": thr_s[c]})
                rows.append({"study": STUDY, "trial_id": f"{okey}-t{k:02d}", "condition": cond, "phase": "test",
                             "stimulus": screen, "image": base, "explanation": "",
                             "examples": [files[(e.bank, cls, cond)][1] for e in ex.itertuples()],
                             "question": question, "options": ["Yes", "No"],
                             "answer": "Yes" if task["outcome"] in ("TP", "FP") else "No", "task_order": order,
                             "task_class": cls, "task": k, "outcome": task["outcome"],
                             "score": _sig(task["logit"]), "threshold": thr_s[c]})
    return write_manifest(pd.DataFrame(rows), out, extra_columns=EXTRA_COLUMNS)


def trial_manifest(out: str | Path) -> Path:
    """The chapter's screens at the current scale (every condition, both orders; examples as
    ``training`` rows, task images as ``test`` rows) written into ``out``; returns the manifest's path."""
    from ... import runs
    from .pipeline import materials

    m = materials()
    return runs.timed(STUDY, "8 screens and manifest", {"n": len(m.examples)}, lambda: write_screens(m, out))
