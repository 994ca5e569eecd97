"""Stimulus panels and example grids: one consistent layout for every study.

A stimulus panel shows the input image titled with the AI's decision as Nguyen et al.'s
screens did ("NN% label"), next to the explanation: a heatmap in a study's style
(:mod:`xaibook.viz.overlays`) or nearest training examples ("Three examples of X").
Every figure carries a caption naming the data and scale behind it (use :func:`provenance`
for the book's standard "Data: ... · scale: ..." line). Figures are matplotlib figures
(closed on creation, so notebooks show them once); :func:`to_image` and :func:`save`
export them for study platforms.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image

from .. import config
from ..errors import ParameterError
from . import overlays

PANEL_INCHES = 2.4
NUMBER_WORDS = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight",
                9: "Nine", 10: "Ten", 11: "Eleven", 12: "Twelve"}


def provenance(data: str, scale: str | None = None) -> str:
    """The caption line every figure carries: ``"Data: <data> · scale: <scale>"`` (current scale by default)."""
    return f"Data: {data} · scale: {scale if scale is not None else config.scale().name}"


def confidence_title(label: str, confidence: float) -> str:
    """Nguyen et al.'s decision line: ``"73% lorikeet"`` (confidence in [0, 1], rounded to a percent)."""
    if not 0 <= confidence <= 1:
        raise ParameterError(f"confidence must be in [0, 1], got {confidence}")
    return f"{round(100 * float(confidence))}% {label}"


def examples_title(label: str, n: int) -> str:
    """``"Three examples of lorikeet"``."""
    return f"{NUMBER_WORDS.get(n, str(n))} example{'s' if n != 1 else ''} of {label}"


def _check_caption(caption: str) -> str:
    if not isinstance(caption, str) or not caption.strip():
        raise ParameterError("caption is required: say which data and scale produced the figure "
                             "(e.g. panels.provenance('offline world, ResNet-18 trained here'))")
    return caption


def _figure(n_cols: int, n_rows: int = 1, extra_width: float = 0.0, caption: str = ""):
    import matplotlib.pyplot as plt

    lines = max(1, len(textwrap.wrap(caption, width=int(18 * (n_cols * PANEL_INCHES + extra_width)))))
    height = n_rows * (PANEL_INCHES + 0.45) + 0.2 * lines + 0.1
    fig = plt.figure(figsize=(n_cols * PANEL_INCHES + extra_width, height))
    plt.close(fig)  # the caller shows or saves it; no global pyplot state is kept
    return fig


def _caption(fig, caption: str) -> None:
    width_chars = int(18 * fig.get_figwidth())
    text = "\n".join(textwrap.wrap(caption, width=width_chars)) or caption
    fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=7, color="#555555")


def _layout(fig, caption: str) -> None:
    lines = max(1, len(textwrap.wrap(caption, width=int(18 * fig.get_figwidth()))))
    bottom = min(0.45, (0.2 * lines + 0.1) / fig.get_figheight())
    top = 1 - min(0.3, 0.4 / fig.get_figheight())
    fig.subplots_adjust(left=0.02, right=0.98, top=top, bottom=bottom, wspace=0.06, hspace=0.3)


