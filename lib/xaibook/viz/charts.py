"""Altair charts that display offline, each labelled with the data and scale behind it."""
from __future__ import annotations

import altair as alt

from .. import config

_READY = False


def setup() -> None:
    """Render altair charts as static SVG (vl-convert), so the HTML book needs no CDN."""
    global _READY
    if not _READY:
        alt.renderers.enable("svg")
        alt.data_transformers.disable_max_rows()
        _READY = True


def provenance(chart: "alt.TopLevelMixin", data: str, scale: str | None = None) -> "alt.TopLevelMixin":
    """Add a footer line naming the data (and the run scale, for computed results).

    ``data`` says where the numbers come from, e.g. ``"published: Nguyen et al. 2021, Table 1"``
    or ``"offline world (zoo), ResNet-18 trained here"``. ``scale`` defaults to the current
    run scale for computed data; pass ``"n/a"`` for published numbers.
    """
    setup()
    scale = scale if scale is not None else config.scale().name
    text = f"Data: {data} · scale: {scale}"
    try:
        existing = chart.title
        title = existing if isinstance(existing, str) else getattr(existing, "text", "")
    except AttributeError:
        title = ""
    if title is alt.Undefined:
        title = ""
    return chart.properties(title=alt.TitleParams(text=title or "", subtitle=[text], anchor="start",
                                                  subtitleColor="#666", subtitleFontSize=10))
