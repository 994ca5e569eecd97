"""Rendering zoo parameter tables into images with instance masks, part labels, boxes and records."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from ... import config
from ...errors import ParameterError
from .. import backgrounds as bgs
from ..blocks import blocks_from_parts
from .creature import creature_parts, occluder_parts
from .species import _SPECIES

#: Instance ids: the labelled creature, the second creature (C2 knob) and the occluder (C1 knob).
MAIN, SECOND, OCCLUDER = 1, 2, 3


_REQUIRED = ("species", "facing", "turn", "elev", "tilt", "bend", "scale", "pos_x", "pos_y", "pos_z", "hue", "sat",
             "val", "roundness", "shape_seed", "label", "second", "occluded", "cropped", "lookalike_species",
             "lookalike_mix") + tuple("bg_" + f for f in bgs.FIELDS)


@dataclass
class ZooImages:
    """Rendered zoo images with ground truth. Unpacks as ``images, labels, masks, boxes, records``.

    Attributes:
        images: ``[N,3,H,W]`` float in [0, 1].
        labels: ``[N]`` long gold labels (the species index, or a wrong one where ``label_flipped``).
        masks: ``[N,H,W]`` uint8 instance map (0 background, 1 creature, 2 second creature, 3 occluder).
        boxes: ``[N,4]`` float pixel box ``x0, y0, x1, y1`` (exclusive ends) of the labelled creature.
        records: the parameter table plus measured facts: ``area`` (creature pixels),
            ``visible_fraction`` (visible / unoccluded, uncropped area), ``touches_border``,
            ``second_area`` and ``second_box_*``.
        parts: ``[N,H,W]`` uint8 part labels (:data:`PART_LABELS`).
    """

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    boxes: torch.Tensor
    records: pd.DataFrame
    parts: torch.Tensor

    def __iter__(self) -> Iterator[Any]:
        return iter((self.images, self.labels, self.masks, self.boxes, self.records))

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: Sequence[int] | np.ndarray | torch.Tensor) -> "ZooImages":
        """The images at ``index`` (records re-indexed from 0)."""
        idx = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return ZooImages(self.images[idx], self.labels[idx], self.masks[idx], self.boxes[idx],
                         self.records.iloc[idx.numpy()].reset_index(drop=True), self.parts[idx])

    @staticmethod
    def cat(items: Sequence["ZooImages"]) -> "ZooImages":
        return ZooImages(torch.cat([z.images for z in items]), torch.cat([z.labels for z in items]),
                         torch.cat([z.masks for z in items]), torch.cat([z.boxes for z in items]),
                         pd.concat([z.records for z in items], ignore_index=True), torch.cat([z.parts for z in items]))


def _check_params(params: pd.DataFrame) -> None:
    if not isinstance(params, pd.DataFrame):
        raise ParameterError(f"params must be the DataFrame from sample_zoo(), got {type(params).__name__}")
    missing = [c for c in _REQUIRED if c not in params.columns]
    if missing:
        raise ParameterError(f"params lack the columns {missing}; draw them with zoo.sample_zoo()")
    bad = params.loc[~params["species"].between(0, len(_SPECIES) - 1), "species"]
    if len(bad):
        raise ParameterError(f"unknown species index {int(bad.iloc[0])}; valid indices are 0..{len(_SPECIES) - 1}")


def _render_chunk(rows: list[dict], size: int, supersample: int, device: Any, shadows: bool) -> ZooImages:
    from ..render import boxes_from_instances, render

    scenes = []
    for row in rows:
        objs = [(creature_parts(row), MAIN, None)]
        if row["second"]:
            objs.append((creature_parts(row, "second_"), SECOND, None))
        if row["occluded"]:
            objs.append((occluder_parts(row), OCCLUDER, None))
        scenes.append(objs)
    blocks = blocks_from_parts(scenes)
    bg = bgs.render_backgrounds({k: np.asarray([r[k] for r in rows]) for k in ["bg_" + f for f in bgs.FIELDS]},
                                size=size, prefix="bg_")
    out = render(blocks, bg, size=size, supersample=supersample, shadows=shadows, device=device)
    inst = out.instances.cpu()
    area = (inst == MAIN).flatten(1).sum(1)
    border = torch.zeros_like(inst, dtype=torch.bool)
    border[:, 0], border[:, -1], border[:, :, 0], border[:, :, -1] = True, True, True, True
    touches = ((inst == MAIN) & border).flatten(1).any(1)
    # reference: the creature alone (no occluder, no second creature), moved to the centre of the
    # frame where it was cropped or touches the border, else in place (same pixel grid)
    need = [i for i, r in enumerate(rows) if r["second"] or r["occluded"] or r["cropped"] or bool(touches[i])]
    visible = torch.ones(len(rows))
    if need:
        ref_scenes = []
        for i in need:
            r = dict(rows[i])
            if r["cropped"] or bool(touches[i]):
                r["pos_y"], r["pos_z"] = 0.0, 0.0
            ref_scenes.append([(creature_parts(r), MAIN, None)])
        ref = render(blocks_from_parts(ref_scenes), torch.zeros(len(need), 3), size=size, supersample=1,
                     shadows=False, device=device)
        ref_area = (ref.instances.cpu() == MAIN).flatten(1).sum(1).clamp_min(1)
        visible[need] = (area[need].float() / ref_area.float()).clamp(max=1.0)
    boxes = boxes_from_instances(inst, 2)
    rec = pd.DataFrame(rows)
    rec["area"] = area.numpy()
    rec["visible_fraction"] = visible.numpy()
    rec["touches_border"] = touches.numpy()
    rec["second_area"] = (inst == SECOND).flatten(1).sum(1).numpy()
    for j, c in enumerate(("x0", "y0", "x1", "y1")):
        rec["second_box_" + c] = boxes[:, 1, j].numpy()
    return ZooImages(out.image.cpu().float(), torch.tensor(rec["label"].to_numpy(dtype=np.int64)),
                     inst.to(torch.uint8), boxes[:, 0].float(), rec, out.labels.cpu().to(torch.uint8))


def render_zoo(params: pd.DataFrame, size: int = 128, supersample: int = 2, device: Any = None,
               chunk: int = 128, shadows: bool = True) -> ZooImages:
    """Render a parameter table from :func:`sample_zoo` (deterministic: same table, same images).

    Args:
        params: the table (one row per image).
        size: image side in pixels.
        supersample: anti-aliasing rays per pixel side.
        device: torch device for rendering (default :func:`xaibook.config.device`).
        chunk: images per renderer call (bounds memory); a progress bar runs over chunks.
        shadows: cast soft shadows.
    Returns:
        :class:`ZooImages` (unpacks as ``images, labels, masks, boxes, records``).
    """
    from ...progress import bar

    _check_params(params)
    if not isinstance(size, int) or size < 16:
        raise ParameterError(f"size={size!r} must be an int >= 16")
    if chunk < 1:
        raise ParameterError(f"chunk={chunk} must be >= 1")
    rows = params.to_dict("records")
    if not rows:
        raise ParameterError("params is empty: nothing to render")
    dev = torch.device(device) if device is not None else config.device()
    starts = list(range(0, len(rows), chunk))
    parts = [_render_chunk(rows[s:s + chunk], size, supersample, dev, shadows)
             for s in (bar(starts, desc="render zoo", unit="chunk") if len(starts) > 1 else starts)]
    return ZooImages.cat(parts)


