"""Malformed Gorilla exports (Nguyen et al. 2021): each is refused or flagged with a message naming the file.

Before these checks a truncated export was summarised as if complete (cutting the 3-NN expert export
gave 5 users, mean 80.00, instead of 6 users, 76.67, with exit 0) and a participant with 4 of the 30
test trials was averaged like the others without a word.
"""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import fixtures_gorilla as fg
from xaibook.data import gorilla, responses
from xaibook.errors import DataFormatError

ROOT = Path(__file__).resolve().parents[1]
NAME = "data_exp_90001-v1_task-tst1.csv"
NNS_EXPORT = "users_data/Expert_Data/Natural/data_exp_45279-v3_task-twi6.csv"  # Natural_NNs: the 6 3-NN experts


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xaibook.studies.nguyen2021", "summarize", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def assert_cli_error(res: subprocess.CompletedProcess, name: str) -> None:
    assert res.returncode == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], res.stderr


def write(tmp_path: Path, export: fg.Export, name: str = NAME, **kw) -> Path:
    path = tmp_path / name
    export.write(path, **kw)
    return path


def refused(path: Path, match: str) -> str:
    """Load ``path``; it must raise DataFormatError matching ``match`` and naming the file. Returns the message."""
    with pytest.raises(DataFormatError, match=match) as err:
        gorilla.load_exports(path)
    assert path.name in str(err.value)
    return str(err.value)


def decision_rows(export: fg.Export, display: str = "Trial") -> list[dict]:
    return [r for r in export.rows if r.get("display") == display and r.get("Screen Name") == "Screen 3"]


def study_export(tests: dict[str, int]) -> fg.Export:
    """An expert Natural_NNs node: each participant passes validation and answers ``tests[p]`` test trials."""
    e = fg.Export("Natural_NNs", "task-twi6", 90003)
    for p, n_test in tests.items():
        extra = {"counterbalance-ao9d": 1}
        e.event(p, extra, **{"Trial Number": "BEGIN TASK"})
        for i, (name, right) in enumerate(fg.VALIDATION):
            e.decision(p, extra, "Validation", 3 + i, i + 1, "Yes", right, 2000.0, file_name=name)
        for i in range(n_test):
            n1, n2 = fg.TEST[i % len(fg.TEST)]
            e.decision(p, extra, "Trial", 13 + i, i + 1, "Yes", "Yes", 1500.0, file_name1=n1, file_name2=n2)
        e.event(p, extra, **{"Trial Number": "END TASK"})
    return e


# ------------------------------------------------------------------------------------- truncated files
def test_cut_mid_row_is_refused(tmp_path):
    path = write(tmp_path, fg.expert_export())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])
    assert "END OF FILE" in refused(path, "truncated")


def test_cut_at_a_row_boundary_is_refused(tmp_path):
    e = fg.expert_export()
    e.rows = e.rows[: len(e.rows) - 12]          # fixB's last test trials and END TASK are gone
    refused(write(tmp_path, e, end_of_file=False), "END OF FILE")


def test_complete_rows_without_end_of_file_line_are_refused(tmp_path):
    refused(write(tmp_path, fg.expert_export(), end_of_file=False), "END OF FILE")


def test_cut_export_in_a_folder_is_named(tmp_path):
    write(tmp_path, fg.lay_test_export(), name="data_exp_90002-v1_task-tst2.csv")
    cut = write(tmp_path, fg.expert_export(), end_of_file=False)
    msg = refused(tmp_path, "truncated")
    assert cut.name in msg and "tst2" not in msg


def test_cli_refuses_cut_export_with_one_error_line(tmp_path):
    e = fg.expert_export()
    e.rows = e.rows[: len(e.rows) - 7]          # cut after fixB's second test trial: it still parses
    assert_cli_error(run_cli(str(write(tmp_path, e, end_of_file=False))), NAME)


def test_cut_public_expert_export_is_refused(shared_dir, tmp_path):
    """The issue's case: the 3-NN expert export cut mid-file gave 5 users and a mean of 80.00 with exit 0."""
    source = shared_dir / "data" / "nguyen2021-gorilla" / NNS_EXPORT
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    data = source.read_bytes()
    cut = tmp_path / source.name
    cut.write_bytes(data[: int(len(data) * 0.85)])
    assert_cli_error(run_cli(str(cut)), source.name)


def test_excel_style_end_line_and_crlf_are_accepted(tmp_path):
    """A re-saved export (CRLF line ends, END OF FILE padded with commas) is still complete."""
    path = write(tmp_path, fg.expert_export())
    text = path.read_text(encoding="utf-8-sig").replace("END OF FILE\n", "END OF FILE,,,\n")
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8-sig"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gorilla.IncompleteParticipantWarning)
        assert len(gorilla.load_exports(path)) == 30


