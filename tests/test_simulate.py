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


def test_pooled_features_and_map_channels():
    from xaibook.simulate.observe import map_channels, pooled, prototypes
    import torch

    img = torch.zeros(2, 3, 12, 12, dtype=torch.uint8)
    img[0, 0] = 255                      # image 0 all red
    img[1, 2, :, 6:] = 255               # image 1 blue on the right half
    f = pooled(img, cells=2)
    assert f.shape == (2, 12) and np.allclose(f[0, :4], 1) and np.allclose(f[1, 8:], [0, 1, 0, 1])
    m = torch.zeros(2, 1, 12, 12)
    m[:, :, :, 6:] = 1                   # both maps on the right half
    ch = map_channels(m, img)
    assert ch.shape == (2, 64 + 3)
    assert np.allclose(ch[1, -3:], [0, 0, 1]) and np.allclose(ch[0, -3:], [1, 0, 0])
    p = prototypes(img, np.array([1, 1]), 3, cells=2)
    assert np.allclose(p[0], 0) and np.allclose(p[1], f.mean(0))


def test_published_human_results_are_proportions_with_sources():
    from xaibook.simulate import alqaraawi, im, nguyen, shen, sixt

    for mod in (nguyen, shen, alqaraawi, sixt):
        h = mod.human()
        assert {"question", "condition", "accuracy", "source"} <= set(h.columns) and len(h)
        assert h["accuracy"].between(0, 1).all() and h["source"].str.startswith("published:").all()
        assert set(h["condition"]) - {"all"} <= set(mod.CONDITIONS)
        assert mod.REFERENCE in mod.CONDITIONS
    assert im.human() is None and im.REFERENCE in im.CONDITIONS


def test_sixt_training_sets_carry_the_drawn_bias():
    from xaibook.simulate import sixt
    from xaibook.world import two4two

    params = two4two.sample(2000, sampler="unbiased", seed=5)
    y = np.array([p.obj_name == "stretchy" for p in params])
    attr = sixt._attribute_classes(params)
    idx = sixt.training_set(params, [True, False, False, False], 600, 0.9, seed=0)
    agree = (attr[idx] == y[idx, None]).mean(0)
    assert agree[0] > 0.8 and abs(agree[1] - 0.5) < 0.1 and abs(agree[2] - 0.5) < 0.1
    assert len(set(idx.tolist())) == 600


def test_im_training_only_conditions_hide_the_maps_at_test():
    from xaibook.simulate import im

    rng = np.random.default_rng(0)

    def result(n):
        return {"selection": {"y": rng.integers(0, 2, n), "base": rng.normal(size=(n, 5)).astype(np.float32),
                              **{m: rng.normal(size=(n, 3)).astype(np.float32) for m in im.METHODS}}}

    results = [result(4) for _ in range(5)]
    t = im._task("q", ("Model A", "Model B"), "selection", results, 2, 5,
                 lambda rs: pd.DataFrame({"stimulus": [f"s{i}" for i in range(8)]}), "simulated: toy")
    blind, full = t.test["SmoothGrad (training only)"], t.test["SmoothGrad (training and evaluation)"]
    assert np.array_equal(blind[:, :5], full[:, :5]) and np.array_equal(t.test["none"], full[:, :5])
    assert np.allclose(blind[:, 5:], t.train["SmoothGrad (training only)"][:, 5:].mean(0))
    assert not np.allclose(full[:, 5:], blind[:, 5:])
    assert len(t.train_y) == 12 and len(t.test_y) == 8


def test_command_line_refuses_an_unknown_study_in_one_line(capsys):
    from xaibook.simulate.__main__ import main

    assert main(["nobody2099"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "nguyen2021" in err[0]
    assert main(["sixt2022", "--workers", "0"]) == 2
