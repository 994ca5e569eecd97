"""Im et al. 2023: the chapter's pictures (screens of task 1, maps per method, blur examples)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ...viz import overlays, panels
from .figures import pipeline_data
from .pipeline import METHODS, Plan
from .screens import answer_text, overlay_map, task_blur
from .tasks import explain, sigma_of


def _rgb(t: torch.Tensor) -> np.ndarray:
    return overlays.to_hwc(t.float() / 255 if t.dtype == torch.uint8 else t)


def selection_figure(pair, items: pd.DataFrame, train, cal: pd.DataFrame, p: Plan, method: str = "oracle"):
    """Figure: one selection screen: both models' answers on the same images, then their ``method`` maps."""
    idx = items["image"].to_numpy()
    a_mis = items["mislabeled_is"].iloc[0] == "Model A"
    models = [("A", pair.second if a_mis else pair.first, "mislabeled" if a_mis else "baseline"),
              ("B", pair.first if a_mis else pair.second, "baseline" if a_mis else "mislabeled")]
    rows, labels = [], []
    for letter, model, name in models:
        col = f"pred_{name}"
        rows.append([(_rgb(train.images[int(k)]), answer_text(bool(items[col].iloc[j]))) for j, k in enumerate(idx)])
        labels.append(f"Model {letter}")
    for letter, model, name in models:
        maps = explain(model, train, idx, method, p, sigma_of(cal, name))
        rows.append([(overlay_map(train.images[int(k)].float() / 255, maps[j]), method) for j, k in enumerate(idx)])
        labels.append(f"Model {letter}, {method}")
    key = items["mislabeled_is"].iloc[0]
    return panels.titled_grid(rows, row_labels=labels,
                              title=f"A model-selection screen (pair {int(items['pair'].iloc[0])}); key: {key} saw "
                                    "the mislabeled data", caption=panels.provenance(pipeline_data(p), p.scale))


def maps_figure(pair, test, index, cal: pd.DataFrame, p: Plan):
    """Figure: each method's map of both models on car-only test images (red: evidence for 'bus or train')."""
    rows, labels = [], []
    for i in index:
        row = [(_rgb(test.images[int(i)]), "image")]
        for name, model in (("baseline", pair.first), ("mislabeled", pair.second)):
            for m in METHODS:
                mp = explain(model, test, [int(i)], m, p, sigma_of(cal, name))[0]
                row.append((overlay_map(test.images[int(i)].float() / 255, mp), f"{name}\n{m}"))
        rows.append(row)
        labels.append(test.scenes["id"].iloc[int(i)][-6:])
    return panels.titled_grid(rows, row_labels=labels, title="The three maps of both models on car-only images",
                              caption=panels.provenance(pipeline_data(p), p.scale), title_size=7)


def blur_figure(items: pd.DataFrame, test, p: Plan, per_model: int = 4):
    """Figure: counterfactual items of both models: the image, the blurred image, each with the model's answer."""
    rows, labels = [], []
    for name, g in items[items["phase"] == "test"].groupby("model", sort=False):
        g = pd.concat([g[g["flip"]].head(per_model // 2), g[~g["flip"]].head(per_model - per_model // 2)])
        row = []
        for r in g.itertuples():
            img = test.images[int(r.scene)]
            row.append((_rgb(img), f"{answer_text(r.before > 0)}"))
            b = task_blur(test, int(r.scene), int(r.instance), float(r.sigma))
            row.append((overlays.to_hwc(b), f"{items.loc[r.Index, 'class']} blurred:\n{answer_text(r.after > 0)}"
                                            + (" (flip)" if r.flip else "")))
        rows.append(row)
        labels.append(name)
    return panels.titled_grid(rows, row_labels=labels, title="Counterfactual items: each image and its blurred copy",
                              caption=panels.provenance(pipeline_data(p), p.scale), title_size=7)


def data_figure(train, p: Plan, n: int = 8):
    """Figure: training images with both label sets (the car-only ones differ), car-only and car-beside first."""
    from .data import labels

    y0, y1 = labels(train, False), labels(train, True, p.confuser)
    cars = train.only(p.confuser)
    beside = [i for i in range(len(train)) if p.confuser in train.scenes["classes"].iloc[i].split("|")
              and bool(train.scenes["positive"].iloc[i])]
    rest = [i for i in range(len(train)) if i not in set(cars) | set(beside)]
    pick = (list(cars[: n // 4]) + beside[: n // 4] + rest)[:n]
    row = [(_rgb(train.images[i]), f"baseline: {'yes' if y0[i] else 'no'}\nmislabeled: {'yes' if y1[i] else 'no'}")
           for i in pick]
    return panels.titled_grid([row[: n // 2], row[n // 2:]], title="Training images and their labels in both sets "
                              "('yes': bus or train)", caption=panels.provenance(pipeline_data(p), p.scale),
                              title_size=7)
