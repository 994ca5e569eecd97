"""Argument checks shared by every explanation method (one calling convention).

Every method is called as ``method(model, images, targets, **params)`` with ``images``
a float ``[B, 3, H, W]`` batch in [0, 1] and ``targets`` a long ``[B]`` tensor of class
indices, and returns maps ``[B, 1, H, W]`` at the input resolution.

Floating dtypes: images of any floating dtype are accepted and cast to the dtype of the
model's parameters (float32 for every model of the book), so a float64 batch, as numpy
and PIL pipelines produce, gives the same maps as its float32 copy; the maps come back in
the model's dtype. A model without parameters receives the images as given. Integer images
(e.g. uint8 in 0..255) are refused: dividing by 255 is the caller's decision.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ParameterError
from ..models.inference import model_device


def check_batch(model: nn.Module, images: torch.Tensor, targets: torch.Tensor | None,
                n_classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Validate ``images`` and ``targets``; return them on the model's device.

    Raises :class:`ParameterError` naming the argument for a wrong type, shape or dtype,
    NaN or infinite pixels, an empty batch or image, or targets out of ``[0, n_classes)``.
    Floating images are cast to the model's parameter dtype (see the module docstring).
    """
    if not isinstance(model, nn.Module):
        raise ParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(images, torch.Tensor):
        raise ParameterError(f"images must be a torch.Tensor [B,3,H,W], got {type(images).__name__}")
    if images.dim() != 4:
        raise ParameterError(f"images must have shape [B,C,H,W], got {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ParameterError("images is an empty batch (B=0)")
    if min(images.shape[1:]) == 0:
        raise ParameterError(f"images must have at least one channel and pixel, got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ParameterError(f"images must be a float tensor in [0,1], got dtype {images.dtype}"
                             + ("; divide uint8 images by 255" if images.dtype == torch.uint8 else ""))
    if not torch.isfinite(images).all():
        bad = int((~torch.isfinite(images)).flatten(1).any(1).sum())
        raise ParameterError(f"images contains NaN or infinite values (in {bad} of {images.shape[0]} images)")
    device, dtype = model_device(model), _model_dtype(model)
    images = images.to(device=device, dtype=dtype if dtype is not None else images.dtype)
    if not torch.isfinite(images).all():
        raise ParameterError(f"images overflow the model's dtype {dtype}; they must be in [0,1]")
    if targets is not None:
        if not isinstance(targets, torch.Tensor):
            targets = torch.as_tensor(targets)
        if targets.dim() != 1 or targets.shape[0] != images.shape[0]:
            raise ParameterError(f"targets must have shape [B]=[{images.shape[0]}], got {tuple(targets.shape)}")
        if targets.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise ParameterError(f"targets must be integer class indices (long), got dtype {targets.dtype}")
        targets = targets.long().to(device)
        if (targets < 0).any() or (n_classes is not None and (targets >= n_classes).any()):
            raise ParameterError(f"targets out of range [0, {n_classes}): {targets.tolist()}")
    return images, targets


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """The submodule named ``layer`` (dotted path, e.g. ``"net.layer4"``); a clear error if absent."""
    if isinstance(layer, nn.Module):
        return layer
    modules = dict(model.named_modules())
    if layer not in modules:
        names = [n for n in modules if n]
        hint = ", ".join(names[-12:])
        raise ParameterError(f"layer={layer!r} does not exist in {type(model).__name__}; some names: {hint}")
    return modules[layer]


def _model_dtype(model: nn.Module) -> torch.dtype | None:
    """The floating dtype of the model's parameters; None for a model without any (buffers do not count:
    a parameter-free stand-in, as salient_object's anchor, leaves the images' dtype alone)."""
    for t in model.parameters():
        if t.is_floating_point():
            return t.dtype
    return None


