"""The generic stimulus manifest: a round trip, and each validation error naming line, trial_id and column."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from PIL import Image

from xaibook.errors import DataFormatError, DataNotFoundError, ParameterError
from xaibook.stimuli import GENERIC_COLUMNS, PHASES, load_manifest, write_manifest


def _files(root, names):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4), (200, 10, 10)).save(root / name)


def _rows(root) -> pd.DataFrame:
    """Four screens of a made-up study: a practice, an attention check, two scored trials (one a rating)."""
    _files(root, ["img/a.png", "img/b.png", "img/c.png", "expl/b.png", "ex/c1.png", "ex/c2.png", "screens/a.png"])
    return pd.DataFrame({
        "study": "demo", "trial_id": ["t1", "t2", "t3", "t4"], "condition": ["map", "map", "map", "none"],
        "phase": ["training", "validation", "test", "test"],
        "stimulus": ["screens/a.png", "", "", ""], "image": ["img/a.png", "img/b.png", "img/c.png", "img/a.png"],
        "explanation": ["", "expl/b.png", "", ""], "examples": [[], [], ["ex/c1.png", "ex/c2.png"], []],
        "question": ["Is this a cat?", "Which class, \"A\" or \"B\"?", "Is this, really, a dog?", "How sure are you?"],
        "options": [["Yes", "No"], ["A", "B", "A, or B"], ["Yes", "No"], ["1", "2", "3", "4", "5"]],
        "answer": ["Yes", "A, or B", "No", ""],
        "source_id": ["007", "008", "009", "010"], "score": [0.5, 1.0, float("nan"), 2.0],
        "shown": [True, False, True, True]})


def _bad(root, column, row, value, rows=None) -> str:
    """Write the rows with one cell changed (bypassing the writer's checks), load, return the error."""
    rows = _rows(root) if rows is None else rows
    rows[column] = rows[column].astype(object)
    rows.at[row, column] = value
    for c in ("options", "examples"):
        rows[c] = [v if isinstance(v, str) else json.dumps(v) for v in rows[c]]
    rows.to_csv(root / "manifest.csv", index=False)
    with pytest.raises(DataFormatError) as err:
        load_manifest(root / "manifest.csv")
    return str(err.value)


def test_round_trip_keeps_every_value_and_the_study_columns(tmp_path):
    rows = _rows(tmp_path)
    path = write_manifest(rows, tmp_path, extra_columns={"score": "a study's number"})
    assert path == tmp_path / "manifest.csv"
    back = load_manifest(path)
    assert list(back.columns) == list(GENERIC_COLUMNS) + ["source_id", "score", "shown"]
    assert back["options"].tolist() == rows["options"].tolist()      # in the order shown
    assert back["examples"].tolist() == rows["examples"].tolist()
    assert back["source_id"].tolist() == ["007", "008", "009", "010"]  # *_id columns stay text
    assert back["answer"].tolist() == ["Yes", "A, or B", "No", ""]    # empty: no right answer
    pd.testing.assert_frame_equal(back, rows[list(back.columns)], check_dtype=False)
    assert back["shown"].dtype == bool and back["score"].isna().tolist() == [False, False, True, False]
    # the file itself: JSON lists a spreadsheet shows and JSON.parse reads
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert raw.loc[0, "options"] == '["Yes", "No"]' and raw.loc[2, "examples"] == '["ex/c1.png", "ex/c2.png"]'
    # writing what was read gives the same bytes; no temporary files are left behind
    first = path.read_bytes()
    write_manifest(back, tmp_path, extra_columns={"score": "a study's number"})
    assert path.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["README.txt", "manifest.csv"]
    readme = (tmp_path / "README.txt").read_text()
    assert all(f"  {c}: {v}" in readme for c, v in GENERIC_COLUMNS.items())
    assert "  score: a study's number" in readme and "  source_id: study column (undocumented)" in readme


def test_missing_file_names_line_trial_and_column(tmp_path):
    path = write_manifest(_rows(tmp_path), tmp_path)
    (tmp_path / "ex" / "c2.png").unlink()
    (tmp_path / "img" / "a.png").unlink()
    with pytest.raises(DataFormatError) as err:
        load_manifest(path)
    msg = str(err.value)
    assert "3 problem(s)" in msg  # img/a.png is used twice
    assert "line 2 (trial_id 't1'), column 'image': file 'img/a.png' is missing" in msg
    assert "line 5 (trial_id 't4'), column 'image'" in msg
    assert "line 4 (trial_id 't3'), column 'examples': file 'ex/c2.png' is missing" in msg
    assert "write it there or fix the path" in msg
    assert len(load_manifest(path, check_files=False)) == 4


def test_paths_must_be_relative_below_the_manifest(tmp_path):
    msg = _bad(tmp_path, "explanation", 1, "../expl/b.png")
    assert "line 3 (trial_id 't2'), column 'explanation'" in msg and "relative to the manifest" in msg
    msg = _bad(tmp_path, "image", 0, str(tmp_path / "img" / "a.png"))
    assert "line 2 (trial_id 't1'), column 'image'" in msg and "relative" in msg


def test_unknown_phase(tmp_path):
    msg = _bad(tmp_path, "phase", 2, "practice")
    assert "line 4 (trial_id 't3'), column 'phase': unknown phase 'practice'" in msg
    assert str(list(PHASES)) in msg


def test_answer_key_not_among_the_options(tmp_path):
    msg = _bad(tmp_path, "answer", 0, "yes")
    assert "line 2 (trial_id 't1'), column 'answer': 'yes' is not among the options ['Yes', 'No']" in msg
    assert "same spelling" in msg


def test_duplicate_id_within_a_condition_whatever_the_phase(tmp_path):
    msg = _bad(tmp_path, "trial_id", 2, "t1")  # t1 is a training screen of the same condition
    assert "line 4 (trial_id 't1'), column 'trial_id': duplicate id" in msg and "first at line 2" in msg
    assert "condition 'map'" in msg and "unique per condition" in msg
    # the same id in another condition is the same trial shown another way: allowed
    rows = _rows(tmp_path)
    rows.at[3, "trial_id"] = "t1"
    assert len(load_manifest(write_manifest(rows, tmp_path))) == 4


def test_missing_required_column(tmp_path):
    _rows(tmp_path).drop(columns=["question"]).to_csv(tmp_path / "manifest.csv", index=False)
    with pytest.raises(DataFormatError, match=r"lacks the required column\(s\) \['question'\]; add them"):
        load_manifest(tmp_path / "manifest.csv")


def test_empty_required_cell(tmp_path):
    msg = _bad(tmp_path, "question", 3, "")
    assert "line 5 (trial_id 't4'), column 'question': is empty" in msg


@pytest.mark.parametrize("value, problem", [
    ("Yes|No", "is not a JSON list"),
    ('"Yes"', "is not a JSON list"),
    ("[]", "is an empty list"),
    ('["Yes", "Yes"]', "repeats an option"),
    ('["Yes", 2]', "non-empty strings only"),
    ('["Yes", ""]', "non-empty strings only"),
])
def test_malformed_options(tmp_path, value, problem):
    msg = _bad(tmp_path, "options", 1, value)
    assert "line 3 (trial_id 't2'), column 'options'" in msg and problem in msg


def test_lines_are_file_lines_even_after_a_multiline_cell(tmp_path):
    rows = _rows(tmp_path)
    rows.at[0, "question"] = "Look closely.\nIs this a cat?"
    msg = _bad(tmp_path, "phase", 1, "practice", rows=rows)
    assert "line 4 (trial_id 't2'), column 'phase'" in msg  # row 2 starts on file line 4


def test_all_problems_are_listed_at_once(tmp_path):
    rows = _rows(tmp_path)
    rows["phase"] = "practice"
    rows.at[1, "answer"] = "C"
    msg = _bad(tmp_path, "trial_id", 3, "", rows=rows)
    assert "6 problem(s)" in msg and len(re.findall(r"^  line \d", msg, flags=re.M)) == 6


def test_write_manifest_refuses_bad_rows_and_keeps_the_old_file(tmp_path):
    path = write_manifest(_rows(tmp_path), tmp_path)
    before = path.read_bytes()
    rows = _rows(tmp_path)
    rows.at[2, "answer"] = "Maybe"
    with pytest.raises(DataFormatError, match=r"row 2 \(trial_id 't3'\), column 'answer': 'Maybe'"):
        write_manifest(rows, tmp_path)
    assert path.read_bytes() == before
    with pytest.raises(ParameterError, match="DataFrame"):
        write_manifest(rows.to_dict("records"), tmp_path)


def test_missing_manifest_and_the_old_nguyen_format(tmp_path):
    with pytest.raises(DataNotFoundError, match="write_manifest"):
        load_manifest(tmp_path / "nothing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFormatError, match="not a readable CSV"):
        load_manifest(tmp_path / "empty.csv")
    old = _rows(tmp_path).drop(columns=["study", "question", "options", "explanation", "examples"])
    old.assign(ai_correct=True).to_csv(tmp_path / "old.csv", index=False)
    with pytest.raises(DataFormatError, match="clear nguyen2021.stimuli"):
        load_manifest(tmp_path / "old.csv")
