"""The Sixt chapter's plan and timing table: a step's first (cold-cache) time survives unrelated size changes."""
import dataclasses

from xaibook import runs
from xaibook.studies import sixt2022 as sx
from xaibook.studies.sixt2022 import pipeline


def test_first_run_time_survives_unrelated_size_changes(monkeypatch):
    smoke = pipeline.plan("smoke")
    monkeypatch.setattr(pipeline, "plan", lambda scale=None: smoke)
    runs.timings(sx.STUDY, reset=True)
    sx.dataset_images("test")
    step = f"render test set ({smoke.n_test} images, {smoke.image_size} px)"
    first = sx.timings().set_index("step").loc[step, "first_run_s"]

    # A later build (a new process: empty table) in which only sizes this step does not use
    # changed: the images come from the cache, and the table still shows the cold time.
    changed = dataclasses.replace(smoke, grid_rows=smoke.grid_rows + 1, importance_seeds=(0, 1), observer_epochs=3)
    monkeypatch.setattr(pipeline, "plan", lambda scale=None: changed)
    runs.timings(sx.STUDY, reset=True)
    sx.dataset_images("test")
    assert sx.timings().set_index("step").loc[step, "first_run_s"] == first

    # A size the step does use starts a new record.
    monkeypatch.setattr(pipeline, "plan", lambda scale=None: dataclasses.replace(changed, supersample=smoke.supersample + 1))
    runs.timings(sx.STUDY, reset=True)
    sx.dataset_images("test")
    assert sx.timings().set_index("step").loc[step, "first_run_s"] != first


def test_plan_is_picked_by_scale_and_shows_the_papers_sizes():
    smoke, default = sx.plan("smoke"), sx.plan("default")
    assert smoke.n_train < default.n_train and smoke.scale == "smoke"
    assert sx.sizes("default") == default.sizes()
    table = default.table().set_index("setting")
    assert table.loc["n_train", "this run"] == str(default.n_train)
    assert table.loc["n_train", "paper"].startswith("60,000")
    assert table.loc["grid_rows", "paper"].startswith("10")
    try:
        smoke.n_train = 1
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("the plan must be frozen")
