"""The procedural world: a batched block renderer with ground truth and its scene generators.

``render.py`` draws batches of rounded blocks (:class:`~xaibook.world.render.Blocks`) into
images with part labels, instance ids and depth; ``two4two.py`` builds Sixt et al.'s (2022)
Peeky and Stretchy on it. Run ``python -m xaibook.world --help`` for the dataset generators.
"""
from __future__ import annotations

from .render import Blocks, Light, Rendered, boxes_from_instances, render

__all__ = ["Blocks", "Light", "Rendered", "render", "boxes_from_instances"]
