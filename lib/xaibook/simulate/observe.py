"""The screen as numbers: frozen image features and explanation channels shared by every task.

The frozen image features are the image averaged down to a few cells per side (a fixed,
untrained encoder that keeps colour and layout, the way SimEvals feeds frozen features to its
agents, Chen et al. 2022, Sec. 5); maps are pooled the same way.
"""
from __future__ import annotations

import numpy as np

IMAGE_CELLS = 6
MAP_CELLS = 8


def pooled(images, cells: int = IMAGE_CELLS) -> np.ndarray:
    """``[N, C*cells*cells]``: ``images`` (``[N,C,H,W]``, uint8 or float in [0, 1]) averaged to ``cells`` x ``cells``."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(images)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if x.ndim == 3:
        x = x[:, None]
    if len(x) == 0:
        return np.zeros((0, x.shape[1] * cells * cells), dtype=np.float32)
    return F.adaptive_avg_pool2d(x, cells).flatten(1).numpy().astype(np.float32)


def map_channels(maps, images) -> np.ndarray:
    """A heatmap as the agent sees it: pooled to :data:`MAP_CELLS` cells, plus the map-weighted mean colour."""
    import torch

    m = torch.as_tensor(maps).float()
    if m.ndim == 3:
        m = m[:, None]
    x = torch.as_tensor(images)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    m = m.clamp(min=0)
    m = m / m.flatten(1).max(1).values.clamp(min=1e-8)[:, None, None, None]
    w = m / m.flatten(1).sum(1).clamp(min=1e-8)[:, None, None, None]
    colour = (x * w).flatten(2).sum(2).numpy()
    return np.concatenate([pooled(m, MAP_CELLS), colour.astype(np.float32)], axis=1)


def prototypes(images, labels, n_classes: int, cells: int = IMAGE_CELLS) -> np.ndarray:
    """``[n_classes, D]``: each class's typical look, the mean of its images pooled (zeros for a class without images).

    What a participant knows about a label before the study: the agent's stand-in for the meaning of a class name.
    """
    feats = pooled(images, cells)
    labels = np.asarray(labels)
    out = np.zeros((n_classes, feats.shape[1]), dtype=np.float32)
    for c in range(n_classes):
        m = labels == c
        if m.any():
            out[c] = feats[m].mean(0)
    return out
