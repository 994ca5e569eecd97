"""PGD through foolbox, the JPEG round trip and the keep-if-still-misclassified rule."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xaibook import attack
from xaibook.attack import jpeg
from xaibook.errors import ParameterError
from xaibook.models.wrappers import Normalized

SIZE = 32


def _data(n: int, seed: int):
    """Class 1 when the red channel is brighter than the blue one (by 0.05 on average)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    base = 0.5 + 0.1 * F.interpolate(torch.randn(n, 3, 4, 4, generator=g), size=SIZE, mode="bilinear")
    shift = (y.float() * 2 - 1).view(-1, 1, 1) * 0.025
    base[:, 0] += shift
    base[:, 2] -= shift
    return base.clamp(0, 1), y


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    model = Normalized(net, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    x, y = _data(256, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(60):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    xt, yt = _data(64, 2)
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item()
    assert acc >= 0.9, f"the tiny model did not learn the separable task (accuracy {acc:.2f})"
    return model, xt, yt


def test_pgd_flips_predictions_within_eps(trained):
    model, x, y = trained
    eps = 16 / 255
    adv = attack.pgd(model, x, y, eps=eps, batch_size=24)   # 40 steps of eps/30
    assert adv.shape == x.shape
    assert (adv - x).abs().max().item() <= eps + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    preds, _ = attack.classify(model, adv)
    clean, _ = attack.classify(model, x)
    assert (clean == y).float().mean() >= 0.9
    assert (preds != y).float().mean() >= 0.9, "PGD at 16/255 should flip this low-margin task"
    # a much smaller budget fools fewer images: the attack respects eps
    weak = attack.pgd(model, x, y, eps=1 / 255)
    assert (weak - x).abs().max().item() <= 1 / 255 + 1e-6
    assert (attack.classify(model, weak)[0] != y).sum() < (preds != y).sum()
    # seeded random start: the same call gives the same images
    again = attack.pgd(model, x, y, eps=eps, batch_size=24)
    assert torch.equal(adv, again)


def test_absolute_step_size(trained):
    model, x, y = trained
    adv = attack.pgd(model, x[:8], y[:8], eps=8 / 255, steps=5, step_size=1 / 255, relative_step=False,
                     random_start=False)
    assert (adv - x[:8]).abs().max().item() <= 5 / 255 + 1e-6   # at most steps * step_size from the start


def test_jpeg_roundtrip_changes_pixels_a_little():
    x, _ = _data(8, 3)
    out = jpeg.roundtrip(x, quality=75)
    assert out.shape == x.shape and out.dtype == torch.float32
    diff = (out - x).abs()
    assert diff.max() > 0                       # it is lossy
    assert diff.mean() < 0.02 and diff.max() < 0.15
    # quantised to 8 bits, and higher quality loses less
    assert torch.allclose(out * 255, (out * 255).round(), atol=1e-4)
    assert (jpeg.roundtrip(x, quality=95) - x).abs().mean() < (jpeg.roundtrip(x, quality=10) - x).abs().mean()
    # decoding with PIL independently gives the same pixels
    from io import BytesIO

    from PIL import Image

    arr = jpeg.to_uint8(x[:1])[0]
    ref = np.asarray(Image.open(BytesIO(jpeg.encode(arr, 75))))
    np.testing.assert_array_equal((out[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), ref)


def test_pgd_then_jpeg_keeps_exactly_the_still_misclassified(trained):
    model, x, y = trained
    res = attack.pgd_then_jpeg(model, x, y, eps=5 / 255, steps=20, quality=30)
    # independent re-check: classify the JPEG images ourselves
    with torch.no_grad():
        p = model(res.jpeg).softmax(1)
    wrong = torch.nonzero(p.argmax(1) != y).flatten()
    assert res.indices.tolist() == wrong.tolist()
    assert torch.equal(res.images, res.jpeg[wrong])
    assert torch.equal(res.predictions, p.argmax(1)[wrong])
    np.testing.assert_allclose(res.confidences.numpy(), p.max(1).values[wrong].numpy(), rtol=1e-6)
    assert torch.equal(res.jpeg, jpeg.roundtrip(res.adversarial, quality=30))
    assert 0 < len(res) < len(y)                 # the rule keeps some images and drops others
    # with allowed_predictions excluding every class, nothing is kept
    none = attack.pgd_then_jpeg(model, x[:8], y[:8], eps=5 / 255, steps=5, allowed_predictions=[])
    assert len(none) == 0 and none.images.shape == (0, 3, SIZE, SIZE)


def test_bad_inputs(trained):
    model, x, y = trained
    with pytest.raises(ParameterError, match="labels"):
        attack.pgd(model, x[:2], torch.tensor([0, 5]))
    with pytest.raises(ParameterError, match="eps"):
        attack.pgd(model, x[:2], y[:2], eps=0)
    with pytest.raises(ParameterError, match="images"):
        attack.pgd(model, x[:2] * 3, y[:2])
    with pytest.raises(ParameterError, match="NaN"):
        jpeg.roundtrip(torch.full((1, 3, 8, 8), float("nan")))
    with pytest.raises(ParameterError, match="quality"):
        jpeg.roundtrip(x[:1], quality=0)
