"""xaibook.simulate: the job map's cache behaviour, the agents, and the per-chapter report on a synthetic study."""
from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from xaibook import simulate
from xaibook.cache import default_cache
from xaibook.data import responses as schema
from xaibook.errors import ParameterError
from xaibook.simulate import agents, jobs, results as report

CALLS: list[int] = []


def _square(job: dict) -> dict:
    CALLS.append(job["x"])
    return {"y": job["x"] ** 2}


def test_map_jobs_caches_results_and_recomputes_only_what_is_missing():
    CALLS.clear()
    todo = [{"x": i, "tag": "t1"} for i in range(5)]
    assert [r["y"] for r in jobs.map_jobs("test.square", _square, todo)] == [0, 1, 4, 9, 16]
    assert sorted(CALLS) == [0, 1, 2, 3, 4]
    CALLS.clear()
    assert [r["y"] for r in jobs.map_jobs("test.square", _square, todo)] == [0, 1, 4, 9, 16]
    assert CALLS == [] and jobs.LAST["test.square"].cached == 5
    # a lost result (deleted entry) is the only one computed again
    target = default_cache().path("test.square", todo[3], "pkl")
    target.unlink()
    timings: list = []
    assert [r["y"] for r in jobs.map_jobs("test.square", _square, todo, timings=timings)] == [0, 1, 4, 9, 16]
    assert CALLS == [3] and jobs.LAST["test.square"].computed == 1
    assert len(timings) == 1 and timings[0]["seconds"] >= 0 and timings[0]["rss_bytes"] > 0


def test_map_jobs_refuses_bad_arguments():
    with pytest.raises(ParameterError, match="backend"):
        jobs.map_jobs("test.square", _square, [{"x": 1}], backend="threads")
    with pytest.raises(ParameterError, match="workers"):
        jobs.map_jobs("test.square", _square, [{"x": 1}], backend="ray", workers=0)


def _task(n_train: int = 120, n_test: int = 80, seed: int = 0) -> agents.Task:
    """Condition "signal" carries the answer in a channel after the image features; "noise" does not."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = rng.integers(0, 2, n)
        feats = rng.normal(size=(n, 4)).astype(np.float32)
        signal = np.concatenate([feats, (y + 0.3 * rng.normal(size=n))[:, None]], axis=1).astype(np.float32)
        noise = np.concatenate([feats, rng.normal(size=(n, 1))], axis=1).astype(np.float32)
        return {"signal": signal, "noise": noise}, y

    tr, ytr = split(n_train)
    te, yte = split(n_test)
    meta = pd.DataFrame({"stimulus": [f"s{i}" for i in range(n_test)], "group": np.where(yte == 1, "yes", "no"),
                         "truth": np.where(yte == 1, "yes", "no")})
    return agents.Task("toy", "is it yes?", ("no", "yes"), ("noise", "signal"), tr, ytr, te, yte, meta,
                       n_features=4, data="simulated: toy task")


def test_agents_find_the_condition_that_carries_the_answer():
    scores, answers = agents.learning_curve(_task(), sizes=(8, 120), seeds=(0, 1))
    s = agents.summarize(scores)
    top = s[(s["n_train"] == 120) & (s["group"] == "all")].set_index(["agent", "condition"])["accuracy"]
    assert top["mlp", "signal"] > 0.9 and top["no-features", "signal"] > 0.9
    assert top["mlp", "noise"] < 0.75 and top["no-features", "noise"] < 0.75
    assert set(s["group"]) == {"all", "yes", "no"}
    assert (s["ci_low"] <= s["accuracy"]).all() and (s["accuracy"] <= s["ci_high"]).all()
    assert len(answers) == 2 * 2 * 2 * 2 * 80 and answers["correct"].dtype == bool


def test_task_and_agent_refuse_bad_input():
    t = _task()
    with pytest.raises(ParameterError, match="n_train"):
        agents.fit_predict(t, "signal", "mlp", 0, 0)
    with pytest.raises(ParameterError, match="agent"):
        agents.fit_predict(t, "signal", "oracle", 8, 0)
    with pytest.raises(ParameterError, match="condition"):
        agents.Task("toy", "q", ("a", "b"), ("missing",), t.train, t.train_y, t.test, t.test_y, t.test_meta, 4, "d")


@pytest.fixture
def toy_study(monkeypatch):
    """A study module with the interface of simulate.nguyen / simulate.sixt, on the toy task."""
    mod = types.SimpleNamespace(
        CONDITIONS=("noise", "signal"), REFERENCE="noise",
        sizes=lambda: {"sizes": (16, 120), "seeds": (0, 1)},
        simulate=lambda **kw: ([_task()], None),
        human=lambda: pd.DataFrame({"question": ["is it yes?"] * 2, "condition": ["noise", "signal"],
                                    "population": "toy", "accuracy": [0.8, 0.6], "n": [10, 10],
                                    "source": "published: nowhere"}))
    monkeypatch.setitem(report.STUDIES, "toy", "toy")
    monkeypatch.setattr(report, "_module", lambda study: mod if study == "toy" else pytest.fail(study))
    report._MEMO.clear()
    yield mod
    report._MEMO.clear()


def test_report_sets_agents_beside_people_labelled_as_simulation(toy_study):
    t = simulate.report("toy").set_index("condition")
    assert t.loc["signal", "agents (simulated, %)"] > t.loc["noise", "agents (simulated, %)"]
    assert t.loc["signal", "people (%)"] == 60.0 and t.loc["noise", "people: source"] == "published: nowhere"
    assert "Simulation" in simulate.report("toy").attrs["caption"]
    # people ranked the two the other way round
    d = simulate.disagreements("toy")
    assert list(d["pair"]) == ["noise vs signal"]
    p = simulate.power("toy")
    assert p["condition"].tolist() == ["signal"] and p.iloc[0]["trials per group (80 % power)"] >= 2


def test_responses_follow_the_trial_schema_and_say_simulated(toy_study):
    r = simulate.responses("toy")
    schema.validate(r)
    assert schema.is_simulated(r).all()
    assert set(r["response"]) <= {"no", "yes"}
    assert len(r) == 2 * 2 * 2 * 2 * 80


def test_figure_names_simulation_data_and_scale(toy_study):
    spec = simulate.figure("toy").to_dict()
    assert "Simulated participants" in str(spec["title"])
    assert "simulated: toy task" in str(spec["title"]) and "scale: smoke" in str(spec["title"])


def test_unknown_study_is_refused():
    with pytest.raises(ParameterError, match="no simulated participants"):
        simulate.report("nobody2099")
