"""Counterfactual interpolations of an invertible classifier (Sixt et al. 2022, Sec. 4, App. A.2).

The classifier is linear in the latent ``z = phi(x)``: ``f(x) = w . z + b``. Moving the latent
along the weight, ``z' = z + alpha w``, changes the logit by exactly ``alpha |w|^2``, so the step
that reaches a target logit ``t`` is ``alpha = (t - f(x)) / |w|^2``. Inverting the flow,
``x' = phi^-1(z')``, shows what the model would have to see to output ``t``. The channels faded
out before the classifier level are kept as they are, so the image changes only through ``z``.
One row of the study's INN condition is one start image with a series of target logits.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ..errors import ParameterError
from ..models.glow import GlowClassifier


def _targets(target_logits: Sequence[float] | Tensor, batch: int, device: torch.device) -> Tensor:
    t = torch.as_tensor(target_logits, dtype=torch.float32, device=device)
    if t.dim() == 0:
        t = t.view(1)
    if t.dim() == 1:
        t = t.unsqueeze(0).expand(batch, -1)
    if t.dim() != 2 or t.shape[0] != batch or t.shape[1] == 0:
        raise ParameterError(f"target_logits must be [T] (shared by all images) or [B={batch}, T] with T >= 1; "
                             f"got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ParameterError("target_logits contains NaN or infinite values")
    return t


@torch.no_grad()
def counterfactual(model: GlowClassifier, images: Tensor, target_logits: Sequence[float] | Tensor,
                   clamp: bool = False) -> Tensor:
    """Counterfactual interpolations ``[B, T, C, H, W]``: image ``b`` moved to logit ``target[b, t]``.

    Args:
        model: a :class:`~xaibook.models.glow.GlowClassifier`.
        images: ``[B, C, H, W]`` in [0, 1].
        target_logits: ``[T]`` logits shared by all images, or ``[B, T]`` per image.
        clamp: clip the result to [0, 1] for display. Off by default: the unclamped result is
            the exact inverse, whose logit equals the target up to float error; far targets can
            push a few pixels slightly outside [0, 1].
    """
    if not isinstance(model, GlowClassifier):
        raise ParameterError(f"counterfactual needs a GlowClassifier (an invertible model), got {type(model).__name__}")
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[0] == 0:
        raise ParameterError(f"images must be a non-empty tensor [B,C,H,W] in [0,1], got "
                             f"{tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__}")
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    images = images.to(device=device, dtype=torch.float32)
    b = images.shape[0]
    targets = _targets(target_logits, b, device)
    n_t = targets.shape[1]
    latent = model.encode(images)
    logit = model.logit_from_latent(latent)
    w = model.weight
    alpha = (targets - logit[:, None]) / w.pow(2).sum()  # [B, T]
    moved = latent.repeat_interleave(n_t)
    z = moved.z + alpha.reshape(-1, 1, 1, 1) * w
    out = model.decode(moved.replace_z(z)).view(b, n_t, *images.shape[1:])
    model.train(was)
    return out.clamp(0, 1) if clamp else out
