"""The stimulus manifest: one CSV, one row per trial screen, read the same way by every study.

Every chapter that builds stimuli writes one with :func:`write_manifest`, and the study kit
(jsPsych) and the chapters read it with :func:`load_manifest`. Its columns are documented once,
in :data:`GENERIC_COLUMNS`, and rendered into the ``README.txt`` written beside each manifest.

    >>> path = write_manifest(rows, out, extra_columns={"ai_label": "the AI's label"})
    >>> screens = load_manifest(path)      # validated; options and examples as lists

Rules the loader enforces (each error names the CSV line, the trial_id and the column):

- every column of :data:`GENERIC_COLUMNS` is present; other columns are the study's own and
  are kept, after the generic ones (names ending in ``_id`` are read as text);
- ``phase`` is one of :data:`PHASES`;
- ``options`` is a JSON list of distinct non-empty strings in the order shown, and ``answer``
  is one of them (or empty for a screen without a right answer, such as a rating);
- a trial_id is unique per study and condition, whatever its phase: responses are joined
  back to the manifest on (study, condition, trial_id);
- every file named (``stimulus``, ``image``, ``explanation``, ``examples``) is a relative path
  below the manifest's folder and exists.

Why JSON lists for ``options`` and ``examples``: one column holds any number of items, a
label may contain commas or ``|``, jsPsych's ``choices`` is ``JSON.parse(row.options)``
as is, and a spreadsheet shows ``["Yes", "No"]`` readably (``option_1..k`` columns would
be ragged across studies and need reassembling before every plugin call).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path, PurePosixPath
from typing import Mapping

import pandas as pd

from ..cache import atomic_write
from ..errors import DataFormatError, DataNotFoundError, ParameterError

#: The generic manifest's columns, in order, and what each holds (also written to README.txt).
GENERIC_COLUMNS: dict[str, str] = {
    "study": "key of the study the screen belongs to, e.g. nguyen2021",
    "trial_id": "identifier of the trial, unique per study and condition (whatever the phase); "
                "file names built from it carry no answer",
    "condition": "the between-participant treatment the screen belongs to, e.g. GradCAM or 3-NN",
    "phase": "study phase: training (practice with feedback), validation (attention checks), "
             "test (scored trials)",
    "stimulus": "the whole screen composed as one image file, or empty when the platform lays out "
                "the parts itself",
    "image": "the main input image alone (required)",
    "explanation": "the explanation image shown with it (e.g. a heatmap), or empty",
    "examples": "example images shown with it (e.g. nearest training images) as a JSON list, "
                "[] when none",
    "question": "the question put to the participant on this screen",
    "options": "the answer options as a JSON list, in the order shown, e.g. [\"Yes\", \"No\"]",
    "answer": "the correct option (one of options), or empty when the screen has no right answer",
}
#: The manifest format's version: part of the cache key of every exported stimulus set, so a
#: set cached in an older format is written again rather than refused by :func:`load_manifest`
#: (version 1 was Nguyen et al.'s own manifest, before the generic one).
FORMAT_VERSION = 2
#: The phases a screen can belong to.
PHASES = ("training", "validation", "test")
#: Columns holding file paths (relative to the manifest, '/'-separated).
FILE_COLUMNS = ("stimulus", "image", "explanation", "examples")
_LIST_COLUMNS = ("options", "examples")
_NONEMPTY = ("study", "trial_id", "condition", "question", "image")
_MAX_LISTED = 10


def _text(value) -> str:
    """A cell as text; missing cells (NaN, None) as ''."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _as_list(value, column: str) -> list:
    """A list cell from a list/tuple or its JSON text; raises ValueError with the reason."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    else:
        text = _text(value).strip()
        if column == "examples" and text == "":
            return []
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"{text!r} is not a JSON list; write it like [\"Yes\", \"No\"]") from None
        if not isinstance(items, list):
            raise ValueError(f"{text!r} is not a JSON list; write it like [\"Yes\", \"No\"]")
    if not all(isinstance(x, str) and x.strip() for x in items):
        raise ValueError(f"{items!r} must hold non-empty strings only")
    return items


def _row_problems(rec: dict, where: str, root: Path | None) -> list[str]:
    """The problems of one row, each naming ``where`` (line/row and trial_id) and the column."""
    out: list[str] = []

    def bad(column: str, problem: str) -> None:
        out.append(f"{where}, column {column!r}: {problem}")

    for c in _NONEMPTY:
        if _text(rec[c]).strip() == "":
            bad(c, "is empty; every screen needs one")
    if _text(rec["phase"]) not in PHASES:
        bad("phase", f"unknown phase {_text(rec['phase'])!r}; use one of {list(PHASES)}")
    lists = {}
    for c in _LIST_COLUMNS:
        try:
            lists[c] = _as_list(rec[c], c)
        except ValueError as e:
            bad(c, str(e))
    options = lists.get("options")
    if options is not None:
        if not options:
            bad("options", "is an empty list; list the answer options in the order shown")
        elif len(set(options)) < len(options):
            bad("options", f"{options} repeats an option; each must be distinct")
        answer = _text(rec["answer"])
        if answer and answer not in options:
            bad("answer", f"{answer!r} is not among the options {options}; make the key one of them "
                          "(same spelling) or leave it empty for a screen without a right answer")
    files = [(c, _text(rec[c])) for c in ("stimulus", "image", "explanation")]
    files += [("examples", f) for f in lists.get("examples") or []]
    for c, f in files:
        if not f:
            continue
        p = PurePosixPath(f)
        if p.is_absolute() or "\\" in f or ".." in p.parts:
            bad(c, f"{f!r} must be a '/'-separated path relative to the manifest's folder")
        elif root is not None and not (root / p).is_file():
            bad(c, f"file {f!r} is missing from {root}; write it there or fix the path")
    return out


def validate_manifest(frame: pd.DataFrame, *, root: Path | None = None, source: str = "manifest",
                      lines: list[int] | None = None) -> None:
    """Raise :class:`DataFormatError` listing what is wrong with a manifest frame.

    ``root``: the manifest's folder, to check that the files exist (None: don't). ``lines``:
    each row's line in the CSV file, to name rows by line instead of by position in ``frame``.
    """
    missing = [c for c in GENERIC_COLUMNS if c not in frame.columns]
    if missing:
        hint = ""
        if "study" in missing and {"stimulus", "ai_correct"} <= set(frame.columns):
            hint = (" This is a Nguyen stimulus set written before the generic manifest: rebuild it "
                    "(python -m xaibook.cache clear nguyen2021.stimuli, then rerun export_stimuli).")
        raise DataFormatError(f"{source} lacks the required column(s) {missing}; add them (meanings in "
                              f"xaibook.stimuli.GENERIC_COLUMNS, required: {list(GENERIC_COLUMNS)}).{hint}")
    problems: list[str] = []
    first: dict[tuple[str, str, str], str] = {}
    for i, rec in enumerate(frame.to_dict("records")):
        label = f"line {lines[i]}" if lines is not None else f"row {i}"
        where = f"{label} (trial_id {_text(rec['trial_id'])!r})"
        problems += _row_problems(rec, where, root)
        key = (_text(rec["study"]), _text(rec["condition"]), _text(rec["trial_id"]))
        if key in first:
            problems.append(f"{where}, column 'trial_id': duplicate id in study {key[0]!r}, condition "
                            f"{key[1]!r} (first at {first[key]}); a trial_id must be unique per condition, "
                            "so rename one of them")
        else:
            first[key] = label
    if problems:
        more = f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        raise DataFormatError(f"{source}: {len(problems)} problem(s):\n  "
                              + "\n  ".join(problems[:_MAX_LISTED]) + more)


def _record_lines(path: Path) -> list[int]:
    """The file line on which each data record of a CSV starts (the header is line 1)."""
    starts = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        end = reader.line_num
        for row in reader:
            if row:  # pandas skips blank lines too
                starts.append(end + 1)
            end = reader.line_num
    return starts


def readme(extra_columns: Mapping[str, str] | None = None, extras: list[str] = (), name: str = "manifest.csv") -> str:
    """The README.txt text: the generic columns, then the study's own (``extras``)."""
    docs = dict(extra_columns or {})
    text = (f"Stimulus manifest: one row per trial screen in {name}.\n"
            "File paths are relative to this folder; options and examples are JSON lists.\n\n"
            "Columns (generic, every study):\n" + "".join(f"  {k}: {v}\n" for k, v in GENERIC_COLUMNS.items()))
    if extras:
        text += "\nColumns of this study:\n" + "".join(
            f"  {k}: {docs.get(k, 'study column (undocumented)')}\n" for k in extras)
    return text