def _show(ax, array, title: str | None = None, fontsize: int = 10) -> None:
    ax.imshow(np.clip(array, 0, 1), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def stimulus_panel(image, label: str, confidence: float, *, caption: str, heatmap=None,
                   neighbours: Sequence | None = None, neighbour_label: str | None = None,
                   style: str = "nguyen", explanation_title: str | None = None):
    """One trial screen: the image titled "NN% label" and its explanation.

    Args:
        image: the input image.
        label, confidence: the AI's top-1 label and its confidence in [0, 1].
        caption: which data and scale produced the figure (required).
        heatmap: a map for the image, shown in ``style`` (``"nguyen"``, ``"jet"``, ``"signed"``).
        neighbours: training images to show instead of a heatmap (Nguyen et al.'s 3-NN),
            titled "Three examples of <neighbour_label or label>".
        explanation_title: a title over the heatmap (none by default, as in the studies).

    Returns a matplotlib figure; with neither ``heatmap`` nor ``neighbours`` it shows the
    image alone (the confidence-only condition).
    """
    _check_caption(caption)
    if heatmap is not None and neighbours is not None:
        raise ParameterError("pass either heatmap or neighbours, not both")
    rgb = overlays.to_hwc(image)
    n_nb = len(neighbours) if neighbours is not None else 0
    cols = 1 + (1 if heatmap is not None else 0) + n_nb
    fig = _figure(cols, caption=caption)
    axes = fig.subplots(1, cols, squeeze=False)[0]
    _show(axes[0], rgb, confidence_title(label, confidence))
    if heatmap is not None:
        _show(axes[1], overlays.overlay(rgb, heatmap, style), explanation_title)
    for ax, nb in zip(axes[1:], neighbours or []):
        _show(ax, overlays.to_hwc(nb))
    _layout(fig, caption)
    if n_nb:  # one title centred over the examples, level with the image's title
        left, right = axes[1].get_position(), axes[-1].get_position()
        fig.text((left.x0 + right.x1) / 2, right.y1 + 0.02, examples_title(neighbour_label or label, n_nb),
                 ha="center", va="bottom", fontsize=10)
    _caption(fig, caption)
    return fig


def neighbour_panel(images: Sequence, label: str, *, caption: str, distances: Sequence[float] | None = None):
    """Nearest training examples in a row under the title "Three examples of <label>".

    ``distances`` (optional) are printed under each example (for the book, not the stimuli).
    """
    _check_caption(caption)
    if len(images) == 0:
        raise ParameterError("images is empty: no neighbours to show")
    if distances is not None and len(distances) != len(images):
        raise ParameterError(f"distances has {len(distances)} entries for {len(images)} images")
    fig = _figure(len(images), caption=caption)
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    for i, (ax, im) in enumerate(zip(axes, images)):
        _show(ax, overlays.to_hwc(im))
        if distances is not None:
            ax.set_xlabel(f"d = {float(distances[i]):.3g}", fontsize=8)
    fig.suptitle(examples_title(label, len(images)), fontsize=10)
    _layout(fig, caption)
    _caption(fig, caption)
    return fig


def heatmap_row(image, heatmaps: Mapping[str, object], *, caption: str, style: str = "jet",
                colorbar: bool = True, image_title: str | None = "Image"):
    """The image followed by several titled heatmaps in one style, with a colour bar.

    Shen & Huang (2020), Fig. 2: the image, three EP masks (20/40/50 %), GradCAM and a
    gradient map in jet with a colour bar. ``heatmaps`` maps a panel title to a map.
    """
    _check_caption(caption)
    if not heatmaps:
        raise ParameterError("heatmaps is empty")
    rgb = overlays.to_hwc(image)
    cols = 1 + len(heatmaps)
    fig = _figure(cols, extra_width=0.6 if colorbar else 0.0, caption=caption)
    axes = fig.subplots(1, cols, squeeze=False)[0]
    _show(axes[0], rgb, image_title)
    for ax, (title, m) in zip(axes[1:], heatmaps.items()):
        _show(ax, overlays.overlay(rgb, m, style), title)
    _layout(fig, caption)
    if colorbar:
        import matplotlib as mpl

        cmap = {"jet": "jet", "nguyen": "Reds", "signed": "bwr"}[style]
        lo = -1 if style == "signed" else 0
        fig.subplots_adjust(right=1 - 0.6 / fig.get_figwidth())
        top, bottom = axes[-1].get_position().y1, axes[-1].get_position().y0
        cax = fig.add_axes([1 - 0.5 / fig.get_figwidth(), bottom, 0.12 / fig.get_figwidth(), top - bottom])
        fig.colorbar(mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(lo, 1), cmap=cmap), cax=cax)
        cax.tick_params(labelsize=7)
    _caption(fig, caption)
    return fig


