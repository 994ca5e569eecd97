"""Adversarial examples: PGD under an L-infinity bound through foolbox, and the JPEG round trip.

``pgd`` attacks a batch; ``pgd_then_jpeg`` attacks, saves as JPEG in memory, re-classifies and
keeps only the images still misclassified (Nguyen et al. 2021, Sec. 2.4.3).
"""
from __future__ import annotations

from . import jpeg
from .pgd import AdversarialSet, classify, pgd, pgd_then_jpeg

__all__ = ["pgd", "pgd_then_jpeg", "classify", "AdversarialSet", "jpeg"]
