"""Rendering scene tables into images with multi-hot labels, instance and class maps, boxes and
the optional context (rail) mask."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ... import config
from ...errors import ParameterError
from .. import backgrounds as bgs
from ..blocks import Parts, blocks_from_parts, pose_rotation
from .objects import CLASSES, build_object
from .sampling import SceneParams


@dataclass
class Scenes:
    """Rendered scenes with ground truth.

    Attributes:
        images: ``[N,3,H,W]`` float in [0, 1].
        labels: ``[N,C]`` float multi-hot (class present with at least ``min_pixels`` visible).
        instances: ``[N,H,W]`` uint8 object ids (slot + 1; 0 background and scenery).
        classes: ``[N,H,W]`` uint8 class map (class index + 1; 0 background).
        boxes: ``[N,M,4]`` float pixel boxes (x0, y0, x1, y1 exclusive) per slot; nan if not visible.
        scenes: the scene table (plus ``label`` and ``true_label`` for :func:`im_task` scenes).
        objects: the object table plus ``visible_pixels`` and ``visible``.
        context: ``[N,H,W]`` bool mask of the visible scenery (rails under trains), or None
            when rendered without ``context=True``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    instances: torch.Tensor
    classes: torch.Tensor
    boxes: torch.Tensor
    scenes: pd.DataFrame
    objects: pd.DataFrame
    context: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.images)

    def masks(self, slot: int = 0) -> torch.Tensor:
        """``[N,H,W]`` bool mask of each scene's object ``slot`` (0 = the main object)."""
        return self.instances == slot + 1

    @property
    def binary_labels(self) -> torch.Tensor:
        """``[N]`` long labels of an :func:`im_task` batch (the possibly mislabeled ``label`` column)."""
        if "label" not in self.scenes:
            raise ParameterError("these scenes carry no binary label; draw them with scenes.im_task()")
        return torch.tensor(self.scenes["label"].to_numpy(dtype=np.int64))

    @staticmethod
    def cat(items: Sequence["Scenes"]) -> "Scenes":
        m = max(s.boxes.shape[1] for s in items)
        boxes = [torch.cat([s.boxes, torch.full((len(s), m - s.boxes.shape[1], 4), math.nan)], 1) for s in items]
        offs = np.cumsum([0] + [len(s) for s in items])[:-1]
        objs = []
        for o, s in zip(offs, items):
            ob = s.objects.copy()
            if "scene" in ob:  # per-chunk results of render_scenes carry no object table yet
                ob["scene"] = ob["scene"] + o
            objs.append(ob)
        context = (torch.cat([s.context for s in items]) if all(s.context is not None for s in items) else None)
        return Scenes(torch.cat([s.images for s in items]), torch.cat([s.labels for s in items]),
                      torch.cat([s.instances for s in items]), torch.cat([s.classes for s in items]), torch.cat(boxes),
                      pd.concat([s.scenes for s in items], ignore_index=True), pd.concat(objs, ignore_index=True),
                      context)


def object_parts(row: Mapping[str, Any]) -> tuple[Parts, Parts | None]:
    """World-frame blocks of one object row (and its scenery) from :func:`sample_scenes`."""
    # the body side facing the camera: +x when facing right with a moderate turn
    near = int(row["facing"]) if abs(float(row["turn"])) < 75 else 0
    P, scenery = build_object(str(row["class"]), int(row["seed"]), float(row["hue"]), float(row["sat"]),
                              float(row["val"]), near)
    R = pose_rotation(float(row["facing"]), float(row["turn"]), float(row["elev"]), 0.0)
    s = float(row["scale"])
    pos = (float(row["pos_x"]), float(row["pos_y"]), float(row["pos_z"]))
    world = P.transform(R, pos, s)
    if scenery is not None:
        scenery = scenery.transform(R, pos, s)
    return world, scenery


def _min_pixels(size: int) -> int:
    return max(4, int(round(0.002 * size * size)))


#: Instance id the scenery is rendered with when its mask is asked for (``context=True``); mapped back to 0.
_CONTEXT_ID = 255


