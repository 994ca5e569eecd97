"""Localisation metrics for attribution maps: pointing game, IoU sweep and WSL.

Nguyen et al. (2021), Sec. 2.5, scored GradCAM and EP maps of correctly classified
ImageNet images against the human-annotated bounding boxes with three metrics:

* **Pointing game** (Zhang et al. 2018) in TorchRay's definition: the map's maximum is a
  hit when it lies within ``tolerance`` pixels of the ground-truth region.
* **IoU** (Zhou et al. 2016) of the map binarised at ``map >= t * max(map)`` with the
  ground-truth region, at the method's best ``t`` from a sweep in steps of 0.05.
* **WSL** (Zhou et al. 2016): a hit when the box around the binarised map overlaps a
  human box with IoU > 0.5.

Conventions. ``maps`` are ``[B,1,H,W]`` or ``[B,H,W]`` (torch or numpy). A ground-truth
region is either a boolean mask (``[B,H,W]`` or ``[B,1,H,W]``, dtype bool or uint8) or
boxes: a ``[B,4]`` array or a list of ``B`` arrays ``[n_i,4]`` (several boxes of the
class in one image). Boxes are ``(x0, y0, x1, y1)`` in 0-based, inclusive pixel
coordinates, the convention of TorchRay's ``voc_as_mask`` (VOC/ImageNet XML coordinates
minus one). All functions are batched; results come back as NumPy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np
import torch

from ..errors import ParameterError

Regions = Union[torch.Tensor, np.ndarray, Sequence]

DEFAULT_THRESHOLDS = np.round(np.arange(0.05, 1.0, 0.05), 10)


@dataclass
class PointingResult:
    """Pointing-game outcome per image: ``hits`` [B] bool, ``points`` [B,2] as (x, y)."""

    hits: np.ndarray
    points: np.ndarray
    tolerance: int

    @property
    def accuracy(self) -> float:
        """Fraction of hits over the batch."""
        return float(self.hits.mean())


@dataclass
class SweepResult:
    """A per-image score at each binarisation threshold and the best threshold over the set.

    ``per_image`` is ``[B, T]`` (IoU values, or WSL hits as 0/1), ``mean`` is ``[T]``,
    ``best_threshold`` maximises ``mean`` (the lowest such threshold on ties) and
    ``best`` holds the per-image scores at it. WSL also fills ``iou`` (``[B,T]``, the box
    IoU behind each hit) and ``boxes`` (``[B,T,4]`` boxes around the binarised maps, -1
    when the binarised map is empty).
    """

    thresholds: np.ndarray
    per_image: np.ndarray
    mean: np.ndarray
    best_index: int
    best_threshold: float
    best: np.ndarray
    iou: np.ndarray | None = None
    boxes: np.ndarray | None = None

    def table(self):
        """The sweep as a DataFrame (threshold, mean score)."""
        import pandas as pd

        return pd.DataFrame({"threshold": self.thresholds, "score": self.mean})


# ----------------------------------------------------------------------------- inputs

def as_maps(maps, name: str = "maps") -> torch.Tensor:
    """``maps`` as a float tensor ``[B,H,W]``; clear errors for wrong shape or values."""
    if isinstance(maps, np.ndarray):
        maps = torch.from_numpy(maps)
    if not isinstance(maps, torch.Tensor):
        raise ParameterError(f"{name} must be a torch.Tensor or numpy array [B,1,H,W], got {type(maps).__name__}")
    if maps.dim() == 4:
        if maps.shape[1] != 1:
            raise ParameterError(f"{name} must have one channel [B,1,H,W], got {tuple(maps.shape)}")
        maps = maps[:, 0]
    if maps.dim() != 3:
        raise ParameterError(f"{name} must have shape [B,1,H,W] or [B,H,W], got {tuple(maps.shape)}")
    if maps.shape[0] == 0:
        raise ParameterError(f"{name} is an empty batch (B=0)")
    maps = maps.float()
    if not torch.isfinite(maps).all():
        raise ParameterError(f"{name} contains NaN or infinite values")
    return maps


def _as_box_list(boxes, batch: int, name: str) -> list[torch.Tensor]:
    """Boxes as a list of ``B`` float tensors ``[n_i, 4]`` (x0, y0, x1, y1)."""
    if isinstance(boxes, (torch.Tensor, np.ndarray)):
        t = torch.as_tensor(np.asarray(boxes) if isinstance(boxes, np.ndarray) else boxes).float().cpu()
        if t.dim() == 2 and t.shape[1] == 4:
            items = [t[i:i + 1] for i in range(t.shape[0])]
        elif t.dim() == 3 and t.shape[2] == 4:
            items = [t[i] for i in range(t.shape[0])]
        else:
            raise ParameterError(f"{name}: boxes must be [B,4] or [B,K,4] (x0,y0,x1,y1), got {tuple(t.shape)}")
    elif isinstance(boxes, (list, tuple)):
        items = []
        for i, b in enumerate(boxes):
            t = torch.as_tensor(np.asarray(b, dtype=np.float32)).float()
            if t.dim() == 1:
                t = t[None]
            if t.dim() != 2 or t.shape[1] != 4 or t.shape[0] == 0:
                raise ParameterError(f"{name}[{i}] must hold one or more boxes (x0,y0,x1,y1), got shape {tuple(t.shape)}")
            items.append(t)
    else:
        raise ParameterError(f"{name} must be boolean masks or boxes, got {type(boxes).__name__}")
    if len(items) != batch:
        raise ParameterError(f"{name} has {len(items)} entries but maps has B={batch}")
    for i, t in enumerate(items):
        if not torch.isfinite(t).all() or (t[:, 2] < t[:, 0]).any() or (t[:, 3] < t[:, 1]).any():
            raise ParameterError(f"{name}[{i}] has a box with x1 < x0, y1 < y0 or a non-finite value: {t.tolist()}")
    return items


def _is_mask(regions) -> bool:
    if isinstance(regions, torch.Tensor):
        return regions.dtype in (torch.bool, torch.uint8)
    if isinstance(regions, np.ndarray):
        return regions.dtype in (np.bool_, np.uint8)
    return False


def boxes_to_masks(boxes, shape: tuple[int, int], batch: int | None = None) -> torch.Tensor:
    """Union of each image's boxes as a boolean mask ``[B,H,W]`` (inclusive coordinates)."""
    height, width = shape
    items = _as_box_list(boxes, len(boxes) if batch is None else batch, "boxes")
    ys = torch.arange(height, dtype=torch.float32).view(1, height, 1)
    xs = torch.arange(width, dtype=torch.float32).view(1, 1, width)
    masks = torch.zeros((len(items), height, width), dtype=torch.bool)
    for i, b in enumerate(items):
        x0, y0, x1, y1 = (b[:, j].view(-1, 1, 1) for j in range(4))
        inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
        masks[i] = inside.any(dim=0)
    return masks


