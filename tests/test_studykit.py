"""The study kit without a browser: export, selection, CLI, read_studykit and the chapters' analyses.
(The browser itself is exercised in test_studykit_browser.py.)"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from test_studykit_manifests import BUILDERS, XSS, alqaraawi, nguyen, shen, sixt, study_data
from xaibook import studykit
from xaibook.cache import default_cache
from xaibook.data import responses
from xaibook.data.responses import read_studykit
from xaibook.errors import DataFormatError, DataNotFoundError, ParameterError
from xaibook.studykit import __main__ as cli
from xaibook.studykit import analysis
from xaibook.studykit import build as kit_export
from xaibook.studykit.studies import spec

CSV_COLUMNS = ["kit_id", "study", "participant", "condition", "assignment", "group", "phase", "trial", "trial_id",
               "response", "rt_ms", "pre_response", "pre_rt_ms", "confidence", "confidence_rt_ms", "event"]


def exported(tmp_path: Path, study: str, **kw) -> Path:
    manifest = BUILDERS[study](tmp_path / f"{study}-manifest")
    return studykit.export(study, tmp_path / f"{study}-export", manifest=manifest, **kw)


def fake_run(folder: Path, participant: str, condition: str, answer=None, complete: bool = True,
             stop_after: int | None = None, out: Path | None = None, group: str | None = None) -> Path:
    """What the browser writes for one participant (same columns as templates/study.js), without a browser."""
    data = study_data(folder)
    trials = [t for t in data["trials"] if t["condition"] == condition and (group is None or t["group"] == group)]
    answer = answer or (lambda t: t["options"][0])
    rows, counts = [], {}
    for t in trials[:stop_after]:
        counts[t["phase"]] = counts.get(t["phase"], 0) + 1
        row = {"kit_id": data["kit_id"], "study": data["study"], "participant": participant, "condition": condition,
               "assignment": "url", "group": t["group"], "phase": t["phase"], "trial": counts[t["phase"]],
               "trial_id": t["trial_id"], "response": answer(t), "rt_ms": 800, "event": ""}
        if t["pre_question"]:
            row.update(pre_response="Yes", pre_rt_ms=300)
        if any(t["phase"] in f["phases"] for f in data["followups"]):
            row.update(confidence="Fairly confident", confidence_rt_ms=400)
        rows.append(row)
    if complete and stop_after is None:
        rows.append({"kit_id": data["kit_id"], "study": data["study"], "participant": participant,
                     "condition": condition, "event": "complete"})
    path = (out or folder) / f"studykit-{data['kit_id']}-{participant}.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return path


# ------------------------------------------------------------------------------------------- export
def test_export_writes_a_self_contained_offline_study(tmp_path):
    out = exported(tmp_path, "nguyen2021")
    web = out / "study"
    for name in ("index.html", "study.js", "study.css", "study-data.js", *kit_export.LIBRARY_FILES):
        assert (web / name).is_file() or (web / "lib" / name).is_file(), name
    html = (web / "index.html").read_text()
    refs = [r.split('"')[1] for r in html.split("src=")[1:] + html.split("href=")[1:]]
    assert refs and all(not r.startswith(("http:", "https:", "//")) for r in refs), refs
    assert all((web / r).is_file() for r in refs if not r.startswith("data:")), refs
    data = study_data(out)
    # images copied under the same relative paths; no answer key in the browser except training feedback
    assert all((web / t["image"]).is_file() for t in data["trials"])
    assert all(t["answer"] == "" for t in data["trials"] if t["phase"] != "training")
    assert (out / "key" / "manifest.csv").is_file() and not (web / "manifest.csv").exists()
    meta = json.loads((out / "studykit.json").read_text())
    assert meta["kit_id"] == data["kit_id"] and meta["kit_id"].startswith("nguyen2021-")
    assert meta["conditions"] == ["Confidence", "GradCAM"]
    assert "participant=" in (out / "START-HERE.txt").read_text()
    # the key is kept as an ordinary cache entry: the cache stays a cache others can write to
    assert [e.name for e in default_cache().entries(kit_export.KEY_ENTRY)]
    default_cache().save("studykit.test", {"n": 1}, 1, fmt="pkl")


def test_export_texts_come_from_the_study_spec(tmp_path):
    data = study_data(exported(tmp_path, "alqaraawi2020"))
    assert data["title"] == spec("alqaraawi2020").title
    assert data["group_column"] == "task_order"
    assert [f["name"] for f in data["followups"]] == ["confidence"] and data["followups"][0]["phases"] == ["test"]
    assert {t["group"] for t in data["trials"]} == {"cats first", "horses first"}
    assert study_data(exported(tmp_path, "shen2020"))["lock_ms"] == 5000


def test_kit_id_depends_on_the_screens_and_seed(tmp_path):
    a = study_data(exported(tmp_path / "a", "shen2020"))["kit_id"]
    b = study_data(exported(tmp_path / "b", "shen2020"))["kit_id"]
    c = study_data(exported(tmp_path / "c", "shen2020", seed=3))["kit_id"]
    assert a == b != c


def test_select_draws_the_same_trials_across_conditions(tmp_path):
    frame = studykit.select(pd.read_csv(nguyen(tmp_path / "m")), trials=2, seed=1)
    per = frame.groupby(["condition", "phase"])["trial_id"].apply(set)
    assert per[("Confidence", "test")] == per[("GradCAM", "test")] and len(per[("GradCAM", "test")]) == 2
    assert len(per[("GradCAM", "validation")]) == 1
    only = studykit.select(pd.read_csv(nguyen(tmp_path / "m2")), conditions=["GradCAM"])
    assert set(only["condition"]) == {"GradCAM"}


def test_trials_counts_whole_tasks_where_the_study_has_units(tmp_path):
    data = study_data(exported(tmp_path, "alqaraawi2020", trials=1))
    tasks = {t["block"] for t in data["trials"]}
    assert len(tasks) == 1
    assert {t["phase"] for t in data["trials"]} == {"training", "test"}


@pytest.mark.parametrize("kw, match", [
    (dict(trials=0), "trials must be a positive"), (dict(trials=True), "trials must be a positive"),
    (dict(conditions=["Nope"]), "Nope"), (dict(seed=-1), "seed must be"),
])
def test_export_refuses_bad_arguments(tmp_path, kw, match):
    with pytest.raises(ParameterError, match=match):
        exported(tmp_path, "nguyen2021", **kw)


def test_export_refuses_a_foreign_folder_and_replaces_an_earlier_export(tmp_path):
    (tmp_path / "nguyen2021-export").mkdir()
    (tmp_path / "nguyen2021-export" / "thesis.tex").write_text("keep me")
    with pytest.raises(ParameterError, match="not a study-kit export"):
        exported(tmp_path, "nguyen2021")
    assert (tmp_path / "nguyen2021-export" / "thesis.tex").read_text() == "keep me"
    out = exported(tmp_path / "x", "nguyen2021")
    (out / "study" / "stale.txt").write_text("old")
    exported(tmp_path / "x", "nguyen2021")
    assert not (out / "study" / "stale.txt").exists()


def test_export_refuses_a_manifest_of_another_study(tmp_path):
    with pytest.raises(ParameterError, match="not of study 'shen2020'"):
        studykit.export("shen2020", tmp_path / "out", manifest=nguyen(tmp_path / "m"))


def test_missing_jspsych_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(kit_export, "node_modules", lambda: tmp_path / "nowhere")
    with pytest.raises(DataNotFoundError, match="npm ci"):
        exported(tmp_path, "nguyen2021")


def test_unknown_study_is_refused():
    with pytest.raises(ParameterError, match="unknown study"):
        studykit.study_manifest("nosuchstudy", ".")


# ------------------------------------------------------------------------------------------- CLI
def test_cli_exports_and_reports(tmp_path, capsys):
    manifest = sixt(tmp_path / "m")
    assert cli.main(["export", "sixt2022", "--out", str(tmp_path / "o"), "--trials", "1", "--seed", "2",
                     "--conditions", "INN", "--manifest", str(manifest)]) == 0
    out = capsys.readouterr().out
    assert "sixt2022-" in out and "conditions INN" in out and "MB" in out


@pytest.mark.parametrize("argv, match", [
    (["export", "nguyen2021"], "--out"),
    (["export", "nguyen2021", "--out", "x", "--trials", "two"], "invalid int"),
    (["export", "nosuchstudy", "--out", "x"], "unknown study"),
])
def test_cli_errors_are_one_line_exit_2(tmp_path, capsys, argv, match):
    with pytest.raises(SystemExit) as e:
        raise SystemExit(cli.main(argv))
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and match in err[0]


# ------------------------------------------------------------------------------------ read_studykit
def test_read_studykit_gives_the_trial_schema_with_the_key_from_the_manifest(tmp_path):
    out = exported(tmp_path, "nguyen2021")
    f = fake_run(out, "P01", "GradCAM", answer=lambda t: "Yes")
    trials = read_studykit([f])
    responses.validate(trials)
    assert (trials["source"] == f"human: studykit {study_data(out)['kit_id']}").all()
    key = pd.read_csv(out / "key" / "manifest.csv").set_index(["condition", "trial_id"])["answer"]
    want = [key[("GradCAM", t)] == "Yes" for t in trials["trial_id"]]
    assert trials["correct"].tolist() == want
    assert set(trials["response"]) == {"accept"} and trials["known"].eq(True).all()
    assert trials["complete"].all() and trials["rt"].eq(0.8).all()
    assert set(trials["phase"]) == {"validation", "test"}
    assert {"difficulty", "kit_id", "trial_id", "option", "answer"} <= set(trials.columns)
    assert trials["prediction"].eq("lakeland terrier").all()


def test_read_studykit_takes_folders_and_many_files_and_flags_incomplete_runs(tmp_path):
    out = exported(tmp_path, "shen2020")
    answers = tmp_path / "answers"
    answers.mkdir()
    fake_run(out, "P1", "Int", out=answers)
    fake_run(out, "P2", "No-Int", out=answers, stop_after=1)
    trials = read_studykit(answers)
    done = trials.groupby("participant")["complete"].first()
    assert done.to_dict() == {"P1": True, "P2": False}
    assert len(trials[trials["participant"] == "P2"]) == 1


def test_read_studykit_finds_the_key_in_the_cache_and_by_argument(tmp_path):
    out = exported(tmp_path, "sixt2022")
    f = fake_run(out, "P1", "INN", out=tmp_path)
    assert len(read_studykit(f)) == len(read_studykit(f, manifest=out))
    assert default_cache().clear(kit_export.KEY_ENTRY) >= 1
    with pytest.raises(DataNotFoundError, match="no answer key"):
        read_studykit(f)
    assert len(read_studykit(f, manifest=out / "key" / "manifest.csv")) == 5  # tutorial, check, 3 attributes


def _edit(path: Path, change) -> Path:
    rows = list(csv.DictReader(open(path)))
    change(rows)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=rows[0].keys())
        w.writeheader()
        w.writerows(rows)
    return path


def test_read_studykit_refuses_bad_files_naming_them(tmp_path):
    out = exported(tmp_path, "nguyen2021")
    bad = tmp_path / "notes.csv"
    bad.write_text("name,score\nA,1\n")
    with pytest.raises(DataFormatError, match="notes.csv.*not a study-kit file"):
        read_studykit(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataFormatError, match="empty.csv"):
        read_studykit(empty)
    f = fake_run(out, "P1", "GradCAM")
    foreign = _edit(fake_run(out, "P2", "GradCAM"), lambda rows: rows[0].update(trial_id="n99"))
    with pytest.raises(DataFormatError, match="P2.csv.*foreign"):
        read_studykit([f, foreign])
    wrong = _edit(fake_run(out, "P3", "GradCAM"), lambda rows: rows[0].update(response="Maybe"))
    with pytest.raises(DataFormatError, match="P3.csv.*'Maybe' is not one of the options"):
        read_studykit(wrong)
    twice = _edit(fake_run(out, "P4", "GradCAM"), lambda rows: rows.insert(0, dict(rows[0])))
    with pytest.raises(DataFormatError, match="P4.csv.*twice"):
        read_studykit(twice)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(f.read_bytes())
    with pytest.raises(DataFormatError, match="participant 'P1'.*also in"):
        read_studykit([f, copy])
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_studykit(tmp_path / "nowhere.csv")


# ------------------------------------------------------------------------------------------ analyses
def test_nguyen_analysis_runs_the_chapters_functions(tmp_path):
    out = exported(tmp_path, "nguyen2021")
    for i, cond in enumerate(["GradCAM", "GradCAM", "Confidence"]):
        fake_run(out, f"P{i}", cond, answer=lambda t: "Yes")
    tables = analysis.analyse(read_studykit(out))
    summary = tables["accuracy by method (%)"].set_index("method")
    # test screens n1 (No), n2 (Yes), n3 (No): answering Yes is right on one of three
    assert summary.loc["GradCAM", "users"] == 2 and summary.loc["GradCAM", "mean"] == pytest.approx(100 / 3)
    assert "accuracy on known and unknown classes (%)" in tables


def test_shen_analysis_scores_images_and_tests_conditions(tmp_path):
    out = exported(tmp_path, "shen2020")
    for i in range(3):
        fake_run(out, f"I{i}", "Int", answer=lambda t: "tabby cat")
        fake_run(out, f"N{i}", "No-Int", answer=lambda t: "dingo")
    tables = analysis.analyse(read_studykit(out))
    acc = tables["accuracy by experiment, condition and category (%)"]
    assert acc.loc[(acc["condition"] == "Int") & (acc["category"] == "all"), "accuracy"].eq(100).all()
    tests = tables["Int vs No-Int (t-tests on per-image accuracy)"]
    assert set(tests["test"]) == {"unpaired t", "paired t"} and tests["note"].ne("").all()  # one image per side


def test_alqaraawi_analysis_uses_the_2x2_factors_and_outcomes(tmp_path):
    out = exported(tmp_path, "alqaraawi2020")
    conds = ["maps and scores", "maps only", "scores only", "neither"]
    for i in range(8):  # P0, P1, P4 (maps) forecast both tasks right; everyone else says Yes throughout
        fake_run(out, f"P{i}", conds[i % 4], group="cats first",
                 answer=lambda t, i=i: "No" if i in (0, 1, 4) and t["trial_id"].endswith("t02") else "Yes")
    tables = analysis.analyse(read_studykit(out))
    by_outcome = tables["forecast accuracy by the model's outcome (%)"].set_index("outcome")["accuracy"]
    assert by_outcome.to_dict() == {"FN": 37.5, "TP": 100.0}
    anova = tables["two-way ANOVA (saliency maps x scores)"]
    assert list(anova.index)[:2] == ["saliency_maps", "scores"]
    assert anova.loc["saliency_maps", "pvalue"] < anova.loc["scores", "pvalue"]
    assert tables["forecast accuracy by condition (%)"]["confidence"].eq(3).all()


def test_im_and_sixt_analyses(tmp_path):
    out = exported(tmp_path, "im2023")
    for i in range(2):
        fake_run(out, f"A{i}", "none", answer=lambda t: t["options"][1])
        fake_run(out, f"B{i}", "GradCAM_all", answer=lambda t: t["options"][0])
    acc = analysis.analyse(read_studykit(out))["accuracy by task and condition (%)"].set_index(["task", "condition"])
    assert acc.loc[("model selection", "none"), "mean"] == 100.0
    assert acc.loc[("counterfactual simulation", "GradCAM_all"), "mean"] == 100.0
    out = exported(tmp_path, "sixt2022")
    fake_run(out, "S1", "INN", answer=lambda t: "Relevant" if t["phase"] == "test" else t["options"][0])
    table = analysis.analyse(read_studykit(out))["accuracy by condition and attribute (%)"].set_index("condition")
    assert table.loc["INN", "Legs"] == 100.0 and table.loc["INN", "Background"] == 0.0
    assert table.loc["INN", "overall"] == pytest.approx(200 / 3)


def test_analyse_folder_reads_a_study_s_files_and_says_what_it_found(tmp_path):
    out = exported(tmp_path, "sixt2022")
    assert "No folder given" in analysis.analyse_folder("sixt2022", None).note
    assert "No study-kit file" in analysis.analyse_folder("sixt2022", tmp_path).note
    fake_run(out, "S1", "INN", out=tmp_path)
    res = analysis.analyse_folder("sixt2022", tmp_path)
    assert "1 participant(s) (1 complete" in res.note and "human: studykit sixt2022-" in res.note
    assert "<h4>" in res._repr_html_()


def test_labels_with_markup_stay_data(tmp_path):
    out = studykit.export("nguyen2021", tmp_path / "x", manifest=nguyen(tmp_path / "m", label=XSS))
    text = (out / "study" / "study-data.js").read_text()
    assert "</script" not in text.lower()
    assert any(XSS in t["question"] for t in study_data(out)["trials"])


def test_demo_stages_the_study_and_the_book_extension_serves_it_with_mathjax(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from xaibook.studykit import embed as demo_module, sphinx as kit_sphinx

    monkeypatch.setattr(kit_export, "study_manifest", lambda study, out: sixt(Path(out)))
    monkeypatch.setattr(demo_module, "staging_dir", lambda: tmp_path / "staging")
    monkeypatch.setattr(kit_sphinx, "staging_dir", lambda: tmp_path / "staging")
    d = studykit.demo("sixt2022", trials=1)
    assert (tmp_path / "staging" / "sixt2022" / "index.html").is_file()
    page = d._repr_html_()
    assert 'src="../studykit/sixt2022/index.html"' in page and "smoke-scale" in page and d.kit_id in page
    app = SimpleNamespace(outdir=str(tmp_path / "html"), builder=SimpleNamespace(format="html"))
    kit_sphinx._finished(app, None)
    assert (tmp_path / "html" / "studykit" / "sixt2022" / "study-data.js").is_file()
    assert (tmp_path / "html" / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert any((tmp_path / "html" / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").iterdir())
    # the key stays out of the book and in the cache, so the reader's CSV reads back
    assert not (tmp_path / "html" / "studykit" / "sixt2022" / "key").exists()
    assert kit_export.kept_key(d.kit_id) is not None
