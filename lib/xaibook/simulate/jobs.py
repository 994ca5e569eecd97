"""Many independent jobs (base models), run in-process or on Ray, through the artifact cache.

The Im and Sixt agents need populations of base models (Issue 16; Chen et al. 2022 train their
agents across models, not across images of one model). Training them is a map over independent
jobs. :func:`map_jobs` runs it

* in-process (the default), one job after another, or
* on Ray (``backend="ray"``): a local Ray with ``workers`` CPUs, or the cluster at ``address``;
  each job asks for one CPU and, where the driver sees a GPU, ``gpus_per_job`` of a GPU.

Either way every finished job is written to the artifact cache (:mod:`xaibook.cache`) by the
driver as soon as it arrives, so a rerun, an interrupted run or a lost worker recomputes only
what is missing (Ray retries a task whose worker died). Each job runs with one torch thread
(:data:`JOB_THREADS`) in both backends, so the two give the same numbers. No scheduling of our
own: Ray places the tasks.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .. import config
from ..cache import default_cache
from ..errors import ParameterError
from ..progress import bar

BACKENDS = ("inprocess", "ray")
JOB_THREADS = 1
"""Torch threads per job, in both backends (float sums depend on the thread count)."""

_ENV = ("XAIBOOK_CACHE", "XAIBOOK_SCALE", "XAIBOOK_DATA", "XAIBOOK_DEVICE", "XAIBOOK_LEDGER")


@dataclass
class JobStats:
    """What the last :func:`map_jobs` call did: jobs computed, loaded from the cache, wall seconds."""

    backend: str
    computed: int
    cached: int
    seconds: float
    workers: int


LAST: dict[str, JobStats] = {}


def _run(fn: Callable[[dict], Any], params: dict) -> tuple[Any, float, int]:
    """One job with :data:`JOB_THREADS` torch threads: ``(value, seconds, peak RSS in bytes)``."""
    import resource

    import torch

    before = config.configure_threads()  # so a config.device() inside the job leaves JOB_THREADS alone
    torch.set_num_threads(JOB_THREADS)
    t0 = time.perf_counter()
    try:
        value = fn(dict(params))
    finally:
        torch.set_num_threads(before)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return value, time.perf_counter() - t0, rss


def _ray_init(address: str | None, workers: int) -> Any:
    import ray

    if ray.is_initialized():
        return ray
    env = {k: os.environ[k] for k in _ENV if k in os.environ}
    env.update(XAIBOOK_PROGRESS="0", XAIBOOK_THREADS=str(JOB_THREADS))
    kwargs: dict[str, Any] = dict(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False,
                                  configure_logging=False, runtime_env={"env_vars": env})
    if address:
        kwargs["address"] = address
    else:
        kwargs.update(num_cpus=workers, object_store_memory=100 * 1024 ** 2)
    ray.init(**kwargs)
    return ray


def shutdown() -> None:
    """Stop the local Ray this process started (no-op when none runs)."""
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is a declared dependency
        return
    if ray.is_initialized():
        ray.shutdown()


def map_jobs(name: str, fn: Callable[[dict], Any], jobs: Sequence[dict], *, backend: str = "inprocess",
             workers: int = 2, address: str | None = None, gpus_per_job: float | None = None,
             desc: str | None = None, fmt: str = "pkl", timings: list | None = None) -> list[Any]:
    """``[fn(job) for job in jobs]``, each result cached under ``(name, job)``; missing ones computed.

    Args:
        name: the cache entry name (e.g. ``"simulate.sixt2022.base_model"``).
        fn: a module-level function of one dict (Ray pickles it by reference).
        jobs: one dict of plain values per job; it is the job's cache key.
        backend: ``"inprocess"`` or ``"ray"``.
        workers: CPUs of the local Ray (ignored with ``address``).
        address: a Ray cluster (``"ray://host:10001"`` or ``"auto"``); None starts a local Ray.
        gpus_per_job: GPU share per job on Ray (default: 1 when CUDA is visible, else 0).
        timings: if a list, one ``{"seconds", "rss_bytes"}`` per computed job is appended.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"backend={backend!r}; use one of {BACKENDS}")
    if not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers must be a positive int, got {workers!r}")
    jobs = [dict(j) for j in jobs]
    cache = default_cache()
    missing = [i for i, j in enumerate(jobs) if not cache.has(name, j, fmt)]
    t0 = time.perf_counter()
    done: dict[int, Any] = {}

    def store(i: int, value: Any, seconds: float, rss: int) -> None:
        done[i] = cache.get_or_compute(name, jobs[i], lambda: value, fmt)
        if timings is not None:
            timings.append({"seconds": seconds, "rss_bytes": rss})

    label = desc or name
    if missing and backend == "inprocess":
        for i in bar(missing, desc=label, unit="job"):
            store(i, *_run(fn, jobs[i]))
    elif missing:
        ray = _ray_init(address, workers)
        if gpus_per_job is None:
            import torch

            gpus_per_job = 1.0 if torch.cuda.is_available() else 0.0
        remote = ray.remote(num_cpus=1, num_gpus=gpus_per_job, max_retries=3)(_run)
        fn_ref = ray.put(fn)
        pending = {remote.remote(fn_ref, jobs[i]): i for i in missing}
        progress = bar(total=len(missing), desc=f"{label} (Ray)", unit="job")
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                store(pending.pop(ref), *ray.get(ref))
                progress.update(1)
        progress.close()
    out = [done[i] if i in done else cache.get_or_compute(name, jobs[i], lambda: fn(jobs[i]), fmt)
           for i in range(len(jobs))]
    LAST[name] = JobStats(backend, len(missing), len(jobs) - len(missing), time.perf_counter() - t0,
                          workers if backend == "ray" else 1)
    return out
