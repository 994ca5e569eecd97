"""The oracle map of Im, Andreas & Zhou (2023): what truly drives the model, from the world's truth.

Im et al. compare SmoothGrad and Grad-CAM with a synthetic "oracle" explanation built by
simple rules that highlight what actually determines the model's output (their summary,
Sec. "Methods"); the rules themselves are not public. The rule implemented here, for
scenes whose generator knows the per-pixel masks of the objects that determine the
model's label:

    oracle = normalise( blur( sum_k w_k * mask_k ) )

* ``mask_k`` is the mask of object ``k`` (1 inside, 0 outside; soft masks allowed);
* ``w_k`` is how much object ``k`` drives the label (default 1 for every object given);
  a negative weight marks an object that drives the model *against* the target, which
  gives a signed map;
* ``blur`` softens the edges like a saliency map (Gaussian, sigma = ``blur * min(H, W)``);
* the map is divided by its largest absolute value (``normalize="max"``), so the most
  decisive object reads 1 whatever its size.

The model is not run: the map is a function of the world's ground truth only, which is
what makes it an oracle. ``model`` and ``targets`` are accepted for the common calling
convention (``model`` may be ``None``); targets are checked for shape and type only.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ParameterError
from .extremal import gaussian_blur
from .gradient import check_choice, check_number
from .inputs import check_batch

__all__ = ["oracle"]


def oracle(model: nn.Module | None, images: torch.Tensor, targets: torch.Tensor, *,
           masks: torch.Tensor, weights: torch.Tensor | None = None, blur: float = 0.0,
           normalize: str | None = "max") -> torch.Tensor:
    """Oracle maps ``[B,1,H,W]`` from ground-truth object masks.

    Args:
        model: accepted for the calling convention, never run (may be ``None``).
        images: ``[B,3,H,W]`` float batch in [0, 1] (gives the size and device).
        targets: ``[B]`` long class indices (checked, not used by the rule).
        masks: ``[B,K,H,W]`` (or ``[B,H,W]`` for one object) masks in [0, 1], bool or
            float, of the ``K`` objects that determine the model's label.
        weights: ``[K]`` or ``[B,K]`` contribution of each object (default: all 1).
        blur: Gaussian smoothing, sigma as a fraction of the image side (0: sharp masks).
        normalize: ``"max"`` (divide by the largest absolute value, per image) or ``None``.
    """
    images, targets = check_batch(model if model is not None else nn.Identity(), images, targets)
    if images.shape[1] != 3:
        raise ParameterError(f"images must have 3 colour channels [B,3,H,W], got shape {tuple(images.shape)}")
    check_choice("normalize", normalize, (None, "max"))
    blur = check_number("blur", blur, 0.0)
    b, _, h, w = images.shape
    masks = _check_masks(masks, b, h, w).to(images.device, images.dtype)
    k = masks.shape[1]
    if weights is None:
        weights = torch.ones(b, k, dtype=images.dtype, device=images.device)
    else:
        weights = _check_weights(weights, b, k).to(images.device, images.dtype)
    maps = (masks * weights[:, :, None, None]).sum(dim=1, keepdim=True)
    if blur > 0:
        maps = gaussian_blur(maps, blur * min(h, w), padding="replicate")
    if normalize == "max":
        top = maps.flatten(1).abs().amax(dim=1).clamp(min=torch.finfo(maps.dtype).tiny)
        maps = maps / top.view(-1, 1, 1, 1)
    return maps


def _check_masks(masks, b: int, h: int, w: int) -> torch.Tensor:
    if not isinstance(masks, torch.Tensor):
        raise ParameterError(f"masks must be a torch.Tensor [B,K,H,W], got {type(masks).__name__}")
    if masks.dim() == 3:
        masks = masks[:, None]
    if masks.dim() != 4 or masks.shape[0] != b or tuple(masks.shape[-2:]) != (h, w) or masks.shape[1] == 0:
        raise ParameterError(f"masks must have shape [B,K,H,W] = [{b},K,{h},{w}] with K >= 1, got {tuple(masks.shape)}")
    if masks.dtype == torch.bool:
        return masks.float()
    if not masks.is_floating_point():
        masks = masks.float()
    if not torch.isfinite(masks).all():
        raise ParameterError("masks contains NaN or infinite values")
    if masks.min() < 0 or masks.max() > 1:
        raise ParameterError(f"masks must lie in [0, 1], got values in [{masks.min().item():g}, {masks.max().item():g}]")
    return masks


def _check_weights(weights, b: int, k: int) -> torch.Tensor:
    weights = torch.as_tensor(weights)
    if not weights.is_floating_point():
        weights = weights.float()
    if weights.dim() == 1:
        weights = weights[None].expand(b, -1)
    if weights.shape != (b, k):
        raise ParameterError(f"weights must have shape [K]=[{k}] or [B,K]=[{b},{k}], got {tuple(weights.shape)}")
    if not torch.isfinite(weights).all():
        raise ParameterError("weights contains NaN or infinite values")
    return weights
