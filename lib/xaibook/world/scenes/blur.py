"""The blur counterfactual of Im et al. (2023): an object's region (a dilated mask)
replaced by its Gaussian-blurred pixels."""
from __future__ import annotations

import math

import numpy as np
import torch

from ...errors import ParameterError


def _gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _dilate(mask: torch.Tensor, margin: int) -> torch.Tensor:
    if margin <= 0:
        return mask
    m = mask.float()[:, None]
    return torch.nn.functional.max_pool2d(m, 2 * margin + 1, stride=1, padding=margin)[:, 0] > 0.5


def blur_objects(images: torch.Tensor, masks: torch.Tensor, sigma: float = 4.0, margin: int = 2) -> torch.Tensor:
    """Blur each image inside its object mask (dilated by ``margin`` pixels); elsewhere unchanged.

    Im et al. (2023) asked participants to predict a model's output on images whose object was
    blurred. The whole image is blurred with a separable Gaussian (std ``sigma`` pixels,
    replicate padding) and pasted back only inside the dilated mask.

    Args:
        images: ``[B,3,H,W]`` float.
        masks: ``[B,H,W]`` bool (or 0/1) object masks.
        sigma: blur strength in pixels (> 0).
        margin: dilation of the mask in pixels (>= 0), so the object's outline is blurred too.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ParameterError(f"images must be [B,3,H,W], got {tuple(images.shape)}")
    if masks.shape != (images.shape[0],) + tuple(images.shape[2:]):
        raise ParameterError(f"masks must be [B,H,W] = {(images.shape[0],) + tuple(images.shape[2:])}, "
                             f"got {tuple(masks.shape)}")
    if not sigma > 0:
        raise ParameterError(f"sigma={sigma!r} must be > 0 (pixels)")
    if not isinstance(margin, (int, np.integer)) or margin < 0:
        raise ParameterError(f"margin={margin!r} must be an int >= 0")
    k = _gaussian_kernel(float(sigma), images.device).to(images.dtype)
    r = (len(k) - 1) // 2
    x = images
    B, C, H, W = x.shape
    x = torch.nn.functional.pad(x, (r, r, 0, 0), mode="replicate")
    x = torch.nn.functional.conv2d(x.reshape(B * C, 1, H, W + 2 * r), k.view(1, 1, 1, -1))
    x = torch.nn.functional.pad(x, (0, 0, r, r), mode="replicate")
    x = torch.nn.functional.conv2d(x, k.view(1, 1, -1, 1)).view(B, C, H, W)
    region = _dilate(masks.bool(), int(margin))[:, None]
    return torch.where(region, x, images)


def blur_object(image: torch.Tensor, mask: torch.Tensor, sigma: float = 4.0, margin: int = 2) -> torch.Tensor:
    """Blur one image ``[3,H,W]`` inside ``mask [H,W]`` (see :func:`blur_objects`)."""
    if image.dim() != 3:
        raise ParameterError(f"image must be [3,H,W], got {tuple(image.shape)}")
    return blur_objects(image[None], mask[None], sigma, margin)[0]

