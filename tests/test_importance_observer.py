"""Ground-truth importance (Sixt et al. 2022, Tables 1/3) and the observer network (Table 6/7)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats as sps
from torch import nn

from xaibook.errors import ParameterError
from xaibook.world import importance, observer, two4two
from xaibook.world.two4two import FACTORS


# ------------------------------------------------------------------------------------ importance
def factor_images(params):
    """A stand-in renderer: each 'image' holds the scene's factors as constant channels."""
    vals = torch.tensor([[p.arm_position, p.obj_color, p.bg_color] for p in params], dtype=torch.float32)
    return vals[:, :, None, None].expand(-1, 3, 4, 4).contiguous()


factor_images.cache_params = {"test": "factor_images"}


class LegsModel(nn.Module):
    """A classifier that is, by construction, a linear function of the legs' position."""

    def __init__(self, gain: float = 8.0):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(gain))

    def forward(self, x):
        return self.gain * (x[:, 0].mean((1, 2)) - 0.5)


def test_importance_of_a_legs_only_model_is_known_by_construction():
    params = two4two.sample(60, seed=3)
    res = importance.ground_truth_importance(LegsModel(), params, factors=["arm_position", "obj_color", "bg_color",
                                                                           "bending"],
                                             images_fn=factor_images, seed=5, batch_size=16, use_cache=False)
    t = res.table.set_index("factor")
    assert t.loc["arm_position", "r2"] == pytest.approx(1.0, abs=1e-6)
    for f in ("obj_color", "bg_color", "bending"):
        assert t.loc[f, "r2"] == 0.0
        assert t.loc[f, "prediction_flip"] == 0.0
        assert t.loc[f, "median_logit_change"] == pytest.approx(0.0, abs=1e-6)
    # flips and median change, recomputed by hand from the intervened scenes
    changed = importance.resample(params, "arm_position", seed=5)
    before = np.array([p.arm_position for p in params])
    after = np.array([p.arm_position for p in changed])
    flips = 100 * np.mean((before > 0.5) != (after > 0.5))
    assert t.loc["arm_position", "prediction_flip"] == pytest.approx(flips)
    assert t.loc["arm_position", "median_logit_change"] == pytest.approx(np.median(8 * np.abs(after - before)), rel=1e-5)
    assert importance.ranking_agrees(res.table, "r2", order=(("arm_position",),),
                                     unbiased=("obj_color", "bg_color", "bending"))["agrees"]


def test_importance_on_rendered_images_finds_the_background_of_a_redness_model():
    """A 'model' that reads the image's mean redness depends on the background colour (most pixels)."""

    class Redness(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(10.0))

        def forward(self, x):
            return self.scale * (x[:, 0] - x[:, 2]).mean((1, 2))

    params = two4two.sample(20, seed=1)
    fn = importance.render_images(size=32, supersample=1)
    res = importance.ground_truth_importance(Redness(), params, factors=["arm_position", "bg_color", "bending"],
                                             images_fn=fn, batch_size=20, use_cache=False, progress=False)
    t = res.table.set_index("factor")
    assert t["median_logit_change"].idxmax() == "bg_color"
    assert t.loc["bg_color", "r2"] > 0.9
    assert t.loc["arm_position", "r2"] < 0.5 and t.loc["bending", "r2"] < 0.5


def test_legs_are_resampled_over_both_classes_and_only_the_legs_change():
    params = two4two.sample(400, seed=8)
    new = importance.resample(params, "arm_position", seed=1)
    arm = np.array([p.arm_position for p in new])
    stretchy = np.array([p.obj_name == "stretchy" for p in params])
    # about half of each class now has the other class's legs
    assert 0.4 < np.mean(arm[~stretchy] > 0.5) < 0.6 and 0.4 < np.mean(arm[stretchy] < 0.5) < 0.6
    assert sps.kstest(np.where(arm > 0.5, 1 - arm, arm), "uniform", args=(0, 0.52)).pvalue > 0.01
    for p, q in zip(params, new):
        assert [getattr(p, f) for f in FACTORS if f != "arm_position"] == \
            [getattr(q, f) for f in FACTORS if f != "arm_position"]
    within = importance.resample(params, "arm_position", seed=1, legs="within_class")
    assert all((q.arm_position > 0.5) == (p.obj_name == "stretchy") or 0.48 <= q.arm_position <= 0.52
               for p, q in zip(params, within))


def test_importance_is_cached_per_model_weights():
    calls = []

    def counting(params):
        calls.append(len(params))
        return factor_images(params)

    counting.cache_params = {"test": "counting"}
    params = two4two.sample(12, seed=2)
    model = LegsModel()
    a = importance.ground_truth_importance(model, params, factors=["arm_position"], images_fn=counting, batch_size=6)
    n = len(calls)
    b = importance.ground_truth_importance(model, params, factors=["arm_position"], images_fn=counting, batch_size=6)
    assert len(calls) == n  # second run loaded every chunk
    pd.testing.assert_frame_equal(a.table, b.table)
    importance.ground_truth_importance(LegsModel(gain=3.0), params, factors=["arm_position"], images_fn=counting,
                                       batch_size=6)
    assert len(calls) > n  # other weights, other cache entry


def test_r_squared_matches_scipy_linregress():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = 0.7 * x + rng.normal(size=50)
    assert importance.r_squared(x, y) == pytest.approx(sps.linregress(x, y).rvalue ** 2)
    assert importance.r_squared(x, np.zeros(50)) == 0.0


def test_ranking_check_names_the_violations():
    table = pd.DataFrame({"factor": ["arm_position", "obj_color", "spherical", "bg_color"],
                          "median_logit_change": [2.0, 0.5, 0.8, 0.1]})
    out = importance.ranking_agrees(table)
    assert not out["agrees"]
    assert out["violations"] == [("obj_color", "spherical")]
    assert out["ranking"] == ["arm_position", "spherical", "obj_color", "bg_color"]


