"""Chapter 1's conventions at the smoke scale: ``pipeline.run_pipeline`` (every lib step, the ledger,
per-step timings) and ``trial_manifest`` (the screens as a generic manifest), sharing one cache."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xaibook import config, stimuli
from xaibook.studies import nguyen2021 as ng
from xaibook.studies.nguyen2021 import pipeline


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("ledger")
    mp.setenv("XAIBOOK_LEDGER", str(folder))
    mp.setenv("XAIBOOK_DATA", str(tmp_path_factory.mktemp("no-data")))  # the offline zoo, no exports
    try:
        assert config.scale().name == "smoke"
        yield pipeline.run_pipeline(), folder
    finally:
        mp.undo()


def test_run_pipeline_returns_per_step_timings_and_writes_the_ledger(pipeline_run):
    timings, folder = pipeline_run
    assert list(timings.columns) == ["step", "first_run_s", "this_run_s"]
    assert set(timings["step"]) == {"1 classifier", "2 image pools", "2 trial sets", "3 AI-only",
                                    "4 adversarial set", "5 explanations", "5 stimuli", "6 metrics", "7 gallery"}
    assert (timings["first_run_s"] >= 0).all() and (timings["this_run_s"] >= 0).all()
    written = pd.read_csv(folder / "nguyen2021.csv").set_index("claim")
    assert (written["scale"] == "smoke").all()
    # the pipeline's claims, and the reanalysis claims marked not recomputable without the exports
    for claim in ("classifier.top1.imagenet", "bins.share.imagenet.easy", "ai_only.best_threshold.imagenet",
                  "accuracy.expert.imagenet.gradcam.mean", "correlation.imagenet.gradcam.pointing_game"):
        assert claim in written.index, claim
    assert written.loc["accuracy.expert.imagenet.gradcam.mean", "status"].startswith("not recomputable")
    # one EP claim per area: the paper's target (Sec. 2.3), our mean reached area, 20 % relative tolerance
    ep = written.loc[[f"ep.area_reached.{k}" for k in range(1, 5)]]
    assert list(ep["paper"]) == [2.5, 5.0, 10.0, 20.0]
    assert np.allclose(ep["tolerance"], 0.2 * ep["paper"])
    assert ep["ours"].between(0, 100).all()
    assert ep["status"].str.match("reproduced|within tolerance|differs").all()


def test_trial_manifest_loads_with_every_condition(pipeline_run, tmp_path):
    path = ng.trial_manifest(tmp_path / "screens")
    m = stimuli.load_manifest(path)
    assert path == tmp_path / "screens" / "manifest.csv"
    assert set(m["phase"]) == {"test"} and set(m["study"]) == {"nguyen2021"}
    conditions = set(m["condition"])
    assert {"Confidence", "GradCAM", "EP", "SOD"} <= conditions <= set(stimuli.CONDITIONS)
    assert "ImageNet" in set(m["dataset"]) <= set(ng.DATASETS)  # at smoke the Dogs set may be empty
    assert len(m) == len(conditions) * m["trial_id"].nunique()
    assert (m["answer"] == np.where(m["ai_correct"], "Yes", "No")).all()
    assert all(opts == ["Yes", "No"] for opts in m["options"])
    assert m["stimulus"].map(lambda f: (path.parent / f).is_file()).all()