def render_scenes(params: SceneParams, size: int = 128, supersample: int = 2, device: Any = None, chunk: int = 128,
                  min_pixels: int | None = None, shadows: bool = True, context: bool = False) -> Scenes:
    """Render :class:`SceneParams` (deterministic) with multi-hot labels, masks and boxes.

    Args:
        params: from :func:`sample_scenes` or :func:`im_task`.
        size: image side in pixels.
        supersample: anti-aliasing rays per pixel side.
        device: torch device for rendering (default :func:`xaibook.config.device`).
        chunk: scenes per renderer call; a progress bar runs over chunks.
        min_pixels: visible pixels for a class to count as present (default 0.2 % of the image).
        shadows: cast soft shadows.
        context: also return the visible scenery (rails) as ``Scenes.context``; images, labels
            and instance maps are the same either way.
    """
    from ...progress import bar
    from ..render import boxes_from_instances, render

    if not isinstance(params, SceneParams):
        raise ParameterError(f"params must be SceneParams from sample_scenes()/im_task(), got {type(params).__name__}")
    if not isinstance(size, int) or size < 16:
        raise ParameterError(f"size={size!r} must be an int >= 16")
    if len(params) == 0:
        raise ParameterError("no scenes to render")
    unknown = sorted(set(params.objects["class"]) - set(CLASSES))
    if unknown:
        raise ParameterError(f"unknown scene classes {unknown}; the classes are {', '.join(CLASSES)}")
    min_pixels = _min_pixels(size) if min_pixels is None else int(min_pixels)
    dev = torch.device(device) if device is not None else config.device()
    by_scene: dict[int, list[dict]] = {}
    for row in params.objects.to_dict("records"):
        by_scene.setdefault(int(row["scene"]), []).append(row)
    n_slots = int(params.objects["slot"].max()) + 1 if len(params.objects) else 1
    out = []
    starts = list(range(0, len(params), chunk))
    for s0 in (bar(starts, desc="render scenes", unit="chunk") if len(starts) > 1 else starts):
        idx = list(range(s0, min(len(params), s0 + chunk)))
        scenes = []
        for i in idx:
            objs = []
            for row in by_scene.get(i, []):
                world, scenery = object_parts(row)
                objs.append((world, int(row["instance"]), int(row["class_index"]) + 1))
                if scenery is not None:
                    objs.append((scenery, _CONTEXT_ID if context else 0, 0))
            scenes.append(objs)
        blocks = blocks_from_parts(scenes)
        sc = params.scenes.iloc[idx]
        bg = bgs.render_sky_ground({k[3:]: sc[k].to_numpy() for k in sc.columns if k.startswith("bg_")}, size=size)
        r = render(blocks, bg, size=size, supersample=supersample, shadows=shadows, device=dev)
        inst = r.instances.cpu()
        ctx = None
        if context:
            ctx = inst == _CONTEXT_ID
            inst = torch.where(ctx, torch.zeros_like(inst), inst)
        boxes = boxes_from_instances(inst, n_slots).float()
        labels = torch.zeros(len(idx), len(CLASSES))
        for a, i in enumerate(idx):
            for row in by_scene.get(i, []):
                pix = int((inst[a] == int(row["instance"])).sum())
                if pix >= min_pixels:
                    labels[a, int(row["class_index"])] = 1.0
        out.append(Scenes(r.image.cpu().float(), labels, inst.to(torch.uint8), r.labels.cpu().to(torch.uint8), boxes,
                          sc.reset_index(drop=True), pd.DataFrame(), ctx))
    res = Scenes.cat(out) if len(out) > 1 else out[0]
    res.scenes = params.scenes.reset_index(drop=True).copy()
    objects = params.objects.copy()
    vis = [int((res.instances[int(s)] == int(k)).sum()) for s, k in zip(objects["scene"], objects["instance"])]
    objects["visible_pixels"] = np.asarray(vis, dtype=np.int64)
    objects["visible"] = objects["visible_pixels"] >= min_pixels
    res.objects = objects
    return res


