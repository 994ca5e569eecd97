"""Grad-CAM (Selvaraju et al. 2017) on a named layer, upsampled to the input size.

``cam = ReLU(sum_c a_c A_c)`` with ``a_c`` the spatial mean of ``d logit[target] / d A_c``
and ``A`` the layer's output. Nguyen et al. (2021, Sec. 2.3) and Shen & Huang (2020,
Step 2) run TorchRay's ``grad_cam`` on ResNet ``layer4``; Nguyen et al. divide the resized
map by its max, Shen & Huang min-max scale it. TorchRay is the reference in the tests.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ParameterError
from .gradient import NORMALIZATIONS, check_choice, eval_mode, normalize_maps, prepare, target_scores
from .inputs import resolve_layer

__all__ = ["gradcam"]


def gradcam(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, *,
            layer: str | nn.Module = "net.layer4", relu: bool = True,
            normalize: str | None = "max", resize_mode: str = "bilinear") -> torch.Tensor:
    """Grad-CAM maps ``[B,1,H,W]`` at the input resolution.

    Args:
        model: classifier taking ``[B,3,H,W]`` images in [0, 1] and returning logits.
        images: ``[B,3,H,W]`` float batch in [0, 1].
        targets: ``[B]`` long class indices.
        layer: dotted name of the layer whose output is weighted (``"net.layer4"`` for a
            torchvision ResNet inside :class:`~xaibook.models.wrappers.Normalized`), or the module.
        relu: clamp the weighted sum at zero (Grad-CAM); ``False`` keeps the signed map.
        normalize: ``"max"`` (Nguyen et al.), ``"minmax"`` (Shen & Huang), ``"absmax"`` or ``None``;
            applied per image after resizing.
        resize_mode: interpolation from the layer's grid to the input size
            (``"bilinear"`` as TorchRay's ``resize=True``, or ``"nearest"``, ``"bicubic"``).
    """
    images, targets = prepare(model, images, targets)
    module = resolve_layer(model, layer)
    check_choice("normalize", normalize, NORMALIZATIONS)
    check_choice("resize_mode", resize_mode, ("bilinear", "nearest", "bicubic"))

    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        if not isinstance(output, torch.Tensor):
            raise ParameterError(f"layer={layer!r} returns {type(output).__name__}, not a tensor; pick a layer with a tensor output")
        # Cut the graph here: the backward pass stops at the layer (nothing below is needed)
        # and works even when the model's parameters do not require gradients.
        # The clone keeps the captured activation intact when the next layer works in place
        # (e.g. ReLU(inplace=True) after a convolution).
        act = output.detach().requires_grad_(True)
        captured.append(act)
        return act.clone()

    handle = module.register_forward_hook(hook)
    try:
        with eval_mode(model), torch.enable_grad():
            score = target_scores(model(images), targets)
            if not captured:
                raise ParameterError(f"layer={layer!r} was not called in the model's forward pass")
            act = captured[-1]
            (grad,) = torch.autograd.grad(score.sum(), act)
    finally:
        handle.remove()
    if act.dim() != 4:
        raise ParameterError(f"layer={layer!r} must output a [B,C,h,w] feature map, got shape {tuple(act.shape)}")
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = (act.detach() * weights).sum(dim=1, keepdim=True)
    if relu:
        cam = cam.clamp(min=0)
    if tuple(cam.shape[-2:]) != tuple(images.shape[-2:]):
        kwargs = {} if resize_mode == "nearest" else {"align_corners": False}
        cam = F.interpolate(cam, size=tuple(images.shape[-2:]), mode=resize_mode, **kwargs)
    return normalize_maps(cam, normalize)
