"""The batched block renderer: geometry against hand-computed projections, ground truth, look."""
from __future__ import annotations

import math

import pytest
import torch

from xaibook.errors import ParameterError
from xaibook.world.render import Blocks, Light, boxes_from_instances, focal_px, render

CPU = torch.device("cpu")
GREY = torch.tensor([[0.8, 0.8, 0.8]])


def one_block(half=0.4, radius=0.0, center=(0.0, 0.0, 0.0), rotation=None, color=(0.3, 0.4, 0.9)) -> Blocks:
    b = Blocks.empty(1, 1)
    b.center[0, 0] = torch.tensor(center)
    b.half[0, 0] = torch.as_tensor(half, dtype=torch.float32).expand(3)
    b.radius[0, 0] = radius
    if rotation is not None:
        b.rotation[0, 0] = rotation
    b.color[0, 0] = torch.tensor(color)
    b.label[0, 0] = 3
    b.instance[0, 0] = 1
    b.valid[0, 0] = True
    return b


def rot_x(a: float) -> torch.Tensor:
    c, s = math.cos(a), math.sin(a)
    return torch.tensor([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def pixel_centres(size: int):
    f = focal_px(size)
    idx = torch.arange(size, dtype=torch.float64) + 0.5 - size / 2
    u = idx[None, :] / f  # right
    v = -idx[:, None] / f  # up
    return u.expand(size, size), v.expand(size, size)


def iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a & b).sum() / (a | b).sum()).item()


def test_sharp_cube_projects_to_its_front_face():
    # an axis-aligned cube centred on the optical axis shows only its front face, a square of
    # half-width f h / (9 - h) pixels around the image centre, at depth 9 - h
    h, size = 0.5, 128
    out = render(one_block(half=h), GREY, size=size, supersample=1, device=CPU)
    u, v = pixel_centres(size)
    lim = h / (9 - h)
    expected = (u.abs() <= lim) & (v.abs() <= lim)
    assert torch.equal(out.labels[0] == 3, expected)
    assert out.depth[0, 64, 64].item() == pytest.approx(9 - h, abs=1e-4)
    assert torch.isinf(out.depth[0, 0, 0])


def test_sphere_like_block_projects_to_the_analytic_disc():
    # radius = half: a sphere; its silhouette is the disc of angular radius asin(a / 9)
    a = 0.45
    out = render(one_block(half=a, radius=a), GREY, size=128, supersample=1, device=CPU)
    u, v = pixel_centres(128)
    expected = torch.sqrt(u**2 + v**2) <= math.tan(math.asin(a / 9))
    mask = out.labels[0] > 0
    assert (mask ^ expected).sum().item() <= 4  # only pixel centres grazing the rim may differ
    assert iou(mask, expected) > 0.99


def test_roundness_shrinks_the_silhouette_monotonically():
    # rotated so that edges and corners show; from sharp cube to sphere the area falls
    rot = rot_x(0.5) @ torch.tensor([[math.cos(0.4), 0, math.sin(0.4)], [0, 1, 0], [-math.sin(0.4), 0, math.cos(0.4)]])
    areas = []
    for r in torch.linspace(0, 0.45, 6):
        out = render(one_block(half=0.45, radius=float(r), rotation=rot), GREY, size=96, supersample=1, device=CPU)
        areas.append(int((out.labels > 0).sum()))
    assert all(a > b for a, b in zip(areas, areas[1:])), areas


def test_nearest_surface_wins_and_instances_are_written():
    b = Blocks.cat([one_block(center=(0.0, 0.0, 0.0)), one_block(center=(1.0, 0.3, 0.0), half=0.3)])
    both = Blocks(**{k: torch.cat([getattr(b, k)[0:1], getattr(b, k)[1:2]], 1) for k in b.__dataclass_fields__})
    both.label[0, 1] = 7
    both.instance[0, 1] = 2
    out = render(both, GREY, size=96, supersample=1, device=CPU)
    # the second block is nearer to the camera (x = 1) and covers part of the first
    assert (out.labels == 7).sum() > 0 and (out.labels == 3).sum() > 0
    near = out.labels == 7
    assert torch.equal(out.instances[near], torch.full_like(out.instances[near], 2))
    assert (out.depth[near] < out.depth[out.labels == 3].min()).all()


def test_batch_equals_one_by_one():
    scenes = [one_block(center=(0.0, y, 0.0), radius=r, rotation=rot_x(a)) for y, r, a in
              [(-1.0, 0.0, 0.2), (0.5, 0.2, 0.9), (1.0, 0.4, -0.3)]]
    bg = torch.tensor([[0.2, 0.3, 0.9], [0.9, 0.9, 0.9], [0.8, 0.3, 0.2]])
    batch = render(Blocks.cat(scenes), bg, size=64, device=CPU)
    for i, s in enumerate(scenes):
        single = render(s, bg[i:i + 1], size=64, device=CPU)
        assert torch.allclose(batch.image[i], single.image[0], atol=1e-6)
        assert torch.equal(batch.labels[i], single.labels[0])


