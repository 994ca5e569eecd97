"""Chapter 5's conventions: run_pipeline (every lib step, the ledger, per-step timings) and trial_manifest
(the study's screens as a generic manifest), at the smoke scale."""
from __future__ import annotations

import pandas as pd
import pytest

from xaibook import ledger, stimuli
from xaibook.studies import sixt2022 as sx


@pytest.fixture(scope="module")
def pipeline_timings(tmp_path_factory):
    import os

    folder = tmp_path_factory.mktemp("ledger")
    old = os.environ.get("XAIBOOK_LEDGER")
    os.environ["XAIBOOK_LEDGER"] = str(folder)
    try:
        yield sx.run_pipeline(), folder
    finally:
        if old is None:
            os.environ.pop("XAIBOOK_LEDGER", None)
        else:
            os.environ["XAIBOOK_LEDGER"] = old


def test_run_pipeline_returns_per_step_timings_and_writes_the_ledger(pipeline_timings):
    timings, folder = pipeline_timings
    assert list(timings.columns) == ["step", "first_run_s", "this_run_s"]
    steps = set(timings["step"])
    for step in ("INN training", "test-set logits", "counterfactual grid", "concepts",
                 "observer (render + train what is left)", "observer on interpolations"):
        assert step in steps
    assert any(s.startswith("importance (seed") for s in steps)
    assert (timings["first_run_s"] >= 0).all() and (timings["this_run_s"] >= 0).all()
    written = pd.read_csv(folder / "sixt2022.csv")
    claims = set(written["claim"])
    assert "inn.test_accuracy" in claims and "tests.mcnemar.legs_vs_color.pvalue" in claims
    assert any(c.startswith("table7.") for c in claims) and any(c.startswith("table6.") for c in claims)
    inn = written.set_index("claim").loc["inn.test_accuracy"]
    assert pd.notna(inn["ours"])


def test_trial_manifest_loads_with_every_condition_and_phase(pipeline_timings, tmp_path):
    path = sx.trial_manifest(tmp_path / "screens")
    m = stimuli.load_manifest(path)
    assert set(m["condition"]) == set(sx.CONDITIONS) and set(m["phase"]) == set(stimuli.PHASES)
    test = m[m["phase"] == "test"]
    assert len(test) == len(sx.CONDITIONS) * len(sx.ATTRIBUTES)
    assert all(opts == ["Relevant", "Irrelevant"] for opts in test["options"])
    assert set(test["answer"]) <= {"Relevant", "Irrelevant"}
    # the unbiased attributes are keyed irrelevant whatever the model; the key is the same in every condition
    assert set(test.loc[test["attribute"].isin(["Background", "Posture"]), "answer"]) == {"Irrelevant"}
    assert test.groupby("attribute")["answer"].nunique().max() == 1
    assert (m.loc[m["phase"] == "training", "answer"] == "").all()
    assert (m["image"].map(lambda f: (path.parent / f).is_file())).all()
    assert (path.parent / "README.txt").read_text().count("r2_ours") == 1


def test_answer_key_follows_the_measured_importance():
    table = pd.DataFrame({"factor": ["arm_position", "obj_color", "spherical", "bg_color", "obj_rotation_yaw",
                                     "bending"] * 2,
                          "r2": [0.9, 0.6, 0.05, 0.1, 0.02, 0.0, 0.8, 0.5, 0.07, 0.12, 0.0, 0.01],
                          "seed": [0] * 6 + [1] * 6})
    key = sx.answer_key(table).set_index("attribute")
    # shape's directed effect (R² 0.06) is below the background's (0.11): our model does not use it
    assert key["answer"].to_dict() == {"Legs": "Relevant", "Color": "Relevant", "Shape": "Irrelevant",
                                       "Background": "Irrelevant", "Posture": "Irrelevant"}
    assert key.loc["Shape", "paper_answer"] == "Relevant"
    assert key.loc["Posture", "r2"] == pytest.approx(0.01)
    assert key.loc["Legs", "r2"] == pytest.approx(0.85)
