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
IM = ["im2023_design", "im2023_conditions"]
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
