"""Batched Extremal Perturbation against TorchRay: pieces, then the whole optimisation.

Agreement threshold. The optimisation is chaotic where the sorted-area regulariser meets
ties: masks start symmetric (all parameters 1), so many mask values are equal up to
rounding and a different floating-point order (ours batches images x areas; TorchRay runs
per image) assigns the area gradient to different pixels. TorchRay itself, with its
upsampler weights perturbed by one part in a million, moves the same way: on a 48 px
blob task with an ambiguous 20 % area we measured mask IoU against unperturbed TorchRay of
0.78-1.00 for both TorchRay-perturbed and ours, identical per mask. Where the objective
determines the mask (the evidence blob fits in the area, as below) both agree to IoU 1.00
on every mask (measured), so the test asks mean IoU >= 0.95, every mask >= 0.9, and final
rewards within 1 % (+0.01 logits).
"""
from __future__ import annotations

import pytest
import torch
import torchray.attribution.extremal_perturbation as torchray_ep
from torch import nn

from xaibook.errors import ParameterError
from xaibook.explain.extremal import (AREA_WEIGHT, SmoothMaskUpsampler, apply_pyramid, area_reference,
                                      compressed_schedule, extremal_perturbation, gaussian_blur,
                                      perturbation_pyramid)


def blob_model() -> nn.Module:
    """Class c = the strongest 5x5-averaged 'c-ness' (channel c above the others) anywhere."""
    net = nn.Sequential(nn.Conv2d(3, 3, 1), nn.ReLU(), nn.Conv2d(3, 3, 5, padding=2, groups=3, bias=False),
                        nn.AdaptiveMaxPool2d(1), nn.Flatten())
    with torch.no_grad():
        net[0].weight.copy_(((torch.eye(3) * 1.5 - 0.5) * 4).view(3, 3, 1, 1))
        net[0].bias.zero_()
        net[2].weight.fill_(1 / 25)
    return net.eval()


