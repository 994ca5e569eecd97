"""config.threads / configure_threads / configure_openmp: torch threads are the available CPUs whatever the load
(XAIBOOK_THREADS overrides); OpenMP waits passively, one thread bound to each CPU, when other processes take
those CPUs."""
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


@pytest.fixture
def _fresh_openmp(monkeypatch):
    """As if torch were not loaded yet and no wait policy were set (both restored afterwards)."""
    import sys

    monkeypatch.setattr(config, "_AFFINITY_AT_START", None)
    for k in ("OMP_WAIT_POLICY", "OMP_PROC_BIND", "OMP_PLACES", "GOMP_CPU_AFFINITY", config._INHERITED):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(config.Path, "read_text", lambda self, *a, **k: "max 100000")


@pytest.mark.parametrize("load, threads, policy", [(1.0, "2", "PASSIVE"), (0.6, "2", "PASSIVE"), (0.3, "2", None),
                                                   (None, "2", None), (1.0, "1", None), (1.6, "1", "PASSIVE")])
def test_openmp_waits_passively_only_when_other_processes_take_torchs_cpus(_fresh_openmp, monkeypatch, load,
                                                                           threads, policy):
    monkeypatch.setenv("XAIBOOK_THREADS", threads)
    assert config.configure_openmp(busy=lambda: load) == policy
    assert os.environ.get("OMP_WAIT_POLICY") == policy
    bound = policy is not None and threads != "1"  # one thread has no partner to wait for
    assert os.environ.get("OMP_PROC_BIND") == ("true" if bound else None)
    assert os.environ.get("OMP_PLACES") == ("threads" if bound else None)


def test_binding_keeps_the_thread_count_and_leaves_the_users_binding_alone(_fresh_openmp, monkeypatch):
    monkeypatch.delenv("XAIBOOK_THREADS", raising=False)
    assert config.configure_openmp(busy=lambda: 1.0) == "PASSIVE" and os.environ["OMP_PROC_BIND"] == "true"
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # libgomp pinned this thread to CPU 0
    assert config.available_cpus() == 2 and config.threads() == 2
    for k in ("OMP_WAIT_POLICY", "OMP_PROC_BIND", "OMP_PLACES"):
        monkeypatch.delenv(k)
    monkeypatch.setattr(config, "_AFFINITY_AT_START", None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("GOMP_CPU_AFFINITY", "1 0")
    assert config.configure_openmp(busy=lambda: 1.0) == "PASSIVE"
    assert "OMP_PROC_BIND" not in os.environ and config._AFFINITY_AT_START is None


def test_a_child_undoes_the_binding_it_inherited_and_decides_itself(_fresh_openmp, monkeypatch):
    monkeypatch.delenv("XAIBOOK_THREADS", raising=False)
    assert config.configure_openmp(busy=lambda: 1.0) == "PASSIVE"
    assert os.environ[config._INHERITED] == "0,1"
    pinned = {}  # as the child sees it: its parent's variables, and one CPU for each of its threads
    monkeypatch.setattr(config, "_AFFINITY_AT_START", None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: pinned.get(pid, {0}))
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cpus: pinned.__setitem__(pid, set(cpus)))
    monkeypatch.setattr(os, "listdir", lambda path: ["0"] if path == "/proc/self/task" else [])
    assert config.configure_openmp(busy=lambda: 0.0) is None  # the machine is idle now: nothing set
    assert pinned == {0: {0, 1}} and config.available_cpus() == 2
    for k in ("OMP_WAIT_POLICY", "OMP_PROC_BIND", "OMP_PLACES", config._INHERITED):
        assert k not in os.environ


def test_openmp_policy_set_by_the_user_or_after_torch_loaded_is_left_alone(_fresh_openmp, monkeypatch):
    import sys

    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert config.configure_openmp(busy=lambda: 2.0) is None and os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert config.configure_openmp(busy=lambda: 2.0) is None and "OMP_WAIT_POLICY" not in os.environ


def test_a_bad_thread_count_does_not_break_the_import(_fresh_openmp, monkeypatch):
    monkeypatch.setenv("XAIBOOK_THREADS", "many")
    assert config.configure_openmp(busy=lambda: 2.0) is None


def test_busy_cpus_subtracts_this_process(monkeypatch):
    times = iter([(100.0, 1000.0), (250.0, 1200.0)])
    own = iter([10.0, 60.0])
    monkeypatch.setattr(config, "_cpu_times", lambda: next(times))
    monkeypatch.setattr(config, "_own_jiffies", lambda: next(own))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert config.busy_cpus(sample_s=0) == pytest.approx((150 - 50) / 200 * 2)
    monkeypatch.setattr(config, "_cpu_times", lambda: None)
    monkeypatch.setattr(config, "_own_jiffies", lambda: 0.0)
    assert config.busy_cpus(sample_s=0) is None


def test_a_process_started_beside_a_busy_one_waits_passively_and_binds_its_threads(tmp_path):
    """End to end on this machine: with ``yes`` holding a core, importing xaibook sets the policy and
    the binding; the thread count stays; a child of the pinned thread gets its CPUs back and decides itself."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "XAIBOOK_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "GOMP_CPU_AFFINITY")}
    code = ("import os, xaibook, torch; from xaibook import config; print(os.environ.get('OMP_WAIT_POLICY'))\n"
            "n = config.configure_threads(); print(n, torch.get_num_threads(), len(os.sched_getaffinity(0)),\n"
            "      os.environ.get('OMP_PROC_BIND'))\n"
            "import subprocess, sys\n"  # a child of the pinned thread: as a kernel of a busy jupyter-book
            "child = 'import os, xaibook; print(os.environ.get(\"OMP_PROC_BIND\"), xaibook.config.threads(),"
            " len(os.sched_getaffinity(0)))'\n"
            "print(subprocess.run([sys.executable, '-c', child], capture_output=True, text=True).stdout.strip())")
    yes = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
    try:
        import time

        time.sleep(0.5)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    finally:
        yes.kill()
        yes.wait()
    cpus, n = len(os.sched_getaffinity(0)), config.available_cpus()  # n: less under a cgroup CPU quota
    # each torch thread on its own CPU, this one pinned to the first; the variables not passed on
    assert out.stdout.split("\n")[:3] == ["PASSIVE", f"{n} {n} 1 None", f"true {n} {cpus}"]


def test_the_wait_policy_changes_no_result():
    """Two training steps of a small convnet give the same bytes with spinning, with passive waiting and
    with the threads bound."""
    import subprocess
    import sys

    code = ("import hashlib, torch; torch.manual_seed(0); torch.set_num_threads(2)\n"
            "m = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(), torch.nn.Flatten(),"
            " torch.nn.Linear(16 * 30 * 30, 5))\n"
            "opt = torch.optim.SGD(m.parameters(), lr=0.1); x = torch.randn(32, 3, 32, 32); y = torch.randint(0, 5, (32,))\n"
            "for _ in range(2):\n"
            "    loss = torch.nn.functional.cross_entropy(m(x), y); opt.zero_grad(); loss.backward(); opt.step()\n"
            "print(hashlib.sha256(b''.join(p.detach().numpy().tobytes() for p in m.parameters())).hexdigest())")
    digests = []
    bind = {"OMP_PROC_BIND": "true", "OMP_PLACES": "threads"}
    for policy in ("ACTIVE", "PASSIVE", "PASSIVE+bind"):
        env = {**os.environ, "OMP_WAIT_POLICY": policy.split("+")[0], **(bind if "bind" in policy else {})}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        digests.append(out.stdout.strip())
    assert len(digests[0]) == 64 and digests[0] == digests[1] == digests[2]
