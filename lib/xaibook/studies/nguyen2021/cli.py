"""``python -m xaibook.studies.nguyen2021 summarize PATH [PATH ...]``: per-method accuracy of
the kept participants of Gorilla exports, as CSV on stdout (errors: one ``error:`` line, exit 2)."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Sequence

import pandas as pd

from ...data import gorilla
from ...errors import DataFormatError, ParameterError, XaibookError
from .human import apply_exclusion, find_bad_user_lists, method_summary


SUMMARY_COLUMNS = ("dataset", "method", "users", "mean", "sd", "natural_correct", "natural_total",
                   "adversarial_correct", "adversarial_total")


def summarize(paths: Sequence[Path | str], population: str | None = None) -> pd.DataFrame:
    """The CLI's table: one row per dataset and method, columns :data:`SUMMARY_COLUMNS`.

    Applies the exclusion rule (:func:`apply_exclusion`, including ``*_bad_users.csv`` lists
    found in the given folders). Lay users and experts are never pooled: if one dataset and
    method holds test trials of both, pass ``population`` (``lay`` or ``expert``).
    """
    if population not in (None, "lay", "expert"):
        raise ParameterError(f"population must be 'lay', 'expert' or None, not {population!r}")
    trials = gorilla.load_exports(paths)
    bad: set[str] = set()
    for f in find_bad_user_lists(paths):
        bad |= gorilla.read_bad_users(f)
    test = apply_exclusion(trials, bad)
    if population is not None:
        test = test[test["population"] == population]
    if test.empty:
        raise DataFormatError("the exports hold no test trials of a kept participant"
                              + (f" in population {population!r}" if population else "")
                              + " (validation-only exports cannot be summarised)")
    summary = method_summary(test)
    mixed = summary.groupby(["dataset", "method"])["population"].nunique()
    mixed = mixed[mixed > 1]
    if len(mixed):
        d, m = mixed.index[0]
        raise DataFormatError(f"{d}/{m} has test trials of both lay users and experts; "
                              "pass --population lay or --population expert")
    return summary[list(SUMMARY_COLUMNS)]


def format_summary(table: pd.DataFrame) -> str:
    """CSV text: header line, then one row per dataset and method; accuracies with 2 decimals."""
    t = table[list(SUMMARY_COLUMNS)].copy()
    for c in ("users", "natural_correct", "natural_total", "adversarial_correct", "adversarial_total"):
        t[c] = t[c].astype(int)
    return t.to_csv(index=False, float_format="%.2f", lineterminator="\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m xaibook.studies.nguyen2021``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m xaibook.studies.nguyen2021",
                                     description="Nguyen et al. 2021: summaries of the original Gorilla exports.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("summarize", help="per-method accuracy of the kept participants, as CSV on stdout")
    s.add_argument("paths", nargs="+", help="Gorilla export files or folders (searched recursively)")
    s.add_argument("--population", choices=("lay", "expert"), default=None,
                   help="only lay users or only experts (needed when both took the same dataset and method)")
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", gorilla.IncompleteParticipantWarning)
            table = summarize(args.paths, population=args.population)
    except XaibookError as err:
        print("error: " + " ".join(str(err).split()), file=sys.stderr)
        return 2
    for w in caught:
        if issubclass(w.category, gorilla.IncompleteParticipantWarning):
            print("warning: " + " ".join(str(w.message).split()), file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    sys.stdout.write(format_summary(table))
    return 0
