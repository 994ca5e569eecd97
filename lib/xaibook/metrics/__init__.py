"""Automatic metrics for explanations and the AI-only baseline (Nguyen et al. 2021, Sec. 2.3, 2.5).

``pointing_game``, ``iou`` and ``wsl`` score maps against human boxes or masks;
``threshold_sweep`` is the AI-only confidence-threshold rule; ``deletion`` and
``insertion`` are the RISE perturbation curves.
"""
from __future__ import annotations

from .deletion import CurveResult, deletion, insertion
from .localisation import PointingResult, SweepResult, iou, pointing_game, wsl
from .threshold import ThresholdSweep, threshold_sweep

__all__ = ["pointing_game", "iou", "wsl", "threshold_sweep", "deletion", "insertion",
           "PointingResult", "SweepResult", "ThresholdSweep", "CurveResult"]
