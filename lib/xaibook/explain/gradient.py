"""Plain gradient saliency, and the helpers the gradient family shares.

The map is the gradient of the target class's logit with respect to the input pixels
(Simonyan, Vedaldi & Zisserman 2014), reduced over the colour channels. Shen & Huang
(2020, Step 2) describe their "output backpropagation" map as SmoothGrad, but their public
code draws the plain gradient: max over channels of the absolute gradient, 4x4 average
pooling, min-max scaling and bilinear upsampling, i.e.
``gradient(model, images, targets, channels="absmax", pool=4, normalize="minmax")``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ParameterError
from .inputs import check_batch

__all__ = ["gradient"]

CHANNEL_REDUCTIONS = ("absmax", "sum", "abssum")
NORMALIZATIONS = (None, "max", "minmax", "absmax")


def gradient(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, *,
             channels: str = "absmax", pool: int = 1, normalize: str | None = None) -> torch.Tensor:
    """Gradient of ``logit[target]`` with respect to the image, one map per image.

    Args:
        model: classifier taking ``[B,3,H,W]`` images in [0, 1] and returning logits.
        images: ``[B,3,H,W]`` float batch in [0, 1].
        targets: ``[B]`` long class indices to explain.
        channels: ``"absmax"`` (``max_c |g_c|``, Simonyan et al. and Shen & Huang's code),
            ``"sum"`` (signed ``sum_c g_c``) or ``"abssum"`` (``sum_c |g_c|``).
        pool: side of an average-pooling window applied to the map before it is upsampled
            back (bilinear) to the input size; 1 (default) keeps full resolution,
            Shen & Huang's code used 4.
        normalize: ``None``, ``"max"`` (divide by the map's max), ``"minmax"`` or
            ``"absmax"`` (divide by ``max |map|``, keeps the sign); per image.

    Returns:
        ``[B,1,H,W]`` maps on the model's device.
    """
    images, targets = prepare(model, images, targets)
    check_choice("channels", channels, CHANNEL_REDUCTIONS)
    check_choice("normalize", normalize, NORMALIZATIONS)
    pool = check_int("pool", pool, 1)
    with eval_mode(model), torch.enable_grad():
        grads = input_gradients(model, images, targets)
    return finish_maps(reduce_channels(grads, channels), images.shape[-2:], pool=pool, normalize=normalize)


# --------------------------------------------------------------------------------------
# Helpers shared by gradient, smoothgrad, gradcam, extremal_perturbation and lrp.
# --------------------------------------------------------------------------------------

def prepare(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``check_batch`` plus the convention's three colour channels; targets are required."""
    if targets is None:
        raise ParameterError("targets is required: a [B] long tensor of the classes to explain")
    if isinstance(targets, torch.Tensor) and not targets.is_floating_point() and not targets.is_complex() \
            and targets.numel() and (targets < 0).any():
        raise ParameterError(f"targets must be class indices >= 0, got {targets.tolist()}")
    images, targets = check_batch(model, images, targets)
    if images.shape[1] != 3:
        raise ParameterError(f"images must have 3 colour channels [B,3,H,W], got shape {tuple(images.shape)}")
    return images, targets


def check_targets(targets: torch.Tensor, logits: torch.Tensor) -> None:
    """Raise if a target is not a valid index into the model's ``logits`` ``[N, n_classes]``."""
    if logits.dim() != 2:
        raise ParameterError(f"model must return logits [B, n_classes], got output shape {tuple(logits.shape)}")
    n_classes = logits.shape[1]
    if (targets >= n_classes).any():
        bad = sorted(set(targets[targets >= n_classes].tolist()))
        raise ParameterError(f"targets out of range [0, {n_classes}) for a model with {n_classes} outputs: {bad}")


def target_scores(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``logits[i, targets[i]]`` after checking the range."""
    check_targets(targets, logits)
    return logits.gather(1, targets[:, None])[:, 0]


def input_gradients(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``d logit[target] / d image`` for a batch (one forward, one backward, no weight gradients)."""
    x = images.detach().requires_grad_(True)
    score = target_scores(model(x), targets)
    (grad,) = torch.autograd.grad(score.sum(), x)
    return grad


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` in eval mode (batch norm statistics, no dropout); restore its mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def reduce_channels(grads: torch.Tensor, how: str) -> torch.Tensor:
    """``[B,C,H,W]`` -> ``[B,1,H,W]`` by one of :data:`CHANNEL_REDUCTIONS`."""
    if how == "absmax":
        return grads.abs().amax(dim=1, keepdim=True)
    if how == "sum":
        return grads.sum(dim=1, keepdim=True)
    if how == "abssum":
        return grads.abs().sum(dim=1, keepdim=True)
    raise ParameterError(f"channels={how!r} is not one of {CHANNEL_REDUCTIONS}")


def normalize_maps(maps: torch.Tensor, how: str | None) -> torch.Tensor:
    """Scale each map of ``[B,1,H,W]`` on its own; a constant or all-zero map stays finite (zeros)."""
    if how is None:
        return maps
    flat = maps.flatten(1)
    tiny = torch.finfo(maps.dtype).tiny
    if how == "max":
        top = flat.amax(dim=1).clamp(min=tiny)
        return maps / top.view(-1, 1, 1, 1)
    if how == "absmax":
        top = flat.abs().amax(dim=1).clamp(min=tiny)
        return maps / top.view(-1, 1, 1, 1)
    if how == "minmax":
        low, high = flat.amin(dim=1).view(-1, 1, 1, 1), flat.amax(dim=1).view(-1, 1, 1, 1)
        return (maps - low) / (high - low).clamp(min=tiny)
    raise ParameterError(f"normalize={how!r} is not one of {NORMALIZATIONS}")


def finish_maps(maps: torch.Tensor, size: tuple[int, int] | torch.Size, *, pool: int = 1,
                normalize: str | None = None) -> torch.Tensor:
    """Optional average pooling, per-image normalisation, bilinear resize to ``size`` (in that order)."""
    if pool > 1:
        maps = F.avg_pool2d(maps, pool, ceil_mode=True)
    maps = normalize_maps(maps, normalize)
    if tuple(maps.shape[-2:]) != tuple(size):
        maps = F.interpolate(maps, size=tuple(size), mode="bilinear", align_corners=False)
    return maps.detach()


def check_choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ParameterError(f"{name}={value!r} is not one of {choices}")


def check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_number(name: str, value, low: float | None = None, high: float | None = None,
                  low_open: bool = False) -> float:
    """A finite real number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ParameterError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ParameterError(f"{name} must be <= {high}, got {value!r}")
    return float(value)
