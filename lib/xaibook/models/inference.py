"""One batched inference helper: a model's logits, probabilities or a named layer's features.

Every study classifies images, and several read an intermediate layer (the Grad-CAM layer,
the 3-NN feature bank of Nguyen et al. 2021, Sec. 2.4; the concept layer of Sixt et al.
2022, Sec. 4). :func:`predict` is the one loop for all of them:

    >>> from xaibook import models
    >>> logits = models.predict(model, images)                                   # [N, C]
    >>> probs = models.predict(model, images, output="probabilities")           # softmax
    >>> feats = models.predict(model, dataset, output="features", layer="net.avgpool")

It puts the model in eval mode (and restores its mode afterwards), runs without gradients on
``config.device()`` unless told otherwise, batches tensors, objects with ``.images`` and
torch Datasets alike, and returns float32 tensors on the CPU. Runs longer than a few batches
show a progress bar (:mod:`xaibook.progress`).
"""
from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import Tensor, nn

from .. import config
from ..errors import ParameterError
from ..progress import bar

OUTPUTS = ("logits", "probabilities", "sigmoid", "features")
"""What :func:`predict` returns: raw outputs, their softmax (single-label), their per-class
sigmoid (multi-label) or the output of ``layer``."""

_BAR_FROM = 8
"""A run of this many batches or more shows a progress bar even without ``desc``."""


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); the CPU for a model with neither."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def _module(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    if isinstance(layer, nn.Module):
        return layer
    if not isinstance(layer, str):
        raise ParameterError(f"layer must be a module name (e.g. 'net.layer4') or a module, got {type(layer).__name__}")
    modules = dict(model.named_modules())
    if layer not in modules or not layer:
        names = [n for n in modules if n]
        hint = ", ".join(names[-8:]) if names else "(none: the model has no submodules)"
        raise ParameterError(f"layer={layer!r} does not exist in {type(model).__name__}; valid names include: {hint} "
                             "(all of them: [n for n, _ in model.named_modules()])")
    return modules[layer]


