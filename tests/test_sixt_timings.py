"""The Sixt chapter's timing table: a step's first (cold-cache) time survives unrelated size changes."""
from xaibook.studies import sixt2022 as sx


def test_first_run_time_survives_unrelated_size_changes(monkeypatch):
    smoke = sx.sizes("smoke")
    monkeypatch.setattr(sx, "sizes", lambda scale=None: dict(smoke))
    sx._TIMINGS.clear()
    sx.dataset_images("test")
    step = f"render test set ({smoke['n_test']} images, {smoke['image_size']} px)"
    first = sx.timings().set_index("step").loc[step, "first_run_s"]

    # A later build (a new process: empty table) in which only sizes this step does not use
    # changed: the images come from the cache, and the table still shows the cold time.
    changed = {**smoke, "grid_rows": smoke["grid_rows"] + 1, "importance_seeds": (0, 1), "observer_epochs": 3}
    monkeypatch.setattr(sx, "sizes", lambda scale=None: dict(changed))
    sx._TIMINGS.clear()
    sx.dataset_images("test")
    assert sx.timings().set_index("step").loc[step, "first_run_s"] == first

    # A size the step does use starts a new record.
    monkeypatch.setattr(sx, "sizes", lambda scale=None: {**changed, "supersample": smoke["supersample"] + 1})
    sx._TIMINGS.clear()
    sx.dataset_images("test")
    assert sx.timings().set_index("step").loc[step, "first_run_s"] != first