def test_importance_rejects_unknown_factors_and_wrong_outputs():
    params = two4two.sample(5, seed=0)
    with pytest.raises(ParameterError, match="legs"):
        importance.ground_truth_importance(LegsModel(), params, factors=["legs"], images_fn=factor_images)

    class TwoOut(nn.Module):
        def forward(self, x):
            return torch.zeros(len(x), 2)

    with pytest.raises(ParameterError, match=r"\[B\] logits"):
        importance.predict_logits(TwoOut(), torch.zeros(2, 3, 4, 4))


# -------------------------------------------------------------------------------------- observer
def test_observer_units_round_trip_and_cover_the_unbiased_sampler():
    params = two4two.sample(400, sampler="unbiased", seed=4)
    raw = torch.tensor([p.factors() for p in params], dtype=torch.float64)
    norm = observer.normalize_factors(raw)
    assert norm.min() >= -1e-9 and norm.max() <= 1 + 1e-9
    assert torch.allclose(observer.denormalize_factors(norm), raw)
    # legs, colour, shape and background keep their own units
    for i, f in enumerate(FACTORS):
        if f in ("arm_position", "obj_color", "spherical", "bg_color"):
            assert torch.allclose(norm[:, i], raw[:, i])


def test_observer_output_shapes_and_raw_units():
    obs = observer.build_observer(width_mult=0.25)
    x = torch.rand(4, 3, 32, 32)
    assert obs(x).shape == (4, len(FACTORS))
    m = observer.measure_factors(obs, x)
    assert m.shape == (4, len(FACTORS))
    seq = observer.measure_factors(obs, x.reshape(2, 2, 3, 32, 32))
    assert seq.shape == (2, 2, len(FACTORS))
    assert torch.allclose(seq.reshape(4, -1), m, atol=1e-5)
    raw = observer.measure_factors(obs, x, units="raw")
    assert torch.allclose(raw, observer.denormalize_factors(m), atol=1e-5)


def test_a_few_training_steps_reduce_the_observer_error():
    params = two4two.sample(32, sampler="unbiased", seed=7)
    images = (two4two.render_params(params, size=32, supersample=1, device="cpu").image * 255).to(torch.uint8)
    before_model = observer.build_observer(width_mult=0.25)
    torch.manual_seed(0)
    before = observer.test_error(before_model.eval(), images, params)["test_mse"].mean()
    model, hist = observer.train_observer(images, observer.normalize_factors(
        torch.tensor([p.factors() for p in params])), epochs=12, batch_size=16, lr=3e-3, width_mult=0.25,
        seed=0, progress=False, device="cpu")
    after = observer.test_error(model, images, params)
    assert hist["loss"][-1] < hist["loss"][0]
    assert after["test_mse"].mean() < before
    assert list(after["factor"]) == list(FACTORS)


def test_interpolation_changes_by_hand():
    readings = torch.zeros(2, 3, len(FACTORS))
    readings[0, :, 0] = torch.tensor([0.1, 0.5, 0.3])  # legs: span 0.4
    readings[1, :, 0] = torch.tensor([0.2, 0.2, 0.4])  # span 0.2
    readings[1, :, 3] = torch.tensor([0.0, 0.05, 0.0])  # background: 0 and 0.05
    t = observer.interpolation_changes(readings).set_index("factor")
    assert t.loc["arm_position", "mean_maximal_change"] == pytest.approx(0.3)
    assert t.loc["arm_position", "std"] == pytest.approx(np.std([0.4, 0.2], ddof=1))
    assert t.loc["bg_color", "mean_maximal_change"] == pytest.approx(0.025)
    assert t.loc["bending", "mean_maximal_change"] == 0.0
    with pytest.raises(ParameterError):
        observer.interpolation_changes(torch.zeros(2, 3))


def test_observer_training_resumes_from_an_epoch_checkpoint():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(16, 3, 32, 32, generator=g)
    targets = torch.rand(16, len(FACTORS), generator=g)
    kwargs = dict(epochs=3, batch_size=8, lr=1e-3, width_mult=0.25, seed=1, progress=False, device="cpu")
    full, hist = observer.train_observer(images, targets, **kwargs)
    saved = []
    observer.train_observer(images, targets, on_epoch=saved.append, **kwargs)
    resumed, hist2 = observer.train_observer(images, targets, resume=saved[0], **kwargs)  # as if stopped after epoch 1
    assert len(hist2["loss"]) == 3
    np.testing.assert_allclose(hist2["loss"], hist["loss"], rtol=1e-4)
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), k


class _Stop(Exception):
    pass


def test_trained_observer_paused_by_its_hook_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch):
    """The chapter's split: stopped after epoch 1 through the pause hook and resumed from the cached
    checkpoint, the observer equals one trained without a pause (weights, history, test error)."""
    kwargs = dict(size=32, supersample=1, epochs=2, batch_size=8, lr=1e-3, width_mult=0.25, progress=False)
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "one"))
    whole, info = observer.trained_observer(16, 8, **kwargs)
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "two"))

    def pause(epoch, history):
        assert len(history["loss"]) == epoch
        if epoch == 1:
            raise _Stop

    with pytest.raises(_Stop):
        observer.trained_observer(16, 8, on_epoch=pause, **kwargs)
    resumed, info2 = observer.trained_observer(16, 8, on_epoch=pause, **kwargs)
    a, b = whole.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert info2["history"]["loss"] == info["history"]["loss"]
    pd.testing.assert_frame_equal(info2["test_error"], info["test_error"])
    assert info2["fingerprint"] == info["fingerprint"]
