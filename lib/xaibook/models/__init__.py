"""Models: classifier architectures, the training loop, batched inference and pretrained ImageNet classifiers.

Every classifier takes ``[B, 3, H, W]`` images in [0, 1] and returns logits (normalisation is
a layer inside, :class:`~xaibook.models.wrappers.Normalized`).

    >>> from xaibook import models
    >>> net = models.resnet(18, n_classes=40, small_input=True)          # classifiers.py
    >>> net, history = models.train_cached("zoo-resnet18", {...}, build, data)   # train.py
    >>> probs = models.predict(net, images, output="probabilities")        # inference.py
    >>> feats = models.predict(net, images, output="features", layer="net.layer4")
    >>> resnet34 = models.torchvision_classifier("resnet34")              # pretrained.py
    >>> lite0 = models.efficientnet_lite0()                               # pretrained.py

Names are imported lazily, so ``import xaibook.models`` stays cheap. The plain training loop
is ``xaibook.models.train.train`` (``models.train`` is the module).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "resnet": "classifiers", "vgg16": "classifiers", "small_vgg": "classifiers", "mobilenet_v2": "classifiers",
    "SmallVGG": "classifiers",
    "train_cached": "train", "accuracy": "train", "Augment": "train",
    "predict": "inference", "model_device": "inference",
    "torchvision_classifier": "pretrained", "efficientnet_lite0": "pretrained", "preprocess": "pretrained",
    "hub_checkpoint_path": "pretrained", "top_k": "pretrained",
    "Normalized": "wrappers",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'xaibook.models' has no attribute {name!r}")
