"""The smoke workload of base models on a local Ray with 2 workers equals the in-process run (Issue 16)."""
from __future__ import annotations

import os

import numpy as np

from xaibook.simulate import jobs, sixt


def test_sixt_base_models_on_ray_equal_the_in_process_run(tmp_path, monkeypatch):
    s = dict(sixt.sizes(), models=4)
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "inprocess"))
    here = sixt.run_jobs(s=s)
    assert jobs.LAST[sixt.JOB].backend == "inprocess" and jobs.LAST[sixt.JOB].computed == 4
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "ray"))
    try:
        there = sixt.run_jobs(s=s, backend="ray", workers=2)
        assert jobs.LAST[sixt.JOB].backend == "ray" and jobs.LAST[sixt.JOB].computed == 4
        # a rerun finds every result in the cache and starts no job
        again = sixt.run_jobs(s=s, backend="ray", workers=2)
        assert jobs.LAST[sixt.JOB].computed == 0 and jobs.LAST[sixt.JOB].cached == 4
    finally:
        jobs.shutdown()
    assert os.environ["XAIBOOK_CACHE"].endswith("ray")
    for a, b, c in zip(here, there, again):
        assert a["biased"] == b["biased"] and a["accuracy"] == b["accuracy"]
        for cond in sixt.CONDITIONS:
            np.testing.assert_array_equal(a[cond], b[cond])
            np.testing.assert_array_equal(b[cond], c[cond])
