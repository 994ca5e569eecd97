"""config.threads / configure_threads: torch threads follow the idle CPUs, XAIBOOK_THREADS overrides."""
from __future__ import annotations

import os

import pytest
import torch

from xaibook import config
from xaibook.errors import ParameterError


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch):
    before, memo = torch.get_num_threads(), config._THREADS
    monkeypatch.delenv("XAIBOOK_THREADS", raising=False)
    yield
    torch.set_num_threads(before)
    config._THREADS = memo


def test_env_override_sets_torch_threads(monkeypatch):
    monkeypatch.setenv("XAIBOOK_THREADS", "3")
    assert config.configure_threads(force=True) == 3 == torch.get_num_threads()


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_bad_env_value_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("XAIBOOK_THREADS", value)
    with pytest.raises(ParameterError, match="XAIBOOK_THREADS"):
        config.threads()


def test_default_is_the_available_cpus_whatever_the_load(monkeypatch):
    """The thread count must not follow the load: torch's reductions (and so the book's numbers)
    depend on it."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(config.Path, "read_text", lambda self, *a, **k: "max 100000")  # no cgroup quota
    monkeypatch.setattr(os, "getloadavg", lambda: (40.0, 40.0, 40.0))
    assert config.threads() == 4
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5})
    assert config.threads() == 1


def test_cgroup_quota_caps_the_cpus(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(config.Path, "read_text", lambda self, *a, **k: "200000 100000")
    assert config.available_cpus() == 2


def test_device_configures_threads_once(monkeypatch):
    monkeypatch.setenv("XAIBOOK_DEVICE", "cpu")
    monkeypatch.setenv("XAIBOOK_THREADS", "2")
    config._THREADS = None
    config.device()
    assert torch.get_num_threads() == 2
    monkeypatch.setenv("XAIBOOK_THREADS", "5")
    config.device()
    assert torch.get_num_threads() == 2  # once per process
