"""Explanation methods on odd image batches: float64 is cast to the model's dtype, the rest is refused
with a ParameterError naming ``images`` (explain/inputs.py documents the rule).

Before, a float64 batch (what numpy/PIL pipelines give) failed deep inside the model with torch's
"Input type (double) and bias type (float) should be the same", and a batch with zero-height images
failed inside a convolution.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from xaibook import explain
from xaibook.errors import ParameterError
from xaibook.models.wrappers import Normalized


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, stride=2),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    return Normalized(net).eval()


MODEL = small_cnn()
IMAGES = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
TARGETS = torch.tensor([1, 3])

METHODS = {
    "gradient": lambda x, t: explain.gradient(MODEL, x, t),
    "smoothgrad": lambda x, t: explain.smoothgrad(MODEL, x, t, n_samples=4),
    "gradcam": lambda x, t: explain.gradcam(MODEL, x, t, layer="net.2"),
    "extremal_perturbation": lambda x, t: explain.extremal_perturbation(MODEL, x, t, areas=0.2, max_iter=3, step=4,
                                                                        sigma=8.0),
    "lrp": lambda x, t: explain.lrp(MODEL, x, t),
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_float64_images_are_cast_to_the_model_dtype(method):
    ours = METHODS[method](IMAGES.double(), TARGETS)
    ref = METHODS[method](IMAGES, TARGETS)
    assert ours.dtype == torch.float32 and ours.shape == (2, 1, 16, 16)
    assert torch.allclose(ours, ref, atol=1e-5)


def test_float16_images_are_cast_for_lrp():
    ours = explain.lrp(MODEL, IMAGES.half(), TARGETS)
    assert ours.dtype == torch.float32 and torch.isfinite(ours).all()


BAD = {
    "rank 3": (lambda: IMAGES[0], r"shape \[B,C,H,W\]"),
    "rank 5": (lambda: IMAGES[None], r"shape \[B,C,H,W\]"),
    "NaN pixel": (lambda: IMAGES.clone().index_put_((torch.tensor([1]), torch.tensor([0])), torch.tensor(float("nan"))),
                  "NaN"),
    "one channel": (lambda: IMAGES[:, :1], "3 colour channels"),
    "four channels": (lambda: torch.cat([IMAGES, IMAGES[:, :1]], dim=1), "3 colour channels"),
    "zero height": (lambda: IMAGES[:, :, :0], "at least one channel and pixel"),
    "uint8": (lambda: (IMAGES * 255).to(torch.uint8), "255"),
    "numpy": (lambda: IMAGES.numpy(), "torch.Tensor"),
}


@pytest.mark.parametrize("method", ["gradient", "smoothgrad", "gradcam", "extremal_perturbation", "lrp"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_images_are_refused_naming_images(method, case):
    make, match = BAD[case]
    with pytest.raises(ParameterError, match=match) as err:
        METHODS[method](make(), TARGETS)
    assert "images" in str(err.value)


def test_oracle_without_model_keeps_the_images_dtype():
    """The oracle never runs a classifier: with model=None there is no dtype to cast to."""
    masks = torch.zeros(2, 1, 16, 16)
    masks[:, :, 4:8, 4:8] = 1
    maps = explain.oracle(None, IMAGES.double(), TARGETS, masks=masks)
    assert maps.dtype == torch.float64
    with pytest.raises(ParameterError, match="images"):
        explain.oracle(None, IMAGES[:, :, :0], TARGETS, masks=masks[:, :, :0])


@pytest.mark.parametrize("step, sigma", [(4, 6), (7, 3)])
def test_extremal_mask_grid_smaller_than_the_image_names_step_and_sigma(step, sigma):
    """These settings used to crash with a raw RuntimeError (a tensor size mismatch) on 16-px images."""
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(4, 5))
    with pytest.raises(ParameterError, match=rf"step={step} and sigma={sigma}.*need"):
        explain.extremal_perturbation(model, torch.rand(1, 3, 16, 16), torch.tensor([1]), areas=[0.1],
                                      max_iter=1, step=step, sigma=sigma)