# ------------------------------------------------------------------------- participants short of the design
def test_participant_with_fewer_test_trials_is_flagged_and_named(tmp_path):
    path = write(tmp_path, study_export({"full": 30, "left": 4}))
    with pytest.warns(gorilla.IncompleteParticipantWarning, match=r"left \(4 of 30") as rec:
        trials = gorilla.load_exports(path)
    assert NAME in str(rec[0].message) and "full" not in str(rec[0].message)
    per = trials.groupby("participant")[["test_trials", "test_complete"]].first()
    assert per.loc["full"].tolist() == [30, True] and per.loc["left"].tolist() == [4, False]


def test_cli_reports_incomplete_participant(tmp_path):
    path = write(tmp_path, study_export({"full": 30, "left": 4}))
    res = run_cli(str(path))
    assert res.returncode == 0, res.stderr
    assert "left (4 of 30" in res.stderr and NAME in res.stderr
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: "), res.stderr  # one line, not Python's two


def test_complete_participants_give_no_warning(tmp_path):
    path = write(tmp_path, study_export({"full": 30, "also": 30}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", gorilla.IncompleteParticipantWarning)
        trials = gorilla.load_exports(path)
    assert trials.loc[trials["phase"] == "test", "test_complete"].all()


def test_more_test_trials_than_the_design_is_refused(tmp_path):
    path = write(tmp_path, study_export({"twice": 31}))
    assert "twice" in refused(path, "31 test trials")


# ------------------------------------------------------------------------------- other malformed files
def test_empty_file(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(b"")
    refused(path, "empty")


def test_header_only(tmp_path):
    path = tmp_path / NAME
    path.write_text(",".join(fg.COLUMNS) + "\n", encoding="utf-8")
    refused(path, "no rows")


def test_binary_file(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(bytes(range(256)) * 64)
    refused(path, "not a readable CSV")


def test_wrong_columns(tmp_path):
    path = tmp_path / NAME
    path.write_text("participant,accuracy\nfixA,0.75\nEND OF FILE\n", encoding="utf-8")
    refused(path, r"missing column\(s\)")


def test_duplicated_participant_rows(tmp_path):
    e = fg.expert_export()
    e.rows = e.rows + [dict(r) for r in e.rows if r["Participant Public ID"] == "fixA"]
    assert "fixA" in refused(write(tmp_path, e), "answers on Screen 3")


@pytest.mark.parametrize("value,match", [("fast", "not a number"), (-350.0, "non-negative"),
                                         ("inf", "non-negative")])
def test_bad_reaction_time(tmp_path, value, match):
    e = fg.expert_export()
    decision_rows(e)[0]["Reaction Time"] = value
    assert "fixA" in refused(write(tmp_path, e), f"reaction time .*{match}")


@pytest.mark.parametrize("column", ["Participant Public ID", "Task Name"])
def test_answer_without_participant_or_task(tmp_path, column):
    """Rows are attributed by participant and task; an emptied cell used to drop the answer silently."""
    e = fg.expert_export()
    decision_rows(e)[2][column] = ""
    assert column in refused(write(tmp_path, e), "cannot be attributed")


def test_response_neither_yes_nor_no(tmp_path):
    e = fg.expert_export()
    decision_rows(e)[1]["Response"] = "Maybe"
    refused(write(tmp_path, e), "neither Yes nor No")


def test_counterbalance_not_a_number(tmp_path):
    e = fg.expert_export()
    for r in e.rows:
        if r["Participant Public ID"] == "fixB":
            r["counterbalance-ao9d"] = "two"
    assert "fixB" in refused(write(tmp_path, e), "counterbalance")


# ------------------------------------------------------------------------------------ the trial table
@pytest.fixture(scope="module")
def trials(tmp_path_factory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("table") / NAME
    study_export({"full": 30}).write(path)
    return gorilla.load_exports(path)


def test_trial_table_with_a_repeated_trial_is_refused(trials):
    doubled = pd.concat([trials, trials.iloc[[12]]], ignore_index=True)
    with pytest.raises(DataFormatError, match="repeat a trial") as err:
        responses.validate(doubled)
    assert "'full'" in str(err.value) and "trial" in str(err.value)


def test_trial_table_with_fractional_trial_numbers_is_refused(trials):
    with pytest.raises(DataFormatError, match="trial: values must be positive integers"):
        responses.validate(trials.assign(trial=trials["trial"] + 0.5))
