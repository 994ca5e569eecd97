"""Heatmap overlays in the styles the user studies showed their participants.

* :func:`nguyen_overlay`: Nguyen et al. (2021), stimulus panels (their Fig. 1a, Sec. A13): the
  map in a red colour map blended over an edge image of the input; opacity follows the map,
  so the edge image shows where the map is 0 and the colour saturates where it is 1.
* :func:`jet_overlay`: Shen & Huang (2020), Fig. 2: the min-max normalised map in the jet
  colour map blended with the image at a fixed opacity; :func:`jet_colorbar` gives the
  colour bar their figure carries.
* :func:`signed_heatmap`: Alqaraawi et al. (2020), Fig. 2: signed LRP relevance, positive in
  red, negative in blue, zero white, scaled by the largest absolute relevance.

Every function takes one image (``[3,H,W]`` tensor, ``[H,W,3]`` array or PIL image, values
in [0, 1]) and one map (``[1,H,W]``, ``[H,W]``) and returns an ``[H,W,3]`` float array in
[0, 1]; :func:`to_pil` turns it into a PIL image for export.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..errors import ParameterError


def to_hwc(image) -> np.ndarray:
    """An RGB image as a float ``[H,W,3]`` array in [0, 1]."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().float().numpy()
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] == 3 and a.shape[2] != 3:
        a = a.transpose(1, 2, 0)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ParameterError(f"image must be [3,H,W], [H,W,3] or [H,W], got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ParameterError("image contains NaN or infinite values")
    if a.max() > 1.0 + 1e-6 or a.min() < -1e-6:
        raise ParameterError(f"image values must lie in [0, 1], got [{a.min():.3g}, {a.max():.3g}]")
    return np.clip(a, 0.0, 1.0)


def to_hw(heatmap, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A map as a float ``[H,W]`` array (squeezing ``[1,H,W]`` / ``[1,1,H,W]``), checked against ``shape``."""
    if isinstance(heatmap, torch.Tensor):
        heatmap = heatmap.detach().cpu().float().numpy()
    m = np.asarray(heatmap, dtype=np.float64)
    while m.ndim > 2 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise ParameterError(f"heatmap must be [H,W] or [1,H,W], got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ParameterError("heatmap contains NaN or infinite values")
    if shape is not None and m.shape != tuple(shape):
        raise ParameterError(f"heatmap has shape {m.shape} but the image is {tuple(shape)}; resize the map first")
    return m


def normalise(heatmap: np.ndarray, mode: str = "max") -> np.ndarray:
    """``"max"``: negative values to 0, divided by the maximum (GradCAM maps "divided by its max");
    ``"minmax"``: to [0, 1]; ``"signed"``: divided by the largest absolute value, in [-1, 1].
    A constant map becomes 0."""
    m = np.asarray(heatmap, dtype=np.float64)
    if mode == "max":
        m = np.clip(m, 0, None)
        top = m.max()
        return m / top if top > 0 else np.zeros_like(m)
    if mode == "minmax":
        span = m.max() - m.min()
        return (m - m.min()) / span if span > 0 else np.zeros_like(m)
    if mode == "signed":
        top = np.abs(m).max()
        return m / top if top > 0 else np.zeros_like(m)
    raise ParameterError(f"mode must be 'max', 'minmax' or 'signed', got {mode!r}")


def colormap(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` in [0, 1] through the matplotlib colour map ``name`` -> ``[..., 3]`` RGB."""
    import matplotlib

    try:
        cmap = matplotlib.colormaps[name]
    except KeyError:
        raise ParameterError(f"unknown matplotlib colour map {name!r}")
    return cmap(np.clip(values, 0.0, 1.0))[..., :3]


def grey(image) -> np.ndarray:
    """Luma (ITU-R BT.601 weights) of an RGB image, ``[H,W]`` in [0, 1]."""
    rgb = to_hwc(image)
    return rgb @ np.array([0.299, 0.587, 0.114])


def edge_map(image, sigma: float = 1.0) -> np.ndarray:
    """Edge strength ``[H,W]`` in [0, 1]: Sobel magnitude of the Gaussian-smoothed grey image, over its max."""
    from scipy import ndimage

    g = ndimage.gaussian_filter(grey(image), sigma) if sigma > 0 else grey(image)
    mag = np.hypot(ndimage.sobel(g, axis=0), ndimage.sobel(g, axis=1))
    top = mag.max()
    return mag / top if top > 0 else mag


def nguyen_overlay(image, heatmap, cmap: str = "Reds", edge_strength: float = 0.7, sigma: float = 1.0) -> np.ndarray:
    """Nguyen et al.'s stimulus style: a red map blended over an edge image.

    The base is a white image with the input's edges drawn in grey (``1 - edge_strength *
    edges``). The map is normalised by its maximum (negatives to 0) and used as the opacity
    of its own colour: ``out = (1 - m) * base + m * cmap(m)``.
    """
    rgb = to_hwc(image)
    m = normalise(to_hw(heatmap, rgb.shape[:2]), "max")
    if not 0 <= edge_strength <= 1:
        raise ParameterError(f"edge_strength must be in [0, 1], got {edge_strength}")
    base = np.repeat((1.0 - edge_strength * edge_map(rgb, sigma))[..., None], 3, axis=2)
    a = m[..., None]
    return (1 - a) * base + a * colormap(m, cmap)


def jet_overlay(image, heatmap, alpha: float = 0.5) -> np.ndarray:
    """Shen & Huang's style: the min-max normalised map in jet, blended at opacity ``alpha``."""
    rgb = to_hwc(image)
    if not 0 <= alpha <= 1:
        raise ParameterError(f"alpha must be in [0, 1], got {alpha}")
    m = normalise(to_hw(heatmap, rgb.shape[:2]), "minmax")
    return (1 - alpha) * rgb + alpha * colormap(m, "jet")


def signed_heatmap(heatmap, image=None, cmap: str = "bwr") -> np.ndarray:
    """Alqaraawi et al.'s style for LRP: red for positive, blue for negative relevance, white for 0.

    The map is divided by its largest absolute value and ``v`` in [-1, 1] is shown as
    ``cmap((v + 1) / 2)``. With ``image``, the colour is blended over the grey image with
    opacity ``|v|`` (the image shows where the relevance is 0).
    """
    m = normalise(to_hw(heatmap), "signed")
    colour = colormap((m + 1) / 2, cmap)
    if image is None:
        return colour
    g = grey(image)
    if g.shape != m.shape:
        raise ParameterError(f"heatmap has shape {m.shape} but the image is {g.shape}")
    a = np.abs(m)[..., None]
    return (1 - a) * np.repeat(g[..., None], 3, axis=2) + a * colour


STYLES = {"nguyen": nguyen_overlay, "jet": jet_overlay, "signed": lambda image, heatmap: signed_heatmap(heatmap)}


def overlay(image, heatmap, style: str = "nguyen", **kwargs) -> np.ndarray:
    """Dispatch to a style: ``"nguyen"``, ``"jet"`` (Shen & Huang) or ``"signed"`` (Alqaraawi)."""
    if style not in STYLES:
        raise ParameterError(f"style must be one of {sorted(STYLES)}, got {style!r}")
    if style == "signed":
        return signed_heatmap(heatmap, **kwargs)
    return STYLES[style](image, heatmap, **kwargs)


def to_pil(array: np.ndarray) -> Image.Image:
    """An ``[H,W,3]`` float array in [0, 1] as an 8-bit PIL image."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ParameterError(f"expected an [H,W,3] array, got {a.shape}")
    return Image.fromarray((np.clip(a, 0, 1) * 255).round().astype(np.uint8), mode="RGB")
