"""Explanations, one module per method, one calling convention:
``method(model, images, targets, **params)`` on a batch (images ``[B,3,H,W]`` in [0,1],
targets ``[B]`` long) returning maps ``[B,1,H,W]`` at the input resolution
(``nearest_neighbours`` returns indices and distances).

The functions are imported eagerly: a submodule named like its function (``gradcam.py``)
would otherwise replace the function as the package attribute once it is imported.
"""
from __future__ import annotations

from .extremal import extremal_perturbation
from .gradcam import gradcam
from .gradient import gradient
from .lrp import lrp
from .neighbours import nearest_neighbours
from .oracle import oracle
from .salient_object import salient_object
from .smoothgrad import smoothgrad

__all__ = ["gradient", "smoothgrad", "gradcam", "extremal_perturbation", "lrp", "salient_object",
           "nearest_neighbours", "oracle"]
