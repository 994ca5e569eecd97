"""Overlays in the studies' styles and the stimulus panels: values and structure, not font pixels."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from xaibook.errors import ParameterError
from xaibook.viz import overlays, panels

H, W = 24, 32


@pytest.fixture
def image():
    g = torch.Generator().manual_seed(0)
    return torch.rand(3, H, W, generator=g)


def _map():
    m = np.zeros((H, W))
    m[5:10, 8:16] = 0.5
    m[6, 10] = 2.0          # the maximum
    return m


def test_nguyen_overlay_is_the_edge_image_where_the_map_is_zero(image):
    m = _map()
    out = overlays.nguyen_overlay(image, m)
    assert out.shape == (H, W, 3) and out.min() >= 0 and out.max() <= 1
    base = 1 - 0.7 * overlays.edge_map(image)
    zero = m == 0
    np.testing.assert_allclose(out[zero], np.repeat(base[zero][:, None], 3, axis=1), atol=1e-12)
    # at the maximum the colour map's saturated end (Reds(1.0), a dark red) shows alone
    red = np.array(matplotlib.colormaps["Reds"](1.0)[:3])
    np.testing.assert_allclose(out[6, 10], red, atol=1e-12)
    assert out[6, 10, 0] > 3 * out[6, 10, 1]
    # half the maximum: an even blend of the edge image and Reds(0.25)
    np.testing.assert_allclose(out[7, 12], 0.75 * base[7, 12] + 0.25 * np.array(matplotlib.colormaps["Reds"](0.25)[:3]))


def test_edge_map_finds_a_step():
    img = np.zeros((H, W, 3))
    img[:, W // 2:] = 1.0
    e = overlays.edge_map(img, sigma=0)
    assert e.max() == pytest.approx(1.0)
    assert e[:, W // 2 - 1:W // 2 + 1].min() > 0.9 and e[:, :W // 2 - 2].max() == 0 and e[:, W // 2 + 2:].max() == 0


def test_jet_overlay_formula(image):
    m = _map()
    out = overlays.jet_overlay(image, m, alpha=0.4)
    rgb = image.permute(1, 2, 0).numpy()
    jet = matplotlib.colormaps["jet"]
    np.testing.assert_allclose(out[0, 0], 0.6 * rgb[0, 0] + 0.4 * np.array(jet(0.0)[:3]), atol=1e-6)
    np.testing.assert_allclose(out[6, 10], 0.6 * rgb[6, 10] + 0.4 * np.array(jet(1.0)[:3]), atol=1e-6)
    np.testing.assert_allclose(overlays.jet_overlay(image, m, alpha=0.0), rgb, atol=1e-6)


def test_signed_heatmap_red_blue_white():
    m = np.zeros((H, W))
    m[2, 3], m[4, 5], m[6, 7] = 2.0, -1.0, -2.0
    out = overlays.signed_heatmap(m)
    np.testing.assert_allclose(out[0, 0], [1, 1, 1], atol=1e-2)     # zero relevance is white
    np.testing.assert_allclose(out[2, 3], [1, 0, 0], atol=1e-2)     # + max: red
    np.testing.assert_allclose(out[6, 7], [0, 0, 1], atol=1e-2)     # - max: blue
    assert out[4, 5, 2] == pytest.approx(1.0, abs=1e-2) and 0.4 < out[4, 5, 0] < 0.6   # half: light blue
    over = overlays.signed_heatmap(m, image=np.full((H, W, 3), 0.3))
    np.testing.assert_allclose(over[0, 0], [0.3, 0.3, 0.3], atol=1e-6)   # the grey image where R = 0
    np.testing.assert_allclose(over[2, 3], out[2, 3], atol=1e-6)


def test_overlay_input_checks(image):
    with pytest.raises(ParameterError, match="shape"):
        overlays.nguyen_overlay(image, np.zeros((H + 1, W)))
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        overlays.jet_overlay(image * 255, _map())
    with pytest.raises(ParameterError, match="NaN"):
        overlays.jet_overlay(image, np.full((H, W), np.nan))
    with pytest.raises(ParameterError, match="style"):
        overlays.overlay(image, _map(), style="rainbow")
    assert overlays.to_pil(overlays.jet_overlay(image, _map())).size == (W, H)


def _texts(fig):
    return [t.get_text() for t in fig.texts] + [ax.get_title() for ax in fig.axes] + \
        ([fig._suptitle.get_text()] if fig._suptitle is not None else [])


def test_stimulus_panel_layout(image):
    cap = panels.provenance("random test image", "smoke")
    assert cap == "Data: random test image · scale: smoke"
    fig = panels.stimulus_panel(image, "lorikeet", 0.734, caption=cap, heatmap=_map())
    assert len(fig.axes) == 2
    assert "73% lorikeet" in _texts(fig) and cap in _texts(fig)
    shown = fig.axes[1].images[0].get_array()
    np.testing.assert_allclose(np.asarray(shown), overlays.nguyen_overlay(image, _map()))
    nn = panels.stimulus_panel(image, "lorikeet", 0.5, caption=cap, neighbours=[image] * 3)
    assert len(nn.axes) == 4 and "Three examples of lorikeet" in _texts(nn) and "50% lorikeet" in _texts(nn)
    alone = panels.stimulus_panel(image, "lorikeet", 0.05, caption=cap)
    assert len(alone.axes) == 1 and "5% lorikeet" in _texts(alone)
    pil = panels.to_image(fig, dpi=50)
    w, h = fig.get_size_inches()
    assert abs(pil.size[0] - w * 50) <= 1 and abs(pil.size[1] - h * 50) <= 1 and pil.mode == "RGB"


def test_other_panels_and_export(image, tmp_path):
    cap = panels.provenance("random test image", "smoke")
    nb = panels.neighbour_panel([image, image], "dingo", caption=cap, distances=[1.5, 2.0])
    assert "Two examples of dingo" in _texts(nb) and len(nb.axes) == 2
    row = panels.heatmap_row(image, {"EP 20%": _map(), "GradCAM": _map()}, caption=cap)
    assert len(row.axes) == 4                      # image, two maps, colour bar
    assert [row.axes[i].get_title() for i in range(3)] == ["Image", "EP 20%", "GradCAM"]
    sheet = panels.outcome_panel(image, {"TP": [image] * 3, "FN": [image], "FP": [image] * 2}, caption=cap, label="cat",
                                 heatmaps={"TP": [_map()] * 3, "FN": [_map()], "FP": [_map()] * 2})
    assert len(sheet.axes) == 3 * 4
    assert panels.save(sheet, tmp_path / "sheet.png").stat().st_size > 0
    assert panels.confidence_title("x", 0.995) == "100% x" and panels.examples_title("x", 1) == "One example of x"


def test_panels_require_a_caption(image):
    with pytest.raises(ParameterError, match="caption"):
        panels.stimulus_panel(image, "x", 0.5, caption="")
    with pytest.raises(ParameterError, match="either"):
        panels.stimulus_panel(image, "x", 0.5, caption="c", heatmap=_map(), neighbours=[image])
    with pytest.raises(ParameterError, match="confidence"):
        panels.stimulus_panel(image, "x", 73, caption="c")
