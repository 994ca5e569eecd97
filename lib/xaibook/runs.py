"""Run plumbing shared by every study: the plan type and the step timer.

A study's **plan** is one frozen dataclass of sizes picked by the scale
(``config.scale().pick(smoke=..., default=..., paper=...)``); it derives from :class:`Plan`,
names the paper's sizes in ``PAPER`` and shows both with :meth:`Plan.table`.

A **step** is one expensive stage of a pipeline (train the classifier, explain the trials).
:func:`timed` runs it and remembers two times: the first, cold-cache time, stored in the
artifact cache beside the step's artifacts and keyed by the sizes the step uses (so an
unrelated size change keeps it), and this process's time (short when the step was cached).
:func:`timings` shows both for a study, in the order the steps ran.

Keys on data use the cache's one digest, :func:`xaibook.cache.digest`.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, fields
from typing import Any, Callable, ClassVar, TypeVar

import pandas as pd

T = TypeVar("T")

_TIMINGS: dict[str, dict[str, dict]] = {}


@dataclass(frozen=True)
class Plan:
    """Base of the studies' plans: a frozen dataclass of sizes with the paper's beside them.

    Subclasses are frozen dataclasses; ``PAPER`` maps a field name to the paper's setting
    (text or number) for :meth:`table`.
    """

    PAPER: ClassVar[dict[str, Any]] = {}

    def table(self) -> pd.DataFrame:
        """One row per setting: this run's value beside the paper's."""
        rows = []
        for f in fields(self):
            v = getattr(self, f.name)
            shown = "all" if v is None else (", ".join(map(str, v)) if isinstance(v, tuple) else v)
            rows.append({"setting": f.name, "this run": shown, "paper": self.PAPER.get(f.name, "")})
        return pd.DataFrame(rows).astype(str)

    def sizes(self) -> dict[str, Any]:
        """The plan as a plain dict (for cache keys and timing keys)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def timed(study: str, step: str, key: dict, compute: Callable[[], T]) -> T:
    """Run ``compute()`` as the step ``step`` of ``study``; remember its cold and current times.

    ``key`` holds the sizes the step depends on. The first time the step runs with that key
    (a cold cache) its wall time is stored in the artifact cache; later runs show it beside
    their own, shorter time.
    """
    from . import cache

    t0 = time.perf_counter()
    value = compute()
    seconds = time.perf_counter() - t0
    first = cache.cached(f"{study}_timing", {"step": step, "key": key}, lambda: {"seconds": seconds}, fmt="pkl")
    _TIMINGS.setdefault(study, {}).setdefault(
        step, {"step": step, "first_run_s": first["seconds"], "this_run_s": 0.0})
    _TIMINGS[study][step]["this_run_s"] += seconds
    return value


def step(study: str, name: str, key: Callable[..., dict]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: run the function as the step ``name`` of ``study`` through :func:`timed`;
    ``key(*args, **kwargs)`` gives the sizes the step depends on."""
    def deco(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            return timed(study, name, key(*args, **kwargs), lambda: fn(*args, **kwargs))
        return wrapper
    return deco


def timings(study: str, reset: bool = False) -> pd.DataFrame:
    """The study's steps in the order they ran: cold-cache time and this process's time (s)."""
    rows = list(_TIMINGS.get(study, {}).values())
    if reset:
        _TIMINGS.pop(study, None)
    return pd.DataFrame(rows, columns=["step", "first_run_s", "this_run_s"])
