"""Run configuration: scale, device, seeds and paths.

This is the only module that reads environment variables:

``XAIBOOK_SCALE``  ``smoke`` (tests, seconds), ``default`` (a 2-core CPU build of the book)
                   or ``paper`` (the studies' sizes; meant for a GPU).
``XAIBOOK_DEVICE`` force a torch device (``cpu``, ``cuda``, ``cuda:1``); default: CUDA when present.
``XAIBOOK_DATA``   where the user keeps real datasets and original study data
                   (ImageNet, Stanford Dogs, VOC, Visual Genome, the Nguyen et al. Gorilla exports).
``XAIBOOK_CACHE``  where expensive artifacts are cached (default: the user's cache directory).
``XAIBOOK_PROGRESS`` set to ``0`` to silence progress bars.
``XAIBOOK_LEDGER`` where chapters write their reproduction ledgers
                   (default ``_build/ledger/<scale>`` in the repository).
``XAIBOOK_PRECISION`` ``auto`` (default): bfloat16 mixed precision where the hardware runs it
                   natively (CUDA; CPUs with AMX or AVX512-BF16), else float32; ``fp32`` turns
                   it off everywhere (see :func:`autocast_dtype`).
``XAIBOOK_THREADS`` torch's intra-op threads (default: the CPUs this process may use, whatever
                   the load, so that results do not depend on it; see :func:`threads`).

When other processes keep a CPU busy as it starts, it also makes OpenMP's waiting threads
sleep and binds them one to a CPU (:func:`configure_openmp`), which changes speed, never results.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .errors import DataFormatError, DataNotFoundError, ParameterError

T = TypeVar("T")

SCALES = ("smoke", "default", "paper")


@dataclass(frozen=True)
class Scale:
    """The run scale. ``scale.pick(smoke=..., default=..., paper=...)`` chooses a size."""

    name: str

    def pick(self, smoke: T, default: T, paper: T) -> T:
        return {"smoke": smoke, "default": default, "paper": paper}[self.name]

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.name


def scale() -> Scale:
    """The scale from ``XAIBOOK_SCALE`` (default ``default``)."""
    name = os.environ.get("XAIBOOK_SCALE", "default").strip().lower() or "default"
    if name not in SCALES:
        raise ParameterError(
            f"XAIBOOK_SCALE={name!r} is not a scale; use one of {', '.join(SCALES)} "
            "(smoke for tests, default for a CPU build, paper for a GPU build)."
        )
    return Scale(name)


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask (as it started, before :func:`configure_openmp`'s
    binding narrowed this thread's), capped by a cgroup CPU quota."""
    try:
        cpus = len(_AFFINITY_AT_START or os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def threads() -> int:
    """Torch threads for this process: ``XAIBOOK_THREADS``, else the CPUs available to it.

    Deliberately not lowered when other processes keep CPUs busy: torch's CPU reductions
    split their sums by thread, so a thread count that followed the machine's load would make
    the book's numbers depend on what else ran during the build (measured: a one-thread smoke
    run of chapter 5 differed from a two-thread run in 31 ledger claims). On a busy machine the
    extra thread shares a core and costs time, not results; set ``XAIBOOK_THREADS`` to choose.
    """
    env = os.environ.get("XAIBOOK_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise ParameterError(f"XAIBOOK_THREADS={env!r} must be a positive integer (torch threads); unset it "
                                 "to use every available CPU")
        return n
    return available_cpus()


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs from ``/proc/stat``; None where there is no such file."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [float(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(values) - values[3] - values[4], sum(values)


def _own_jiffies() -> float:
    """CPU time (jiffies) this process has used: ``utime + stime`` of ``/proc/self/stat``."""
    try:
        after_name = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        return float(after_name[11]) + float(after_name[12])
    except (OSError, IndexError, ValueError):
        return 0.0


def busy_cpus(sample_s: float = 0.1) -> float | None:
    """How many CPUs other processes keep busy now, sampled from ``/proc/stat`` over ``sample_s``
    (this process's own time subtracted); None where ``/proc/stat`` is missing (not Linux)."""
    import time

    a, own_a = _cpu_times(), _own_jiffies()
    if a is None:
        return None
    time.sleep(sample_s)
    b, own_b = _cpu_times(), _own_jiffies()
    if b is None or b[1] <= a[1]:
        return None
    cpus = os.cpu_count() or 1
    return max(0.0, (b[0] - a[0] - (own_b - own_a)) / (b[1] - a[1]) * cpus)


#: Other processes' busy CPUs at or above which :func:`configure_openmp` makes OpenMP wait passively.
BUSY_THRESHOLD = 0.5
_BIND_ENV = {"OMP_PROC_BIND": "true", "OMP_PLACES": "threads"}
_AFFINITY_AT_START: "set[int] | None" = None
"""The CPUs this process could use before :func:`configure_openmp` bound its threads (None: not bound)."""
_INHERITED = "_XAIBOOK_BOUND_CPUS"
"""Set for child processes by a :func:`configure_openmp` that bound its threads: the CPUs it bound over."""


def configure_openmp(busy: "float | None | Any" = busy_cpus) -> str | None:
    """On a loaded machine, make OpenMP's idle threads sleep, not spin (issue 11), each on its own CPU (17).

    Torch keeps :func:`threads` threads whatever the load (results depend on the count). When
    another process holds a core, a spinning thread takes turns with it at every barrier: on
    the 2-core CPU with ``yes`` running, a ResNet-18 training step at 64 px took 1.30 s with
    libgomp's default spinning against 0.83 s with ``OMP_WAIT_POLICY=PASSIVE``; on the idle
    machine passive waiting cost about 12 % (interleaved runs: 0.40-0.51 s spinning, 0.43-0.54 s
    passive). So the policy is set to ``PASSIVE`` only when, as this process starts, other
    processes keep busy at least :data:`BUSY_THRESHOLD` of the CPUs torch's threads would use
    (more than the CPUs those threads leave free), and only before torch is imported (libgomp
    reads it once, when it loads). The whole float32 book built with ``yes`` on one core in 61 min
    (``benchmarks/busy_build.sh``) and gave the same ledger digest as the idle build.

    On such a machine it also binds each of torch's OpenMP threads to its own CPU
    (``OMP_PROC_BIND=true``, ``OMP_PLACES=threads``; issue 17). Unbound, the scheduler may put
    two of them on one CPU and ``yes`` alone on the other, and stay there (moving a thread
    would not even the load). oneDNN's bf16 backward convolutions wait at a barrier that spins
    in its JIT code, so each barrier then costs a time slice: a bf16 training step like the one
    above (AdamW) flipped from about 0.7 s to 9.8 s per step at some point in 8 of 11 runs of 6
    steps, in a plain process as in a Jupyter kernel; bound, 76 steps stayed within 0.45-0.9 s.
    Side by side (``python benchmarks/openmp_wait.py --precision bf16|fp32``, 2026-11-27, where
    no run flipped): bf16 steps took 362 ms bound against 932 ms passive and 740 ms spinning;
    float32 steps 551 ms bound against 504 ms passive (binding costs float32 about 9 %; one rule
    for both precisions is kept). The whole bf16 book then built with ``yes`` on one core in
    37 min, with the idle build's ledger digest. Idle, neither setting is used (bf16: 157 ms
    spinning, 166 ms bound). libgomp pins the thread that loads it, so :func:`available_cpus`
    keeps the CPUs counted before; :func:`configure_threads` drops the two variables once torch
    has loaded, and a child process that imports xaibook undoes what it inherited (the pinned
    CPU too) and decides for itself.
    Waiting and binding change speed, not results. An ``OMP_WAIT_POLICY`` already set is left
    as is, and so is any binding set by the user (``OMP_PROC_BIND``, ``OMP_PLACES``,
    ``GOMP_CPU_AFFINITY``).

    Args:
        busy: the other processes' busy CPUs, or a function that measures them (default
            :func:`busy_cpus`).
    Returns:
        The policy set, or None when nothing was set.
    """
    import sys

    _undo_inherited_binding()
    if "OMP_WAIT_POLICY" in os.environ or "torch" in sys.modules:
        return None
    try:
        spare = (os.cpu_count() or 1) - threads()  # CPUs torch's threads leave to others
    except ParameterError:  # a bad XAIBOOK_THREADS is reported where the threads are set
        return None
    load = busy() if callable(busy) else busy
    if load is None or load < spare + BUSY_THRESHOLD:
        return None
    global _AFFINITY_AT_START
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    user_bound = any(k in os.environ for k in (*_BIND_ENV, "GOMP_CPU_AFFINITY"))
    if threads() > 1 and not user_bound and hasattr(os, "sched_getaffinity"):
        _AFFINITY_AT_START = set(os.sched_getaffinity(0))
        os.environ.update(_BIND_ENV)
        os.environ[_INHERITED] = ",".join(str(c) for c in sorted(_AFFINITY_AT_START))
    return "PASSIVE"


def _undo_inherited_binding() -> None:
    """Processes started by one that bound its threads inherit its variables and the CPU its
    loading thread was pinned to (a Jupyter kernel started by a busy ``jupyter-book``, whose
    extension loads torch, would get one CPU, hence one torch thread). Those are the parent's
    choices, not the user's: drop them and give every thread of this process the parent's CPUs."""
    cpus = os.environ.pop(_INHERITED, None)
    if cpus is None:
        return
    for k, v in {**_BIND_ENV, "OMP_WAIT_POLICY": "PASSIVE"}.items():
        if os.environ.get(k) == v:
            del os.environ[k]
    try:
        want, tids = {int(c) for c in cpus.split(",")}, os.listdir("/proc/self/task")
    except (ValueError, OSError):  # a malformed marker, or not Linux
        return
    for tid in tids:
        try:
            os.sched_setaffinity(int(tid), want)
        except OSError:  # the thread has ended, or this process may not use those CPUs
            pass


_THREADS: int | None = None


def configure_threads(force: bool = False) -> int:
    """Set torch's intra-op threads to :func:`threads` (once per process unless ``force``).

    Called by :func:`device`, i.e. where the book's torch work starts, so a loaded machine is
    not oversubscribed. Returns the thread count.
    """
    global _THREADS
    if _THREADS is None or force:
        import torch

        n = threads()
        torch.set_num_threads(n)
        _THREADS = n
        if _AFFINITY_AT_START is not None:  # libgomp read the binding as torch loaded
            for k in _BIND_ENV:
                os.environ.pop(k, None)
    return _THREADS


def device() -> "Any":
    """The torch device: ``XAIBOOK_DEVICE`` if set, else CUDA when available, else CPU.

    The first call also sets torch's thread count (:func:`configure_threads`).
    """
    import torch

    configure_threads()

    want = os.environ.get("XAIBOOK_DEVICE", "").strip()
    if want:
        dev = torch.device(want)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ParameterError(f"XAIBOOK_DEVICE={want!r} but CUDA is not available on this machine; unset it to use the CPU.")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


PRECISIONS = ("auto", "fp32")


def precision() -> str:
    """``XAIBOOK_PRECISION``: ``auto`` (default) or ``fp32``."""
    name = os.environ.get("XAIBOOK_PRECISION", "auto").strip().lower() or "auto"
    if name not in PRECISIONS:
        raise ParameterError(f"XAIBOOK_PRECISION={name!r}; use auto (mixed precision where the hardware has it) "
                             "or fp32 (float32 everywhere)")
    return name


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX tiles or AVX512-BF16): there torch's
    oneDNN convolutions run about 1.5-1.7x faster under bf16 autocast (``benchmarks/cpu_precision.py``);
    elsewhere bf16 is emulated and slower than float32."""
    import torch

    probes = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(bool(f()) for f in probes if f is not None)


def autocast_dtype(device: "Any" = None) -> "Any":
    """The mixed-precision dtype for training and model-bound explanations on ``device`` (default
    :func:`device`), or None for float32.

    CUDA: bfloat16 where supported, else float16. CPU: bfloat16 when :func:`cpu_has_bf16`, else
    None. ``XAIBOOK_PRECISION=fp32`` gives None everywhere. Results depend on it (as on the thread
    count), so callers key their caches with :func:`precision_key`.
    """
    import torch

    dev = _torch_device(device)
    if precision() == "fp32":
        return None
    if dev.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dev.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return None


def _torch_device(device: "Any") -> "Any":
    import torch

    return torch.device(device) if device is not None else globals()["device"]()


def precision_key(device: "Any" = None) -> dict:
    """``{"cpu_autocast": "bfloat16"}`` when :func:`autocast_dtype` is bf16 on a CPU, else ``{}``:
    the part of a cache key that keeps CPU results of the two precisions apart (float32 keys
    stay as they were; CUDA runs were always mixed precision)."""
    dev = _torch_device(device)
    dtype = autocast_dtype(dev)
    return {"cpu_autocast": "bfloat16"} if dev.type == "cpu" and dtype is not None else {}


def precision_note(device: "Any" = None) -> str:
    """`` in bf16 mixed precision`` (``fp16`` on CUDA without bf16) when training on ``device`` uses
    autocast, else ``""``: the words a provenance line adds after "trained here"."""
    dtype = autocast_dtype(device)
    if dtype is None:
        return ""
    return f" in {'bf16' if 'bfloat16' in str(dtype) else 'fp16'} mixed precision"


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) for a reproducible run."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def progress_enabled() -> bool:
    return os.environ.get("XAIBOOK_PROGRESS", "1").strip() not in ("0", "false", "no")


def project_root() -> Path:
    """The repository root (holds ``data/published`` and ``book/``)."""
    return Path(__file__).resolve().parents[2]


def published_dir() -> Path:
    """The folder of published numbers shipped with the project."""
    path = project_root() / "data" / "published"
    if not path.is_dir():
        raise DataNotFoundError(
            f"{path} is missing: the published tables ship with the repository. "
            "Install the project from a clone (pip install -e .), not from a bare wheel."
        )
    return path


def data_root() -> Path:
    """Where real datasets live: ``XAIBOOK_DATA`` or ``~/xaibook-data``."""
    return Path(os.environ.get("XAIBOOK_DATA", Path.home() / "xaibook-data")).expanduser()


def cache_root() -> Path:
    """Where artifacts are cached: ``XAIBOOK_CACHE`` or the user's cache dir."""
    env = os.environ.get("XAIBOOK_CACHE", "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("xaibook"))


def ledger_dir() -> Path:
    """Where chapters write their ledger CSVs: ``XAIBOOK_LEDGER`` or ``_build/ledger/<scale>``."""
    env = os.environ.get("XAIBOOK_LEDGER", "").strip()
    if env:
        return Path(env).expanduser()
    return project_root() / "_build" / "ledger" / scale().name


def shared_root() -> Path | None:
    """``../shared`` beside the repository (papers, notes, original data), if present.

    Only tests read it; the book never needs it.
    """
    path = project_root().parent / "shared"
    return path if path.is_dir() else None


def require_dir(path: Path | str, what: str, how_to_get: str, expect: list[str] | None = None) -> Path:
    """Return ``path`` if it is a folder holding every entry of ``expect``; else raise a clear error.

    ``what`` names the dataset, ``how_to_get`` says where to obtain it, ``expect`` lists
    relative paths that must exist inside (e.g. ``["val", "meta.bin"]``).
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DataNotFoundError(
            f"{what}: folder {path} does not exist. {how_to_get} "
            f"(Set XAIBOOK_DATA to the folder that holds your datasets; now {data_root()}.)"
        )
    missing = [e for e in (expect or []) if not (path / e).exists()]
    if missing:
        raise DataFormatError(f"{what}: {path} exists but lacks {', '.join(missing)}. {how_to_get}")
    return path
