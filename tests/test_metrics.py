"""Metrics: pointing game against TorchRay, hand-computed IoU / WSL / AI-only / deletion cases."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from xaibook import metrics
from xaibook.errors import ParameterError
from xaibook.metrics.deletion import area_under_curve, gaussian_blur
from xaibook.metrics.localisation import box_iou, mask_box


# ----------------------------------------------------------------------------- pointing game

def _torchray_hits(maps: np.ndarray, boxes: np.ndarray, tolerance: int) -> list[bool]:
    from torchray.benchmark.pointing_game import PointingGame

    game = PointingGame(num_classes=1, tolerance=tolerance)
    hits = []
    for m, (x0, y0, x1, y1) in zip(maps, boxes):
        mask = torch.zeros(m.shape, dtype=torch.bool)          # as torchray's voc_as_mask
        mask[y0:y1 + 1, x0:x1 + 1] = True
        y, x = np.unravel_index(int(np.argmax(m)), m.shape)   # torchray's _saliency_to_point
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                   # torch.meshgrid indexing warning
            hits.append(game.evaluate(mask, (int(x), int(y))) == 1)
    return hits


@pytest.mark.parametrize("tolerance", [1, 3, 15])
def test_pointing_game_matches_torchray(tolerance):
    rng = np.random.default_rng(tolerance)
    n, h, w = 60, 48, 64
    maps = rng.random((n, 1, h, w)).astype(np.float32)
    x0 = rng.integers(0, w - 1, n)
    y0 = rng.integers(0, h - 1, n)
    x1 = np.minimum(x0 + rng.integers(0, 12, n), w - 1)
    y1 = np.minimum(y0 + rng.integers(0, 12, n), h - 1)
    boxes = np.stack([x0, y0, x1, y1], 1)
    # put each map's peak near its box (inside, at the border or a few pixels away)
    reach = 2 * tolerance + 6
    px = np.clip(x0 + rng.integers(-reach, reach + 8, n), 0, w - 1)
    py = np.clip(y0 + rng.integers(-reach, reach + 8, n), 0, h - 1)
    maps[np.arange(n), 0, py, px] = 2.0
    ours = metrics.pointing_game(torch.from_numpy(maps), torch.from_numpy(boxes), tolerance=tolerance)
    ref = _torchray_hits(maps[:, 0], boxes, tolerance)
    assert ours.hits.tolist() == ref
    assert 0 < ours.hits.sum() < n  # the case mixes hits and misses
    # the same regions given as masks give the same answer
    masks = np.zeros((n, h, w), dtype=bool)
    for i, (a, b, c, d) in enumerate(boxes):
        masks[i, b:d + 1, a:c + 1] = True
    assert metrics.pointing_game(maps, masks, tolerance=tolerance).hits.tolist() == ref


def test_pointing_game_hand_case():
    m = torch.zeros(1, 1, 10, 10)
    m[0, 0, 3, 2] = 1.0                       # peak at x=2, y=3
    box = torch.tensor([[5, 0, 6, 9]])        # nearest box pixel is 3 px to the right
    assert metrics.pointing_game(m, box, tolerance=3).hits.tolist() == [False]   # 3 < 3 is false
    res = metrics.pointing_game(m, box, tolerance=4)
    assert res.hits.tolist() == [True] and res.points.tolist() == [[2, 3]] and res.accuracy == 1.0


# ----------------------------------------------------------------------------- IoU sweep

def test_iou_hand_case():
    m = torch.tensor([[0.0, 0.2, 0.4, 0.6],
                      [0.0, 0.2, 0.4, 0.8],
                      [0.0, 0.0, 0.0, 1.0],
                      [0.0, 0.0, 0.0, 0.0]])[None, None]
    box = [[[2, 0, 3, 1]]]                    # x 2..3, y 0..1: the four pixels 0.4, 0.6, 0.4, 0.8
    res = metrics.iou(m, box, thresholds=[0.1, 0.5, 0.7, 0.9])
    # t=0.1: 7 pixels >= 0.1, all 4 box pixels inside -> 4/7
    # t=0.5: {0.6, 0.8, 1.0} -> inter 2, union 3 + 4 - 2 = 5 -> 2/5
    # t=0.7: {0.8, 1.0} -> inter 1, union 2 + 4 - 1 = 5 -> 1/5
    # t=0.9: {1.0} -> inter 0 -> 0
    np.testing.assert_allclose(res.per_image[0], [4 / 7, 2 / 5, 1 / 5, 0.0])
    assert res.best_threshold == 0.1 and res.best[0] == pytest.approx(4 / 7)


def test_iou_best_threshold_over_a_set_and_default_sweep():
    # a map that is 1 on the box and 0.3 around it: best threshold is the first above 0.3
    m = torch.full((2, 1, 20, 20), 0.3)
    m[:, :, 5:10, 5:10] = 1.0
    boxes = torch.tensor([[5, 5, 9, 9], [5, 5, 9, 9]])
    res = metrics.iou(m, boxes)
    assert len(res.thresholds) == 19 and res.thresholds[0] == 0.05 and res.thresholds[-1] == 0.95
    assert res.best_threshold == 0.35
    np.testing.assert_allclose(res.best, [1.0, 1.0])
    np.testing.assert_allclose(res.per_image[0, 0], 25 / 400)


def test_iou_zero_map_is_empty_not_everything():
    m = torch.zeros(1, 1, 8, 8)
    assert metrics.iou(m, [[[0, 0, 3, 3]]], thresholds=[0.5]).per_image[0, 0] == 0.0


# ----------------------------------------------------------------------------- WSL

def test_box_helpers():
    assert box_iou([0, 0, 1, 1], [1, 1, 2, 2])[0, 0] == pytest.approx(1 / 7)   # inclusive pixels
    mask = np.zeros((10, 10), dtype=bool)
    mask[1:3, 1:3] = True          # 4 px
    mask[5:9, 4:9] = True          # 20 px, the largest component
    assert mask_box(mask).tolist() == [4, 5, 8, 8]
    assert mask_box(mask, component="all").tolist() == [1, 1, 8, 8]
    assert mask_box(np.zeros((3, 3), bool)) is None


def test_wsl_hand_case():
    m = torch.zeros(2, 1, 10, 10)
    m[0, 0, 5:9, 4:9] = 1.0       # box (4,5,8,8): 20 px
    m[0, 0, 1:3, 1:3] = 0.5       # a smaller blob that survives low thresholds
    m[1, 0, 0:2, 0:2] = 1.0       # far from the box
    gt = [np.array([[4, 5, 8, 9]]), np.array([[4, 5, 8, 9], [0, 0, 1, 1]])]   # image 1 has two boxes
    res = metrics.wsl(m, gt, threshold=[0.05, 0.6])
    # image 0: largest component box (4,5,8,8) vs (4,5,8,9): 20/25 = 0.8 -> hit at both thresholds
    np.testing.assert_allclose(res.iou[0], [0.8, 0.8])
    # image 1: box (0,0,1,1) equals its second GT box -> IoU 1
    np.testing.assert_allclose(res.iou[1], [1.0, 1.0])
    assert res.per_image.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    # with all pixels, image 0's box is (1,1,8,8): 64 px, inter 20 -> 20/(64+25-20)
    res_all = metrics.wsl(m[:1], gt[:1], threshold=0.05, component="all")
    assert res_all.iou[0, 0] == pytest.approx(20 / 69) and res_all.per_image[0, 0] == 0.0
    # empty binarised map (all zeros) is a miss, box -1
    empty = metrics.wsl(torch.zeros(1, 1, 5, 5), [[0, 0, 1, 1]], threshold=0.5)
    assert empty.per_image[0, 0] == 0.0 and empty.boxes[0, 0].tolist() == [-1, -1, -1, -1]


# ----------------------------------------------------------------------------- AI-only sweep

def test_threshold_sweep_hand_case():
    conf = np.array([0.9, 0.6, 0.3, 0.8, 0.15])
    correct = np.array([True, False, False, True, True])
    res = metrics.threshold_sweep(conf, correct)
    acc = dict(zip(res.thresholds.round(2), res.accuracy))
    # T=0.05: accept all -> right decisions = the 3 right labels -> 3/5
    assert acc[0.05] == pytest.approx(3 / 5)
    # T=0.15: 0.15 >= 0.15 is accepted despite the float step (np.arange gives 0.15000000000000002)
    assert acc[0.15] == pytest.approx(3 / 5)
    # T=0.2: reject 0.15 (right label) -> 2/5
    assert acc[0.2] == pytest.approx(2 / 5)
    # T=0.5: accept 0.9, 0.6(wrong), 0.8; reject 0.3(wrong), 0.15(right) -> 3/5
    assert acc[0.5] == pytest.approx(3 / 5)
    # T=0.65: accept 0.9, 0.8; reject the rest -> 4/5 (the maximum; first reached at 0.65)
    assert res.best_threshold == 0.65 and res.best_accuracy == pytest.approx(4 / 5)
    assert res.accept_rate[0] == 1.0
    assert list(res.table().columns) == ["threshold", "accuracy", "accept_rate"]


def test_threshold_sweep_bad_input():
    with pytest.raises(ParameterError, match="confidences"):
        metrics.threshold_sweep([1.5, 0.2], [1, 0])
    with pytest.raises(ParameterError, match="correct"):
        metrics.threshold_sweep([0.5, 0.2], [1, 0, 1])


# ----------------------------------------------------------------------------- deletion / insertion

class MeanRed(nn.Module):
    """Logits [mean of the red channel, 0]: the target-0 logit is the mean red value."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        m = x[:, 0].mean(dim=(1, 2)) + 0 * self.dummy
        return torch.stack([m, torch.zeros_like(m)], dim=1)


