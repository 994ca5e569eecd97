"""Classifier architectures used across the book, all taking [0, 1] images.

Every builder returns a :class:`~xaibook.models.wrappers.Normalized` wrapper around a
randomly initialised torchvision-style network, so explanations, attacks and perturbations
work in pixel space and layer names stay the familiar ones (``net.layer4`` for ResNets,
``net.features.<i>`` for VGGs). Each wrapper carries a ``gradcam_layer`` attribute naming
the layer Grad-CAM should read.

* :func:`resnet`: ResNet-18/34 (Nguyen et al. 2021 used a ResNet-34). ``small_input=True``
  replaces the 7x7/stride-2 stem and its max-pool by a 3x3/stride-1 convolution (the CIFAR
  recipe), so 64-128 px images keep a 8-16 px ``layer4`` map instead of 2-4 px.
* :func:`vgg16` and :func:`small_vgg`: VGG16 (Alqaraawi et al. 2020, multi-label PASCAL VOC)
  and a smaller VGG-style net of the same plain conv-ReLU-pool structure (LRP rules apply
  unchanged) for the offline stand-in.
* :func:`mobilenet_v2`: the observer of Sixt et al. (2022), regressing scene factors.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..errors import ParameterError
from .wrappers import IMAGENET_MEAN, IMAGENET_STD, Normalized


def _wrap(net: nn.Module, mean: Sequence[float], std: Sequence[float], gradcam_layer: str,
          multilabel: bool = False) -> Normalized:
    model = Normalized(net, mean, std)
    model.gradcam_layer = gradcam_layer
    model.multilabel = multilabel
    return model


def resnet(depth: int = 18, n_classes: int = 1000, small_input: bool = True,
           mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> Normalized:
    """A randomly initialised torchvision ResNet-``depth`` taking [0, 1] images.

    Args:
        depth: 18 or 34.
        n_classes: number of output logits.
        small_input: use a 3x3 stride-1 stem without max-pool (for 64-128 px inputs); the
            standard ImageNet stem (7x7 stride 2 + max-pool) otherwise.
        mean, std: the normalisation applied inside the model.

    Grad-CAM layer: ``net.layer4``.
    """
    from torchvision import models

    builders = {18: models.resnet18, 34: models.resnet34}
    if depth not in builders:
        raise ParameterError(f"depth={depth}; use 18 or 34")
    if n_classes < 1:
        raise ParameterError(f"n_classes must be >= 1, got {n_classes}")
    net = builders[depth](weights=None, num_classes=n_classes)
    if small_input:
        net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
        net.maxpool = nn.Identity()
    return _wrap(net, mean, std, "net.layer4")


def vgg16(n_classes: int = 1000, multilabel: bool = False, batch_norm: bool = False,
          mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> Normalized:
    """A randomly initialised torchvision VGG16 taking [0, 1] images.

    ``multilabel`` only marks the model (``model.multilabel``) so that
    :func:`xaibook.models.train.train` defaults to a per-class sigmoid/BCE loss; the network
    returns logits either way. Grad-CAM layer: the last conv block's ReLU
    (``net.features.29``, or ``.42`` with batch norm).
    """
    from torchvision import models

    if n_classes < 1:
        raise ParameterError(f"n_classes must be >= 1, got {n_classes}")
    net = (models.vgg16_bn if batch_norm else models.vgg16)(weights=None, num_classes=n_classes)
    last_relu = max(i for i, m in enumerate(net.features) if isinstance(m, nn.ReLU))
    return _wrap(net, mean, std, f"net.features.{last_relu}", multilabel)


class SmallVGG(nn.Module):
    """A VGG-style net: blocks of (3x3 conv, ReLU) x ``convs_per_block`` + 2x2 max-pool, then a classifier.

    Laid out like torchvision's VGG (``features``, ``avgpool``, ``classifier``) so the same
    LRP composites and layer names apply.
    """

    def __init__(self, n_classes: int, widths: Sequence[int] = (32, 64, 128, 256), convs_per_block: int = 2,
                 hidden: int = 256, dropout: float = 0.3, batch_norm: bool = False):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for w in widths:
            for _ in range(convs_per_block):
                layers.append(nn.Conv2d(c_in, w, 3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(w))
                layers.append(nn.ReLU(inplace=False))
                c_in = w
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Linear(c_in * 4, hidden), nn.ReLU(inplace=False), nn.Dropout(dropout), nn.Linear(hidden, n_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def small_vgg(n_classes: int, multilabel: bool = False, widths: Sequence[int] = (32, 64, 128, 256),
              convs_per_block: int = 2, batch_norm: bool = False,
              mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> Normalized:
    """A smaller VGG-style classifier (:class:`SmallVGG`) for 64-128 px stand-in data.

    Grad-CAM layer: the ReLU before the last max-pool.
    """
    if n_classes < 1:
        raise ParameterError(f"n_classes must be >= 1, got {n_classes}")
    if not widths:
        raise ParameterError("widths must name at least one block width")
    net = SmallVGG(n_classes, widths, convs_per_block, batch_norm=batch_norm)
    last_relu = max(i for i, m in enumerate(net.features) if isinstance(m, nn.ReLU))
    return _wrap(net, mean, std, f"net.features.{last_relu}", multilabel)


def mobilenet_v2(n_outputs: int, width_mult: float = 1.0, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> Normalized:
    """A randomly initialised torchvision MobileNetV2 with ``n_outputs`` outputs.

    Sixt et al. (2022), Sec. 5, used one as an observer regressing every scene factor; train
    it with ``task="regression"``. Grad-CAM layer: ``net.features.18``.
    """
    from torchvision import models

    if n_outputs < 1:
        raise ParameterError(f"n_outputs must be >= 1, got {n_outputs}")
    net = models.mobilenet_v2(weights=None, num_classes=n_outputs, width_mult=width_mult)
    return _wrap(net, mean, std, f"net.features.{len(net.features) - 1}")