def outcome_panel(image, examples: Mapping[str, Sequence], *, caption: str, label: str,
                  heatmaps: Mapping[str, Sequence] | None = None, style: str = "signed"):
    """Alqaraawi et al.'s example sheet: the task image and nearest examples grouped by outcome.

    ``examples`` maps an outcome name (e.g. "TP", "FN", "FP") to its example images, shown
    one row per outcome; ``heatmaps`` (optional, same keys) shows each example's map in
    ``style`` instead of the plain image (the saliency condition).
    """
    _check_caption(caption)
    rows = [k for k, v in examples.items() if len(v)]
    if not rows:
        raise ParameterError("examples is empty")
    names = {"TP": f"{label}: correctly recognised", "FN": f"{label}: missed",
             "FP": f"not {label}: recognised as {label}"}
    cols = 1 + max(len(examples[k]) for k in rows)
    fig = _figure(cols, n_rows=len(rows), caption=caption)
    axes = fig.subplots(len(rows), cols, squeeze=False)
    for r, key in enumerate(rows):
        for c in range(cols):
            axes[r, c].axis("off")
        for c, ex in enumerate(examples[key], start=1):
            shown = overlays.to_hwc(ex)
            if heatmaps is not None:
                shown = overlays.overlay(shown, heatmaps[key][c - 1], style)
            axes[r, c].axis("on")
            _show(axes[r, c], shown)
        axes[r, 1].set_title(names.get(key, key), fontsize=9, loc="left")
    axes[0, 0].axis("on")
    _show(axes[0, 0], overlays.to_hwc(image), "Task image")
    _layout(fig, caption)
    _caption(fig, caption)
    return fig


def titled_grid(rows: Sequence[Sequence[tuple]], *, title: str, caption: str,
                row_labels: Sequence[str] | None = None, n_cols: int | None = None,
                cell: tuple[float, float] = (1.7, 1.95),
                title_size: int = 8, label_size: int = 7, interpolation: str | None = "nearest",
                top: float = 0.9, bottom: float = 0.06, hspace: float = 0.35):
    """A grid in which every image carries its own title: ``rows[r][c] = (image, title)``.

    Images are ``[H, W, 3]`` arrays (e.g. from :func:`xaibook.viz.overlays.nguyen_overlay`);
    a row shorter than ``n_cols`` (default: the longest row) leaves its last cells blank. ``row_labels`` go beside the
    first column; ``caption`` (the data and scale, see :func:`provenance`) under the grid.
    """
    import matplotlib.pyplot as plt

    _check_caption(caption)
    n_cols = n_cols or max((len(r) for r in rows), default=1)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(cell[0] * n_cols, cell[1] * len(rows) + 0.5),
                             squeeze=False)
    plt.close(fig)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(row):
                ax.imshow(row[c][0], interpolation=interpolation)
                ax.set_title(row[c][1], fontsize=title_size)
            else:
                ax.axis("off")
        if row_labels is not None:
            axes[r, 0].set_ylabel(row_labels[r], fontsize=label_size)
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.005, caption, fontsize=7, color="#555555")
    fig.subplots_adjust(left=0.08, right=0.99, top=top, bottom=bottom, wspace=0.05, hspace=hspace)
    return fig


def image_grid(images, n_rows: int, n_cols: int, title: str, caption: str, col_titles: Sequence[str] | None = None,
               row_titles: Sequence[str] | None = None, cell: float = 1.25):
    """A titled grid of image tensors ``[3, H, W]`` (uint8 or float in [0, 1]), e.g. a study's explanation grid.

    ``images`` is a list of rows (lists of images) or a dict ``{(row, col): image}``; a missing or ``None``
    cell stays blank. ``col_titles`` label the first row's cells, ``row_titles`` the first column's.
    """
    import matplotlib.pyplot as plt

    _check_caption(caption)
    height = cell * n_rows + 0.9 + (0.3 if col_titles is not None else 0.0)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols + 0.6, height), squeeze=False)
    for r in range(n_rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            for sp in ax.spines.values():
                sp.set_visible(False)
            img = images.get((r, c)) if isinstance(images, dict) else images[r][c]
            if img is not None:
                arr = img.float() / 255 if not img.dtype.is_floating_point else img
                ax.imshow(arr.clamp(0, 1).permute(1, 2, 0).numpy())
            if r == 0 and col_titles is not None:
                ax.set_title(col_titles[c], fontsize=8)
            if c == 0 and row_titles is not None:
                ax.set_ylabel(row_titles[r], fontsize=8)
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height)
    fig.text(0.01, 0.005, caption, fontsize=7, color="#666")
    fig.tight_layout(rect=(0, 0.3 / height, 1, 1 - 0.35 / height), pad=0.3)
    plt.close(fig)
    return fig


def to_image(fig, dpi: int = 100) -> Image.Image:
    """Render a figure to an RGB PIL image (PNG through Agg, no display needed)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def save(fig, path: str | Path, dpi: int = 150) -> Path:
    """Save a figure (format from the suffix: .png, .jpg, .pdf, .svg); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