def region_masks(regions: Regions, maps: torch.Tensor, name: str = "regions") -> torch.Tensor:
    """Ground-truth regions (masks or boxes) as a boolean ``[B,H,W]`` on ``maps``' device."""
    batch, height, width = maps.shape
    if _is_mask(regions):
        m = torch.as_tensor(regions).bool()
        if m.dim() == 4 and m.shape[1] == 1:
            m = m[:, 0]
        if m.dim() != 3 or tuple(m.shape) != (batch, height, width):
            raise ParameterError(f"{name}: masks must have shape [B,H,W]=[{batch},{height},{width}] like maps, got {tuple(m.shape)}")
    else:
        m = boxes_to_masks(regions, (height, width), batch)
    empty = ~m.flatten(1).any(dim=1)
    if empty.any():
        raise ParameterError(f"{name}: the ground-truth region of image(s) {torch.nonzero(empty).flatten().tolist()} "
                             "is empty (no pixel inside the map); check the box coordinates and the image size")
    return m.to(maps.device)


def _thresholds(thresholds, name: str = "thresholds") -> np.ndarray:
    t = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if t.size == 0 or t.ndim != 1 or not np.isfinite(t).all() or (t < 0).any() or (t > 1).any():
        raise ParameterError(f"{name} must be a non-empty sequence of values in [0, 1], got {thresholds!r}")
    return np.round(t, 10)


def binarise(maps: torch.Tensor, threshold: float) -> torch.Tensor:
    """``map >= threshold * max(map)`` per image; a map whose maximum is <= 0 binarises to empty."""
    peak = maps.flatten(1).max(dim=1).values.view(-1, 1, 1)
    return (maps >= threshold * peak) & (peak > 0)


# ----------------------------------------------------------------------------- pointing game

def pointing_game(maps, regions: Regions, tolerance: int = 15) -> PointingResult:
    """Pointing game (Zhang et al. 2018) as implemented by TorchRay.

    The point is the first arg-max of each map (row-major, as TorchRay's benchmark); it
    is a hit when some ground-truth pixel lies at a Euclidean distance strictly below
    ``tolerance`` pixels (TorchRay's ``PointingGame.evaluate``; default 15 as used by
    Nguyen et al. 2021, Sec. 2.5).
    """
    maps = as_maps(maps)
    if int(tolerance) != tolerance or tolerance < 0:
        raise ParameterError(f"tolerance must be a non-negative integer number of pixels, got {tolerance!r}")
    masks = region_masks(regions, maps)
    batch, height, width = maps.shape
    flat = maps.flatten(1).argmax(dim=1)
    px, py = flat % width, flat // width
    ys = torch.arange(height, device=maps.device, dtype=torch.float32).view(1, height, 1)
    xs = torch.arange(width, device=maps.device, dtype=torch.float32).view(1, 1, width)
    d2 = (ys - py.view(-1, 1, 1).float()) ** 2 + (xs - px.view(-1, 1, 1).float()) ** 2
    hits = (masks & (d2 < float(tolerance) ** 2)).flatten(1).any(dim=1)
    points = torch.stack([px, py], dim=1)
    return PointingResult(hits=hits.cpu().numpy(), points=points.cpu().numpy(), tolerance=int(tolerance))


