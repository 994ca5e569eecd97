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
