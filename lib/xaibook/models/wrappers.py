"""Model conventions shared by every method in the book.

Every classifier in xaibook takes images in [0, 1] (``[B, 3, H, W]`` float) and returns
logits. Dataset normalisation is a layer inside the model (:class:`Normalized`), so that
explanations, attacks (foolbox bounds 0-1) and perturbations all work in pixel space.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Normalized(nn.Module):
    """``model((x - mean) / std)``: wraps a network trained on normalised inputs.

    The wrapped network stays reachable as ``.net``, so layer names read
    ``net.layer4`` for a torchvision ResNet.
    """

    def __init__(self, net: nn.Module, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


class Autocast(nn.Module):
    """``model`` run under ``dtype`` autocast (optionally on channels-last inputs), returning float32
    logits: a speed variant for explanations whose optimisation around the model stays float32
    (Extremal Perturbation's masks). ``dtype=None`` runs the model as it is."""

    def __init__(self, model: nn.Module, dtype: torch.dtype | None = torch.bfloat16, channels_last: bool = False):
        super().__init__()
        self.model, self.dtype, self.channels_last = model, dtype, channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.dtype is None:
            return self.model(x)
        with torch.autocast(x.device.type, dtype=self.dtype):
            return self.model(x).float()


def cpu_autocast(model: nn.Module) -> nn.Module:
    """On a CPU with native bfloat16 (``config.precision_key`` not empty): a channels-last copy of
    ``model`` under bf16 autocast (:class:`Autocast`; about 1.7x faster for Extremal Perturbation at
    64 px, ``benchmarks/cpu_precision.py``). Elsewhere ``model`` itself: GPU runs keep the float32
    explanations the device check measured. The copy leaves ``model`` (and its memory layout) as it was."""
    import copy

    from .. import config

    device = next(model.parameters()).device
    if not config.precision_key(device):
        return model
    fast = copy.deepcopy(model).to(memory_format=torch.channels_last)
    return Autocast(fast, config.autocast_dtype(device), channels_last=True)