# ----------------------------------------------------------------------------- IoU sweep

def _sweep_result(thresholds: np.ndarray, per_image: np.ndarray, **extra) -> SweepResult:
    mean = per_image.mean(axis=0)
    best = int(np.argmax(mean))  # first maximum: the lowest threshold on ties
    return SweepResult(thresholds=thresholds, per_image=per_image, mean=mean, best_index=best,
                       best_threshold=float(thresholds[best]), best=per_image[:, best], **extra)


def iou(maps, regions: Regions, thresholds: Sequence[float] | float = DEFAULT_THRESHOLDS) -> SweepResult:
    """IoU of the binarised map with the ground-truth region, per threshold (Nguyen Sec. 2.5).

    Each map is binarised at ``map >= t * max(map)`` for every ``t`` in ``thresholds``
    (default 0.05, 0.10, ..., 0.95); boxes are filled into a mask (the union of the
    image's boxes). Returns a :class:`SweepResult` whose ``best_threshold`` is the
    method's best threshold over the given set of images.
    """
    maps = as_maps(maps)
    masks = region_masks(regions, maps)
    ts = _thresholds(thresholds)
    scores = np.zeros((maps.shape[0], len(ts)), dtype=np.float64)
    gt_area = masks.flatten(1).sum(dim=1).double()
    for j, t in enumerate(ts):
        b = binarise(maps, float(t))
        inter = (b & masks).flatten(1).sum(dim=1).double()
        union = b.flatten(1).sum(dim=1).double() + gt_area - inter
        scores[:, j] = (inter / union).cpu().numpy()
    return _sweep_result(ts, scores)


# ----------------------------------------------------------------------------- WSL

def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a`` [N,4] and ``b`` [M,4] (inclusive pixel coordinates) -> [N,M]."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def mask_box(mask: np.ndarray, component: str = "largest") -> np.ndarray | None:
    """The box (x0, y0, x1, y1) around a boolean mask [H,W], or None when it is empty.

    ``component="largest"`` boxes the largest 8-connected component (Zhou et al. 2016,
    weakly-supervised localisation: the box covering the largest connected component);
    ``"all"`` boxes every foreground pixel.
    """
    if not mask.any():
        return None
    if component == "largest":
        from scipy import ndimage

        labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
        if n > 1:
            sizes = np.bincount(labels.ravel())[1:]
            mask = labels == (int(np.argmax(sizes)) + 1)
    elif component != "all":
        raise ParameterError(f"component must be 'largest' or 'all', got {component!r}")
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=np.float64)


def wsl(maps, boxes, threshold: Sequence[float] | float = 0.05, component: str = "largest",
        min_iou: float = 0.5) -> SweepResult:
    """Weakly-supervised localisation (Zhou et al. 2016; Nguyen et al. 2021, Sec. 2.5).

    The map is binarised at ``map >= threshold * max(map)``; the box around the binarised
    map (its largest connected component by default) is a hit when its IoU with one of the
    image's human boxes exceeds ``min_iou`` (0.5). ``threshold`` may be a sequence: the
    result then holds one column per threshold and the best one over the set (Nguyen et
    al. found 0.05 best for GradCAM and EP). An empty binarised map is a miss.
    """
    maps = as_maps(maps)
    items = _as_box_list(boxes, maps.shape[0], "boxes")
    ts = _thresholds(threshold, "threshold")
    batch = maps.shape[0]
    hits = np.zeros((batch, len(ts)), dtype=np.float64)
    ious = np.zeros((batch, len(ts)), dtype=np.float64)
    pred = -np.ones((batch, len(ts), 4), dtype=np.float64)
    for j, t in enumerate(ts):
        binary = binarise(maps, float(t)).cpu().numpy()
        for i in range(batch):
            box = mask_box(binary[i], component)
            if box is None:
                continue
            pred[i, j] = box
            ious[i, j] = box_iou(box, items[i].numpy()).max()
            hits[i, j] = float(ious[i, j] > min_iou)
    return _sweep_result(ts, hits, iou=ious, boxes=pred)
