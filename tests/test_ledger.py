"""The reproduction ledger: statuses, published references, CSV round trip."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from xaibook import ledger, runs
from xaibook.data import published
from xaibook.errors import DataFormatError, ParameterError


@pytest.fixture(autouse=True)
def _clean():
    ledger.forget()
    yield
    ledger.forget()


def _ref(value=0.77):
    return ledger.Ref(value=value, paper="shen2020", source="Table 1", section="Results", page="5")


def test_ref_reads_one_published_row_with_provenance():
    r = published.ref("shen2020_accuracy", "accuracy", experiment=1, condition="Int", category="C1")
    assert r.value == pytest.approx(0.77) and r.paper == "shen2020" and r.source == "Table 1"


def test_ref_refuses_ambiguous_or_missing_rows():
    with pytest.raises(DataFormatError, match="rows match"):
        published.ref("shen2020_accuracy", "accuracy", experiment=1)
    with pytest.raises(DataFormatError, match="no column 'nope'"):
        published.ref("shen2020_accuracy", "nope", experiment=1)


@pytest.mark.parametrize("ours, tol, want", [
    (0.771, 0.0, "reproduced"),        # rounds to the printed 0.77
    (0.776, 0.0, "differs: zoo"),       # rounds to 0.78
    (0.78, 0.02, "within tolerance"),
    (0.90, 0.02, "differs: zoo"),
])
def test_status_follows_precision_and_tolerance(ours, tol, want):
    c = ledger.record("shen2020", "c", "accuracy", paper=_ref(), ours=ours, data="zoo", tolerance=tol, reason="zoo")
    assert c.status == want


def test_not_recomputable_needs_a_reason():
    with pytest.raises(ParameterError, match="why_not"):
        ledger.record("shen2020", "c", "accuracy", paper=_ref(), ours=None, data="-")
    c = ledger.record("shen2020", "c", "accuracy", paper=_ref(), ours=None, data="-", why_not="no raw data")
    assert c.status == "not recomputable: no raw data" and math.isnan(c.ours)


def test_bad_arguments_are_named():
    with pytest.raises(ParameterError, match="study"):
        ledger.record("nobody2020", "c", "q", paper=_ref(), ours=1, data="-")
    with pytest.raises(ParameterError, match="published.ref"):
        ledger.record("shen2020", "c", "q", paper=0.77, ours=1, data="-")


def test_rerecording_replaces_and_csv_round_trips(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_LEDGER", str(tmp_path))
    ledger.record("shen2020", "a", "q", paper=_ref(), ours=0.5, data="-", reason="r")
    ledger.record("shen2020", "a", "q", paper=_ref(), ours=0.77, data="-")
    ledger.record("sixt2022", "b", "q", paper=_ref(96.7), ours=78.9, data="-", reason="small INN")
    assert len(ledger.claims()) == 2
    shown = ledger.table("shen2020")
    ledger.table("sixt2022")
    assert list(shown["status"]) == ["reproduced"]
    back = ledger.gather()
    assert list(back["study"]) == ["shen2020", "sixt2022"]   # chapter order
    assert back.loc[0, "page"] == "5" and back.loc[0, "scale"] == "smoke"
    counts = ledger.counts(back).set_index("study")
    assert counts.loc["shen2020", "reproduced"] == 1 and counts.loc["sixt2022", "differs"] == 1
    assert ledger.digest(back) == ledger.digest(ledger.gather())


def test_gather_refuses_foreign_csv(tmp_path):
    (tmp_path / "shen2020.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError, match="not a ledger file"):
        ledger.gather(tmp_path)


def test_timed_stores_the_cold_time_once():
    calls = []
    v = runs.timed("ledgertest", "step one", {"n": 1}, lambda: calls.append(1) or 42)
    runs.timed("ledgertest", "step one", {"n": 1}, lambda: 42)
    t = runs.timings("ledgertest", reset=True)
    assert v == 42 and list(t["step"]) == ["step one"] and t.loc[0, "first_run_s"] <= t.loc[0, "this_run_s"] + 1e-3


def test_step_decorator_times_each_call_under_its_key():
    @runs.step("steptest", "render", lambda n, **kw: {"n": n})
    def render(n: int, scale: float = 1.0) -> float:
        """Doc kept."""
        return n * scale

    assert render(3, scale=2.0) == 6.0 and render(3) == 3
    assert render.__doc__ == "Doc kept." and render.__name__ == "render"
    t = runs.timings("steptest", reset=True)
    assert list(t["step"]) == ["render"] and t.loc[0, "this_run_s"] >= 0


def test_plan_table_sets_paper_beside_run():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class P(runs.Plan):
        PAPER = {"n": 200}
        n: int = 20
        classes: tuple = ("a", "b")

    t = P().table()
    assert list(t["setting"]) == ["n", "classes"] and t.loc[0, "paper"] == "200" and t.loc[1, "this run"] == "a, b"
