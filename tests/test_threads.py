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


def test_cpus_minus_busy_bounded_by_one_and_the_cpus(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(config.Path, "read_text", lambda self, *a, **k: "max 100000")  # no cgroup quota
    for busy, want in [(0, 4), (3, 1), (1, 3), (40, 1)]:
        monkeypatch.setattr(config, "busy_cpus", lambda busy=busy: busy)
        assert config.threads() == want
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5})
    monkeypatch.setattr(config, "busy_cpus", lambda: 0)
    assert config.threads() == 1


def test_busy_cpus_counts_runnable_tasks_less_this_one_at_their_minimum(monkeypatch):
    readings = iter(["0.5 0.4 0.3 3/200 1", "0.5 0.4 0.3 2/200 1", "0.5 0.4 0.3 4/200 1"])
    monkeypatch.setattr(config.Path, "read_text", lambda self, *a, **k: next(readings))
    assert config.busy_cpus(samples=3, interval=0) == 1   # min(3, 2, 4) runnable, less this process


def test_busy_cpus_sees_a_spinning_process():
    import subprocess
    import sys
    import time

    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert config.busy_cpus() >= 1
    finally:
        spin.kill()
        spin.wait()


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
