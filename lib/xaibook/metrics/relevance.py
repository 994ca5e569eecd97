"""Where a signed relevance map puts its evidence, measured against ground-truth regions.

Alqaraawi et al. (2020) read two things off their LRP maps: the maps of false negatives
"highlight very little evidence" (Sec. 5.1.1), and the maps of trains highlight the rails
(Figs. 2-3). On images with ground-truth masks both readings become measurements:
:func:`relevance_mass` gives, per image, the positive relevance (evidence for the class, in the
map's units), the share of it inside a region and the region's share of the image area (the share
a map spread evenly would put there).
"""
from __future__ import annotations

import pandas as pd
import torch

from ..errors import ParameterError


def relevance_mass(maps: torch.Tensor, regions: torch.Tensor) -> pd.DataFrame:
    """Per image: positive and negative relevance, and the positive share inside ``regions``.

    Args:
        maps: ``[B,1,H,W]`` or ``[B,H,W]`` signed relevance.
        regions: ``[B,H,W]`` bool masks (an empty mask gives share 0 and area 0).

    Returns:
        one row per image: ``positive`` (sum of the positive relevance), ``negative`` (sum of
        the negative part, <= 0), ``positive_share`` (positive over all absolute relevance: the
        share of red in a signed map scaled to its own largest value, as participants see it),
        ``inside`` (share of the positive relevance inside the region, nan when the map has no
        positive relevance) and ``area`` (the region's share of pixels).
    """
    m = maps[:, 0] if maps.dim() == 4 else maps
    if m.dim() != 3:
        raise ParameterError(f"maps must be [B,1,H,W] or [B,H,W], got {tuple(maps.shape)}")
    if regions.shape != m.shape:
        raise ParameterError(f"regions must be [B,H,W] = {tuple(m.shape)}, got {tuple(regions.shape)}")
    m = m.detach().double().cpu()
    r = regions.bool().cpu()
    pos = m.clamp(min=0)
    total = pos.flatten(1).sum(1)
    inside = (pos * r).flatten(1).sum(1)
    share = torch.where(total > 0, inside / total.clamp(min=1e-300), torch.full_like(total, float("nan")))
    neg = m.clamp(max=0).flatten(1).sum(1)
    absolute = total - neg
    pshare = torch.where(absolute > 0, total / absolute.clamp(min=1e-300), torch.full_like(total, float("nan")))
    return pd.DataFrame({"positive": total.numpy(), "negative": neg.numpy(), "positive_share": pshare.numpy(),
                         "inside": share.numpy(), "area": r.flatten(1).double().mean(1).numpy()})


def summary(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Median and count of each measure of :func:`relevance_mass` per group ``by``."""
    if by not in table.columns:
        raise ParameterError(f"no column {by!r} to group by; columns: {list(table.columns)}")
    cols = [c for c in ("positive", "negative", "inside", "area") if c in table.columns]
    g = table.groupby(by, sort=False)
    out = g[cols].median()
    out.insert(0, "images", g.size())
    return out.reset_index()

