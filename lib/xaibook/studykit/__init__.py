"""The study kit: any chapter's trials as a jsPsych 8 web study, and its answers back in the book.

    >>> from xaibook import studykit
    >>> studykit.export("nguyen2021", "class-study", trials=6)     # a static folder, runs offline
    >>> trials = xaibook.data.responses.read_studykit("downloads/") # tidy trial table, key from the export
    >>> studykit.analyse_folder("nguyen2021", "downloads/")          # the same, shown in a notebook
    >>> studykit.analyse(trials)                                   # the chapter's own analysis
    >>> studykit.demo("nguyen2021")                                # in a chapter: embedded demo + download

Command line: ``python -m xaibook.studykit export STUDY --out DIR [--conditions ...] [--trials N] [--seed S]``.
"""
from __future__ import annotations

from .analysis import Results, analyse, analyse_folder
from .build import available_studies, export, library_files, select, study_manifest
from .embed import Demo, demo
from .studies import SPECS, KitSpec, spec

__all__ = ["SPECS", "Demo", "KitSpec", "Results", "analyse", "analyse_folder", "available_studies", "demo", "export",
           "library_files", "select", "spec", "study_manifest"]
