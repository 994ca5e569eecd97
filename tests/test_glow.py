"""Tests of the Glow-family invertible classifier and its counterfactuals (Sixt et al. 2022, App. A.2).

References are independent of the code under test: log-determinants against the brute-force
Jacobian (``torch.autograd.functional.jacobian`` + ``slogdet``), the whole model's density
against the change-of-variables formula on that Jacobian, inverses against the input.
"""
from __future__ import annotations

import math

import pytest
import torch

from xaibook.errors import ParameterError
from xaibook.explain.counterfactual import counterfactual
from xaibook.models import glow_training
from xaibook.models.glow import ActNorm, AffineCoupling, FlowStep, GlowClassifier, InvConv1x1, Squeeze
from xaibook.models.glow_training import train_glow_classifier, trained_glow_classifier


def _randomise(model: torch.nn.Module, std: float = 0.1, seed: int = 0) -> None:
    """Give every zero-initialised coupling output and actnorm a non-trivial random value."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, AffineCoupling):
                m.net[-1].weight.copy_(torch.randn(m.net[-1].weight.shape, generator=gen) * std)
                m.net[-1].bias.copy_(torch.randn(m.net[-1].bias.shape, generator=gen) * std)
            if isinstance(m, ActNorm):
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.3)
                m.log_scale.copy_(torch.randn(m.log_scale.shape, generator=gen) * 0.3)
                m.initialized.fill_(True)
            if isinstance(m, InvConv1x1):
                m.lower.add_(torch.randn(m.lower.shape, generator=gen) * 0.2)
                m.upper.add_(torch.randn(m.upper.shape, generator=gen) * 0.2)
                m.log_s.add_(torch.randn(m.log_s.shape, generator=gen) * 0.2)


def _small_model(image_size: int = 16, **kw) -> GlowClassifier:
    """A model in a state like training: actnorm initialised on data, non-zero couplings."""
    cfg = dict(levels=2, steps_per_level=2, hidden=8, classifier_level=1)
    cfg.update(kw)
    model = GlowClassifier(image_size=image_size, **cfg)
    gen = torch.Generator().manual_seed(7)
    model.initialize(torch.rand(16, 3, image_size, image_size, generator=gen))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, AffineCoupling):
                m.net[-1].weight.copy_(torch.randn(m.net[-1].weight.shape, generator=gen) * 0.05)
                m.net[-1].bias.copy_(torch.randn(m.net[-1].bias.shape, generator=gen) * 0.05)
    return model.eval()


def _brute_logdet(fn, x: torch.Tensor) -> float:
    """log|det J| of ``fn`` at ``x`` (one sample) from the full Jacobian, in float64."""
    shape = x.shape
    jac = torch.autograd.functional.jacobian(lambda v: fn(v.view(shape)).reshape(-1), x.reshape(-1))
    sign, logabs = torch.linalg.slogdet(jac)
    assert sign != 0
    return logabs.item()


@pytest.mark.parametrize("layer", ["actnorm", "invconv", "coupling", "squeeze", "step"])
def test_layer_logdet_matches_bruteforce_jacobian(layer):
    torch.manual_seed(0)
    c = 4
    module = {"actnorm": lambda: ActNorm(c), "invconv": lambda: InvConv1x1(c),
              "coupling": lambda: AffineCoupling(c, hidden=6), "squeeze": Squeeze,
              "step": lambda: FlowStep(c, hidden=6)}[layer]()
    _randomise(module, std=0.3)
    module = module.double().eval()
    x = torch.randn(1, c, 4, 4, dtype=torch.float64)
    y, logdet = module(x)
    brute = _brute_logdet(lambda v: module(v)[0], x)
    assert logdet.shape == (1,)
    assert logdet.item() == pytest.approx(brute, abs=1e-8)
    if layer != "squeeze":  # the test must be able to fail: a non-trivial log-determinant
        assert abs(brute) > 1e-3
    assert torch.allclose(module.inverse(y), x, atol=1e-10)


def test_model_density_is_change_of_variables_on_the_full_jacobian():
    torch.manual_seed(1)
    model = _small_model(image_size=8, levels=2, steps_per_level=2, hidden=6, classifier_level=1).double()
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    code = model._code(x)
    assert code.shape == (1, 3 * 8 * 8)  # a bijection: nothing dropped
    brute = _brute_logdet(model._code, x)
    log_density = -0.5 * (code.pow(2) + math.log(2 * math.pi)).sum().item() + brute
    expected_bpd = (log_density - 192 * math.log(255)) / (192 * math.log(2))
    assert model.log_prob(x).item() == pytest.approx(expected_bpd, abs=1e-8)


@pytest.mark.parametrize("size,levels,clevel", [(32, 3, 2), (32, 3, 3), (64, 4, 3)])
def test_exact_invertibility_on_random_input(size, levels, clevel):
    torch.manual_seed(2)
    model = _small_model(image_size=size, levels=levels, steps_per_level=2, hidden=8, classifier_level=clevel)
    x = torch.rand(3, 3, size, size)
    with torch.no_grad():
        latent = model.encode(x)
        recon = model.decode(latent)
    assert latent.z.shape[1:] == model.latent_shape
    assert len(latent.faded) == clevel - 1
    # the faded-out parts carry information: dropping them breaks the reconstruction
    assert (recon - x).abs().max().item() < 1e-4
    if latent.faded:
        broken = model.decode(latent.__class__(latent.z, tuple(torch.zeros_like(f) for f in latent.faded)))
        assert (broken - x).abs().max().item() > 1e-2
    # the classifier reads z
    assert torch.allclose(model(x), model.logit_from_latent(latent))


def test_pooled_fixed_norm_classifier_is_pooling_then_linear():
    torch.manual_seed(4)
    model = _small_model(image_size=32, levels=3, steps_per_level=1, hidden=8, classifier_level=2,
                         pooled_classifier=True, classifier_norm=2.5)
    x = torch.rand(5, 3, 32, 32)
    with torch.no_grad():
        z = model.encode(x).z
        v = model.classifier_weight.flatten()
        c, h, w = model.latent_shape
        # reference: global average pooling, then a linear layer u; the weight on z is u / (h w)
        # broadcast over positions, whose norm |u| / sqrt(h w) is fixed at 2.5
        u = v / v.norm() * 2.5 * math.sqrt(h * w)
        ref = z.mean((2, 3)) @ u + model.bias
        assert torch.allclose(model(x), ref, atol=1e-5)
        assert model.weight.shape == (c, h, w)
        assert model.weight.norm().item() == pytest.approx(2.5, rel=1e-6)


def test_coupling_scale_floor():
    torch.manual_seed(5)
    layer = AffineCoupling(4, hidden=8, min_scale=0.5)
    with torch.no_grad():
        layer.net[-1].weight.normal_(0, 5.0)
    _, scale = layer._shift_scale(torch.randn(64, 2, 4, 4) * 3)
    assert scale.min().item() >= 0.5 and scale.max().item() <= 1.0
    assert scale.min().item() < 0.51  # the floor is reached, so the bound is what holds it
    with pytest.raises(ParameterError, match="min_scale"):
        AffineCoupling(4, hidden=8, min_scale=1.0)


@pytest.mark.parametrize("pooled", [False, True])
def test_counterfactuals_hit_their_targets_and_identity_at_own_logit(pooled):
    torch.manual_seed(3)
    model = _small_model(image_size=32, levels=3, steps_per_level=2, hidden=8, classifier_level=2,
                         pooled_classifier=pooled, classifier_norm=1.0 if pooled else None, min_scale=0.5)
    x = torch.rand(4, 3, 32, 32) * 0.8 + 0.1
    targets = [-3.0, -1.0, 0.0, 1.5, 4.0]
    cf = counterfactual(model, x, targets)
    assert cf.shape == (4, 5, 3, 32, 32)
    with torch.no_grad():
        got = model(cf.view(-1, 3, 32, 32)).view(4, 5)
    assert (got - torch.tensor(targets)).abs().max().item() < 1e-3
    # T = 1 at the image's own logit reproduces the image
    with torch.no_grad():
        own = model(x)
    same = counterfactual(model, x, own[:, None])
    assert same.shape == (4, 1, 3, 32, 32)
    assert (same[:, 0] - x).abs().max().item() < 1e-4
    # distinct targets give distinct images, and only through z
    assert (cf[:, 0] - cf[:, -1]).abs().max().item() > 1e-2
    clamped = counterfactual(model, x, targets, clamp=True)
    assert clamped.min() >= 0 and clamped.max() <= 1


def test_counterfactual_rejects_bad_arguments():
    model = _small_model(image_size=16)
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ParameterError, match="target_logits"):
        counterfactual(model, x, torch.zeros(3, 2))
    with pytest.raises(ParameterError, match="GlowClassifier"):
        counterfactual(torch.nn.Linear(2, 1), x, [0.0])
    with pytest.raises(ParameterError, match=r"\[B,3,16,16\]"):
        model(torch.rand(2, 3, 32, 32))
    with pytest.raises(ParameterError, match="levels"):
        GlowClassifier(image_size=32, levels=6)


def _toy(n: int = 64, size: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A trivially separable set: class 1 is bright in the top half, class 0 in the bottom half
    (mirroring left-right, the training augmentation, keeps the class)."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.rand(n, 3, size, size, generator=gen) * 0.3 + 0.2
    top = torch.zeros(size, size, dtype=torch.bool)
    top[: size // 2] = True
    bright = torch.where(y[:, None, None].bool(), top, ~top)
    x = x + 0.4 * bright[:, None].float()
    return (x * 255).round().to(torch.uint8), y


def test_training_reduces_both_losses_on_a_separable_toy_set():
    x, y = _toy()
    model, hist = train_glow_classifier(x, y, epochs=5, batch_size=16, lr=3e-3, bce_weight=1.0, device="cpu",
                                        progress=False, model_kwargs=dict(levels=2, steps_per_level=2, hidden=8,
                                                                          classifier_level=1),
                                        val=_toy(32, seed=1))
    assert len(hist["nll"]) == len(hist["bce"]) == len(hist["accuracy"]) == 5
    assert hist["nll"][-1] < hist["nll"][0] - 0.1
    assert hist["bce"][-1] < hist["bce"][0] - 0.05
    assert hist["val_accuracy"][-1] >= 0.9
    assert not model.training


def test_training_resumes_per_epoch_exactly():
    x, y = _toy(32)
    kw = dict(batch_size=16, lr=2e-3, bce_weight=1.0, device="cpu", progress=False, seed=5,
              model_kwargs=dict(levels=2, steps_per_level=1, hidden=8, classifier_level=1))
    straight, h_straight = train_glow_classifier(x, y, epochs=2, **kw)
    ckpts = []
    train_glow_classifier(x, y, epochs=1, on_epoch=ckpts.append, **kw)
    resumed, h_resumed = train_glow_classifier(x, y, epochs=2, resume=ckpts[-1], **kw)
    assert h_resumed["nll"] == pytest.approx(h_straight["nll"], rel=1e-6)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), k


def test_trained_glow_classifier_is_cached_and_checks_the_size():
    settings = glow_training.default_settings("smoke")
    size = settings["model"]["image_size"]
    calls = []

    def images_fn():
        calls.append(1)
        return _toy(48, size=size)

    params = {"toy": "top-bottom", "n": 48}
    model, hist = trained_glow_classifier(params, images_fn, scale="smoke")
    again, hist2 = trained_glow_classifier(params, images_fn, scale="smoke")
    assert len(calls) == 1
    assert hist2 == hist and len(hist["nll"]) == settings["epochs"]
    x = _toy(4, size=size)[0].float() / 255
    with torch.no_grad():
        assert torch.allclose(model(x.to(next(model.parameters()).device)).cpu(),
                              again(x.to(next(again.parameters()).device)).cpu(), atol=1e-5)
    with pytest.raises(ParameterError, match="image_size"):
        trained_glow_classifier({"toy": "wrong size"}, lambda: _toy(8, size=16), scale="smoke")


def _equal_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_training_stopped_at_until_epoch_and_resumed_equals_one_run(schedule):
    x, y = _toy(32)
    kw = dict(epochs=3, batch_size=16, lr=2e-3, bce_weight=1.0, device="cpu", progress=False, seed=3,
              schedule=schedule, warmup_steps=2, model_kwargs=dict(levels=2, steps_per_level=1, hidden=8,
                                                                   classifier_level=1))
    straight, h_straight = train_glow_classifier(x, y, **kw)
    ckpts = []
    first, h_first = train_glow_classifier(x, y, until_epoch=1, on_epoch=ckpts.append, **kw)
    assert len(h_first["nll"]) == 1 and len(ckpts) == 1
    resumed, h_resumed = train_glow_classifier(x, y, resume=ckpts[-1], **kw)
    assert _equal_weights(straight, resumed)
    assert h_resumed["nll"] == h_straight["nll"] and h_resumed["accuracy"] == h_straight["accuracy"]
    with pytest.raises(ParameterError, match="until_epoch"):
        train_glow_classifier(x, y, until_epoch=4, **kw)
    with pytest.raises(ParameterError, match="schedule"):
        train_glow_classifier(x, y, **{**kw, "schedule": "step"})


def test_learning_rate_schedules():
    assert glow_training.learning_rate(0, 1000, 1e-3, "constant", 100) == pytest.approx(1e-5)
    assert glow_training.learning_rate(500, 1000, 1e-3, "constant", 100) == 1e-3
    assert glow_training.learning_rate(99, 1000, 1e-3, "cosine", 100) == pytest.approx(1e-3)
    assert glow_training.learning_rate(550, 1000, 1e-3, "cosine", 100) == pytest.approx(0.5e-3)
    assert glow_training.learning_rate(999, 1000, 1e-3, "cosine", 100) < 1e-8
    lrs = [glow_training.learning_rate(s, 1000, 1e-3, "cosine", 100) for s in range(100, 1000)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


class _Stop(Exception):
    pass


def test_trained_glow_classifier_paused_by_its_hook_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch):
    """The pause hook (the chapter's cells): stopped after epoch 1 and resumed from the cached checkpoint,
    the cached model equals one trained without a pause, and the cache records the training seconds."""
    from xaibook.cache import default_cache

    size = glow_training.default_settings("smoke")["model"]["image_size"]
    data = _toy(48, size=size)
    params = {"toy": "pause", "n": 48}
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "one"))
    whole, h_whole = trained_glow_classifier(params, lambda: data, scale="smoke")
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "two"))
    seen = []

    def pause(epoch, history):
        seen.append((epoch, len(history["nll"])))
        if epoch == 1:
            raise _Stop

    with pytest.raises(_Stop):
        trained_glow_classifier(params, lambda: data, scale="smoke", on_epoch=pause)
    entries = default_cache().entries("glow_classifier_checkpoint")
    assert len(entries) == 1 and entries[0].seconds > 0
    resumed, h_resumed = trained_glow_classifier(params, lambda: data, scale="smoke", on_epoch=pause)
    assert seen == [(1, 1), (2, 2)]
    assert _equal_weights(whole.cpu(), resumed.cpu()) and h_resumed["nll"] == h_whole["nll"]
    assert default_cache().entries("glow_classifier_checkpoint") == []
    assert default_cache().entries("glow_classifier")[0].seconds > 0
