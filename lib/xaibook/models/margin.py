"""A binary classifier's evidence as one score: the margin between its two logits.

A two-logit classifier trained with cross-entropy decides by ``logit[1] - logit[0]``; either
logit alone can move without changing the decision. Explanations of "the positive class" should
therefore explain the margin. :class:`Margin` wraps such a model so that class 1 of its output
is the margin (and class 0 its negative), which every ``explain`` method accepts as a target.

    >>> maps = explain.gradcam(Margin(model), images, torch.ones(len(images), dtype=torch.long),
    ...                        layer=resolve_layer(model, model.gradcam_layer))
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ParameterError

__all__ = ["Margin"]


class Margin(nn.Module):
    """``[B,2]`` output ``(logit0 - logit1, logit1 - logit0)`` of a two-logit ``model``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        if logits.dim() != 2 or logits.shape[1] != 2:
            raise ParameterError(f"Margin needs a model with two logits, got output shape {tuple(logits.shape)}")
        m = logits[:, 1:2] - logits[:, 0:1]
        return torch.cat([-m, m], dim=1)
