"""Published numbers of Shen & Huang 2020, Alqaraawi et al. 2020 and Im et al. 2023.

Three kinds of checks:
* schema and ranges of every shipped table (through ``xaibook.data.published.load``);
* each transcribed number against the paper text in ``../shared/seeds`` (regexes built
  from the CSV rows, so a typo in a CSV fails); skipped when ``../shared`` is absent;
* the study modules' reanalysis against hand-computed values.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from xaibook import config
from xaibook.data import published

SHEN = ["shen2020_accuracy", "shen2020_comparisons", "shen2020_design"]
ALQ = ["alqaraawi2020_descriptives", "alqaraawi2020_tests", "alqaraawi2020_outcomes", "alqaraawi2020_design"]
IM = ["im2023_design", "im2023_conditions", "im2023_findings"]
ALL = SHEN + ALQ + IM

WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 7: "seven", 9: "nine", 36: "thirty-six"}


def _raw(name: str) -> pd.DataFrame:
    """The CSV as printed strings (so '0.060' stays '0.060')."""
    return pd.read_csv(config.published_dir() / f"{name}.csv", dtype=str, keep_default_na=False)


def _seed(shared_dir: Path, prefix: str) -> str:
    files = sorted((shared_dir / "seeds").glob(f"{prefix}_*.txt"))
    if not files:
        pytest.skip(f"no seeds/{prefix}_*.txt in {shared_dir}")
    return files[0].read_text(encoding="utf-8")


def _num(raw: str) -> str:
    """Regex for a number as printed, not part of a longer number; thousands commas allowed."""
    raw = raw.strip()
    body = raw
    if re.fullmatch(r"\d{4,}", raw):
        body = raw[:-3] + ",?" + raw[-3:]
        body = body.replace(",?", "§")
        body = re.escape(body).replace("§", ",?")
    else:
        body = re.escape(raw)
    return rf"(?<![\d.]){body}(?![\d])"


def _occurs(text: str, raw: str) -> bool:
    if re.search(_num(raw), text):
        return True
    value = float(raw)
    if value.is_integer() and int(value) in WORDS:
        return re.search(rf"\b{WORDS[int(value)]}\b", text, flags=re.IGNORECASE) is not None
    return False


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("name", ALL)
def test_loads_with_provenance(name):
    df = published.load(name)
    assert len(df) > 0
    assert set(df["paper"]) == {name.split("_")[0]}
    assert df["section"].notna().all(), "every row names its section"
    # the papers' text extractions carry no page numbers
    assert df["page"].isna().all()


def test_shen_accuracy_ranges_and_types():
    df = published.load("shen2020_accuracy")
    assert df["accuracy"].between(0, 1).all()
    assert pd.api.types.is_integer_dtype(df["n_images"]) and (df["n_images"] > 0).all()
    assert sorted(df["experiment"].unique()) == [1, 2]
    assert set(df["condition"]) == {"Int", "No-Int"}
    assert set(df["category"]) == {"C1", "C2", "C3", "C4", "C5", "Overall"}
    assert len(df) == 2 * 2 * 6
    # per condition the five categories add up to the overall image count
    for (_, _), g in df.groupby(["experiment", "condition"]):
        cats = g[g["category"] != "Overall"]
        assert cats["n_images"].sum() == int(g.loc[g["category"] == "Overall", "n_images"].iloc[0])


def test_shen_comparisons_ranges():
    df = published.load("shen2020_comparisons")
    assert set(df["p_bound"].dropna()) <= {0.05, 0.01}
    stars = df["significance"].fillna("")
    assert ((stars == "*") == (df["p_bound"] == 0.05)).all()
    assert ((stars == "**") == (df["p_bound"] == 0.01)).all()
    assert set(df.loc[df.experiment == 1, "test"]) == {"unpaired t-test"}
    assert set(df.loc[df.experiment == 2, "test"]) == {"paired t-test"}


def test_shen_design_is_consistent():
    d = published.load("shen2020_design").set_index(["experiment", "quantity"])["value"]
    assert d[("1", "workers_int")] + d[("1", "workers_no_int")] - d[("1", "workers_both_conditions")] == d[("1", "workers_total")]
    assert d[("1", "workers_total")] + d[("2", "workers_int")] + d[("2", "workers_no_int")] == d[("all", "workers_total")]
    assert d[("1", "images_per_condition")] * d[("1", "workers_per_image")] == d[("1", "submissions_per_condition")]
    assert d[("2", "images")] * d[("2", "workers_per_image_per_condition")] == d[("2", "submissions_per_condition")]
    assert d[("1", "submissions")] + d[("2", "submissions")] == d[("all", "submissions")]


def test_alqaraawi_ranges_and_types():
    desc = published.load("alqaraawi2020_descriptives")
    pct = desc[desc["unit"] == "percent"]
    assert pct["value"].between(0, 100).all()
    tests = published.load("alqaraawi2020_tests")
    assert tests["p"].between(0, 1).all()
    assert set(tests["p_relation"]) <= {"=", "<"}
    assert tests["eta_squared"].dropna().between(0, 1).all()
    assert (tests["statistic"] >= 0).all()
    out = published.load("alqaraawi2020_outcomes")
    assert out["percent"].between(0, 100).all()
    assert pd.api.types.is_integer_dtype(out["n_task_images"])
    design = published.load("alqaraawi2020_design").set_index("quantity")["value"]
    assert design["participants_per_condition"] * design["conditions"] == design["participants"]
    assert design["task_tp_per_class"] + design["task_fn_per_class"] + design["task_fp_per_class"] == design["task_images_per_class"]
    assert 2 * design["task_images_per_class"] == design["task_images"]
    assert design["examples_tp"] + design["examples_fn"] + design["examples_fp"] == design["examples_per_task"]
    # error df of the ANOVAs: N - 4 cells (64 in Sec. 4.1; 64 - 2 excluded in Sec. 4.3)
    anova = tests[tests["test"].str.startswith("two-way ANOVA")]
    n_used = {"forecast_accuracy": design["participants"],
              "saliency_feature_ratio": design["participants"] - design["excluded_from_feature_analysis"]}
    for _, row in anova.iterrows():
        assert row["df2"] == n_used[row["outcome"]] - design["conditions"]


def test_im_holds_no_invented_results():
    """The summary states no accuracies; none may appear in our tables."""
    for name in IM:
        df = published.load(name)
        assert not any(re.search(r"accura|mean|^sd$|percent|p_?value", c) for c in df.columns)
    conds = published.load("im2023_conditions")
    design = published.load("im2023_design").set_index("quantity")["value"]
    assert len(conds) == design["conditions"] == 1 + design["explanation_methods"] * design["access_levels"]


# --------------------------------------------------------------------------- against the text


def _markdown_table(text: str, caption: str) -> list[list[str]]:
    """Rows (cells stripped of markup) of the markdown table right before ``caption``."""
    end = text.index(caption)
    lines = text[:end].rstrip().splitlines()
    rows = []
    while lines and lines[-1].strip().startswith("|"):
        rows.append(lines.pop())
    rows.reverse()
    cells = []
    for line in rows:
        if set(line.replace("|", "").strip()) <= set("-: "):
            continue
        cells.append([re.sub(r"<[^>]+>|\*", "", c).strip() for c in line.strip().strip("|").split("|")])
    return cells


@pytest.mark.parametrize("experiment,caption", [(1, "Table 1: Results of Experiment 1"),
                                                (2, "Table 2: Results of Experiment 2")])
def test_shen_tables_match_text(shared_dir, experiment, caption):
    text = _seed(shared_dir, "001")
    table = _markdown_table(text, caption)
    header = table[0][1:]
    assert header == ["C1", "C2", "C3", "C4", "C5", "Overall"]
    acc = published.load("shen2020_accuracy")
    acc = acc[acc["experiment"] == experiment]
    # a "#images" row follows each condition it counts (Table 2: one row for both)
    counts = {}
    current = []
    for row in table[1:]:
        label, values = row[0], row[1:]
        if label in ("Int", "No-Int"):
            mine = acc[acc["condition"] == label].set_index("category").loc[header, "accuracy"]
            assert [float(v) for v in values] == pytest.approx(list(mine), abs=1e-9), f"{caption} {label}"
            current.append(label)
        elif label == "#images":
            for cond in current:
                counts[cond] = [int(v) for v in values]
            current = []
    assert set(counts) == {"Int", "No-Int"}
    for cond, n in counts.items():
        mine = acc[acc["condition"] == cond].set_index("category").loc[header, "n_images"]
        assert n == list(mine), f"{caption} #images {cond}"
    # significance stars sit on the No-Int row
    raw_line = next(l for l in text[: text.index(caption)].splitlines()[::-1] if "No-Int" in l)
    printed = [re.findall(r"\*+", c) for c in raw_line.strip().strip("|").split("|")[1:]]
    printed = [p[0] if p else "" for p in printed]
    comp = published.load("shen2020_comparisons")
    comp = comp[comp["experiment"] == experiment].set_index("category").loc[header, "significance"].fillna("")
    assert printed == list(comp)


def test_shen_design_in_text(shared_dir):
    text = _seed(shared_dir, "001")
    for _, row in _raw("shen2020_design").iterrows():
        assert _occurs(text, row["value"]), f"shen2020_design {row['quantity']}={row['value']} not in the paper text"
    # the overall comparisons: tests and N named in the text
    assert re.search(r"unpaired t-test,\s*\$?p\s*<\s*0\.05\$?\s*,\s*\$?N\s*=\s*100", text)
    assert re.search(r"\(paired t-test,\s*\$?p\s*<\s*0\.01\$?\s*,\s*\$?N\s*=\s*200", text)


def test_alqaraawi_tests_in_text(shared_dir):
    text = _seed(shared_dir, "002")
    for _, r in _raw("alqaraawi2020_tests").iterrows():
        name = re.escape(r["statistic_name"])
        dfs = ""
        if r["df1"]:
            dfs = rf"\(\s*{r['df1']}\s*" + (rf",\s*{r['df2']}\s*" if r["df2"] else "") + r"\)"
        pattern = rf"{name}{dfs}\s*=\s*{_num(r['statistic'])}\s*,\s*p\s*{re.escape(r['p_relation'])}\s*{_num(r['p'])}"
        if r["eta_squared"]:
            pattern += rf"\s*,\s*η2\s*=\s*{_num(r['eta_squared'])}"
        assert re.search(pattern, text), f"alqaraawi2020_tests {r['outcome']} {r['test']} {r['term']}: {pattern}"


def test_alqaraawi_descriptives_in_text(shared_dir):
    text = _seed(shared_dir, "002")
    raw = _raw("alqaraawi2020_descriptives")
    for (outcome, level), g in raw[raw["statistic"].isin(["mean", "sd"])].groupby(["outcome", "level"]):
        m = g.loc[g["statistic"] == "mean", "value"].iloc[0]
        s = g.loc[g["statistic"] == "sd", "value"].iloc[0]
        pattern = rf"{_num(m)}%\s*,\s*(?:σ|SD)\s*=\s*{_num(s)}%"
        assert re.search(pattern, text), f"{outcome} {level}: mean {m} / sd {s} not printed together"
    med = raw.loc[raw["statistic"] == "median", "value"].iloc[0]
    assert re.search(rf"Median\s*=\s*{_num(med)}", text)


OUTCOME_WORDS = {"TP": r"TP|true positives?", "FP": r"FP|false pos\w*", "FN": r"FN|false neg\w*"}


def test_alqaraawi_outcomes_in_text(shared_dir):
    text = _seed(shared_dir, "002")
    for _, r in _raw("alqaraawi2020_outcomes").iterrows():
        hits = [m.start() for m in re.finditer(_num(r["percent"]) + "%", text)]
        assert hits, f"{r['percent']}% not in the paper text"
        if r["outcome_type"] in OUTCOME_WORDS:
            near = [text[max(0, h - 40): h + 40] for h in hits]
            assert any(re.search(OUTCOME_WORDS[r["outcome_type"]], w, flags=re.IGNORECASE) for w in near), (
                f"{r['percent']}% is never printed next to {r['outcome_type']}")


def test_alqaraawi_design_in_text(shared_dir):
    text = _seed(shared_dir, "002")
    for _, row in _raw("alqaraawi2020_design").iterrows():
        assert _occurs(text, row["value"]), f"alqaraawi2020_design {row['quantity']}={row['value']} not in the text"
    assert re.search(r"64 participants \(16 per condition\)", text)
    assert re.search(r"α\s*=\s*2\s+and\s+β\s*=\s*1", text)


def test_im_design_in_summary(shared_dir):
    text = _seed(shared_dir, "003")
    d = _raw("im2023_design").set_index("quantity")["value"]
    assert re.search(rf"n\s*=\s*{d['participants']}\b", text)
    assert re.search(rf"\b{WORDS[int(d['conditions'])]} conditions", text, flags=re.IGNORECASE)
    for _, c in _raw("im2023_conditions").iterrows():
        if c["explanation"] != "none":
            assert c["explanation"] in text
    assert "training time access only" in text and "training and evaluation time access" in text
    assert re.search(r"\btwo tasks\b", text, flags=re.IGNORECASE)
    # the summary reports no accuracy as a number: nothing to transcribe
    assert not re.search(r"\d+(\.\d+)?\s*%", text)


# --------------------------------------------------------------------------- study modules (stage 1)



def _footer(chart) -> str:
    d = chart.to_dict()
    title = d.get("title", {})
    return " ".join(title.get("subtitle", [])) if isinstance(title, dict) else ""


def test_shen_overall_is_weighted_mean_of_categories():
    from xaibook.studies import shen2020

    chk = shen2020.overall_check().set_index(["experiment", "condition"])
    # hand-computed from Tables 1-2: sum(acc * n) / sum(n)
    assert chk.loc[(1, "Int"), "weighted_mean_of_categories"] == pytest.approx(72.95 / 100)
    assert chk.loc[(1, "No-Int"), "weighted_mean_of_categories"] == pytest.approx(81.27 / 100)
    assert chk.loc[(2, "Int"), "weighted_mean_of_categories"] == pytest.approx(125.2 / 200)
    assert chk.loc[(2, "No-Int"), "weighted_mean_of_categories"] == pytest.approx(146.4 / 200)
    assert chk["rounds_to_reported"].all()


def test_shen_granularity():
    from xaibook.studies import shen2020

    g = shen2020.granularity_check().set_index(["experiment", "condition", "category"])
    assert g["consistent"].all()
    # Table 2, C5, Int: 6 images x 5 answers; 0.67 ~ 20/30
    assert g.loc[(2, "Int", "C5"), "answers"] == 30 and g.loc[(2, "Int", "C5"), "correct_answers"] == 20
    assert shen2020.binomial_reference_sd(0.5, 9) == pytest.approx(1 / 6)
    with pytest.raises(Exception):
        shen2020.binomial_reference_sd(1.2, 9)


def test_shen_sd_bounds_reproduce_the_printed_significance():
    """At the implied SD, an independent t-test (scipy) gives exactly the printed bound."""
    from scipy import stats as sps

    from xaibook.studies import shen2020

    b = shen2020.sd_bounds().set_index(["experiment", "category"])
    tab = shen2020.paired_table().set_index(["experiment", "category"])
    for (exp, cat), r in b.iterrows():
        t = tab.loc[(exp, cat)]
        bound = t["p_bound"] if not pd.isna(t["p_bound"]) else 0.05
        s = r["sd_bound"]
        if exp == 1:
            p = sps.ttest_ind_from_stats(t["acc_no_int"], s, t["n_no_int"], t["acc_int"], s, t["n_int"]).pvalue
        else:
            tt = (t["acc_no_int"] - t["acc_int"]) / (s / math.sqrt(t["n_int"]))
            p = 2 * sps.t.sf(abs(tt), t["n_int"] - 1)
        assert p == pytest.approx(bound, rel=1e-6), (exp, cat)
    # starred cells bound the SD from above, unstarred from below
    assert (b.loc[b["significance"] != "", "relation"] == "<=").all()
    assert (b.loc[b["significance"] == "", "relation"] == ">=").all()
    # hand check, Table 1 Overall: SD <= 0.08 / (t_crit(198) * sqrt(2/100))
    hand = 0.08 / (sps.t.isf(0.025, 198) * math.sqrt(2 / 100))
    assert b.loc[(1, "Overall"), "sd_bound"] == pytest.approx(hand, rel=1e-6)


def test_shen_sample_sizes_match_statsmodels():
    from statsmodels.stats.power import TTestIndPower, TTestPower

    from xaibook.studies import shen2020

    t = shen2020.replication_sample_sizes(sds=(0.2, 0.3))
    for _, r in t.iterrows():
        if r["experiment"] == 1:
            ref = TTestIndPower().solve_power(effect_size=r["cohen_d"], power=0.8, alpha=0.05)
        else:
            ref = TTestPower().solve_power(effect_size=r["cohen_d"], power=0.8, alpha=0.05)
        assert r["images_needed"] == math.ceil(ref - 1e-6)


def test_alqaraawi_recomputed_effect_matches_printed_anova():
    from scipy import stats as sps

    from xaibook.studies import alqaraawi2020

    r = alqaraawi2020.recompute_saliency_effect().set_index("outcome")
    acc = r.loc["forecast_accuracy"]
    ref = sps.ttest_ind_from_stats(60.7, 11.0, 32, 55.1, 10.8, 32)
    assert acc["t_pooled"] == pytest.approx(ref.statistic, rel=1e-9)
    assert acc["F_oneway"] == pytest.approx(ref.statistic ** 2, rel=1e-9)
    # the printed F(1,60) = 4.191 and eta2 = 0.063 are met within the pooling of the scores factor
    assert acc["F_oneway"] == pytest.approx(4.191, rel=0.02)
    assert acc["eta2_oneway"] == pytest.approx(0.063, abs=0.002)
    assert acc["cohen_d"] == pytest.approx(5.6 / math.sqrt((11.0 ** 2 + 10.8 ** 2) / 2), rel=1e-6)
    ratio = r.loc["saliency_feature_ratio"]
    assert ratio["eta2_oneway"] == pytest.approx(0.295, abs=0.01)
    assert ratio["F_oneway"] == pytest.approx(23.427, rel=0.15)


def test_alqaraawi_implied_counts_and_derived_group():
    from xaibook.errors import DataFormatError
    from xaibook.studies import alqaraawi2020

    c = alqaraawi2020.implied_counts().set_index(["outcome_type", "saliency_maps"])["correct"]
    # hand: 305/384 = 79.43 %, 120/256 = 46.88 %, 94/256 = 36.72 %, 56/128 = 43.75 %, 63/128 = 49.22 %,
    # 272/448 = 60.71 %, 247/448 = 55.13 %
    assert dict(c) == {("TP", "all"): 305, ("FP", "all"): 120, ("FN", "all"): 94, ("FN", "shown"): 56,
                       ("FP", "shown"): 63, ("all", "omitted"): 247, ("all", "shown"): 272}
    t = alqaraawi2020.outcome_table().set_index(["outcome_type", "saliency_maps"])
    assert t.loc[("FN", "omitted"), "correct"] == 94 - 56
    assert t.loc[("FN", "omitted"), "percent"] == pytest.approx(100 * 38 / 128)
    assert t.loc[("TP", "shown"), "correct"] == 272 - 56 - 63
    assert (t.loc[(slice(None), "omitted"), "origin"] == "derived").all()
    assert alqaraawi2020.implied_count(50.0, 4) == 2
    with pytest.raises(DataFormatError):
        alqaraawi2020.implied_count(33.4, 3)  # 1/3 = 33.3 %, 2/3 = 66.7 %: nothing fits


def test_alqaraawi_published_numbers_agree_with_each_other():
    from xaibook.studies import alqaraawi2020

    chk = alqaraawi2020.consistency_checks()
    assert chk["agrees"].all(), chk
    assert len(chk) == 4


def test_alqaraawi_sample_sizes_match_statsmodels():
    from statsmodels.stats.power import FTestAnovaPower

    from xaibook.studies import alqaraawi2020

    t = alqaraawi2020.replication_sample_sizes().set_index(["outcome", "term"])
    r = t.loc[("forecast_accuracy", "saliency_maps")]
    assert r["cohen_f"] == pytest.approx(math.sqrt(0.063 / 0.937))
    ref = FTestAnovaPower().solve_power(effect_size=r["cohen_f"], k_groups=2, power=0.8, alpha=0.05)
    assert abs(r["participants_needed"] - ref) <= 2
    assert FTestAnovaPower().power(effect_size=r["cohen_f"], nobs=64, alpha=0.05, k_groups=2) == pytest.approx(
        r["power_at_used_n"], abs=1e-3)


def test_im_power_analysis():
    from statsmodels.stats.power import TTestIndPower

    from xaibook.studies import im2023

    c = im2023.comparisons().set_index("comparison")
    assert c.loc["one explanation condition vs none", "n"] == pytest.approx(48 / 7)
    assert im2023.anova_f(0.5, 2) == pytest.approx(0.25)  # two groups: f = d / 2
    p = im2023.power_table().set_index("comparison")
    # ~6.9 per group -> 6 per group (floor), medium effect
    ref = TTestIndPower().power(effect_size=0.5, nobs1=6, alpha=0.05)
    assert p.loc["one explanation condition vs none", "power, medium (d=0.5)"] == pytest.approx(ref, abs=1e-4)
    mde = im2023.minimum_detectable_effect("ttest_ind", 6)
    assert TTestIndPower().power(effect_size=mde, nobs1=6, alpha=0.05) == pytest.approx(0.8, abs=1e-4)
    curve = im2023.power_by_effect()
    assert curve.groupby("comparison")["power"].apply(lambda s: s.is_monotonic_increasing).all()


@pytest.mark.parametrize("module,functions", [
    ("shen2020", ["accuracy_chart", "sd_bounds_chart", "sample_size_chart"]),
    ("alqaraawi2020", ["means_chart", "anova_chart", "outcome_chart", "power_chart"]),
    ("im2023", ["design_chart", "power_chart", "size_chart"]),
])
def test_charts_carry_provenance(module, functions):
    import importlib

    mod = importlib.import_module(f"xaibook.studies.{module}")
    for fn in functions:
        footer = _footer(getattr(mod, fn)())
        assert footer.startswith("Data: ") and "scale: n/a" in footer, (fn, footer)
        assert module in footer, (fn, footer)



# --------------------------------------------------------------------------- ledger claims


def _claims(study):
    from xaibook import ledger

    return {c.claim: c for c in ledger.claims(study)}


@pytest.fixture
def fresh_ledger():
    from xaibook import ledger

    ledger.forget()
    yield ledger
    ledger.forget()


def test_shen_claims(fresh_ledger):
    from xaibook.studies import shen2020

    design = shen2020.design_check()
    assert design["agrees"].all() and len(design) == 8
    shen2020.record_design(design)
    shen2020.record_overall(shen2020.overall_check())
    shen2020.record_granularity(shen2020.granularity_check())
    bounds = shen2020.sd_bounds()
    shen2020.record_stars(bounds)
    c = _claims("shen2020")
    assert len(c) == 8 + 4 + 24 + 6
    kinds = [fresh_ledger.kind(x.status) for x in c.values()]
    assert kinds.count("reproduced") == 36 and kinds.count("not recomputable") == 6
    # Table 2, Int: 125.2 / 200 = 0.626 against the printed 0.63
    o = c["overall.exp2.Int"]
    assert (o.paper, o.ours, o.source) == (0.63, pytest.approx(0.626), "shen2020 Table 2")
    assert c["granularity.exp2.Int.C5"].ours == pytest.approx(20 / 30, abs=1e-4)
    star = c["ttest.exp1.C4"]
    b = bounds.set_index(["experiment", "category"]).loc[(1, "C4")]
    assert star.paper == 0.01 and math.isnan(star.ours)
    assert f"at most {b['sd_bound']:.3f}" in star.status
    assert "ttest.exp1.C1" not in c  # unstarred: no printed bound to set beside


def test_shen_granularity_claim_catches_an_impossible_value(fresh_ledger):
    from xaibook.studies import shen2020

    g = shen2020.granularity_check()
    g.loc[0, "nearest_fraction"] = g.loc[0, "accuracy"] + 0.02
    shen2020.record_granularity(g.iloc[:1])
    (claim,) = fresh_ledger.claims("shen2020")
    assert claim.status.startswith("differs: no whole number")


def test_shen_sentences_state_computed_values():
    from xaibook.studies import shen2020

    bounds = shen2020.sd_bounds()
    text = shen2020.replication_sentence(shen2020.replication_sample_sizes(), bounds)
    noise = bounds.set_index(["experiment", "category"]).loc[(1, "Overall"), "sd_reference"]
    assert "differences of 0.08 (experiment 1) and 0.10" in text
    assert f"contributes {noise:.2f}" in text and "exceeds 0.20" in text
    assert shen2020.granularity_sentence(shen2020.granularity_check()).startswith("24 of 24")
    ratio = (bounds.set_index(["experiment", "category"]).loc[(1, "Overall")])
    assert f"{ratio['sd_bound'] / ratio['sd_reference']:.1f} times" in shen2020.bounds_sentence(bounds)


def test_alqaraawi_effect_ranges_bound_the_recomputation():
    from scipy import stats as sps

    from xaibook.studies import alqaraawi2020

    r = alqaraawi2020.effect_ranges().set_index("outcome")
    acc = r.loc["forecast_accuracy"]
    nominal = sps.ttest_ind_from_stats(60.7, 11.0, 32, 55.1, 10.8, 32).statistic ** 2
    corner = sps.ttest_ind_from_stats(60.75, 10.95, 32, 55.05, 10.75, 32).statistic ** 2  # largest F
    assert acc["F_low"] < 4.191 < nominal < acc["F_high"]
    assert acc["F_high"] == pytest.approx(corner, rel=1e-9)
    ratio = r.loc["saliency_feature_ratio"]
    assert ratio["splits"] == "32/30, 31/31, 30/32"
    assert ratio["F_low"] > 23.427  # the White-corrected F lies outside what a classical F allows
    assert ratio["eta2_low"] < 0.295 < ratio["eta2_high"]


def test_alqaraawi_claims(fresh_ledger):
    from xaibook.studies import alqaraawi2020

    rec, ranges = alqaraawi2020.recompute_saliency_effect(), alqaraawi2020.effect_ranges()
    alqaraawi2020.record_effect(rec, ranges)
    alqaraawi2020.record_counts(alqaraawi2020.implied_counts())
    alqaraawi2020.record_consistency(alqaraawi2020.consistency_checks())
    alqaraawi2020.record_unrecomputed()
    c = _claims("alqaraawi2020")
    f = c["forecast_accuracy.saliency_maps.F"]
    assert (f.paper, f.status, f.source) == (4.191, "within tolerance", "alqaraawi2020 Sec. 4.1")
    assert f.ours == pytest.approx(4.2229, abs=1e-4)
    assert c["saliency_feature_ratio.saliency_maps.F"].status.startswith("differs: the paper's F uses a White")
    assert c["counts.FN.shown"].ours == pytest.approx(100 * 56 / 128)
    assert c["consistency.omitted_mean"].ours == pytest.approx(2 * 1621.6 / 28 - 60.7)
    assert all(c[k].status == "reproduced" for k in c if k.startswith(("counts.", "consistency.")))
    unrec = [k for k in c if c[k].status.startswith("not recomputable")]
    assert len(unrec) == 9 and "forecast_accuracy.two-way_ANOVA.scores" in unrec
    assert len(c) == 5 + 7 + 3 + 9


def test_alqaraawi_sentences_state_computed_values():
    from xaibook.studies import alqaraawi2020

    rec, ranges = alqaraawi2020.recompute_saliency_effect(), alqaraawi2020.effect_ranges()
    text = alqaraawi2020.effect_sentence(rec, ranges)
    assert f"{rec.loc[0, 't_squared']:.2f} against the printed F of 4.191" in text
    assert "the printed F lies inside that range" in text and "belong together" in text
    assert "from the White-corrected ANOVA, lies below that range" in text
    rep = alqaraawi2020.replication_sample_sizes()
    assert "needs 120 participants" in alqaraawi2020.replication_sentence(rep)


def test_im_claims(fresh_ledger):
    from xaibook.studies import im2023

    im2023.record_design()
    c = _claims("im2023")
    assert c["design.conditions.listed"].status == "reproduced"
    assert c["design.conditions.crossed"].ours == 7
    assert c["design.participants"].paper == 48 and c["design.participants"].status.startswith("not recomputable")
    assert {k for k in c if k.startswith("findings.")} == {"findings.model_selection",
                                                          "findings.counterfactual_simulation"}
    assert "6.9 per condition" in im2023.allocation_sentence()
    text = im2023.reading_sentence(im2023.power_table())
    assert "d = 1.26 or more" in text and "at most 0.20" in text


def test_im_findings_in_summary(shared_dir):
    text = _seed(shared_dir, "003")
    for task in published.load("im2023_findings")["task"]:
        assert re.search(rf"did not significantly improve accuracy on [\w\s]*{task}", text), task
