"""The chapter's analysis on study-kit answers: one call for a table, one for a folder of CSVs.

    >>> results = analyse(read_studykit("downloads/"))      # dict of the chapter's tables
    >>> analyse_folder("nguyen2021", "downloads/")            # the same, shown in a notebook

Each study's own functions do the work (:mod:`xaibook.studies.nguyen2021.human`,
``xaibook.studies.<study>.responses``), so a class's data go through the code the chapter runs.
"""
from __future__ import annotations

import html
import importlib
from pathlib import Path

import pandas as pd

from ..errors import DataFormatError, DataNotFoundError


def _nguyen(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Nguyen et al.: the chapter's per-method accuracy (Fig. 1b, Table 1) and its breakdowns."""
    from ..studies.nguyen2021 import human

    test = trials[trials["phase"] == "test"].assign(correct=lambda d: d["correct"].astype(bool),
                                                   ai_correct=lambda d: d["ai_correct"].astype(bool))
    out = {"accuracy by method (%)": human.method_summary(test)}
    if "difficulty" in test.columns and test["image_type"].eq("natural").any():
        out["accuracy by difficulty, natural images (%)"] = human.difficulty_accuracy(test)
    if test["known"].notna().any():
        out["accuracy on known and unknown classes (%)"] = human.known_unknown(test)
    return out


def _study_summary(study: str):
    if study == "nguyen2021":
        return _nguyen
    try:
        module = importlib.import_module(f"xaibook.studies.{study}.responses")
    except ModuleNotFoundError:
        raise DataFormatError(f"study {study!r} has no analysis of study-kit answers "
                              "(xaibook.studies.<study>.responses.summary)") from None
    return module.summary


def analyse(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The chapter's tables for a trial table of one study (e.g. from :func:`read_studykit`)."""
    studies = sorted(set(trials["study"]))
    if len(studies) != 1:
        raise DataFormatError(f"analyse one study at a time; these trials hold {studies}")
    return _study_summary(studies[0])(trials)


class Results(dict):
    """The tables of :func:`analyse_folder` (a dict), shown in a notebook with their titles."""

    note: str = ""

    def _repr_html_(self) -> str:
        parts = [f"<p>{html.escape(self.note)}</p>"] if self.note else []
        for title, table in self.items():
            parts.append(f"<h4>{html.escape(title)}</h4>" + table.to_html(index=False, float_format="%.1f",
                                                                          na_rep="", escape=True))
        return "".join(parts)

    def __repr__(self) -> str:
        return "\n\n".join([self.note] + [f"{k}\n{v.to_string(index=False)}" for k, v in self.items()])


def analyse_folder(study: str, folder: Path | str | None, manifest: Path | str | None = None) -> Results:
    """Read every study-kit file of ``study`` in ``folder`` (``studykit-<study>-*.csv``) and analyse them.

    With ``folder`` None (the book's default) the result only says how to point it at a folder.
    """
    from ..data.responses import read_studykit

    out = Results()
    if folder is None:
        out.note = (f"No folder given: take the study above, download your answers (or collect a class's CSVs) "
                    f"into a folder and set folder to it, e.g. analyse_folder({study!r}, '~/Downloads').")
        return out
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataNotFoundError(f"folder {folder} does not exist; give the folder holding the downloaded CSVs")
    files = sorted(folder.glob(f"studykit-{study}-*.csv"))
    if not files:
        out.note = f"No study-kit file of {study} (studykit-{study}-*.csv) in {folder} yet."
        return out
    trials = read_studykit(files, manifest=manifest)
    done = trials.groupby("participant")["complete"].first()
    out.note = (f"{len(files)} file(s), {len(done)} participant(s) ({int(done.sum())} complete, "
                f"{int((~done).sum())} incomplete and kept), {len(trials)} answers; source: "
                f"{', '.join(sorted(set(trials['source'])))}.")
    out.update(analyse(trials))
    return out