def test_deletion_insertion_hand_case():
    img = torch.zeros(1, 3, 2, 2)
    img[0, 0] = torch.tensor([[0.1, 0.2], [0.3, 0.4]])
    m = torch.tensor([[4.0, 1.0], [3.0, 2.0]])[None, None]     # order: 0.1, 0.3, 0.4, 0.2
    t = torch.tensor([0])
    d = metrics.deletion(MeanRed(), img, t, m, steps=4, score="logit")
    np.testing.assert_allclose(d.curves[0], [0.25, 0.225, 0.15, 0.05, 0.0], atol=1e-7)
    np.testing.assert_allclose(d.fractions, [0, 0.25, 0.5, 0.75, 1.0])
    assert d.auc[0] == pytest.approx((0.25 + 0.225 + 0.15 + 0.05 - 0.125) / 4)
    ins = metrics.insertion(MeanRed(), img, t, m, steps=4, substrate="black", score="logit")
    np.testing.assert_allclose(ins.curves[0], [0.0, 0.025, 0.1, 0.2, 0.25], atol=1e-7)
    assert ins.auc[0] == pytest.approx((0.025 + 0.1 + 0.2 + 0.125) / 4)
    # probability = softmax over [m, 0] = sigmoid(m)
    p = metrics.deletion(MeanRed(), img, t, m, steps=4)
    np.testing.assert_allclose(p.curves[0], 1 / (1 + np.exp(-np.array([0.25, 0.225, 0.15, 0.05, 0.0]))), atol=1e-6)


