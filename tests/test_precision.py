"""Mixed precision on the CPU (issue 17): the policy, its cache keys, and what it must not change."""
from __future__ import annotations

import pytest
import torch

from xaibook import config
from xaibook.cache import default_cache
from xaibook.errors import ParameterError
from xaibook.models import classifiers
from xaibook.models.train import train, train_cached
from xaibook.models.wrappers import Autocast, cpu_autocast


@pytest.fixture
def native_bf16(monkeypatch):
    """Pretend the CPU has (True) or lacks (False) native bf16, whatever this machine has."""
    def set_(value: bool) -> None:
        monkeypatch.delenv("XAIBOOK_PRECISION", raising=False)
        monkeypatch.setattr(config, "cpu_has_bf16", lambda: value)
    return set_


def _data(n: int = 48):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 3, 16, 16, generator=g)
    y = (x[:, 0].mean((1, 2)) > x[:, 2].mean((1, 2))).long()
    return x, y


def _tiny():
    return classifiers.small_vgg(2, widths=(8, 16), convs_per_block=1)


def test_precision_setting_is_checked(monkeypatch):
    monkeypatch.setenv("XAIBOOK_PRECISION", "half")
    with pytest.raises(ParameterError, match="XAIBOOK_PRECISION='half'.*auto.*fp32"):
        config.precision()
    monkeypatch.setenv("XAIBOOK_PRECISION", " FP32 ")
    assert config.precision() == "fp32"
    monkeypatch.delenv("XAIBOOK_PRECISION")
    assert config.precision() == "auto"


def test_cpu_autocast_only_with_native_bf16_and_not_under_fp32(native_bf16, monkeypatch):
    cpu = torch.device("cpu")
    native_bf16(False)
    assert config.autocast_dtype(cpu) is None and config.precision_key(cpu) == {}
    native_bf16(True)
    assert config.autocast_dtype(cpu) == torch.bfloat16
    assert config.precision_key(cpu) == {"cpu_autocast": "bfloat16"}
    monkeypatch.setenv("XAIBOOK_PRECISION", "fp32")
    assert config.autocast_dtype(cpu) is None and config.precision_key(cpu) == {}


def test_training_under_bf16_is_reproducible_and_hands_back_the_cached_layout(native_bf16):
    native_bf16(True)
    x, y = _data()
    kw = dict(epochs=2, batch_size=16, lr=3e-3, device="cpu", seed=0)
    torch.manual_seed(0)
    a, _ = train(_tiny(), (x, y), **kw)
    torch.manual_seed(0)
    b, _ = train(_tiny(), (x, y), **kw)
    for p, q in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(p, q)
    assert all(p.is_contiguous() for p in a.parameters())  # channels-last only while training
    # a model trained now and the same model loaded from the cache give the same bits
    fresh, _ = train_cached("test.precision", {"n": 48}, _tiny, lambda: (x, y), **kw)
    loaded, _ = train_cached("test.precision", {"n": 48}, _tiny, lambda: pytest.fail("retrained"), **kw)
    with torch.no_grad():
        assert torch.equal(fresh(x), loaded(x))


def test_the_two_precisions_train_different_cache_entries(native_bf16):
    x, y = _data()
    kw = dict(epochs=1, batch_size=16, lr=3e-3, device="cpu", seed=0)
    native_bf16(False)
    m32, _ = train_cached("test.precision-key", {"n": 48}, _tiny, lambda: (x, y), **kw)
    native_bf16(True)
    calls = []
    m16, _ = train_cached("test.precision-key", {"n": 48}, _tiny, lambda: calls.append(1) or (x, y), **kw)
    assert calls == [1]  # not served the float32 weights
    assert any(not torch.equal(p, q) for p, q in zip(m32.state_dict().values(), m16.state_dict().values()))
    assert default_cache().has("test.precision-key", {"params": {"n": 48}, "train": {
        "epochs": 1, "batch_size": 16, "lr": 3e-3, "seed": 0, "cpu_autocast": "bfloat16"}})


def test_cpu_autocast_wraps_a_copy_and_returns_float32(native_bf16):
    torch.manual_seed(0)
    model = _tiny().eval()
    x = torch.rand(4, 3, 16, 16)
    native_bf16(False)
    assert cpu_autocast(model) is model
    native_bf16(True)
    fast = cpu_autocast(model)
    assert isinstance(fast, Autocast) and fast.model is not model
    assert all(p.is_contiguous() for p in model.parameters())  # the original keeps its layout
    with torch.no_grad():
        ref, out = model(x), fast(x)
    assert out.dtype == torch.float32
    assert torch.allclose(out, ref, atol=0.05 * float(ref.abs().max()) + 1e-3)


def test_provenance_lines_say_when_training_ran_in_bf16(native_bf16):
    from xaibook.studies.alqaraawi2020 import pipeline as alq

    native_bf16(True)
    assert config.precision_note(torch.device("cpu")) == " in bf16 mixed precision"
    assert alq.plan().short().endswith("in bf16 mixed precision")
    native_bf16(False)
    assert config.precision_note(torch.device("cpu")) == ""
    assert "mixed precision" not in alq.plan().short()