def write_manifest(rows: pd.DataFrame, out: Path | str, *, extra_columns: Mapping[str, str] | None = None,
                   name: str = "manifest.csv") -> Path:
    """Validate ``rows`` and write ``<out>/<name>`` and ``<out>/README.txt`` atomically.

    Args:
        rows: one row per screen with every column of :data:`GENERIC_COLUMNS` (``options`` and
            ``examples`` as lists or JSON text) plus any study columns.
        out: the folder the file paths in ``rows`` are relative to (the files must exist).
        extra_columns: meanings of the study columns, for README.txt.

    Returns:
        the manifest's path. Generic columns come first, study columns after, in their order.
    """
    if not isinstance(rows, pd.DataFrame):
        raise ParameterError(f"rows must be a DataFrame, got {type(rows).__name__}")
    out = Path(out)
    validate_manifest(rows, root=out, source=f"rows for {out / name}")
    frame = rows.reset_index(drop=True).copy()
    for c in _LIST_COLUMNS:
        frame[c] = [json.dumps(_as_list(v, c)) for v in frame[c]]
    extras = [c for c in frame.columns if c not in GENERIC_COLUMNS]
    frame = frame[list(GENERIC_COLUMNS) + extras]
    path = out / name
    atomic_write(path, frame.to_csv(index=False).encode())
    atomic_write(out / "README.txt", readme(extra_columns, extras, name).encode())
    return path


def load_manifest(path: Path | str, check_files: bool = True) -> pd.DataFrame:
    """Read a manifest, validate it and return it, ``options`` and ``examples`` as lists.

    Raises :class:`DataNotFoundError` when the file is missing and :class:`DataFormatError`
    listing every problem (CSV line, trial_id, column, what to do) otherwise;
    ``check_files=False`` skips checking that the listed files exist.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"stimulus manifest {path} does not exist; write it with write_manifest() "
                                "(or a study's exporter, e.g. write_stimulus_set())")
    try:
        header = pd.read_csv(path, nrows=0).columns
        text = [c for c in header if c in GENERIC_COLUMNS or c.endswith("_id")]
        df = pd.read_csv(path, dtype={c: str for c in text}, keep_default_na=False,
                         na_values={c: [""] for c in header if c not in text})
        lines = _record_lines(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as e:
        raise DataFormatError(f"{path} is not a readable CSV ({e}); write it with write_manifest()") from None
    validate_manifest(df, root=path.parent if check_files else None, source=str(path),
                      lines=lines if len(lines) == len(df) else None)
    for c in _LIST_COLUMNS:
        df[c] = [_as_list(v, c) for v in df[c]]
    return df
