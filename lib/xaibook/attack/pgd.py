"""Projected gradient descent (Madry et al. 2018) under an L-infinity bound, through foolbox.

Nguyen et al. (2021), Sec. 2.4.3: Foolbox PGD on the ResNet-34 (wrapped with bounds (0, 1)
and its ImageNet preprocessing), L-inf epsilon 16/255, 40 steps "each of size of 1/30";
the adversarial images were saved as JPEG and only those still misclassified were kept.

The step size. Foolbox's ``LinfPGD`` takes a *relative* step (``rel_stepsize``, a
fraction of epsilon) whose default is exactly 1/30, with 40 steps by default, so the
paper's numbers are foolbox's defaults: a step of epsilon/30. ``pgd`` therefore reads
``step_size`` as relative to ``eps`` (``relative_step=True``, the default); pass
``relative_step=False`` for an absolute step of ``step_size`` in pixel units.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
from torch import nn

from ..errors import ParameterError
from ..explain.inputs import check_batch
from ..models.inference import predict
from ..progress import bar
from . import jpeg


@dataclass
class AdversarialSet:
    """Result of :func:`pgd_then_jpeg`.

    ``images`` [K,3,H,W] are the kept adversarial images *after* the JPEG round trip (what
    a participant sees), ``indices`` [K] their positions in the input batch, ``predictions``
    and ``confidences`` [K] the model's top-1 label and softmax confidence on them.
    ``adversarial`` and ``jpeg`` hold all B images before and after the round trip, and
    ``fooled_before_jpeg`` [B] says which were misclassified before it.
    """

    images: torch.Tensor
    indices: torch.Tensor
    predictions: torch.Tensor
    confidences: torch.Tensor
    adversarial: torch.Tensor
    jpeg: torch.Tensor
    fooled_before_jpeg: torch.Tensor

    def __len__(self) -> int:
        return int(self.indices.numel())


def classify(model: nn.Module, images: torch.Tensor, batch_size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-1 predictions and softmax confidences ``([B] long, [B] float)`` in eval mode, on the model's device
    (through :func:`xaibook.models.inference.predict`)."""
    images, _ = check_batch(model, images, None)
    probs = predict(model, images, output="probabilities", batch_size=batch_size, device=images.device)
    confs, preds = probs.to(images.device).max(dim=1)
    return preds, confs


def _check_labels(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> int:
    n_classes = predict(model, images[:1], device=images.device).shape[1]
    if (labels >= n_classes).any():
        raise ParameterError(f"labels out of range [0, {n_classes}): {labels.tolist()}")
    return n_classes


def pgd(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float = 16 / 255,
        steps: int = 40, step_size: float = 1 / 30, relative_step: bool = True,
        random_start: bool = True, batch_size: int = 64, seed: int | None = 0) -> torch.Tensor:
    """Untargeted L-inf PGD through ``foolbox.attacks.LinfPGD``, batched.

    Args:
        model: classifier taking [0, 1] images (normalisation inside) and returning logits;
            wrapped as ``foolbox.PyTorchModel(model, bounds=(0, 1))``.
        images: ``[B,3,H,W]`` in [0, 1]; labels: ``[B]`` true classes to move away from.
        eps: L-inf radius in pixel units (Nguyen et al.: 16/255).
        steps: PGD iterations (40).
        step_size: step per iteration; relative to ``eps`` when ``relative_step`` (foolbox's
            ``rel_stepsize``, default 1/30), else absolute (foolbox's ``abs_stepsize``).
        random_start: start from a uniform point in the eps-ball (foolbox's default).
        batch_size: images per attack call.
        seed: seeds torch's RNG for the random start (``None``: leave the RNG alone).

    Returns:
        The adversarial images ``[B,3,H,W]``, within ``eps`` of ``images`` in L-inf and in [0, 1].
    """
    import foolbox as fb

    images, labels = check_batch(model, images, labels)
    if labels is None:
        raise ParameterError("labels is required: the true classes the attack moves away from")
    if not 0 < eps <= 1:
        raise ParameterError(f"eps must be in (0, 1] (pixel units of [0, 1] images), got {eps}")
    if int(steps) != steps or steps < 1:
        raise ParameterError(f"steps must be a positive integer, got {steps!r}")
    if step_size <= 0:
        raise ParameterError(f"step_size must be positive, got {step_size}")
    if images.min() < 0 or images.max() > 1:
        raise ParameterError("images must lie in [0, 1]: models take [0, 1] images and foolbox uses bounds (0, 1)")
    _check_labels(model, images, labels)
    step = {"rel_stepsize": step_size} if relative_step else {"abs_stepsize": step_size}
    attack = fb.attacks.LinfPGD(steps=int(steps), random_start=random_start, **step)
    was_training = model.training
    model.eval()
    fmodel = fb.PyTorchModel(model, bounds=(0, 1), device=images.device)
    out = []
    devices = [images.device] if images.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            for start in bar(range(0, images.shape[0], batch_size), desc="PGD"):
                x = images[start:start + batch_size]
                y = labels[start:start + batch_size]
                _, clipped, _ = attack(fmodel, x, y, epsilons=float(eps))
                out.append(clipped.detach())
    finally:
        model.train(was_training)
    adv = torch.cat(out)
    # foolbox clips to the eps-ball and the bounds; guard against float round-off at the boundary
    adv = torch.max(torch.min(adv, images + eps), images - eps).clamp(0, 1)
    return adv


def pgd_then_jpeg(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float = 16 / 255,
                  steps: int = 40, step_size: float = 1 / 30, relative_step: bool = True,
                  quality: int = 75, allowed_predictions: Iterable[int] | None = None,
                  random_start: bool = True, batch_size: int = 64, seed: int | None = 0) -> AdversarialSet:
    """PGD, then the JPEG round trip, then keep the images the model still misclassifies.

    Nguyen et al. (2021), Sec. 2.4.3. An image is kept when the model's top-1 label on its
    JPEG round trip differs from ``labels``; with ``allowed_predictions`` (e.g. the 120 dog
    classes for Stanford Dogs, where a wrong label must itself be a dog) the wrong label
    must also be in that set. Attack arguments as :func:`pgd`; ``quality`` as
    :func:`xaibook.attack.jpeg.roundtrip`.
    """
    images, labels = check_batch(model, images, labels)
    adv = pgd(model, images, labels, eps=eps, steps=steps, step_size=step_size, relative_step=relative_step,
              random_start=random_start, batch_size=batch_size, seed=seed)
    before, _ = classify(model, adv, batch_size)
    shown = jpeg.roundtrip(adv, quality=quality)
    preds, confs = classify(model, shown, batch_size)
    keep = preds != labels
    if allowed_predictions is not None:
        allowed = torch.as_tensor(sorted(set(int(c) for c in allowed_predictions)), device=preds.device)
        keep &= torch.isin(preds, allowed)
    idx = torch.nonzero(keep).flatten()
    return AdversarialSet(images=shown[idx], indices=idx.cpu(), predictions=preds[idx].cpu(),
                          confidences=confs[idx].cpu(), adversarial=adv, jpeg=shown,
                          fooled_before_jpeg=(before != labels).cpu())
