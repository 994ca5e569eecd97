"""Explanations, one module per method, one calling convention:
``method(model, images, targets, **params)`` on a batch (images ``[B,3,H,W]`` in [0,1],
targets ``[B]`` long) returning maps ``[B,1,H,W]`` at the input resolution
(``nearest_neighbours`` returns indices and distances).
"""
from __future__ import annotations

import importlib

_WHERE = {
    "gradient": "gradient",
    "smoothgrad": "smoothgrad",
    "gradcam": "gradcam",
    "extremal_perturbation": "extremal",
    "lrp": "lrp",
    "salient_object": "salient_object",
    "nearest_neighbours": "neighbours",
    "oracle": "oracle",
}

__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'xaibook.explain' has no attribute {name!r}")
