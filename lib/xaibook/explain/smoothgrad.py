"""SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of the image.

``M(x) = 1/n sum_k grad(x + e_k)`` with ``e_k ~ N(0, sigma^2)`` and
``sigma = noise * (max(x) - min(x))`` per image (Smilkov et al., Sec. 3, "noise level"),
then reduced over the colour channels as :func:`~xaibook.explain.gradient.gradient`.
Shen & Huang (2020, Step 2) name SmoothGrad as their backpropagation map; Im et al.
(2023) show SmoothGrad to their participants. All noisy copies of all images go through
the model together, ``batch_size`` copies per forward/backward pass.
"""
from __future__ import annotations

import torch
from torch import nn

from .gradient import (CHANNEL_REDUCTIONS, NORMALIZATIONS, check_choice, check_int, check_number,
                       eval_mode, finish_maps, input_gradients, prepare, reduce_channels)

__all__ = ["smoothgrad"]


def smoothgrad(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, *,
               n_samples: int = 50, noise: float = 0.15, channels: str = "absmax",
               batch_size: int = 256, seed: int = 0, pool: int = 1,
               normalize: str | None = None) -> torch.Tensor:
    """SmoothGrad maps ``[B,1,H,W]``.

    Args:
        model: classifier taking ``[B,3,H,W]`` images in [0, 1] and returning logits.
        images: ``[B,3,H,W]`` float batch in [0, 1].
        targets: ``[B]`` long class indices.
        n_samples: noisy copies per image (Smilkov et al. use 50).
        noise: noise level, the standard deviation as a fraction of each image's value
            range (Smilkov et al. recommend 0.10-0.20). Noisy pixels are not clipped.
        channels: channel reduction applied to the averaged gradient
            (``"absmax"``, ``"sum"`` signed, ``"abssum"``).
        batch_size: noisy copies per forward/backward pass (memory bound, not the result
            except through the order in which noise is drawn).
        seed: seed of the noise generator; the same seed and ``batch_size`` give the same maps.
        pool, normalize: as in :func:`~xaibook.explain.gradient.gradient`.
    """
    images, targets = prepare(model, images, targets)
    n_samples = check_int("n_samples", n_samples, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    pool = check_int("pool", pool, 1)
    noise = check_number("noise", noise, 0.0)
    check_choice("channels", channels, CHANNEL_REDUCTIONS)
    check_choice("normalize", normalize, NORMALIZATIONS)

    b = images.shape[0]
    flat = images.flatten(1)
    sigma = noise * (flat.amax(dim=1) - flat.amin(dim=1))          # [B], Smilkov's noise level
    generator = torch.Generator(device=images.device).manual_seed(int(seed))
    total = torch.zeros_like(images)
    rows = torch.arange(b * n_samples, device=images.device) // n_samples  # image of each copy
    with eval_mode(model), torch.enable_grad():
        for start in range(0, b * n_samples, batch_size):
            which = rows[start:start + batch_size]
            eps = torch.randn((len(which), *images.shape[1:]), generator=generator,
                              device=images.device, dtype=images.dtype)
            noisy = images[which] + sigma[which].view(-1, 1, 1, 1) * eps
            total.index_add_(0, which, input_gradients(model, noisy, targets[which]))
    return finish_maps(reduce_channels(total / n_samples, channels), images.shape[-2:],
                       pool=pool, normalize=normalize)
