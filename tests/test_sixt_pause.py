"""Chapter 5's long steps spread over cells: the INN and the observer paused after an epoch and resumed
from the cache end with the weights of one uninterrupted run (issue 11)."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from xaibook.errors import ParameterError
from xaibook.models import glow_training
from xaibook.studies import sixt2022 as sx
from xaibook.studies.sixt2022 import pipeline


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)


@pytest.fixture
def tiny(monkeypatch):
    """Smoke sizes cut further: 32 training images, 3 INN epochs, 3 observer epochs."""
    p = dataclasses.replace(pipeline.plan("smoke"), n_train=32, n_test=16, observer_train=16, observer_test=8,
                            observer_epochs=3, observer_width=0.25, observer_batch=8)
    monkeypatch.setattr(pipeline, "plan", lambda scale=None: p)
    smoke = glow_training.default_settings("smoke")
    settings = {**smoke, "epochs": 3, "model": {**smoke["model"], "levels": 2, "steps_per_level": 1, "hidden": 8,
                                                 "classifier_level": 1}}
    monkeypatch.setattr(glow_training, "default_settings", lambda scale=None: settings)
    return p


def test_inn_trained_over_three_calls_equals_one_run(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "one"))
    whole, h_whole = sx.trained_model()
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "two"))
    assert sx.train_model(until_epoch=1).startswith("trained 1 of 3 epochs")
    assert sx.train_model(until_epoch=2).startswith("trained 2 of 3 epochs")
    resumed, h_resumed = sx.trained_model()
    assert _same(whole, resumed) and h_resumed["nll"] == h_whole["nll"]
    assert sx.train_model(until_epoch=3) == "the INN is trained (3 epochs)"
    steps = list(sx.timings()["step"])
    assert "INN training, to epoch 1 of 3" in steps and "INN training, to epoch 2 of 3" in steps
    with pytest.raises(ParameterError, match="until_epoch"):
        sx.train_model(until_epoch=0)


def test_observer_trained_over_three_calls_equals_one_run(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "one"))
    whole, info = sx.observer()
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "two"))
    assert sx.observer_data().startswith("rendered 16 training and 8 test images")
    assert sx.train_observer(until_epoch=1).startswith("trained the observer 1 of 3 epochs")
    assert sx.train_observer(until_epoch=2).startswith("trained the observer 2 of 3 epochs")
    resumed, info2 = sx.observer()
    assert _same(whole, resumed) and info2["history"]["loss"] == info["history"]["loss"]
    assert info2["test_error"].equals(info["test_error"])
    with pytest.raises(ParameterError, match="until_epoch"):
        sx.train_observer(until_epoch=4)