def test_mask_matches_the_silhouette_of_the_image():
    blocks = one_block(half=0.5, radius=0.2, rotation=rot_x(0.6), color=(0.7, 0.1, 0.2))
    for ss in (1, 3):
        out = render(blocks, GREY, size=128, supersample=ss, device=CPU)
        bg_only = render(Blocks.empty(1, 1), GREY, size=128, supersample=ss, device=CPU)
        changed = (out.image[0] - bg_only.image[0]).abs().amax(0) > 0.005
        mask = out.labels[0] > 0
        if ss == 1:  # one ray per pixel centre: image and mask see the same surface
            assert torch.equal(changed, mask)
        else:  # anti-aliased: every masked pixel changes, and changes reach at most one pixel further
            grown = torch.nn.functional.max_pool2d(mask[None, None].float(), 3, 1, 1)[0, 0] > 0
            assert (mask & ~changed).sum() == 0
            assert (changed & ~grown).sum() == 0


def test_lit_side_is_brighter_and_shadows_fall_away_from_the_light():
    # a cube turned 45 deg about Z shows its +Y face (towards the light at +Y) and its -Y face
    c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
    rz = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    white = (0.8, 0.8, 0.8)
    out = render(one_block(half=0.6, rotation=rz, color=white), GREY, size=128, supersample=1, device=CPU)
    img = out.image[0].mean(0)
    lab = out.labels[0] > 0
    right = img[:, 64:][lab[:, 64:]].mean()  # the face turned to +Y (image right) faces the light
    left = img[:, :64][lab[:, :64]].mean()
    assert right > left + 0.05
    # contact shadow: with a plane close behind, the background below-left of the block darkens
    blk = one_block(half=0.5, color=white)
    lit = render(blk, GREY, size=96, shadows=False, background_x=-1.0, device=CPU).image[0].mean(0)
    shaded = render(blk, GREY, size=96, shadows=True, background_x=-1.0, device=CPU).image[0].mean(0)
    assert (lit - shaded)[52:68, 24:44].mean() > 0.02  # lower left, away from the light
    assert (lit - shaded)[5:20, 76:92].abs().mean() < 0.01  # upper right, towards it


def test_boxes_contain_the_masks():
    inst = torch.zeros(2, 10, 12, dtype=torch.long)
    inst[0, 2:5, 3:9] = 1
    inst[0, 7, 0] = 2
    inst[1, 0:10, 11] = 2
    boxes = boxes_from_instances(inst, 3)
    assert boxes[0, 0].tolist() == [3, 2, 9, 5]
    assert boxes[0, 1].tolist() == [0, 7, 1, 8]
    assert torch.isnan(boxes[0, 2]).all() and torch.isnan(boxes[1, 0]).all()
    assert boxes[1, 1].tolist() == [11, 0, 12, 10]
    out = render(one_block(half=0.5, radius=0.3, rotation=rot_x(0.4)), GREY, size=64, supersample=1, device=CPU)
    box = boxes_from_instances(out.instances, 1)[0, 0].long()
    ys, xs = (out.instances[0] == 1).nonzero(as_tuple=True)
    assert xs.min() == box[0] and ys.min() == box[1] and xs.max() + 1 == box[2] and ys.max() + 1 == box[3]


def test_blocks_cat_pads_and_moves():
    a = one_block()
    b = Blocks.cat([a, Blocks.empty(2, 3)])
    assert b.center.shape == (3, 3, 3) and b.valid.sum() == 1
    assert torch.equal(b.rotation[0, 2], torch.eye(3))
    assert b.to("cpu").label.device.type == "cpu"


def test_bad_inputs_raise_clear_errors():
    blk = one_block()
    with pytest.raises(ParameterError, match="background"):
        render(blk, torch.zeros(2, 3), device=CPU)
    bad = one_block()
    bad.radius[0, 0] = 0.9
    with pytest.raises(ParameterError, match="radius"):
        render(bad, GREY, device=CPU)
    bad = one_block()
    bad.half = bad.half[:, :, :2]
    with pytest.raises(ParameterError, match="half"):
        render(bad, GREY, device=CPU)
    with pytest.raises(ParameterError, match="size"):
        render(blk, GREY, size=3, device=CPU)
    with pytest.raises(ParameterError, match="supersample"):
        render(blk, GREY, supersample=0, device=CPU)


def test_filmic_curve_and_light_defaults():
    from xaibook.world.render import filmic

    x = torch.logspace(-3, 3, 50)
    y = filmic(x)
    assert (y[1:] >= y[:-1]).all() and y.min() >= 0 and y.max() <= 1
    assert filmic(torch.tensor(1.0)).item() == pytest.approx(1.036 / 2, abs=1e-6)
    assert Light().position == (10.0, 10.0, 10.0)


def test_cuda_box_filter_path_equals_the_cpu_scatter():
    # the dense reduction used on CUDA (deterministic there) must equal the CPU scatter-add
    from xaibook.world.render import _pixel_sums

    g = torch.Generator().manual_seed(0)
    B, size, ss = 3, 8, 2
    hit = torch.randperm(B * (size * ss) ** 2, generator=g)[:200].sort().values
    b, p = hit // (size * ss) ** 2, hit % (size * ss) ** 2
    pixel = b * size * size + (p // (size * ss) // ss) * size + (p % (size * ss)) // ss
    values = torch.rand(len(hit), 4, generator=g)
    a = _pixel_sums(hit, pixel, values, B, size, ss, scatter=True)
    d = _pixel_sums(hit, pixel, values, B, size, ss, scatter=False)
    assert torch.allclose(a, d, atol=1e-6) and a.sum() == pytest.approx(values.sum().item(), rel=1e-5)
