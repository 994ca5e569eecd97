"""Layer-wise Relevance Propagation (Bach et al. 2015) through zennit, signed maps.

Alqaraawi et al. (2020, Sec. 3.1.2) explain a VGG16 with "the alpha-beta propagation rule
with alpha = 2 and beta = 1" and show signed maps (red for evidence for the class, blue
against). The paper names no special rule for the input or dense layers, so the default
here applies alpha2-beta1 to every convolutional *and* linear layer
(``rule="alpha2beta1"``): for a layer ``z_j = sum_i x_i w_ij + b_j``,

    R_i = sum_j ( 2 z_ij^+ / z_j^+  -  1 z_ij^- / z_j^- ) R_j,

where ``z_ij^+`` are the positive contributions ``x_i w_ij`` and ``z_j^+`` their sum
including the positive part of the bias (negative parts likewise; zennit's ``AlphaBeta``).
Relevance assigned to biases is absorbed, so the map sums to the logit only for bias-free
layers. Activations and batch norm pass relevance through, average pooling and
canonizer sums use the normalising rule, max pooling passes it to the winner (zennit's
defaults). Alternatives:

* ``rule="epsilon-alpha2beta1"``: zennit's ``EpsilonAlpha2Beta1`` composite (alpha2-beta1
  on convolutions, epsilon on linear layers).
* ``first_layer="zbox"``: the z^B rule (Montavon et al. 2017) on the first convolution,
  with the bounds of [0, 1] pixels carried through the model's normalisation, the rule
  designed for bounded pixel input; ``first_layer="flat"``: the flat rule.

Canonizers rewrite the model for LRP: ``"vgg"`` merges batch norms into the preceding
layers (torchvision VGG), ``"resnet"`` also makes the residual sums explicit
(torchvision ResNet). Models wrapped in :class:`~xaibook.models.wrappers.Normalized` are
explained through their ``.net`` on the normalised input, so the relevance is not rescaled
by the normalisation's ``1/std``. Relevance starts as the target logit and is summed over
the colour channels: maps are signed, in logit units.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ParameterError
from ..models.wrappers import Normalized
from .gradient import check_choice, check_targets, eval_mode, prepare

__all__ = ["lrp"]

RULES = ("alpha2beta1", "epsilon-alpha2beta1")
FIRST_LAYER_RULES = (None, "zbox", "flat")
CANONIZERS = (None, "vgg", "resnet")


def lrp(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, *,
        rule: str = "alpha2beta1", first_layer: str | None = None, canonizer: str | None = "vgg",
        epsilon: float = 1e-6) -> torch.Tensor:
    """Signed LRP relevance maps ``[B,1,H,W]`` (sum over colour channels).

    Args:
        model: classifier taking ``[B,3,H,W]`` images in [0, 1] and returning logits.
        images: ``[B,3,H,W]`` float batch in [0, 1].
        targets: ``[B]`` long class indices; relevance starts as their logits.
        rule: ``"alpha2beta1"`` (every conv and linear layer, Alqaraawi et al.) or
            ``"epsilon-alpha2beta1"`` (zennit's composite: epsilon on linear layers).
        first_layer: ``None`` (same rule as the others), ``"zbox"`` or ``"flat"`` for the
            first convolutional/linear layer.
        canonizer: ``"vgg"``, ``"resnet"`` or ``None`` (see the module docstring).
        epsilon: stabiliser of the rules' denominators (and epsilon of the epsilon rule).
    """
    from zennit.attribution import Gradient

    images, targets = prepare(model, images, targets)
    check_choice("rule", rule, RULES)
    check_choice("first_layer", first_layer, FIRST_LAYER_RULES)
    check_choice("canonizer", canonizer, CANONIZERS)
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise ParameterError(f"epsilon must be a positive number, got {epsilon!r}")

    net, inputs, low, high = _network_input(model, images)
    composite = _composite(rule, first_layer, canonizer, float(epsilon), low, high)

    def start(output: torch.Tensor) -> torch.Tensor:
        check_targets(targets, output)
        return torch.zeros_like(output).scatter_(1, targets[:, None], output.gather(1, targets[:, None]))

    with eval_mode(model), torch.enable_grad():
        with Gradient(model=net, composite=composite) as attributor:
            _, relevance = attributor(inputs.detach(), start)
    return relevance.sum(dim=1, keepdim=True).detach()


def _network_input(model: nn.Module, images: torch.Tensor):
    """The module LRP runs through, its input, and the input's box bounds (for ZBox)."""
    if isinstance(model, Normalized):
        mean, std = model.mean.to(images), model.std.to(images)
        return model.net, (images - mean) / std, (0 - mean) / std, (1 - mean) / std
    return model, images, torch.zeros(1, 1, 1, 1, dtype=images.dtype, device=images.device), \
        torch.ones(1, 1, 1, 1, dtype=images.dtype, device=images.device)


def _composite(rule: str, first_layer: str | None, canonizer: str | None, epsilon: float,
               low: torch.Tensor, high: torch.Tensor):
    from zennit.composites import SpecialFirstLayerMapComposite, layer_map_base
    from zennit.rules import AlphaBeta, Epsilon, Flat, ZBox
    from zennit.torchvision import ResNetCanonizer, VGGCanonizer
    from zennit.types import Convolution, Linear

    canonizers = {None: [], "vgg": [VGGCanonizer()], "resnet": [ResNetCanonizer()]}[canonizer]
    dense = AlphaBeta(alpha=2, beta=1, stabilizer=epsilon) if rule == "alpha2beta1" else Epsilon(epsilon=epsilon)
    layer_map = layer_map_base(epsilon) + [
        (Convolution, AlphaBeta(alpha=2, beta=1, stabilizer=epsilon)),
        (torch.nn.Linear, dense),
    ]
    if first_layer is None:
        first_map = []
    elif first_layer == "zbox":
        first_map = [(Linear, ZBox(low=low, high=high, stabilizer=epsilon))]
    else:
        first_map = [(Linear, Flat(stabilizer=epsilon))]
    return SpecialFirstLayerMapComposite(layer_map=layer_map, first_map=first_map, canonizers=canonizers)
