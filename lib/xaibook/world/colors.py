"""Colour maps of Two4Two (Sixt et al. 2022, Sec. 3 and Table 5).

Object and background colours are scalars in [0, 1] mapped through matplotlib's ``coolwarm``
diverging map (blue - near white - red), looked up in its 256-entry table exactly as the
original generator does, so the RGBA values we record match the original's ``*_rgba`` fields.
The mapped value is used directly as the linear albedo of the material.

The study code (``../shared/notes/two4two.md``) compresses object-colour values above 0.5,
``v -> 0.9 (v - 0.5) + 0.5``. Neither the recorded RGBA values nor the rendered pixels of the
reference renders of the generator show it (their per-channel irradiance ratios agree only
with the uncompressed map), so :func:`object_rgb` applies it only when asked.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

from ..errors import ParameterError

CMAP = "coolwarm"


@functools.lru_cache(maxsize=4)
def _lut(name: str = CMAP) -> np.ndarray:
    import matplotlib

    cmap = matplotlib.colormaps[name]
    return np.asarray(cmap(np.arange(cmap.N)), dtype=np.float64)  # [N,4] RGBA


def compress(v: Tensor | np.ndarray | float):
    """The study code's compression of object-colour values above 0.5."""
    if isinstance(v, Tensor):
        return torch.where(v > 0.5, 0.9 * (v - 0.5) + 0.5, v)
    v = np.asarray(v, dtype=np.float64)
    return np.where(v > 0.5, 0.9 * (v - 0.5) + 0.5, v)


def coolwarm_rgba(v: np.ndarray | float) -> np.ndarray:
    """RGBA ``[...,4]`` (float64) of scalars ``v`` in [0, 1], as ``matplotlib``'s ``coolwarm(v)``."""
    v = np.asarray(v, dtype=np.float64)
    if np.isnan(v).any():
        raise ParameterError("colour values must not be NaN")
    lut = _lut()
    n = len(lut)
    idx = np.clip((v * n).astype(np.int64), 0, n - 1)
    return lut[idx]


def coolwarm(v: Tensor) -> Tensor:
    """Linear RGB ``[...,3]`` of scalars ``v`` in [0, 1] (a torch lookup in the same table)."""
    lut = torch.as_tensor(_lut()[:, :3], dtype=torch.float32, device=v.device)
    n = lut.shape[0]
    idx = (v.to(torch.float64) * n).long().clamp(0, n - 1)
    return lut[idx]


def object_rgb(v: Tensor, compress_warm: bool = False) -> Tensor:
    """Object albedo ``[...,3]`` of object-colour scalars, optionally with the study's compression."""
    return coolwarm(compress(v) if compress_warm else v)


def background_rgb(v: Tensor) -> Tensor:
    """Background albedo ``[...,3]`` of background-colour scalars."""
    return coolwarm(v)
