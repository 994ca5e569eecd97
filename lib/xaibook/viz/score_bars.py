"""A multi-label classifier's top class scores as a bar image, each bar with its class threshold.

Alqaraawi et al. (2020, Sec. 3.3.2) showed participants "a bar chart of the top 10 scores" with
the decision threshold marked. :func:`score_bars` draws it with PIL (no figure machinery), so a
stimulus exporter can draw hundreds quickly and the chapter shows the same picture.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import ParameterError


def score_bars(names: Sequence[str], scores: Sequence[float], thresholds: Sequence[float], *, top: int = 10,
               highlight: str | None = None, width: int = 260, height: int = 200) -> Image.Image:
    """Horizontal bars of the ``top`` highest ``scores`` (probabilities in [0, 1]), highest first.

    Each bar carries a black tick at its class's threshold; a bar at or above its threshold (the
    class is detected) is dark, below it pale; the ``highlight`` class's name is bold.
    """
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(thresholds, dtype=np.float64)
    if not (len(names) == len(s) == len(t)) or len(s) == 0:
        raise ParameterError(f"names, scores and thresholds must have one equal, non-zero length; got "
                             f"{len(names)}, {len(s)}, {len(t)}")
    if not np.isfinite(s).all() or (s < 0).any() or (s > 1).any():
        raise ParameterError("scores must be probabilities in [0, 1]")
    order = np.argsort(-s, kind="stable")[:top]
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=11)
    label_w, pad = 70, 6
    row = (height - 2 * pad - 14) / max(len(order), 1)
    x0, x1 = label_w, width - pad
    for r, c in enumerate(order):
        y = pad + r * row
        detected = s[c] >= t[c]
        d.text((pad, y + row / 2 - 6), str(names[c])[:11], fill="black", font=font,
               stroke_width=1 if names[c] == highlight else 0, stroke_fill="black")
        d.rectangle([x0, y + 2, x0 + (x1 - x0) * s[c], y + row - 2], fill="#c0392b" if detected else "#e6b0aa")
        xt = x0 + (x1 - x0) * t[c]
        d.line([xt, y, xt, y + row], fill="black", width=2)
    d.line([x0, height - pad - 12, x1, height - pad - 12], fill="grey")
    d.text((x0, height - pad - 11), "0", fill="grey", font=font)
    d.text((x1 - 8, height - pad - 11), "1", fill="grey", font=font)
    d.text(((x0 + x1) / 2 - 40, height - pad - 11), "score | threshold", fill="grey", font=font)
    return img
