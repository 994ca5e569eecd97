"""Procedural backgrounds for the zoo and the multi-object scenes.

A background is a small record (kind, two hues, saturation, value, angle, frequency, seed)
that renders deterministically to a ``[3, H, W]`` image in [0, 1]. Textured and gradient
backgrounds keep a classifier from solving the zoo by background colour alone; the same
records are what the context knob of :mod:`xaibook.world.zoo` correlates with a class
(Shen & Huang 2020, error category C4, "correlation learning").

    >>> params = sample_backgrounds(8, np.random.default_rng(0))
    >>> images = render_backgrounds(params, size=64)       # [8, 3, 64, 64]
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from ..errors import ParameterError

#: The background kinds, in a fixed order (their index is part of the context signature).
KINDS: tuple[str, ...] = ("plain", "gradient", "stripes", "checker", "dots", "noise")

#: The columns of a background record.
FIELDS: tuple[str, ...] = ("kind", "hue", "hue2", "sat", "val", "angle", "freq", "seed")


def hsv_to_rgb(h: np.ndarray | float, s: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
    """HSV (hue in degrees, s and v in [0, 1]) to RGB in [0, 1]; broadcasts, returns ``[..., 3]``."""
    h = np.mod(np.asarray(h, dtype=np.float64), 360.0) / 60.0
    s = np.asarray(s, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    h, s, v = np.broadcast_arrays(h, s, v)
    c = v * s
    x = c * (1 - np.abs(np.mod(h, 2.0) - 1))
    m = v - c
    z = np.zeros_like(c)
    sector = np.floor(h).astype(int) % 6
    table = [(c, x, z), (x, c, z), (z, c, x), (z, x, c), (x, z, c), (c, z, x)]
    rgb = np.zeros(h.shape + (3,))
    for k, (r, g, b) in enumerate(table):
        sel = sector == k
        rgb[sel] = np.stack([r[sel], g[sel], b[sel]], axis=-1)
    return rgb + m[..., None]


def sample_backgrounds(n: int, rng: np.random.Generator, kinds: np.ndarray | None = None,
                       hues: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Draw ``n`` background records.

    Args:
        n: number of backgrounds.
        rng: the NumPy generator to draw from (the caller owns the seed).
        kinds: optional kind index per background (into :data:`KINDS`); drawn uniformly if None.
        hues: optional main hue in degrees per background; drawn uniformly if None.
    Returns:
        a dict of arrays, one per name in :data:`FIELDS`.
    """
    if n < 0:
        raise ParameterError(f"n={n}: the number of backgrounds must be >= 0")
    kind = rng.integers(0, len(KINDS), n) if kinds is None else np.asarray(kinds, dtype=np.int64)
    hue = rng.uniform(0, 360, n) if hues is None else np.asarray(hues, dtype=np.float64)
    if kind.shape != (n,) or hue.shape != (n,):
        raise ParameterError(f"kinds and hues must have shape ({n},); got {kind.shape} and {hue.shape}")
    if kind.size and (kind.min() < 0 or kind.max() >= len(KINDS)):
        raise ParameterError(f"background kind indices must lie in [0, {len(KINDS) - 1}]")
    return {
        "kind": kind,
        "hue": hue,
        "hue2": np.mod(hue + rng.uniform(25, 70, n) * rng.choice([-1, 1], n), 360.0),
        "sat": rng.uniform(0.15, 0.55, n),
        "val": rng.uniform(0.45, 0.9, n),
        "angle": rng.uniform(0, np.pi, n),
        "freq": rng.uniform(3.0, 8.0, n),
        "seed": rng.integers(0, 2**31 - 1, n),
    }


def _column(params: Mapping[str, np.ndarray] | "object", name: str, prefix: str) -> np.ndarray:
    key = prefix + name
    try:
        return np.asarray(params[key])
    except KeyError as exc:
        raise ParameterError(f"background record lacks the field {key!r}; expected fields "
                             f"{[prefix + f for f in FIELDS]}") from exc


