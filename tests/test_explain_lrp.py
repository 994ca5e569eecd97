"""LRP alpha2-beta1 through zennit: a hand-computed network, conservation, VGG/ResNet canonizers."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from xaibook.errors import ParameterError
from xaibook.explain.lrp import lrp
from xaibook.models.wrappers import Normalized


def hand_network() -> nn.Module:
    """Three pixels (red channel of a 1x3 image) -> 2 hidden ReLU units -> 2 logits, no biases.

    Input x = (1, 0.5, 0.5). Hidden h1 = 1*1 - 1*0.5 + 2*0.5 = 1.5 (contributions +1, -0.5, +1),
    h2 = -1*1 + 2*0.5 + 1*0.5 = 0.5 (contributions -1, +1, +0.5). Logit 0 = 1*h1 - 2*h2 = 0.5
    (contributions +1.5, -1.0).

    alpha2-beta1, R_i = sum_j (2 z_ij+/z_j+ - z_ij-/z_j-) R_j, starting from R = 0.5:
      R_h1 = 2 * 1.5/1.5 * 0.5 = 1.0            R_h2 = -(-1.0/-1.0) * 0.5 = -0.5
      from h1 (z+ = 2, z- = -0.5):   x1: 2*1/2*1 = 1,     x2: -1*1 = -1,         x3: 2*1/2*1 = 1
      from h2 (z+ = 1.5, z- = -1):   x1: -1*(-0.5) = 0.5, x2: 2*(1/1.5)*(-0.5) = -2/3,
                                     x3: 2*(0.5/1.5)*(-0.5) = -1/3
      R = (1.5, -5/3, 2/3), summing to 0.5 = the logit.
    LRP-0 (epsilon rule on linear layers) gives gradient x input: (3, -2.5, 0).
    """
    first = nn.Linear(9, 2, bias=False)
    second = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        first.weight.zero_()
        first.weight[:, :3] = torch.tensor([[1.0, -1.0, 2.0], [-1.0, 2.0, 1.0]])   # red channel only
        second.weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.5]]))
    return nn.Sequential(nn.Flatten(), first, nn.ReLU(), second).eval()


def hand_image() -> torch.Tensor:
    x = torch.full((1, 3, 1, 3), 0.3)
    x[0, 0, 0] = torch.tensor([1.0, 0.5, 0.5])
    return x


def test_alpha2beta1_by_hand():
    net, x = hand_network(), hand_image()
    assert net(x)[0, 0].item() == pytest.approx(0.5)
    rel = lrp(net, x, torch.tensor([0]), canonizer=None)
    assert rel.shape == (1, 1, 1, 3)
    assert torch.allclose(rel[0, 0, 0], torch.tensor([1.5, -5 / 3, 2 / 3]), atol=1e-5)
    assert rel.sum().item() == pytest.approx(0.5, abs=1e-5)


def test_epsilon_on_linear_layers_is_gradient_times_input_by_hand():
    net, x = hand_network(), hand_image()
    rel = lrp(net, x, torch.tensor([0]), rule="epsilon-alpha2beta1", canonizer=None)
    assert torch.allclose(rel[0, 0, 0], torch.tensor([3.0, -2.5, 0.0]), atol=1e-5)


def bias_free_cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 6, bias=False),
    )
    return Normalized(net).eval()


@pytest.mark.parametrize("first_layer", [None, "zbox"])
def test_conservation_without_biases(first_layer):
    """alpha - beta = 1 and the z^B rule conserve relevance: the map sums to the target logit."""
    model = bias_free_cnn()
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0, 1, 2, 5])
    rel = lrp(model, x, t, canonizer=None, first_layer=first_layer)
    logits = model(x).gather(1, t[:, None])[:, 0].detach()
    assert rel.shape == (4, 1, 32, 32)
    assert (rel > 0).any() and (rel < 0).any()                 # signed maps
    assert torch.allclose(rel.sum((1, 2, 3)), logits, rtol=1e-3, atol=1e-4), (rel.sum((1, 2, 3)), logits)


def test_normalized_wrapper_is_explained_in_network_input_space():
    """Relevance of a Normalized model = relevance of its .net on the normalised image."""
    model = bias_free_cnn()
    x = torch.rand(2, 3, 16, 16)
    t = torch.tensor([1, 3])
    wrapped = lrp(model, x, t, canonizer=None)
    direct = lrp(_Identityish(model.net), (x - model.mean) / model.std, t, canonizer=None)
    assert torch.allclose(wrapped, direct, atol=1e-5)


class _Identityish(nn.Module):
    """A non-Normalized container (so lrp takes the plain path)."""

    def __init__(self, net):
        super().__init__()
        self.inner = net

    def forward(self, x):
        return self.inner(x)


def test_vgg_canonizer_on_torchvision_vgg():
    from torchvision.models import vgg11_bn

    torch.manual_seed(0)
    net = vgg11_bn(num_classes=20)       # PASCAL VOC's 20 classes, random weights
    # The 25088 x 4096 dense layer costs ~10 s of alpha-beta weight copies on a CPU; the
    # canonizer acts on the convolution/batch-norm stack, so the head is narrowed (dense
    # alpha-beta is covered by the hand-computed network).
    net.avgpool = nn.AdaptiveAvgPool2d(1)
    net.classifier = nn.Sequential(nn.Linear(512, 64), nn.ReLU(), nn.Dropout(), nn.Linear(64, 20))
    for layer in (net.classifier[0], net.classifier[3]):
        nn.init.zeros_(layer.bias)       # as torchvision's VGG initialisation
    with torch.no_grad():                # non-trivial batch norms to merge
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    model = Normalized(net).eval()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([6, 18])
    rel = lrp(model, x, t, canonizer="vgg")
    assert rel.shape == (2, 1, 32, 32) and torch.isfinite(rel).all()
    assert (rel > 0).any() and (rel < 0).any()
    # torchvision initialises VGG biases to 0 and merged batch norms add -mean*scale + beta;
    # relevance absorbed by those biases is small here, so the sum stays close to the logit
    logits = model(x).gather(1, t[:, None])[:, 0].detach()
    assert torch.allclose(rel.sum((1, 2, 3)), logits, rtol=0.2, atol=0.05 * logits.abs().max().item())
    # the canonizer leaves the model as it was
    assert torch.allclose(model(x).gather(1, t[:, None])[:, 0].detach(), logits)
    # and equals LRP on a copy whose batch norms were folded into the convolutions by hand
    folded = Normalized(_fold_batch_norms(net)).eval()
    assert torch.allclose(folded(x), model(x), atol=1e-5)
    assert torch.allclose(lrp(folded, x, t, canonizer=None), rel, rtol=1e-3, atol=1e-3 * rel.abs().max().item())
    assert not torch.allclose(lrp(model, x, t, canonizer=None), rel, rtol=1e-3, atol=1e-3 * rel.abs().max().item())


def _fold_batch_norms(net: nn.Module) -> nn.Module:
    """conv -> BN becomes one conv: w * g / sqrt(v + eps), (b - m) * g / sqrt(v + eps) + beta."""
    import copy

    net = copy.deepcopy(net)
    layers = list(net.features)
    out = []
    for layer in layers:
        if isinstance(layer, nn.BatchNorm2d):
            conv = out[-1]
            scale = layer.weight / torch.sqrt(layer.running_var + layer.eps)
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding)
            with torch.no_grad():
                fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
                fused.bias.copy_((conv.bias - layer.running_mean) * scale + layer.bias)
            out[-1] = fused
        else:
            out.append(layer)
    net.features = nn.Sequential(*out)
    return net


def test_resnet_canonizer_runs():
    from torchvision.models import resnet18

    torch.manual_seed(0)
    model = Normalized(resnet18(num_classes=10)).eval()
    x = torch.rand(2, 3, 32, 32)
    rel = lrp(model, x, torch.tensor([1, 2]), canonizer="resnet")
    assert rel.shape == (2, 1, 32, 32) and torch.isfinite(rel).all() and rel.abs().sum() > 0


def test_bad_options():
    net, x = hand_network(), hand_image()
    t = torch.tensor([0])
    for kwargs, name in [(dict(rule="alpha1beta0"), "rule"), (dict(first_layer="ww"), "first_layer"),
                         (dict(canonizer="inception"), "canonizer"), (dict(epsilon=0), "epsilon")]:
        with pytest.raises(ParameterError, match=name):
            lrp(net, x, t, **kwargs)
    with pytest.raises(ParameterError, match="targets"):
        lrp(net, x, torch.tensor([2]), canonizer=None)
