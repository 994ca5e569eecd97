"""The JPEG round trip that adversarial stimuli go through before people see them.

Nguyen et al. (2021), Sec. 2.4.3: adversarial images were saved as JPEG files and
re-classified; only images still misclassified after the round trip were kept, since
at weaker attack settings most adversarial images became correctly classified again.
"""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from ..errors import ParameterError


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``[B,3,H,W]`` floats in [0, 1] -> ``[B,H,W,3]`` uint8 (round to nearest, as saving a file)."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        raise ParameterError(f"images must be a tensor [B,3,H,W], got {getattr(images, 'shape', type(images))}")
    if not torch.isfinite(images).all():
        raise ParameterError("images contains NaN or infinite values")
    x = images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def encode(image: np.ndarray, quality: int = 75) -> bytes:
    """One ``[H,W,3]`` uint8 image as JPEG bytes (PIL, default chroma subsampling)."""
    buf = io.BytesIO()
    Image.fromarray(image, mode="RGB").save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def roundtrip(images: torch.Tensor, quality: int = 75) -> torch.Tensor:
    """Encode each image as a JPEG file in memory and decode it again.

    Args:
        images: ``[B,3,H,W]`` float in [0, 1].
        quality: PIL JPEG quality 1-95 (PIL's default 75; the quality Nguyen et al. used is
            not stated in the paper).

    Returns:
        ``[B,3,H,W]`` float in [0, 1] on the input's device: what a viewer of the file sees.
    """
    if not 1 <= int(quality) <= 100:
        raise ParameterError(f"quality must be in 1..100 (PIL JPEG quality), got {quality}")
    arrays = to_uint8(images)
    out = np.stack([np.asarray(Image.open(io.BytesIO(encode(a, quality))).convert("RGB")) for a in arrays])
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div(255).to(images.device)
