"""Stimulus sets for study platforms: trial screens as image files plus ONE generic manifest CSV.

    >>> from xaibook.stimuli import write_manifest, load_manifest, write_stimulus_set
    >>> path = write_manifest(rows, out)            # any study: validated, atomic, with README.txt
    >>> manifest = write_stimulus_set(out, trials, images, maps=maps, neighbours=nbs)  # Nguyen et al.
    >>> load_manifest(manifest)                     # validated: columns, phases, answer key, ids, files

The manifest's columns are documented once, in :data:`GENERIC_COLUMNS`
(:mod:`xaibook.stimuli.manifest`); Nguyen et al.'s set adds :data:`NGUYEN_COLUMNS`
(:mod:`xaibook.stimuli.export`).
"""
from __future__ import annotations

from .export import (CONDITIONS, MANIFEST_COLUMNS, NGUYEN_COLUMNS, compose_panel, decision_text,
                     write_stimulus_set)
from .manifest import GENERIC_COLUMNS, PHASES, load_manifest, validate_manifest, write_manifest

__all__ = ["CONDITIONS", "GENERIC_COLUMNS", "MANIFEST_COLUMNS", "NGUYEN_COLUMNS", "PHASES", "compose_panel",
           "decision_text", "load_manifest", "validate_manifest", "write_manifest", "write_stimulus_set"]
