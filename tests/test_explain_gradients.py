"""Gradient, SmoothGrad, Grad-CAM and the oracle: analytic cases, TorchRay, bad input."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xaibook import explain
from xaibook.errors import ParameterError
from xaibook.models.wrappers import Normalized


def small_cnn(n_classes: int = 5, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, n_classes),
    )
    with torch.no_grad():  # non-trivial batch-norm statistics, so train/eval differ
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    return Normalized(net).eval()


def batch(b: int = 3, size: int = 32, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, size, size, generator=g), torch.arange(b) % 5


class LinearModel(nn.Module):
    """logits = W . flatten(x): the input gradient of class c is W[c] exactly."""

    def __init__(self, size: int = 8, n_classes: int = 4):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.weight = nn.Parameter(torch.randn(n_classes, 3, size, size, generator=g))

    def forward(self, x):
        return torch.einsum("bchw,kchw->bk", x, self.weight)


def test_entry_point_names_are_the_functions():
    """``explain.gradient`` etc. are the functions, also after their submodules were imported."""
    import importlib

    for name, module in [("gradient", "gradient"), ("smoothgrad", "smoothgrad"), ("gradcam", "gradcam"),
                         ("extremal_perturbation", "extremal"), ("lrp", "lrp"), ("oracle", "oracle")]:
        mod = importlib.import_module(f"xaibook.explain.{module}")
        assert callable(getattr(explain, name)) and getattr(explain, name) is getattr(mod, name), name


# ----------------------------------------------------------------------------- gradient

def test_gradient_of_linear_model_is_its_weights():
    model = LinearModel()
    x = torch.rand(2, 3, 8, 8)
    t = torch.tensor([1, 3])
    w = model.weight.detach()[t]
    assert torch.allclose(explain.gradient(model, x, t), w.abs().amax(1, keepdim=True))
    assert torch.allclose(explain.gradient(model, x, t, channels="sum"), w.sum(1, keepdim=True))
    assert torch.allclose(explain.gradient(model, x, t, channels="abssum"), w.abs().sum(1, keepdim=True))


def test_gradient_shen_huang_postprocessing():
    """|max| over channels, 4x4 average pooling, min-max, bilinear back to the input size."""
    model = LinearModel(size=16)
    x = torch.rand(2, 3, 16, 16)
    t = torch.tensor([0, 2])
    w = model.weight.detach()[t].abs().amax(1, keepdim=True)
    pooled = F.avg_pool2d(w, 4)
    low = pooled.amin(dim=(2, 3), keepdim=True)
    high = pooled.amax(dim=(2, 3), keepdim=True)
    expected = F.interpolate((pooled - low) / (high - low), size=(16, 16), mode="bilinear", align_corners=False)
    got = explain.gradient(model, x, t, pool=4, normalize="minmax")
    assert got.shape == (2, 1, 16, 16)
    assert torch.allclose(got, expected, atol=1e-6)


def test_gradient_matches_finite_differences_and_uses_eval_mode():
    model = small_cnn()
    x, t = batch(2, 16)
    model.train()
    got = explain.gradient(model, x, t, channels="sum")
    assert model.training, "the model's mode must be restored"
    model.eval()
    # directional derivative along a random direction equals <grad, direction> (eval-mode network)
    d = torch.randn_like(x)
    h = 1e-3
    with torch.no_grad():
        f = lambda z: model(z).gather(1, t[:, None])[:, 0]  # noqa: E731
        numeric = (f(x + h * d) - f(x - h * d)) / (2 * h)
    xg = x.clone().requires_grad_(True)
    full = torch.autograd.grad(model(xg).gather(1, t[:, None]).sum(), xg)[0]
    assert torch.allclose((full * d).sum((1, 2, 3)), numeric, rtol=2e-2, atol=1e-3)
    assert torch.allclose(got, full.sum(1, keepdim=True), atol=1e-6)


# ----------------------------------------------------------------------------- smoothgrad

def test_smoothgrad_of_linear_model_equals_gradient():
    model = LinearModel()
    x = torch.rand(3, 3, 8, 8)
    t = torch.tensor([0, 1, 2])
    sg = explain.smoothgrad(model, x, t, n_samples=7, noise=0.3, batch_size=5, channels="sum")
    assert torch.allclose(sg, explain.gradient(model, x, t, channels="sum"), atol=1e-5)


class ThresholdModel(nn.Module):
    """logit = sum_pixels relu(x_red - 0.5): gradient 1[x + e > 0.5], so the SmoothGrad
    expectation is Phi((x - 0.5) / sigma) with sigma = noise * (max(x) - min(x))."""

    def forward(self, x):
        s = F.relu(x[:, 0] - 0.5).flatten(1).sum(1)
        return torch.stack([s, -s], dim=1)


def test_smoothgrad_expectation_and_noise_level():
    x = torch.zeros(1, 3, 1, 4)
    x[0, 0, 0] = torch.tensor([0.0, 0.45, 0.55, 1.0])   # value range 1 -> sigma = noise
    noise = 0.1
    got = explain.smoothgrad(ThresholdModel(), x, torch.tensor([0]), n_samples=4000, noise=noise,
                             channels="sum", batch_size=1000, seed=0)[0, 0, 0]
    normal = torch.distributions.Normal(0.0, 1.0)
    expected = normal.cdf((x[0, 0, 0] - 0.5) / noise)
    # standard error of a mean of 4000 Bernoulli draws is at most 0.008
    assert torch.allclose(got, expected, atol=0.03), (got, expected)
    # the noise scales with the image's value range: halve the range, same relative noise
    got_half = explain.smoothgrad(ThresholdModel(), 0.5 + (x - 0.5) * 0.5, torch.tensor([0]), n_samples=4000,
                                  noise=noise, channels="sum", batch_size=1000, seed=0)[0, 0, 0]
    assert torch.allclose(got_half, normal.cdf(((x[0, 0, 0] - 0.5) * 0.5) / (noise * 0.5)), atol=0.03)


def test_smoothgrad_is_reproducible_and_zero_noise_is_gradient():
    model = small_cnn()
    x, t = batch(2, 16)
    a = explain.smoothgrad(model, x, t, n_samples=4, noise=0.2, seed=5, batch_size=3)
    b = explain.smoothgrad(model, x, t, n_samples=4, noise=0.2, seed=5, batch_size=3)
    c = explain.smoothgrad(model, x, t, n_samples=4, noise=0.2, seed=6, batch_size=3)
    assert torch.equal(a, b) and not torch.equal(a, c)
    zero = explain.smoothgrad(model, x, t, n_samples=3, noise=0.0)
    assert torch.allclose(zero, explain.gradient(model, x, t), atol=1e-6)


# ----------------------------------------------------------------------------- gradcam

def resnet_model(seed: int = 0) -> nn.Module:
    from torchvision.models import resnet18

    torch.manual_seed(seed)
    return Normalized(resnet18(num_classes=10)).eval()


@pytest.mark.parametrize("layer", ["net.layer4", "net.layer3"])
def test_gradcam_matches_torchray(layer):
    from torchray.attribution.grad_cam import grad_cam

    model = resnet_model()
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([1, 4, 7])
    ours = explain.gradcam(model, x, t, layer=layer, normalize=None)
    ref = grad_cam(model, x, t, saliency_layer=layer, resize=True)
    assert ours.shape == ref.shape == (3, 1, 64, 64)
    assert ref.abs().max() > 0
    assert torch.allclose(ours, ref, rtol=1e-4, atol=1e-6 * ref.abs().max().item())
    # Nguyen et al.: the resized map divided by its max
    ours_max = explain.gradcam(model, x, t, layer=layer)
    expected = ref / ref.flatten(1).amax(1).clamp(min=1e-30).view(-1, 1, 1, 1)
    assert torch.allclose(ours_max, expected, atol=1e-5)
    for p in model.parameters():   # TorchRay leaves the parameters as it found them
        p.requires_grad_(True)


def test_gradcam_signed_and_frozen_parameters():
    model = small_cnn()
    x, t = batch(2, 32)
    for p in model.parameters():
        p.requires_grad_(False)   # e.g. after TorchRay's extremal_perturbation
    signed = explain.gradcam(model, x, t, layer="net.6", relu=False, normalize=None)
    relu = explain.gradcam(model, x, t, layer="net.6", normalize=None)
    # hand computation from the layer's activation and gradient
    feats = model.net[:7]
    head = model.net[7:]
    a = feats((x - model.mean) / model.std).detach().requires_grad_(True)
    g = torch.autograd.grad(head(a).gather(1, t[:, None]).sum(), a)[0]
    cam = (a * g.mean((2, 3), keepdim=True)).sum(1, keepdim=True).detach()
    up = lambda m: F.interpolate(m, size=(32, 32), mode="bilinear", align_corners=False)  # noqa: E731
    assert (cam < 0).any() and (cam > 0).any()
    assert torch.allclose(signed, up(cam), atol=1e-6)
    assert torch.allclose(relu, up(cam.clamp(min=0)), atol=1e-6)   # ReLU on the layer's grid, then resize


def test_gradcam_on_a_layer_followed_by_an_inplace_relu():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(4, 4, 3, padding=1),
                        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    model = Normalized(net).eval()
    x, t = torch.rand(2, 3, 16, 16), torch.tensor([0, 2])
    cam = explain.gradcam(model, x, t, layer="net.2", relu=False, normalize=None)
    a = net[:3]((x - model.mean) / model.std).detach().requires_grad_(True)   # pre-ReLU activation
    g = torch.autograd.grad(net[3:](a.clone()).gather(1, t[:, None]).sum(), a)[0]
    assert torch.allclose(cam, (a * g.mean((2, 3), keepdim=True)).sum(1, keepdim=True).detach(), atol=1e-6)


# ----------------------------------------------------------------------------- oracle

def test_oracle_rule():
    x = torch.rand(2, 3, 16, 16)
    masks = torch.zeros(2, 2, 16, 16, dtype=torch.bool)
    masks[:, 0, 2:6, 2:6] = True
    masks[:, 1, 10:14, 8:12] = True
    out = explain.oracle(None, x, torch.tensor([0, 1]), masks=masks)
    assert out.shape == (2, 1, 16, 16)
    assert torch.equal(out[:, 0], masks.any(1).float())
    weighted = explain.oracle(None, x, torch.tensor([0, 1]), masks=masks, weights=torch.tensor([2.0, -1.0]))
    assert weighted[0, 0, 3, 3] == 1.0 and weighted[0, 0, 11, 9] == -0.5 and weighted[0, 0, 0, 0] == 0
    blurred = explain.oracle(None, x, torch.tensor([0, 1]), masks=masks[:, :1], blur=0.1)
    inside, edge, far = blurred[0, 0, 3, 3], blurred[0, 0, 2, 7], blurred[0, 0, 15, 15]
    assert math.isclose(blurred.max().item(), 1.0, rel_tol=1e-6) and inside > edge > far >= 0
    # independent of the model: any model or none gives the same map
    same = explain.oracle(small_cnn(), x, torch.tensor([0, 1]), masks=masks)
    assert torch.equal(same, out)


def test_oracle_bad_masks():
    x = torch.rand(2, 3, 16, 16)
    t = torch.tensor([0, 1])
    with pytest.raises(ParameterError, match="masks"):
        explain.oracle(None, x, t, masks=torch.ones(2, 1, 8, 8))
    with pytest.raises(ParameterError, match="masks"):
        explain.oracle(None, x, t, masks=torch.full((2, 1, 16, 16), 2.0))
    with pytest.raises(ParameterError, match="masks"):
        explain.oracle(None, x, t, masks=torch.full((2, 1, 16, 16), float("nan")))
    with pytest.raises(ParameterError, match="weights"):
        explain.oracle(None, x, t, masks=torch.ones(2, 2, 16, 16), weights=torch.ones(3))
    with pytest.raises(ParameterError, match="blur"):
        explain.oracle(None, x, t, masks=torch.ones(2, 1, 16, 16), blur=-1)


# ----------------------------------------------------------------------------- bad input, every method

METHODS = {
    "gradient": dict(),
    "smoothgrad": dict(n_samples=2),
    "gradcam": dict(layer="net.6"),
    "extremal_perturbation": dict(max_iter=2, areas=(0.1,), step=3, sigma=4.0),
    "lrp": dict(canonizer=None),
}


@pytest.mark.parametrize("method", list(METHODS))
def test_bad_input_names_the_argument(method):
    fn = getattr(explain, method)
    kw = METHODS[method]
    model = small_cnn()
    x, t = batch(2, 16)
    out = fn(model, x, t, **kw)
    assert out.shape == (2, 1, 16, 16) and torch.isfinite(out).all()
    cases = [
        (x[0], t, "images"),                                     # [3,H,W]
        (torch.rand(2, 4, 16, 16), t, "images"),                 # 4 channels
        ((x * 255).to(torch.uint8), t, "images"),                # integer pixels
        (x.masked_fill(torch.rand_like(x) < 0.01, float("nan")), t, "images"),
        (x.masked_fill(torch.rand_like(x) < 0.01, float("inf")), t, "images"),
        (x[:0], t[:0], "images"),                                # empty batch
        (x, t.float(), "targets"),
        (x, t[:1], "targets"),
        (x, torch.tensor([0, 5]), "targets"),                    # model has 5 outputs
        (x, torch.tensor([-1, 0]), "targets"),
        (x.tolist(), t, "images"),
    ]
    for images, targets, name in cases:
        with pytest.raises(ParameterError, match=name):
            fn(model, images, targets, **kw)
    with pytest.raises(ParameterError, match="model"):
        fn("not a model", x, t, **kw)


def test_bad_layer_and_options():
    model = small_cnn()
    x, t = batch(2, 16)
    with pytest.raises(ParameterError, match="layer"):
        explain.gradcam(model, x, t, layer="net.layer4")
    with pytest.raises(ParameterError, match="channels"):
        explain.gradient(model, x, t, channels="max")
    with pytest.raises(ParameterError, match="normalize"):
        explain.gradcam(model, x, t, layer="net.6", normalize="l2")
    with pytest.raises(ParameterError, match="n_samples"):
        explain.smoothgrad(model, x, t, n_samples=0)
    with pytest.raises(ParameterError, match="noise"):
        explain.smoothgrad(model, x, t, noise=float("nan"))
    with pytest.raises(ParameterError, match="pool"):
        explain.gradient(model, x, t, pool=0)