def render_backgrounds(params: Mapping[str, np.ndarray], size: int = 128, device: torch.device | str | None = None,
                       prefix: str = "") -> torch.Tensor:
    """Render background records to images ``[B, 3, size, size]`` in [0, 1].

    Args:
        params: a dict or DataFrame holding the fields of :data:`FIELDS` (optionally prefixed).
        size: image side in pixels.
        device: torch device of the result (CPU if None).
        prefix: column prefix, e.g. ``"bg_"`` when the record is part of a wider table.
    """
    if size < 8:
        raise ParameterError(f"size={size}: backgrounds need at least 8 pixels per side")
    kind = _column(params, "kind", prefix).astype(np.int64)
    n = len(kind)
    hue, hue2 = _column(params, "hue", prefix), _column(params, "hue2", prefix)
    sat, val = _column(params, "sat", prefix), _column(params, "val", prefix)
    angle, freq = _column(params, "angle", prefix), _column(params, "freq", prefix)
    seed = _column(params, "seed", prefix).astype(np.int64)
    if n and (kind.min() < 0 or kind.max() >= len(KINDS)):
        raise ParameterError(f"background kind indices must lie in [0, {len(KINDS) - 1}]")
    c1 = torch.tensor(hsv_to_rgb(hue, sat, val), dtype=torch.float32).view(n, 3, 1, 1)
    c2 = torch.tensor(hsv_to_rgb(hue2, np.clip(sat * 1.2, 0, 1), np.clip(val * 0.8, 0, 1)),
                      dtype=torch.float32).view(n, 3, 1, 1)
    lin = (torch.arange(size, dtype=torch.float32) + 0.5) / size - 0.5
    yy, xx = torch.meshgrid(-lin, lin, indexing="ij")  # yy: up, xx: right, both in [-0.5, 0.5]
    a = torch.tensor(angle, dtype=torch.float32).view(n, 1, 1)
    f = torch.tensor(freq, dtype=torch.float32).view(n, 1, 1)
    u = xx * torch.cos(a) + yy * torch.sin(a)       # coordinate along the pattern direction
    v = -xx * torch.sin(a) + yy * torch.cos(a)
    t = torch.zeros(n, size, size)
    k = torch.tensor(kind)
    sel = k == KINDS.index("gradient")
    t[sel] = (u[sel] + 0.5).clamp(0, 1)
    sel = k == KINDS.index("stripes")
    t[sel] = 0.5 + 0.5 * torch.tanh(4 * torch.sin(2 * np.pi * f[sel] * u[sel]))
    sel = k == KINDS.index("checker")
    t[sel] = 0.5 + 0.5 * torch.tanh(4 * torch.sin(np.pi * f[sel] * u[sel]) * torch.sin(np.pi * f[sel] * v[sel]))
    sel = k == KINDS.index("dots")
    if sel.any():
        cu, cv = torch.frac(f[sel] * u[sel] + 8) - 0.5, torch.frac(f[sel] * v[sel] + 8) - 0.5
        t[sel] = torch.sigmoid((0.3 - torch.sqrt(cu ** 2 + cv ** 2)) * 40)
    for i in np.flatnonzero(kind == KINDS.index("noise")):
        g = torch.Generator().manual_seed(int(seed[i]))
        cells = max(2, int(round(float(freq[i]))))
        coarse = torch.rand(1, 1, cells, cells, generator=g)
        fine = torch.rand(1, 1, 4 * cells, 4 * cells, generator=g)
        up = lambda z: torch.nn.functional.interpolate(z, size=(size, size), mode="bicubic", align_corners=False)
        t[i] = (0.75 * up(coarse) + 0.25 * up(fine))[0, 0].clamp(0, 1)
    image = c1 * (1 - t[:, None]) + c2 * t[:, None]
    # a soft vertical light falloff, as under the renderer's key light
    image = image * (0.92 + 0.16 * (yy + 0.5))
    return image.clamp(0, 1).to(device if device is not None else "cpu")