def _as_images(x: Tensor) -> Tensor:
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def _batches(images: Any, batch_size: int, device: torch.device,
             num_workers: int) -> tuple[Iterator[Tensor], int, int]:
    """``(batches of float images on device, number of batches, number of images)``."""
    if hasattr(images, "images") and isinstance(getattr(images, "images"), Tensor):
        images = images.images
    if isinstance(images, Tensor):
        if images.dim() != 4:
            raise ParameterError(f"images must be [N,C,H,W], got {tuple(images.shape)}")
        x = images
        n = len(x)

        def tensor_batches() -> Iterator[Tensor]:
            for s in range(0, n, batch_size):
                yield _as_images(x[s:s + batch_size].to(device, non_blocking=True))
        return tensor_batches(), -(-n // batch_size), n
    if not isinstance(images, torch.utils.data.Dataset):
        raise ParameterError("images must be an [N,C,H,W] tensor (float in [0, 1] or uint8), an object with .images, "
                             f"or a torch Dataset of images or (image, target) pairs; got {type(images).__name__}")
    n = len(images)  # type: ignore[arg-type]
    loader = torch.utils.data.DataLoader(images, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                                         pin_memory=device.type == "cuda")

    def dataset_batches() -> Iterator[Tensor]:
        with torch.random.fork_rng(devices=[]):  # the loader's seed draw must not move the global RNG
            it = iter(loader)
        for b in it:
            xb = b[0] if isinstance(b, (tuple, list)) else b
            if not isinstance(xb, Tensor) or xb.dim() != 4:
                raise ParameterError("a Dataset passed as images must yield [C,H,W] image tensors or (image, target) "
                                     f"pairs; its batches look like {type(xb).__name__} "
                                     f"{tuple(xb.shape) if isinstance(xb, Tensor) else ''}")
            yield _as_images(xb.to(device, non_blocking=True))
    return dataset_batches(), len(loader), n


def predict(model: nn.Module, images: Any, *, output: str = "logits", layer: str | nn.Module | None = None,
            batch_size: int = 256, device: torch.device | str | None = None, amp: bool = False,
            desc: str | None = None, num_workers: int = 0) -> Tensor:
    """Run ``model`` over ``images`` in batches and return its outputs, or one layer's, on the CPU.

    Args:
        model: a module taking ``[B,C,H,W]`` images in [0, 1] (normalisation inside). It is
            moved to ``device``, run in eval mode without gradients, and left in its former
            train/eval mode.
        images: an ``[N,C,H,W]`` tensor (float in [0, 1], or uint8 divided by 255), an object
            with an ``.images`` tensor (e.g. a zoo split), or a torch Dataset of images or of
            ``(image, target)`` pairs (read in order).
        output: ``"logits"`` (the model's raw output), ``"probabilities"`` (softmax over
            dim 1), ``"sigmoid"`` (per-class probabilities of a multi-label model) or
            ``"features"`` (the output of ``layer``).
        layer: for ``output="features"`` only: a dotted module name (e.g. ``"net.layer4"``) or
            the module itself. It is read with a forward hook and must run exactly once per
            forward pass; a module returning a tuple contributes its first tensor.
        batch_size: images per forward pass (results may differ in the last bits between
            batch sizes, so a caller keeps its own).
        device: where to run (default ``config.device()``); pass :func:`model_device` to run
            where the model already is.
        amp: mixed precision on CUDA (off by default, so that confidences are exact float32).
        desc: the progress bar's label; a bar is shown when ``desc`` is given or the run
            takes 8 batches or more.
        num_workers: DataLoader workers for a Dataset.

    Returns:
        a float32 CPU tensor with one row per image: ``[N, ...]`` as the model (or layer)
        outputs it, e.g. ``[N, C]`` logits or ``[N, C, h, w]`` feature maps.

    Raises:
        ParameterError: for an unknown ``output``, a missing or unknown ``layer``, a
            ``batch_size`` below 1, no images, or images of the wrong shape or type.
    """
    if output not in OUTPUTS:
        raise ParameterError(f"output={output!r}; use one of {OUTPUTS}")
    if (layer is None) == (output == "features"):
        raise ParameterError("layer= is required with output='features' and only allowed with it; "
                             f"got output={output!r}, layer={layer!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if not isinstance(model, nn.Module):
        raise ParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    module = _module(model, layer) if layer is not None else None
    device = torch.device(device) if device is not None else config.device()
    use_amp = amp and device.type == "cuda"
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if use_amp else None
    batches, nb, n = _batches(images, batch_size, device, num_workers)
    if n == 0:
        raise ParameterError("predict got no images")

    captured: list[Tensor] = []

    def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
        t = out
        if isinstance(out, (tuple, list)):
            t = next((o for o in out if isinstance(o, Tensor)), None)
        if not isinstance(t, Tensor):
            raise ParameterError(f"layer {layer!r} returned {type(out).__name__}, not a tensor; pick another layer")
        captured.append(t.detach().float().cpu())

    was_training = model.training
    model.to(device).eval()
    handle = module.register_forward_hook(hook) if module is not None else None
    outs: list[Tensor] = []
    progress = bar(batches, desc=desc or "predict", total=nb, leave=False) if desc or nb >= _BAR_FROM else batches
    try:
        with torch.no_grad():
            for xb in progress:
                before = len(captured)
                with torch.autocast("cuda", dtype=amp_dtype, enabled=use_amp):
                    y = model(xb)
                if module is not None:
                    if len(captured) != before + 1:
                        raise ParameterError(f"layer {layer!r} ran {len(captured) - before} times in one forward pass; "
                                             "pick a module that runs exactly once per pass")
                    continue
                y = y.float()
                if output == "probabilities":
                    y = y.softmax(1)
                elif output == "sigmoid":
                    y = y.sigmoid()
                outs.append(y.cpu())
    finally:
        if handle is not None:
            handle.remove()
        model.train(was_training)
    return torch.cat(captured if module is not None else outs)
