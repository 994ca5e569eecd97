"""Stimulus sets for study platforms: trial screens as image files plus one manifest CSV.

    >>> from xaibook.stimuli import write_stimulus_set, load_manifest
    >>> manifest = write_stimulus_set(out, trials, images, maps=maps, neighbours=nbs)
    >>> load_manifest(manifest)   # checks the columns and that every file exists

See :mod:`xaibook.stimuli.export` (columns: :data:`MANIFEST_COLUMNS`).
"""
from __future__ import annotations

from .export import (CONDITIONS, MANIFEST_COLUMNS, compose_panel, decision_text, load_manifest,
                     write_stimulus_set)

__all__ = ["CONDITIONS", "MANIFEST_COLUMNS", "compose_panel", "decision_text", "load_manifest", "write_stimulus_set"]