def context_signature(kind: np.ndarray, hue: np.ndarray, n_hue_bins: int) -> np.ndarray:
    """The context signature of backgrounds: ``kind * n_hue_bins + hue bin`` (an int per record)."""
    if n_hue_bins < 1:
        raise ParameterError(f"n_hue_bins={n_hue_bins} must be >= 1")
    bins = np.floor(np.mod(np.asarray(hue, dtype=np.float64), 360.0) / (360.0 / n_hue_bins)).astype(np.int64)
    return np.asarray(kind, dtype=np.int64) * n_hue_bins + np.minimum(bins, n_hue_bins - 1)


def signature_to_background(signature: np.ndarray, n_hue_bins: int, rng: np.random.Generator
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Draw a (kind, hue) pair inside each given context signature (hue uniform within its bin)."""
    signature = np.asarray(signature, dtype=np.int64)
    if signature.size and (signature.min() < 0 or signature.max() >= len(KINDS) * n_hue_bins):
        raise ParameterError(f"context signatures must lie in [0, {len(KINDS) * n_hue_bins - 1}]")
    width = 360.0 / n_hue_bins
    kind = signature // n_hue_bins
    hue = (signature % n_hue_bins + rng.uniform(0.1, 0.9, signature.shape)) * width
    return kind, hue


def sky_ground(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw records of outdoor backgrounds for the multi-object scenes: sky above, ground below.

    Uses the ``gradient`` geometry: hue is the sky, hue2 the ground (grass, sand, water or
    asphalt), the horizon sits at the image centre (the camera looks horizontally).
    """
    ground = rng.choice(np.array([100.0, 40.0, 205.0, 30.0]), n)  # grass, sand, water, earth
    return {
        "sky_hue": rng.uniform(190, 225, n),
        "sky_sat": rng.uniform(0.3, 0.6, n),
        "sky_val": rng.uniform(0.75, 0.95, n),
        "ground_hue": np.mod(ground + rng.uniform(-12, 12, n), 360.0),
        "ground_sat": rng.uniform(0.2, 0.5, n),
        "ground_val": rng.uniform(0.35, 0.65, n),
        "ground_seed": rng.integers(0, 2**31 - 1, n),
    }


def render_sky_ground(params: Mapping[str, np.ndarray], size: int = 128,
                      device: torch.device | str | None = None) -> torch.Tensor:
    """Render :func:`sky_ground` records to ``[B, 3, size, size]`` images in [0, 1]."""
    try:
        sky = hsv_to_rgb(np.asarray(params["sky_hue"]), np.asarray(params["sky_sat"]), np.asarray(params["sky_val"]))
        ground = hsv_to_rgb(np.asarray(params["ground_hue"]), np.asarray(params["ground_sat"]),
                            np.asarray(params["ground_val"]))
        seeds = np.asarray(params["ground_seed"]).astype(np.int64)
    except KeyError as exc:
        raise ParameterError(f"sky/ground record lacks {exc}; draw it with sky_ground()") from exc
    n = len(seeds)
    sky_t = torch.tensor(sky, dtype=torch.float32).view(n, 3, 1, 1)
    ground_t = torch.tensor(ground, dtype=torch.float32).view(n, 3, 1, 1)
    rows = (torch.arange(size, dtype=torch.float32) + 0.5) / size          # 0 top .. 1 bottom
    up = (0.5 - rows).clamp(min=0).view(1, 1, size, 1)                      # height above horizon
    down = (rows - 0.5).clamp(min=0).view(1, 1, size, 1)
    sky_img = sky_t * (1.0 - 0.35 * up) + 0.12 * up                         # lighter towards the top
    texture = torch.zeros(n, 1, size, size)
    for i, s in enumerate(seeds):
        g = torch.Generator().manual_seed(int(s))
        z = torch.rand(1, 1, 8, 16, generator=g)
        texture[i] = torch.nn.functional.interpolate(z, size=(size, size), mode="bilinear", align_corners=False)[0]
    ground_img = ground_t * (0.8 + 0.4 * down + 0.15 * (texture - 0.5))
    image = torch.where(torch.arange(size).view(1, 1, size, 1) < size // 2, sky_img.expand(n, 3, size, size),
                        ground_img.expand(n, 3, size, size))
    return image.clamp(0, 1).to(device if device is not None else "cpu")