def test_deletion_batched_equals_one_by_one():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    imgs, maps = torch.rand(3, 3, 8, 8), torch.rand(3, 1, 8, 8)
    t = torch.tensor([0, 2, 1])
    batched = metrics.insertion(model, imgs, t, maps, steps=8, batch_size=5)
    for i in range(3):
        single = metrics.insertion(model, imgs[i:i + 1], t[i:i + 1], maps[i:i + 1], steps=8, batch_size=64)
        np.testing.assert_allclose(batched.curves[i], single.curves[0], rtol=1e-5, atol=1e-6)
    # insertion ends on the original image, starts on the blurred one
    with torch.no_grad():
        full = model(imgs).softmax(1)[torch.arange(3), t].numpy()
        blur = model(gaussian_blur(imgs)).softmax(1)[torch.arange(3), t].numpy()
    np.testing.assert_allclose(batched.curves[:, -1], full, rtol=1e-5)
    np.testing.assert_allclose(batched.curves[:, 0], blur, rtol=1e-5)


def test_area_under_curve_and_blur():
    assert area_under_curve(np.array([1.0, 1.0, 1.0])) == pytest.approx(1.0)
    assert area_under_curve(np.array([0.0, 1.0])) == pytest.approx(0.5)
    x = torch.rand(1, 3, 9, 9)
    assert torch.allclose(gaussian_blur(torch.full((1, 3, 9, 9), 0.7)), torch.full((1, 3, 9, 9), 0.7))
    assert gaussian_blur(x).std() < x.std()


# ----------------------------------------------------------------------------- bad input

def test_bad_inputs_name_the_argument():
    m = torch.rand(2, 1, 8, 8)
    with pytest.raises(ParameterError, match="maps"):
        metrics.iou(torch.full((2, 1, 8, 8), float("nan")), [[0, 0, 1, 1]] * 2)
    with pytest.raises(ParameterError, match="empty"):
        metrics.pointing_game(m, [[20, 20, 30, 30]] * 2)
    with pytest.raises(ParameterError, match="B=2"):
        metrics.pointing_game(m, [[0, 0, 1, 1]])
    with pytest.raises(ParameterError, match="masks"):
        metrics.iou(m, torch.zeros(2, 4, 4, dtype=torch.bool))
    with pytest.raises(ParameterError, match="thresholds"):
        metrics.iou(m, [[0, 0, 1, 1]] * 2, thresholds=[1.5])
    with pytest.raises(ParameterError, match="maps"):
        metrics.deletion(MeanRed(), torch.rand(2, 3, 8, 8), torch.tensor([0, 1]), torch.rand(2, 1, 4, 4))
    with pytest.raises(ParameterError, match="targets"):
        metrics.deletion(MeanRed(), torch.rand(2, 3, 8, 8), None, m)
