"""xaibook: the shared library of the executable monograph on explanations with real people.

Data flows one way: world or real data -> models -> predictions -> explanations / attacks
-> trials -> stimuli -> (human or simulated) responses -> statistics -> figures.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from . import config, errors  # noqa: E402  (light modules, always loaded)

config.configure_openmp()  # before torch loads: on a busy machine, passive and bound OpenMP threads

_LAZY = {"cache", "progress", "world", "data", "models", "explain", "attack", "metrics", "stats", "viz",
         "studies", "stimuli", "ledger"}


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'xaibook' has no attribute {name!r}")
