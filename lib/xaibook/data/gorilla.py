"""Gorilla.sc exports of the Nguyen et al. (2021) user study, read into the tidy trial table.

The study ran on Gorilla (paper Sec. 2.4 and appendix A11): each participant saw
instructions, 5 training trials with feedback, 10 validation trials (attention checks)
and 30 test trials. On every validation and test trial the participant first answered
"Have you ever seen a X before?" (``Screen 1``), then saw the image, the AI's top-1 label
with its confidence and, depending on the condition, one explanation, and answered
whether the label is right (``Screen 3``, Yes = accept, No = reject).

Gorilla writes one CSV per task node; a row is one screen event. This module turns a set
of such files into the rows of :mod:`xaibook.data.responses`, one per decision.

The answer key comes from the stimulus file names, never from Gorilla's ``Correct``
column (which was not set up as the answer key for test trials):

* test images ``{predicted}_ILSVRC2012_val_{id}_{true}_{conf}.jpeg`` (natural) and
  ``{predicted}_ILSVRC2012_val_{id}_{true}_{true index}_{predicted index}_{conf}.jpeg``
  (adversarial: the two extra ImageNet class indices of the PGD images, Sec. 2.4.3);
* validation images ``{predicted}_{true}_{id}_{true}_{conf}.jpeg`` (plus the two indices for
  the adversarial Dogs validation images, Fig. A6);
* training images ``{predicted label}_{conf}_{true label}.jpeg`` (labels, not wnids).

``conf`` is the AI's top-1 confidence in whole percent. The AI was right when the
predicted and true class agree.

Incomplete data (decided here, used by every reader of the exports):

* Gorilla closes every export with an ``END OF FILE`` line. A file without it was cut
  (an interrupted download or copy) and is refused with a ``DataFormatError`` naming the
  file: a cut file still parses, and would be summarised as if it held every participant.
* A participant who answered fewer test trials than the design's :data:`TEST_TRIALS` (30,
  Sec. 2.4), e.g. who left the experiment early, is kept, but flagged: the trial table's
  ``test_trials`` column holds how many test trials the participant answered in that task
  node and ``test_complete`` whether that is the full design (both missing in nodes without
  a test phase), and :func:`load_exports` issues one :class:`IncompleteParticipantWarning`
  naming each such participant and file (the command line prints it on stderr). More test
  trials than the design is an error.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import DataFormatError, DataNotFoundError
from . import responses

# --------------------------------------------------------------------------------------
# Task names
# --------------------------------------------------------------------------------------

#: Gorilla's spelling of the image set (first part of a task name) -> the book's name.
DATASETS = {"Natural": "ImageNet", "Dog": "Dogs"}
#: Gorilla's spelling of the condition (second part of a task name) -> the book's name.
#: ``Confidence`` is the no-explanation baseline (image, label and confidence only).
METHODS = {"Confidence": "Confidence", "GradCAM": "GradCAM", "EP": "EP", "SOD": "SOD", "NNs": "3-NN"}
#: Order in which methods are reported (paper Fig. 1b).
METHOD_ORDER = ("Confidence", "GradCAM", "EP", "SOD", "3-NN")


@dataclass(frozen=True)
class Task:
    """What one Gorilla task node holds: image set, condition, who took it, which phases."""

    name: str
    dataset: str
    method: str
    population: str  # "lay" (Prolific users, Sec. 2.4) or "expert" (ML researchers, Sec. 3.6)
    phases: tuple[str, ...]


def _task_table() -> dict[str, Task]:
    table: dict[str, Task] = {}
    # Lay-user study: training + validation in one node (``_Val``); a Gorilla branch node let
    # only participants who passed validation continue to the test node (``_Test``).
    for g_data, dataset in DATASETS.items():
        for g_method, method in METHODS.items():
            name = f"{g_data}_{g_method}_Val"
            table[name] = Task(name, dataset, method, "lay", ("training", "validation"))
            name = f"{g_data}_{g_method}_Test"
            table[name] = Task(name, dataset, method, "lay", ("test",))
    # Expert study (Sec. 3.6): ImageNet only, GradCAM vs 3-NN, one node with every phase.
    for g_method in ("GradCAM", "NNs"):
        name = f"Natural_{g_method}"
        table[name] = Task(name, "ImageNet", METHODS[g_method], "expert", ("training", "validation", "test"))
    return table


#: Every task name of the study's Gorilla experiments. Unknown names are refused.
TASKS: dict[str, Task] = _task_table()


def parse_task_name(name: str, file: Path | str = "<input>") -> Task:
    """The :class:`Task` for a Gorilla ``Task Name`` such as ``Dog_SOD_Test``."""
    try:
        return TASKS[str(name).strip()]
    except KeyError:
        raise DataFormatError(
            f"{file}: unknown Gorilla task name {name!r}. Known names are "
            "{Natural,Dog}_{Confidence,GradCAM,EP,SOD,NNs}_{Val,Test} (lay users) and "
            "Natural_GradCAM / Natural_NNs (experts); is this an export of the Nguyen et al. 2021 study?"
        ) from None


# --------------------------------------------------------------------------------------
# Stimulus file names
# --------------------------------------------------------------------------------------

_WNID = r"n\d{8}"
TEST_NAME = re.compile(
    rf"^(?P<prediction>{_WNID})_ILSVRC2012_val_(?P<image>\d{{8}})_(?P<truth>{_WNID})"
    r"(?:_(?P<truth_index>\d{1,3})_(?P<prediction_index>\d{1,3}))?_(?P<confidence>\d{1,3})\.jpe?g$")
VALIDATION_NAME = re.compile(
    rf"^(?P<prediction>{_WNID})_(?P<truth>{_WNID})_(?P<image>\d+)_(?P<truth_again>{_WNID})"
    r"(?:_(?P<truth_index>\d{1,3})_(?P<prediction_index>\d{1,3}))?_(?P<confidence>\d{1,3})\.jpe?g$")
TRAINING_NAME = re.compile(r"^(?P<prediction>[^_]+)_(?P<confidence>\d{1,3})_(?P<truth>[^_]+)\.jpe?g$")


@dataclass(frozen=True)
class Stimulus:
    """What a stimulus file name says about the trial."""

    file: str
    prediction: str
    truth: str
    image_id: str | None
    confidence: float
    image_type: str  # "natural" | "adversarial"

    @property
    def ai_correct(self) -> bool:
        return self.prediction == self.truth


def parse_stimulus(name: str, phase: str, where: str = "<input>") -> Stimulus:
    """Read predicted class, true class, image id, confidence and image type from a file name.

    ``phase`` selects the naming scheme (``test``, ``validation`` or ``training``; see the
    module docstring). Raises ``DataFormatError`` naming ``where`` if the name does not parse.
    """
    name = str(name).strip()
    pattern = {"test": TEST_NAME, "validation": VALIDATION_NAME, "training": TRAINING_NAME}[phase]
    m = pattern.match(name)
    if m is None:
        raise DataFormatError(
            f"{where}: cannot parse the {phase} stimulus file name {name!r}; expected "
            + {"test": "'{predicted wnid}_ILSVRC2012_val_{8-digit id}_{true wnid}[_{i}_{j}]_{conf}.jpeg'",
               "validation": "'{predicted wnid}_{true wnid}_{id}_{true wnid}[_{i}_{j}]_{conf}.jpeg'",
               "training": "'{predicted label}_{conf}_{true label}.jpeg'"}[phase])
    g = m.groupdict()
    if phase == "validation" and g["truth_again"] != g["truth"]:
        raise DataFormatError(f"{where}: validation file name {name!r} names two different true classes")
    conf = int(g["confidence"])
    if conf > 100:
        raise DataFormatError(f"{where}: stimulus {name!r} gives a confidence of {conf}% (over 100)")
    adversarial = g.get("truth_index") is not None
    if adversarial and g["prediction"] == g["truth"]:
        raise DataFormatError(f"{where}: adversarial stimulus {name!r} is classified correctly; "
                              "every adversarial image of the study is misclassified (Sec. 2.4.3)")
    return Stimulus(file=name, prediction=g["prediction"], truth=g["truth"], image_id=g.get("image"),
                    confidence=conf / 100.0, image_type="adversarial" if adversarial else "natural")


def difficulty(ai_correct: bool, confidence: float) -> str:
    """Easy / medium / hard bin of a test image (paper Sec. 2.4.3, Table A3).

    Hard: correct with confidence in [0, 0.3) or wrong in [0.8, 1]; easy: the reverse;
    medium: confidence in [0.4, 0.6). File names round the confidence to whole percent, so
    the bins are cut in the empty gaps between them (35% and 70%).
    """
    band = "low" if confidence < 0.35 else ("medium" if confidence < 0.70 else "high")
    if band == "medium":
        return "medium"
    return "easy" if (band == "high") == bool(ai_correct) else "hard"


# --------------------------------------------------------------------------------------
# Reading exports
# --------------------------------------------------------------------------------------

#: Test trials per participant in the study's design (paper Sec. 2.4: 5 training, 10 validation, 30 test).
TEST_TRIALS = 30
#: The line Gorilla writes after the last row of every export.
END_OF_FILE = "END OF FILE"


class IncompleteParticipantWarning(UserWarning):
    """A participant answered fewer test trials than the design (:data:`TEST_TRIALS`)."""


#: Columns every task export must have.
REQUIRED_COLUMNS = ("Participant Public ID", "Task Name", "display", "Screen Name", "Zone Type",
                    "Response", "Reaction Time", "Spreadsheet Row")
_EXPORT_NAME = re.compile(r"^data_exp_\d+-v\d+_task-[A-Za-z0-9]+\.csv$")
_DISPLAY_PHASE = {"Training": "training", "Validation": "validation", "Trial": "test"}
_ANSWER = {"yes": "accept", "no": "reject"}
_KEPT_PREFIXES = ("counterbalance-", "branch-", "file_name", "train_conf")


def find_exports(paths: Iterable[Path | str] | Path | str) -> list[Path]:
    """The CSV files to read: files as given, folders searched recursively.

    In folders, only Gorilla task exports (``data_exp_<id>-v<version>_task-<key>.csv``) are
    taken; questionnaire exports (``..._questionnaire-...csv``, consent forms) and other CSVs
    (the authors' ``csv_files/``) hold no trials and are skipped. Raises
    ``DataNotFoundError`` for a path that does not exist and ``DataFormatError`` for a
    folder without any task export.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[Path] = []
    for p in map(lambda x: Path(x).expanduser(), paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*.csv") if _EXPORT_NAME.match(f.name))
            if not files:
                raise DataFormatError(
                    f"{p}: no Gorilla task export (data_exp_<id>-v<version>_task-<key>.csv) in this folder "
                    "or below; point at the 'users_data' folder of the authors' repository.")
            found.extend(files)
        elif p.is_file():
            found.append(p)
        else:
            raise DataNotFoundError(f"{p}: no such file or folder (expected Gorilla .csv exports).")
    unique: dict[Path, Path] = {}
    for f in found:
        unique.setdefault(f.resolve(), f)
    return list(unique.values())


def _read_csv(file: Path) -> pd.DataFrame:
    try:
        # only the columns the trials need: the spreadsheet's display columns (definitions,
        # sample images, ...) are many and large
        df = pd.read_csv(file, dtype=str, encoding="utf-8-sig", low_memory=False,
                         usecols=lambda c: c in REQUIRED_COLUMNS or c.startswith(_KEPT_PREFIXES))
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{file}: the file is empty; expected a Gorilla task export") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataFormatError(f"{file}: not a readable CSV export ({err})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(f"{file}: missing column(s) {missing}; is this a Gorilla task export?")
    if df.empty:
        raise DataFormatError(f"{file}: the export has a header but no rows")
    _check_end_of_file(file)
    return df


def _last_line(file: Path) -> str:
    """The last non-blank line of ``file`` (read from its end, so large exports are not read twice)."""
    size = file.stat().st_size
    with open(file, "rb") as f:
        chunk = 4096
        while True:
            f.seek(max(0, size - chunk))
            tail = f.read()
            lines = tail.rstrip(b"\r\n\t ").splitlines()
            if len(lines) > 1 or chunk >= size:
                break
            chunk *= 4
    return lines[-1].decode("utf-8", errors="replace").lstrip("\ufeff") if lines else ""


def _check_end_of_file(file: Path) -> None:
    """Refuse an export that does not end with Gorilla's ``END OF FILE`` line (a cut file)."""
    fields = [x.strip().strip('"') for x in _last_line(file).split(",")]
    if fields[0] != END_OF_FILE or any(fields[1:]):
        raise DataFormatError(
            f"{file}: the file does not end with Gorilla's '{END_OF_FILE}' line, so it is truncated (an "
            "interrupted download or copy) and would be summarised as if complete; download the export "
            "from Gorilla again.")


def _counterbalance(rows: pd.DataFrame, file: Path, participant: str) -> int | None:
    """The participant's counterbalance value: which spreadsheet column set they saw."""
    cols = [c for c in rows.columns if c.startswith("counterbalance-")]
    values = sorted({v for c in cols for v in rows[c].dropna().unique()})
    if not values:
        return None
    if len(values) > 1:
        raise DataFormatError(f"{file}: participant {participant} has several counterbalance values {values}")
    try:
        return int(float(values[0]))
    except ValueError:
        raise DataFormatError(f"{file}: participant {participant} has counterbalance {values[0]!r}, not a number") from None


def _seconds(value: object, where: str) -> float:
    """Gorilla's reaction time (ms) in seconds; an empty cell is missing, anything else must be >= 0 and finite."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    try:
        ms = float(value)
    except ValueError:
        raise DataFormatError(f"{where}: reaction time {value!r} is not a number") from None
    if not np.isfinite(ms) or ms < 0:
        raise DataFormatError(f"{where}: reaction time {value!r} is not a non-negative number of milliseconds")
    return ms / 1000.0


def _answer(value: object, where: str) -> str:
    key = str(value).strip().lower()
    if key not in _ANSWER:
        raise DataFormatError(f"{where}: response {value!r} is neither Yes nor No")
    return _ANSWER[key]


def _decision_trials(rows: pd.DataFrame, phase: str, cb: int | None, file: Path, participant: str) -> list[dict]:
    """Validation / test trials: Screen 1 = prior knowledge, Screen 3 = accept or reject."""
    out = []
    answers = rows[rows["Zone Type"] == "response_button_text"]
    if answers["Spreadsheet Row"].isna().any():
        raise DataFormatError(f"{file}: participant {participant} has {phase} answers without a 'Spreadsheet Row'")
    # A trial is one spreadsheet row (Gorilla leaves 'Trial Number' empty in some exports);
    # trials are numbered in the order the participant saw them. Plain dicts: much faster
    # than slicing the wide frame once per trial.
    by_row: dict[str, list[dict]] = {}
    for event in answers.to_dict("records"):
        by_row.setdefault(event["Spreadsheet Row"], []).append(event)
    for number, events in enumerate(by_row.values(), start=1):
        where = f"{file}: participant {participant}, {phase} trial {number}"
        decision = [e for e in events if e["Screen Name"] == "Screen 3"]
        if not decision:
            continue  # the participant left before answering this trial
        if len(decision) > 1:
            raise DataFormatError(f"{where}: {len(decision)} answers on Screen 3 (expected one)")
        d = decision[0]
        if phase == "test":
            if cb is None:
                raise DataFormatError(f"{where}: no counterbalance-* value, so the stimulus column is unknown")
            col = f"file_name{cb}"
        else:
            col = "file_name"
        if pd.isna(d.get(col, np.nan)):
            raise DataFormatError(f"{where}: no stimulus file name in column {col!r}")
        stim = parse_stimulus(d[col], phase, where)
        prior = [e for e in events if e["Screen Name"] == "Screen 1"]
        known = (_answer(prior[0]["Response"], where) == "accept") if prior else None
        response = _answer(d["Response"], where)
        out.append(dict(phase=phase, trial=number, stimulus=stim.file, truth=stim.truth,
                        prediction=stim.prediction, ai_correct=stim.ai_correct, image_type=stim.image_type,
                        confidence=stim.confidence, response=response,
                        correct=(response == "accept") == stim.ai_correct,
                        rt=_seconds(d["Reaction Time"], where), known=known, image_id=stim.image_id,
                        difficulty=difficulty(stim.ai_correct, stim.confidence) if phase == "test" else None,
                        spreadsheet_row=d.get("Spreadsheet Row")))
    return out


def _training_trials(rows: pd.DataFrame, file: Path, participant: str) -> list[dict]:
    """The 5 training trials (``Screen 2`` ... ``Screen 6``; stimulus in ``train_conf1..5``)."""
    out = []
    answers = rows[(rows["Zone Type"] == "response_button_text") & rows["Screen Name"].str.match(r"^Screen \d+$", na=False)]
    for _, d in answers.iterrows():
        k = int(d["Screen Name"].split()[1]) - 1
        where = f"{file}: participant {participant}, training trial {k}"
        col = f"train_conf{k}"
        if col not in rows.columns or pd.isna(d.get(col)):
            raise DataFormatError(f"{where}: no training stimulus in column {col!r}")
        stim = parse_stimulus(d[col], "training", where)
        response = _answer(d["Response"], where)
        out.append(dict(phase="training", trial=k, stimulus=stim.file, truth=stim.truth, prediction=stim.prediction,
                        ai_correct=stim.ai_correct, image_type=None, confidence=stim.confidence,
                        response=response, correct=(response == "accept") == stim.ai_correct,
                        rt=_seconds(d["Reaction Time"], where), known=None, image_id=None, difficulty=None,
                        spreadsheet_row=d.get("Spreadsheet Row")))
    return out


def read_export(file: Path | str) -> pd.DataFrame:
    """Read one Gorilla task export into trial-table rows (see :func:`load_exports`)."""
    file = Path(file)
    df = _read_csv(file)
    who, task = df["Participant Public ID"].notna(), df["Task Name"].notna()
    if (who != task).any():
        row = int(((who != task).to_numpy()).argmax()) + 1
        missing = "Participant Public ID" if task.iloc[row - 1] else "Task Name"
        raise DataFormatError(f"{file}: {int((who != task).sum())} row(s) have an empty {missing!r} (first: data "
                              f"row {row}), so they cannot be attributed; is the export edited or damaged?")
    df = df[who]  # drops Gorilla's "END OF FILE" line, the only row without either
    names = sorted(df["Task Name"].dropna().unique())
    if not names:
        raise DataFormatError(f"{file}: no row names a task (column 'Task Name' is empty)")
    rows: list[dict] = []
    branch_cols = [c for c in df.columns if c.startswith("branch-")]
    for name in names:
        task = parse_task_name(name, file)
        part = df[df["Task Name"] == name]
        unexpected = sorted(set(part["display"].dropna().map(_DISPLAY_PHASE).dropna()) - set(task.phases))
        if unexpected:
            raise DataFormatError(f"{file}: task {name} holds {unexpected} trials; expected only {list(task.phases)}")
        for participant, prow in part.groupby("Participant Public ID", sort=False):
            cb = _counterbalance(prow, file, participant)
            qualified = any(prow[c].dropna().eq("Qualified").any() for c in branch_cols) if branch_cols else None
            trials = []
            for display, phase in _DISPLAY_PHASE.items():
                sub = prow[prow["display"] == display]
                if sub.empty:
                    continue
                if phase == "training":
                    trials += _training_trials(sub, file, participant)
                else:
                    trials += _decision_trials(sub, phase, cb, file, participant)
            for t in trials:
                t.update(study="nguyen2021", participant=str(participant), condition=task.method,
                         dataset=task.dataset, population=task.population, task=name, counterbalance=cb,
                         gorilla_qualified=qualified, file=file.name,
                         source=f"human: Gorilla export {file.name} (Nguyen et al. 2021)")
            rows += trials
    extra = ["population", "task", "difficulty", "image_id", "counterbalance", "gorilla_qualified",
             "spreadsheet_row", "file", "test_trials", "test_complete"]
    out = pd.DataFrame(rows, columns=list(responses.COLUMNS) + extra)
    return out


def load_exports(paths: Iterable[Path | str] | Path | str) -> pd.DataFrame:
    """Read Gorilla exports (files, or folders searched recursively) into one trial table.

    Returns the columns of :data:`xaibook.data.responses.COLUMNS` (``condition`` is the
    method: Confidence, GradCAM, EP, SOD or 3-NN; ``response`` is ``accept``/``reject``;
    ``rt`` in seconds; ``known`` is the Screen-1 answer of that trial) plus ``population``
    (lay/expert), ``task`` (Gorilla task name), ``difficulty`` (easy/medium/hard, test trials),
    ``image_id``, ``counterbalance``, ``gorilla_qualified`` (the participant passed Gorilla's
    validation branch node; missing where the export has no branch column),
    ``spreadsheet_row``, ``file``, and ``test_trials`` / ``test_complete`` (how many test trials
    the participant answered in that node and whether that is the design's 30; see the module
    docstring on incomplete data).

    Raises ``DataNotFoundError`` for missing paths and ``DataFormatError`` naming the file
    and the problem for malformed exports (empty file, missing columns, unknown task name,
    unparsable stimulus file name, a participant's trial recorded twice with different answers,
    a file cut before Gorilla's ``END OF FILE`` line, a reaction time that is not a non-negative
    number). Warns (:class:`IncompleteParticipantWarning`) about participants with fewer test
    trials than the design.
    """
    files = find_exports(paths)
    if not files:
        raise DataFormatError("no Gorilla export given")
    tables = [read_export(f) for f in files]
    tables = [t for t in tables if len(t)]
    if not tables:
        raise DataFormatError(f"none of {[f.name for f in files]} holds a training, validation or test trial")
    trials = pd.concat(tables, ignore_index=True)
    key = ["participant", "task", "phase", "trial"]
    same = key + ["stimulus", "response", "rt"]
    trials = trials.drop_duplicates(subset=same, keep="first")  # the same export read twice
    clash = trials[trials.duplicated(subset=key, keep=False)]
    if len(clash):
        r = clash.iloc[0]
        files_ = sorted(set(clash[(clash["participant"] == r["participant"]) & (clash["trial"] == r["trial"])]["file"]))
        raise DataFormatError(f"participant {r['participant']} has {r['phase']} trial {r['trial']} of {r['task']} "
                              f"twice with different content (in {files_}); pass each export once")
    for c in ("ai_correct", "correct"):
        trials[c] = trials[c].astype(bool)
    trials = _flag_incomplete(trials)
    trials["trial"] = trials["trial"].astype(int)
    phase_rank = trials["phase"].map({p: i for i, p in enumerate(responses.PHASES)})
    trials = (trials.assign(_phase=phase_rank)
              .sort_values(["dataset", "condition", "population", "participant", "_phase", "trial"], kind="stable")
              .drop(columns="_phase").reset_index(drop=True))
    return responses.validate(trials)


def _flag_incomplete(trials: pd.DataFrame) -> pd.DataFrame:
    """Fill ``test_trials`` / ``test_complete`` per participant and task node; warn about incomplete ones.

    Only nodes whose task has a test phase are checked (lay ``_Val`` nodes hold none by design).
    """
    with_test = trials["task"].map(lambda name: "test" in TASKS[name].phases)
    answered = (trials["phase"].eq("test").groupby([trials["task"], trials["participant"]]).transform("sum"))
    trials["test_trials"] = answered.where(with_test).astype("Int64")
    trials["test_complete"] = (answered == TEST_TRIALS).where(with_test).astype("boolean")
    per = trials[with_test].groupby(["task", "participant"], sort=False).agg(
        n=("test_trials", "first"), file=("file", lambda f: ", ".join(sorted(set(f))))).reset_index()
    over = per[per["n"] > TEST_TRIALS]
    if len(over):
        r = over.iloc[0]
        raise DataFormatError(f"{r['file']}: participant {r['participant']} answered {r['n']} test trials in "
                              f"{r['task']}; the design has {TEST_TRIALS} (paper Sec. 2.4). Were two sessions merged?")
    short = per[per["n"] < TEST_TRIALS]
    if len(short):
        listed = "; ".join(f"{r.participant} ({r.n} of {TEST_TRIALS}, {r.file})" for r in short.itertuples())
        warnings.warn(f"{len(short)} participant(s) answered fewer test trials than the design's {TEST_TRIALS} "
                      f"(paper Sec. 2.4): {listed}. They are kept, flagged in the trial table's 'test_complete' "
                      "column; their accuracy is a mean over fewer trials.", IncompleteParticipantWarning,
                      stacklevel=3)
    return trials


def read_bad_users(path: Path | str) -> set[str]:
    """Participant ids listed in one of the authors' ``csv_files/*_bad_users.csv`` files.

    The authors' analysis wrote the participants below the validation threshold to these
    files (one id per line, first field). The copies in their public repository are empty
    (0 bytes), consistent with the public exports holding only participants who passed
    Gorilla's validation branch; an empty file gives an empty set.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: no such bad-users list")
    ids = set()
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        first = line.split(",")[0].strip()
        if first:
            ids.add(first)
    return ids
