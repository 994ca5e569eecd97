"""Sixt chapter ledger: the claims recomputed from published numbers, and the paper's settings by key."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from xaibook import ledger
from xaibook.data import published
from xaibook.studies import sixt2022 as sx
from xaibook.world.importance import Importance

from test_published_nguyen_sixt import sixt_text  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def _fresh_ledger():
    ledger.forget("sixt2022")
    yield
    ledger.forget("sixt2022")


def _claims() -> pd.DataFrame:
    return ledger.frame(ledger.claims("sixt2022")).set_index("claim")


def test_settings_and_code_sizes_by_key():
    assert sx.paper_setting("test_accuracy") == 96.7
    assert sx.paper_setting("parameters") == 261_000_000
    assert (sx.paper_setting("concept_abs_r_min"), sx.paper_setting("concept_abs_r_max")) == (0.21, 0.34)
    code = published.load("sixt2022_code")
    assert code["note"].str.contains("not printed in the paper").all()
    assert sx.study_code("train_images") == 60000 and sx.study_code("image_side") == 128


def test_settings_rows_are_in_the_paper_text(sixt_text):  # noqa: F811
    text = sixt_text.replace("\n", " ")
    for phrase in ("test accuracy of 96.7%", "687 layers and 261 million parameters", "contains 7 blocks",
                   "collection of 32 flow steps", "layer 342 (from a total of 641 layers)", "10 components",
                   "range [0.21, 0.34]", "image grid of 10 rows", "Bonferroni adjusted to α = 0.025",
                   "five exemplary images per row"):
        assert re.search(re.escape(phrase), text), phrase


def test_table2_claims_flag_the_printed_slips():
    sx.record_table2()
    c = _claims()
    assert c.loc["table2.study1.overall", "ours"] == pytest.approx(100 * 158 / 215)
    assert c.loc["table2.study1.overall", "status"].startswith("differs")
    assert c.loc["table2.study2.inn.overall", "status"] == "reproduced"
    assert c.loc["table2.study2.all.color", "ours"] == pytest.approx(100 * (51 + 42 + 19) / 192)
    assert c.loc["table2.study2.all.color", "status"].startswith("differs")
    for claim in ("participants.study2.participants_analysed", "participants.study2.excluded_by_annotators",
                  "tests.baseline_vs_inn.n", "tests.kruskal_wallis.n"):
        assert c.loc[claim, "status"] == "reproduced", claim
    assert c.loc["tests.baseline_vs_inn.n", "ours"] == 133


def test_tests_claims():
    sx.record_mcnemar(sx.study1_mcnemar_summary())
    sx.record_attribute_tests(sx.attribute_comparisons())
    sx.record_study2_tests_not_recomputable()
    c = _claims()
    assert c.loc["tests.mcnemar.legs_vs_color.pvalue", "ours"] < 1e-4
    assert c.loc["tests.mcnemar.legs_vs_shape.pvalue", "status"] == "within tolerance"
    assert c.loc["tests.inn_vs_baseline.legs.p_holm", "status"].startswith("differs")  # printed < 0.001
    assert c.loc["tests.inn_vs_baseline.shape.p_holm", "status"] == "reproduced"
    assert c.loc["tests.wilcoxon.baseline_vs_inn.effect_r", "status"].startswith("not recomputable")
    assert c.loc["tests.wilcoxon.baseline_vs_inn.effect_r", "paper"] == 0.091


def test_importance_claims_use_table1_then_table3():
    rows = [{"factor": f, "seed": s, "prediction_flip": 10.0 + s, "median_logit_change": 1.0, "r2": 0.5, "n": 7}
            for f in ("arm_position", "position_x") for s in (0, 1)]
    sx.record_importance(Importance(table=pd.DataFrame(rows), samples=pd.DataFrame()))
    c = _claims()
    assert c.loc["table1.arm_position.prediction_flip", "ours"] == 10.5  # the mean over seeds
    assert c.loc["table1.arm_position.prediction_flip", "paper"] == pytest.approx(41.68)
    assert c.loc["table3.position_x.r2", "source"] == "sixt2022 Table 3"
    assert "7 test scenes per factor, mean over 2" in c.loc["table3.position_x.r2", "data"]


def test_interpolation_and_observer_claims_map_names_to_tables_6_and_7():
    changes = pd.DataFrame({"factor": ["spherical", "bg_color"], "name": ["Shape", "Background"],
                            "mean (ours)": [0.6, 0.5]})
    sx.record_interpolations(changes, {"n_exact": 3})
    err = pd.DataFrame({"factor": ["spherical"], "name": ["Shape"], "test_mse": [0.0011]})
    sx.record_observer({"test_error": err, "n_train": 64, "n_test": 32})
    c = _claims()
    assert c.loc["table6.spherical.mean_maximal_change", "status"] == "within tolerance"  # paper 0.624
    assert c.loc["table6.bg_color.mean_maximal_change", "status"].startswith("differs")  # paper 0.045
    assert c.loc["table7.spherical.test_mse", "paper"] == pytest.approx(0.001102)
    assert np.isfinite(c["ours"]).all()
