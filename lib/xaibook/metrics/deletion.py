"""Deletion and insertion curves (Petsiuk, Das & Saenko 2018, RISE, Sec. 4.1).

Deletion removes the pixels in the order of the map (most important first), replacing
them with a substrate (black by default), and records the model's score for the target
class after each step; a good map makes the score fall fast (low area under the curve).
Insertion starts from the substrate (a blurred copy of the image by default) and puts the
original pixels back in the same order; a good map makes the score rise fast (high area).
The area is the trapezoidal rule over the fraction of pixels changed, in [0, 1].

Batched: all images of a batch and several steps go through the model together.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ParameterError
from ..explain.inputs import check_batch
from ..progress import bar


@dataclass
class CurveResult:
    """``curves`` [B, steps+1] of target scores at ``fractions`` [steps+1]; ``auc`` [B]."""

    fractions: np.ndarray
    curves: np.ndarray
    auc: np.ndarray

    @property
    def mean_auc(self) -> float:
        return float(self.auc.mean())


def area_under_curve(curves: np.ndarray) -> np.ndarray:
    """Trapezoidal area of curves sampled at equally spaced points of [0, 1] (last axis)."""
    curves = np.asarray(curves, dtype=np.float64)
    n = curves.shape[-1] - 1
    if n < 1:
        raise ParameterError("a curve needs at least two points")
    return (curves.sum(axis=-1) - 0.5 * (curves[..., 0] + curves[..., -1])) / n


def gaussian_blur(images: torch.Tensor, sigma: float = 5.0, size: int = 11) -> torch.Tensor:
    """Separable Gaussian blur with replicate padding (RISE's insertion substrate: 11 px, sigma 5)."""
    if size % 2 == 0 or size < 1:
        raise ParameterError(f"size must be an odd number of pixels, got {size}")
    x = torch.arange(size, dtype=images.dtype, device=images.device) - size // 2
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    c = images.shape[1]
    pad = size // 2
    out = F.pad(images, (pad, pad, 0, 0), mode="replicate")
    out = F.conv2d(out, k.view(1, 1, 1, -1).expand(c, 1, 1, size), groups=c)
    out = F.pad(out, (0, 0, pad, pad), mode="replicate")
    return F.conv2d(out, k.view(1, 1, -1, 1).expand(c, 1, size, 1), groups=c)


def _substrate(kind, images: torch.Tensor) -> torch.Tensor:
    if isinstance(kind, torch.Tensor):
        s = kind.to(images.device, images.dtype)
        try:
            return torch.broadcast_to(s, images.shape)
        except RuntimeError:
            raise ParameterError(f"substrate tensor of shape {tuple(s.shape)} does not broadcast to images {tuple(images.shape)}")
    if kind == "black":
        return torch.zeros_like(images)
    if kind == "blur":
        return gaussian_blur(images)
    if kind == "mean":
        return images.mean(dim=(2, 3), keepdim=True).expand_as(images)
    raise ParameterError(f"substrate must be 'black', 'blur', 'mean' or a tensor, got {kind!r}")


def _curves(model: nn.Module, images, targets, maps, steps: int, substrate, insert: bool,
            score: str, batch_size: int, desc: str) -> CurveResult:
    images, targets = check_batch(model, images, targets)
    if targets is None:
        raise ParameterError("targets is required: the class whose score the curve follows")
    if not isinstance(maps, torch.Tensor):
        maps = torch.as_tensor(np.asarray(maps))
    if maps.dim() == 3:
        maps = maps[:, None]
    b, _, h, w = images.shape
    if tuple(maps.shape) != (b, 1, h, w):
        raise ParameterError(f"maps must have shape [B,1,H,W]=[{b},1,{h},{w}] like images, got {tuple(maps.shape)}")
    if not torch.isfinite(maps).all():
        raise ParameterError("maps contains NaN or infinite values")
    if int(steps) != steps or steps < 1:
        raise ParameterError(f"steps must be a positive integer, got {steps!r}")
    if score not in ("probability", "logit"):
        raise ParameterError(f"score must be 'probability' (softmax, as RISE) or 'logit', got {score!r}")
    if batch_size < 1:
        raise ParameterError(f"batch_size must be positive, got {batch_size}")
    steps = int(steps)
    maps = maps.to(images.device).float()
    base = _substrate(substrate, images)
    n_pix = h * w
    # rank[i, p] = position of pixel p in image i's order (0 = most important; ties keep raster order)
    order = torch.sort(maps.flatten(1), dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(n_pix, device=order.device).expand(b, -1))
    counts = torch.tensor([round(s * n_pix / steps) for s in range(steps + 1)], device=images.device)

    jobs = [(i, s) for s in range(steps + 1) for i in range(b)]
    scores = torch.zeros(b, steps + 1, dtype=torch.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in bar(range(0, len(jobs), batch_size), desc=desc):
                chunk = jobs[start:start + batch_size]
                idx = torch.tensor([i for i, _ in chunk], device=images.device)
                st = torch.tensor([s for _, s in chunk], device=images.device)
                changed = (rank[idx] < counts[st].view(-1, 1)).view(-1, 1, h, w)
                if insert:
                    x = torch.where(changed, images[idx], base[idx])
                else:
                    x = torch.where(changed, base[idx], images[idx])
                out = model(x)
                if score == "probability":
                    out = out.softmax(dim=1)
                vals = out.gather(1, targets[idx].view(-1, 1)).squeeze(1).double().cpu()
                scores[idx.cpu(), st.cpu()] = vals
    finally:
        model.train(was_training)
    curves = scores.numpy()
    fractions = counts.cpu().numpy() / n_pix
    return CurveResult(fractions=fractions, curves=curves, auc=area_under_curve(curves))


def deletion(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, maps: torch.Tensor,
             steps: int = 100, substrate="black", score: str = "probability",
             batch_size: int = 64) -> CurveResult:
    """Deletion curve and its area (lower is better) for each image.

    Args:
        model: classifier taking [0, 1] images, returning logits.
        images: ``[B,3,H,W]`` in [0, 1]; targets: ``[B]`` classes whose score is tracked.
        maps: ``[B,1,H,W]`` attribution maps; pixels are removed in decreasing map order.
        steps: number of equal steps from 0 to all pixels (RISE: H*W/224 per step at 224 px).
        substrate: what replaces removed pixels: ``"black"`` (RISE), ``"blur"``, ``"mean"``
            or a tensor broadcastable to ``images``.
        score: ``"probability"`` (softmax, as RISE) or ``"logit"``.
        batch_size: perturbed images per forward pass.
    """
    return _curves(model, images, targets, maps, steps, substrate, False, score, batch_size, "deletion")


def insertion(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, maps: torch.Tensor,
              steps: int = 100, substrate="blur", score: str = "probability",
              batch_size: int = 64) -> CurveResult:
    """Insertion curve and its area (higher is better) for each image.

    Starts from ``substrate`` (default: the image blurred with an 11 px Gaussian of sigma 5,
    as RISE) and inserts the original pixels in decreasing map order. Arguments as
    :func:`deletion`.
    """
    return _curves(model, images, targets, maps, steps, substrate, True, score, batch_size, "insertion")