def blob_scenes(n: int, size: int, seed: int = 0):
    """Grey noisy images with a square of the target colour and a smaller distractor of another."""
    g = torch.Generator().manual_seed(seed)
    x = 0.5 + 0.05 * torch.randn(n, 3, size, size, generator=g)
    t = torch.arange(n) % 3
    s = size // 4
    for i in range(n):
        for colour, side in ((int(t[i]), s), ((int(t[i]) + 1) % 3, s // 2)):
            y0, x0 = torch.randint(0, size - side, (2,), generator=g).tolist()
            x[i, :, y0:y0 + side, x0:x0 + side] = 0.2
            x[i, colour, y0:y0 + side, x0:x0 + side] = 0.9
    return x.clamp(0, 1), t


def iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a, b = a > 0.5, b > 0.5
    return (a & b).sum((-1, -2)).float() / (a | b).sum((-1, -2)).clamp(min=1).float()


# ----------------------------------------------------------------------------- the pieces

@pytest.mark.parametrize("shape,step,sigma", [((64, 64), 7, 21.0), ((32, 40), 3, 6.0), ((30, 30), 4, 10.0)])
def test_upsampler_matches_torchray_mask_generator(shape, step, sigma):
    ref = torchray_ep.MaskGenerator(shape, step, sigma)
    ours = SmoothMaskUpsampler(shape, step, sigma)
    assert list(ours.shape_in) == list(ref.shape_in) and list(ours.shape_out) == list(ref.shape_out)
    g = torch.Generator().manual_seed(0)
    p = torch.rand(3, 1, *ref.shape_in, generator=g)
    p[0] = 1.0                                           # the initial mask
    p[1, :, ::2] = 0.0                                   # exact zeros as after clamping
    p1, p2 = p.clone().requires_grad_(True), p.clone().requires_grad_(True)
    cropped_ref, full_ref = ref.generate(p1)
    full = ours(p2)
    assert torch.allclose(full, full_ref, atol=1e-5)
    assert torch.allclose(ours.crop(full), cropped_ref, atol=1e-5)
    w = torch.randn(full.shape, generator=g)
    (full_ref * w).sum().backward()
    (full * w).sum().backward()
    assert torch.allclose(p2.grad, p1.grad, rtol=1e-4, atol=1e-4 * p1.grad.abs().max().item())


@pytest.mark.parametrize("kind", ["blur", "fade"])
def test_pyramid_and_interpolation_match_torchray(kind):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 24, 24, generator=g)
    masks = torch.rand(2, 3, 24, 24, generator=g)
    masks[:, 0, :4] = 0.0
    masks[:, 0, 4:8] = 1.0
    ours = perturbation_pyramid(x, 8, kind)
    masks_ours = masks.clone().requires_grad_(True)
    out = apply_pyramid(ours, masks_ours)
    w = torch.randn(out.shape, generator=g)
    (out * w).sum().backward()
    for i in range(2):
        ref = torchray_ep.Perturbation(x[i:i + 1], num_levels=8, type=kind)
        assert torch.allclose(ours[i], ref.pyramid, atol=1e-5)
        m = masks[i][:, None].clone().requires_grad_(True)
        ref_out = ref.apply(m)
        assert torch.allclose(out[3 * i:3 * i + 3], ref_out, atol=1e-5)
        (ref_out * w[3 * i:3 * i + 3]).sum().backward()
        assert torch.allclose(masks_ours.grad[i], m.grad[:, 0], atol=1e-4)


def test_gaussian_blur_matches_torchray_imsmooth():
    from torchray.utils import imsmooth

    x = torch.rand(2, 3, 20, 28)
    for sigma in (0.7, 3.0, 12.0):
        assert torch.allclose(gaussian_blur(x, sigma), imsmooth(x, sigma=sigma), atol=1e-5)
        assert torch.allclose(gaussian_blur(x, sigma, padding="replicate"),
                              imsmooth(x, sigma=sigma, padding_mode="replicate"), atol=1e-5)
    assert torch.equal(gaussian_blur(x, 0.0), x)


def test_area_reference():
    ref = area_reference([0.025, 0.5, 0.9], 1000)
    assert ref.shape == (3, 1000)
    assert ref.sum(1).tolist() == [1000 - int(1000 * 0.975), 500, 1000 - int(1000 * (1 - 0.9))]
    assert (ref.diff(dim=1) >= 0).all()                  # sorted: zeros then ones


# ----------------------------------------------------------------------------- the whole method

def test_batched_run_agrees_with_torchray():
    """3 images x 2 areas optimised in one batch vs TorchRay image by image (32 px, 80 iterations)."""
    torch.set_num_threads(1)
    net = blob_model()
    x, t = blob_scenes(3, 32)
    areas = [0.05, 0.1]
    kw = dict(max_iter=80, step=4, sigma=8.0)
    maps, details = extremal_perturbation(net, x, t, areas=areas, smooth=0, combine=None, return_details=True, **kw)
    assert maps.shape == (3, 2, 32, 32)
    ref_masks, ref_reward, ref_area = [], [], []
    for i in range(len(x)):
        m, hist = torchray_ep.extremal_perturbation(net, x[i:i + 1], int(t[i]), areas=areas, **kw)
        ref_masks.append(m[:, 0])
        ref_reward.append(hist[:, 0, -1])
        ref_area.append(hist[:, 1, -1])
    ref_masks, ref_reward = torch.stack(ref_masks), torch.stack(ref_reward)
    overlap = iou(maps, ref_masks)
    print("mask IoU against TorchRay:", overlap.tolist())
    assert overlap.mean() >= 0.95 and overlap.min() >= 0.9, overlap
    assert torch.allclose(details["reward"], ref_reward, rtol=0.01, atol=0.01), (details["reward"], ref_reward)
    assert torch.allclose(details["area_term"], torch.stack(ref_area), rtol=0.05, atol=0.05)
    # the masks found the evidence: preserving the 5 % mask keeps most of the target logit
    full_logit = net(x).gather(1, t[:, None])[:, 0]
    assert (details["reward"][:, 1] > 0.5 * full_logit).all()
    for p in net.parameters():
        p.requires_grad_(True)


def test_contrastive_reward_agrees_with_torchray():
    net = blob_model()
    x, t = blob_scenes(2, 32, seed=3)
    kw = dict(max_iter=40, step=4, sigma=8.0)
    maps, details = extremal_perturbation(net, x, t, areas=0.1, reward="contrastive", smooth=0,
                                          combine=None, return_details=True, **kw)
    for i in range(2):
        m, hist = torchray_ep.extremal_perturbation(net, x[i:i + 1], int(t[i]), areas=[0.1],
                                                    reward_func=torchray_ep.contrastive_reward, **kw)
        assert iou(maps[i], m[:, 0]).min() >= 0.9
        assert abs(details["reward"][i, 0].item() - hist[0, 0, -1].item()) <= 0.01 + 0.01 * abs(hist[0, 0, -1].item())


def test_combine_smooth_and_batch_size():
    net = blob_model()
    x, t = blob_scenes(2, 24, seed=5)
    kw = dict(areas=(0.05, 0.2), max_iter=10, step=3, sigma=6.0)
    per_area, d = extremal_perturbation(net, x, t, combine=None, smooth=0.0, return_details=True, **kw)
    summed = extremal_perturbation(net, x, t, combine="sum", smooth=0.0, **kw)
    assert per_area.shape == (2, 2, 24, 24) and summed.shape == (2, 1, 24, 24)
    assert torch.allclose(summed[:, 0], per_area.sum(1))
    assert torch.allclose(d["energy"], d["reward"] + d["area_term"])
    one_by_one = extremal_perturbation(net, x, t, combine=None, smooth=0.0, batch_size=1, **kw)
    assert torch.allclose(one_by_one, per_area, atol=1e-4)
    smoothed = extremal_perturbation(net, x, t, combine=None, smooth=0.09, **kw)
    assert torch.allclose(smoothed, gaussian_blur(per_area, 0.09 * 24), atol=1e-5)
    single = extremal_perturbation(net, x, t, areas=0.2, max_iter=10, step=3, sigma=6.0, combine=None, smooth=0)
    assert single.shape == (2, 1, 24, 24)


def test_compressed_schedule_is_torchrays_at_800_and_ends_at_its_weight():
    assert compressed_schedule(800) == {"learning_rate": 0.01, "area_weight_growth": 1.0035}
    s = compressed_schedule(200)
    assert s["learning_rate"] == pytest.approx(0.04)
    assert AREA_WEIGHT * s["area_weight_growth"] ** 200 == pytest.approx(AREA_WEIGHT * 1.0035 ** 800, rel=1e-9)
    with pytest.raises(ParameterError, match="max_iter"):
        compressed_schedule(0)


def test_compressed_schedule_reaches_the_areas_in_few_iterations():
    """Issue 17: at TorchRay's cell size relative to the image (7 px per 224 px: 1 px at 32 px) 40 steps
    of TorchRay's schedule leave every mask 3-23 times its area; the same 40 steps running TorchRay's
    800-iteration schedule reach each area's mean within 20 % (measured 0.97, 0.97, 0.91, 0.84 of the target)."""
    torch.set_num_threads(1)
    net = blob_model()
    x, t = blob_scenes(3, 32, seed=2)
    areas = (0.025, 0.05, 0.1, 0.2)
    kw = dict(areas=areas, max_iter=40, step=1, sigma=3.0, smooth=0, combine=None, return_details=True)
    # the constraint counts the margin: a mask of area a covers a * (mask with margin) / (image) of the image
    target = torch.tensor(areas) * SmoothMaskUpsampler((32, 32), 1, 3.0).numel_out / 32 ** 2
    _, slow = extremal_perturbation(net, x, t, **kw)
    _, fast = extremal_perturbation(net, x, t, **kw, **compressed_schedule(40))
    slow_ratio = slow["masks"].mean((2, 3)) / target
    fast_ratio = fast["masks"].mean((2, 3)) / target
    print("reached / target, TorchRay's schedule:", slow_ratio.mean(0).tolist(),
          "compressed:", fast_ratio.mean(0).tolist())
    assert (slow_ratio > 2.5).all()
    assert ((fast_ratio.mean(0) - 1).abs() <= 0.2).all(), fast_ratio
    # TorchRay's constants passed explicitly are the defaults
    _, same = extremal_perturbation(net, x[:1], t[:1], **{**kw, "max_iter": 5}, learning_rate=0.01,
                                    area_weight_growth=1.0035)
    _, default = extremal_perturbation(net, x[:1], t[:1], **{**kw, "max_iter": 5})
    assert torch.equal(same["masks"], default["masks"])


def test_bad_parameters():
    net = blob_model()
    x, t = blob_scenes(1, 16)
    for kwargs, name in [(dict(areas=(0.0,)), "areas"), (dict(areas=(1.2,)), "areas"), (dict(areas=()), "areas"),
                         (dict(areas="big"), "areas"), (dict(max_iter=0), "max_iter"), (dict(step=0), "step"),
                         (dict(sigma=0.0), "sigma"), (dict(smooth=-0.1), "smooth"),
                         (dict(perturbation="noise"), "perturbation"), (dict(reward="delete"), "reward"),
                         (dict(combine="mean"), "combine"), (dict(batch_size=0), "batch_size"),
                         (dict(num_levels=1), "num_levels"), (dict(learning_rate=0.0), "learning_rate"),
                         (dict(area_weight_growth=0.5), "area_weight_growth")]:
        with pytest.raises(ParameterError, match=name):
            extremal_perturbation(net, x, t, max_iter=kwargs.pop("max_iter", 1), **kwargs)
    with pytest.raises(ParameterError, match="targets"):
        extremal_perturbation(net, x, torch.tensor([3]), max_iter=1)
