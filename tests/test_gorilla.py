"""Nguyen et al. 2021 Gorilla exports: loader, exclusion, summaries and the summarize CLI.

Two kinds of reference:
* small synthetic exports written by tests/fixtures_gorilla.py (Gorilla's columns and row structure,
  answers invented so that every expected number is counted by hand in the comments);
* the public original exports in ../shared/data/nguyen2021-gorilla, checked against the
  numbers the paper prints (Table 1: the 11 experts, complete in the public data) and a
  hand count with plain pandas. The public data hold test trials only for the experts and
  for 6 of the 32 Dogs/SOD lay users; the lay ImageNet test nodes and every other lay Dogs
  condition are missing, so Fig. 1b / Tables A5, A8, A9 cannot be reproduced from them.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from xaibook.data import gorilla, responses
from xaibook.errors import DataFormatError, DataNotFoundError
from xaibook.studies import nguyen2021

import fixtures_gorilla

# The synthetic participants answer 4 and 2 of the design's 30 test trials (see fixtures_gorilla.py);
# the warning about that is tested in tests/test_bad_inputs_human.py.
pytestmark = pytest.mark.filterwarnings("ignore::xaibook.data.gorilla.IncompleteParticipantWarning")

ROOT = Path(__file__).resolve().parents[1]
GOOD_NAME = "data_exp_90001-v1_task-tst1.csv"
HEADER = "dataset,method,users,mean,sd,natural_correct,natural_total,adversarial_correct,adversarial_total"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xaibook.studies.nguyen2021", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def fix_dir(tmp_path_factory) -> Path:
    """The synthetic exports (tests/fixtures_gorilla.py), written once per module."""
    return fixtures_gorilla.write_exports(tmp_path_factory.mktemp("gorilla"))


@pytest.fixture(scope="module")
def good_export(fix_dir) -> Path:
    return fix_dir / GOOD_NAME


@pytest.fixture(scope="module")
def fixture_trials(fix_dir) -> pd.DataFrame:
    return gorilla.load_exports(fix_dir)


# ------------------------------------------------------------------------------ file names
def test_parse_test_names_natural_and_adversarial():
    s = gorilla.parse_stimulus("n04099969_ILSVRC2012_val_00004131_n04525038_60.jpeg", "test")
    assert (s.prediction, s.truth, s.image_id, s.confidence, s.image_type) == (
        "n04099969", "n04525038", "00004131", 0.60, "natural")
    assert not s.ai_correct
    a = gorilla.parse_stimulus("n02123045_ILSVRC2012_val_00028302_n02123159_282_281_52.jpeg", "test")
    assert (a.prediction, a.truth, a.confidence, a.image_type, a.ai_correct) == (
        "n02123045", "n02123159", 0.52, "adversarial", False)
    ok = gorilla.parse_stimulus("n03594945_ILSVRC2012_val_00045779_n03594945_54.jpeg", "test")
    assert ok.ai_correct and ok.image_type == "natural"


def test_parse_validation_and_training_names():
    v = gorilla.parse_stimulus("n02091032_n02108915_3675_n02108915_245_171_91.jpeg", "validation")
    assert (v.prediction, v.truth, v.confidence, v.image_type) == ("n02091032", "n02108915", 0.91, "adversarial")
    v = gorilla.parse_stimulus("n01514859_n01514859_2022_n01514859_96.jpeg", "validation")
    assert v.ai_correct and v.image_type == "natural"
    t = gorilla.parse_stimulus("lemon_92_ping-pong ball.jpeg", "training")
    assert (t.prediction, t.truth, t.confidence, t.ai_correct) == ("lemon", "ping-pong ball", 0.92, False)


@pytest.mark.parametrize("name,phase", [
    ("n01530575_val_2_n01531178.jpeg", "test"),                                  # no ILSVRC2012 id
    ("n01443537_ILSVRC2012_val_00000001_n01443537_195.jpeg", "test"),            # 195 %
    ("n01443537_ILSVRC2012_val_00000001_n01443537_1_1_95.jpeg", "test"),         # "adversarial" yet correct
    ("n02788148_n03110669_29953_n01440764_20.jpeg", "validation"),               # two different true classes
    ("balloon.jpeg", "training"),
])
def test_parse_rejects_bad_names(name, phase):
    with pytest.raises(DataFormatError, match="somewhere.csv"):
        gorilla.parse_stimulus(name, phase, where="somewhere.csv")


def test_difficulty_bins_follow_sec_2_4_3():
    # correct-high and wrong-low are easy; correct-low and wrong-high are hard; 40-60 % is medium
    assert gorilla.difficulty(True, 0.95) == "easy" and gorilla.difficulty(False, 0.20) == "easy"
    assert gorilla.difficulty(True, 0.25) == "hard" and gorilla.difficulty(False, 0.92) == "hard"
    assert gorilla.difficulty(True, 0.54) == gorilla.difficulty(False, 0.40) == "medium"
    assert gorilla.difficulty(False, 0.30) == "easy" and gorilla.difficulty(True, 0.60) == "medium"  # rounded edges
    assert gorilla.difficulty(True, 0.80) == "easy"


def test_task_names_are_mapped_explicitly():
    t = gorilla.parse_task_name("Natural_NNs")
    assert (t.dataset, t.method, t.population, t.phases) == ("ImageNet", "3-NN", "expert", ("training", "validation", "test"))
    t = gorilla.parse_task_name("Dog_SOD_Test")
    assert (t.dataset, t.method, t.population, t.phases) == ("Dogs", "SOD", "lay", ("test",))
    t = gorilla.parse_task_name("Natural_GradCAM")
    assert (t.dataset, t.method, t.population) == ("ImageNet", "GradCAM", "expert")
    assert gorilla.parse_task_name("Dog_Confidence_Val").method == "Confidence"
    for bad in ("Natural_LIME_Val", "Dog_NNs", "natural_nns_val", "Generic Consent"):
        with pytest.raises(DataFormatError, match="unknown Gorilla task name"):
            gorilla.parse_task_name(bad, "x.csv")


# ------------------------------------------------------------------- fixtures, counted by hand
def test_fixture_trials_counted_by_hand(fixture_trials):
    t = fixture_trials
    responses.validate(t)
    assert set(t["participant"]) == {"fixA", "fixB", "fixC"}
    n = t.groupby(["participant", "phase"]).size().to_dict()
    assert n == {("fixA", "training"): 1, ("fixA", "validation"): 10, ("fixA", "test"): 4,
                 ("fixB", "training"): 1, ("fixB", "validation"): 10, ("fixB", "test"): 4, ("fixC", "test"): 2}
    a = t[(t["participant"] == "fixA") & (t["phase"] == "test")]
    # counterbalance 1 -> file_name1; answers Yes, No, Yes, Yes
    assert list(a["stimulus"].str[:9]) == ["n01443537", "n01530575", "n04525305", "n03594945"]
    assert list(a["response"]) == ["accept", "reject", "accept", "accept"]
    assert list(a["ai_correct"]) == [True, False, False, True]
    # Gorilla's Correct column is 0 on every test row; the key from the file names says 3 of 4 right
    assert list(a["correct"]) == [True, True, False, True]
    assert list(a["image_type"]) == ["natural", "natural", "adversarial", "natural"]
    assert list(a["known"]) == [True, False, True, False]
    assert list(a["difficulty"]) == ["easy", "easy", "hard", "medium"]
    assert np.allclose(a["rt"], [1.5005, 1.6005, 1.7005, 1.8005])  # ms -> s
    b = t[(t["participant"] == "fixB") & (t["phase"] == "test")]   # counterbalance 2 -> file_name2
    assert list(b["stimulus"].str[:9]) == ["n02085620", "n03000134", "n02123045", "n01514859"]
    assert list(b["correct"]) == [False, True, True, False]
    c = t[t["participant"] == "fixC"]                               # empty 'Trial Number' column
    assert list(c["trial"]) == [1, 2] and list(c["correct"]) == [True, False]
    assert (t["source"].str.startswith("human: Gorilla export")).all()
    train = t[t["phase"] == "training"]
    assert list(train["truth"]) == ["balloon", "balloon"] and train["correct"].all()


def test_exclusion_on_fixtures(fixture_trials):
    scores = nguyen2021.validation_scores(fixture_trials).set_index("participant")
    assert scores.loc["fixA", "validation_correct"] == 10 and scores.loc["fixA", "kept"]
    assert scores.loc["fixB", "validation_correct"] == 7 and not scores.loc["fixB", "kept"]  # expert threshold 8
    assert scores.loc["fixC", "validation_trials"] == 0 and scores.loc["fixC", "kept"]       # Gorilla branch: Qualified
    kept = nguyen2021.apply_exclusion(fixture_trials)
    assert set(kept["participant"]) == {"fixA", "fixC"}
    assert set(nguyen2021.apply_exclusion(fixture_trials, bad_users={"fixC"})["participant"]) == {"fixA"}


def test_cli_on_fixtures(fix_dir):
    res = run_cli("summarize", str(fix_dir))
    assert res.returncode == 0, res.stderr
    # fixA: 3/4 = 75 % (natural 3/3, adversarial 0/1); fixC: 1/2 (natural 0/1, adversarial 1/1); one user -> no SD
    assert res.stdout.splitlines() == [HEADER, "Dogs,SOD,1,50.00,,0,1,1,1", "ImageNet,GradCAM,1,75.00,,3,3,0,1"]


@pytest.mark.parametrize("name,problem", [
    ("missing_column.csv", r"missing column\(s\) \['Response'\]"),
    ("unknown_task.csv", "unknown Gorilla task name 'Natural_LIME_Val'"),
    ("empty.csv", "empty"),
    ("bad_file_name.csv", "cannot parse the test stimulus file name 'n01530575_val_2_n01531178.jpeg'"),
])
def test_malformed_exports_name_file_and_problem(name, problem, fix_dir, good_export):
    with pytest.raises(DataFormatError, match=problem) as err:
        gorilla.load_exports(fix_dir / name)
    assert name in str(err.value)
    res = run_cli("summarize", str(good_export), str(fix_dir / name))
    assert res.returncode == 2 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and name in res.stderr


def test_bad_paths(tmp_path):
    with pytest.raises(DataNotFoundError):
        gorilla.load_exports(tmp_path / "nope")
    with pytest.raises(DataFormatError, match="no Gorilla task export"):
        gorilla.load_exports(tmp_path)
    res = run_cli("summarize", str(tmp_path / "nope"))
    assert res.returncode == 2 and "no such file or folder" in res.stderr
    res = run_cli("summarize")
    assert res.returncode == 2  # argparse: no path given


def test_same_export_twice_is_read_once(tmp_path, good_export):
    copy = tmp_path / good_export.name
    copy.write_bytes(good_export.read_bytes())
    both = gorilla.load_exports([good_export, copy])
    assert len(both) == len(gorilla.load_exports(good_export))


def test_validate_names_bad_columns(fixture_trials):
    with pytest.raises(DataFormatError, match=r"lacks column\(s\) \['rt', 'source'\]"):
        responses.validate(fixture_trials.drop(columns=["rt", "source"]))
    bad = fixture_trials.copy()
    bad.loc[0, "source"] = "Gorilla"
    bad.loc[1, "confidence"] = 1.5
    bad.loc[2, "phase"] = "warmup"
    with pytest.raises(DataFormatError) as err:
        responses.validate(bad)
    for col in ("source", "confidence", "phase"):
        assert col in str(err.value)
    sim = fixture_trials.assign(source="simulated: threshold observer")
    assert responses.validate(sim) is sim and responses.is_simulated(sim).all()
    assert not responses.is_simulated(fixture_trials).any()
    assert list(responses.empty().columns) == list(responses.COLUMNS)


# ------------------------------------------------------------- the original public exports
@pytest.fixture(scope="module")
def exports_path() -> Path:
    path = ROOT.parent / "shared" / "data" / "nguyen2021-gorilla"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: these tests read the original exports in ../shared")
    return path


@pytest.fixture(scope="module")
def original(exports_path) -> pd.DataFrame:
    return gorilla.load_exports(exports_path)


def test_loader_reads_every_public_export(shared_dir, original):
    responses.validate(original)
    tasks = original.groupby("task")["participant"].nunique().to_dict()
    # 7 task exports; the two questionnaire exports and csv_files/ hold no trials and are skipped
    assert tasks == {"Dog_NNs_Val": 10, "Dog_SOD_Val": 6, "Dog_SOD_Test": 6, "Natural_NNs_Val": 11,
                     "Natural_SOD_Val": 10, "Natural_NNs": 6, "Natural_GradCAM": 5}
    test = original[original["phase"] == "test"]
    assert (test.groupby("participant").size() == 30).all()
    # 30 test trials per user mix natural and adversarial images; adversarial ones are all AI errors
    assert not test.loc[test["image_type"] == "adversarial", "ai_correct"].any()


def test_answer_key_agrees_with_the_spreadsheets_own_answers(shared_dir, exports_path, original):
    """The key from the file names equals the spreadsheet's answer columns (answer<cb> / ANSWER)."""
    checked = 0
    for f in sorted(exports_path.rglob("data_exp_*_task-*.csv")):
        raw = pd.read_csv(f, dtype=str, encoding="utf-8-sig")
        ours = original[original["file"] == f.name]
        if ours.empty:
            continue
        dec = raw[(raw["Screen Name"] == "Screen 3") & raw["display"].isin(["Validation", "Trial"])]
        cb_cols = [c for c in raw.columns if c.startswith("counterbalance-")]
        for _, r in dec.iterrows():
            cb = int(float(r[cb_cols].dropna().iloc[0]))
            col = f"answer{cb}" if r["display"] == "Trial" else "ANSWER"
            stim = r[f"file_name{cb}"] if r["display"] == "Trial" else r["file_name"]
            row = ours[(ours["participant"] == r["Participant Public ID"]) & (ours["stimulus"] == stim)]
            assert len(row) == 1
            assert bool(row["ai_correct"].iloc[0]) == (r[col] == "Yes"), (f.name, stim)
            checked += 1
    assert checked == len(original[original["phase"].isin(["validation", "test"])])


def test_hand_count_one_expert_with_plain_pandas(shared_dir, exports_path, original):
    """Participant 98abi0jx (GradCAM expert): count right answers straight from the raw rows."""
    raw = pd.read_csv(exports_path / "users_data/Expert_Data/Natural/data_exp_45332-v3_task-hfth.csv", dtype=str)
    me = raw[raw["Participant Public ID"] == "98abi0jx"]
    cb = int(float(me["counterbalance-ao9d"].dropna().iloc[0]))
    dec = me[(me["display"] == "Trial") & (me["Screen Name"] == "Screen 3")]
    names = dec[f"file_name{cb}"].str.replace(".jpeg", "", regex=False).str.split("_")
    ai_right = names.str[0] == names.str[4]          # {pred}_ILSVRC2012_val_{id}_{true}_...
    said_yes = dec["Response"] == "Yes"
    right = int((ai_right == said_yes).sum())
    ours = original[(original["participant"] == "98abi0jx") & (original["phase"] == "test")]
    assert len(dec) == len(ours) == 30
    assert int(ours["correct"].sum()) == right
    assert np.isclose(ours["rt"].sum(), dec["Reaction Time"].astype(float).sum() / 1000)


# Table 1 of the paper (Sec. 3.6): the expert study, printed numbers.
TABLE1 = {"GradCAM": dict(users=5, val=9.80, nat=(70, 104), adv=(32, 46), mean=68.00, sd=8.69),
          "3-NN": dict(users=6, val=9.83, nat=(91, 116), adv=(47, 64), mean=76.67, sd=2.98)}


def test_experts_reproduce_table1(shared_dir, original):
    test = nguyen2021.apply_exclusion(original)
    summary = nguyen2021.method_summary(test[test["population"] == "expert"]).set_index("method")
    scores = nguyen2021.validation_scores(original)
    for method, ref in TABLE1.items():
        row = summary.loc[method]
        assert row["users"] == ref["users"]
        assert (row["natural_correct"], row["natural_total"]) == ref["nat"]
        assert (row["adversarial_correct"], row["adversarial_total"]) == ref["adv"]
        assert round(row["mean"], 2) == ref["mean"] and round(row["sd"], 2) == ref["sd"]
        val = scores[(scores["population"] == "expert") & (scores["condition"] == method)]["validation_correct"]
        assert round(val.mean(), 2) == ref["val"]


def test_cli_on_public_exports(shared_dir, exports_path):
    res = run_cli("summarize", str(exports_path))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == HEADER
    rows = {tuple(l.split(",")[:2]): l for l in lines[1:]}
    assert set(rows) == {("Dogs", "SOD"), ("ImageNet", "GradCAM"), ("ImageNet", "3-NN")}
    assert rows[("ImageNet", "GradCAM")] == "ImageNet,GradCAM,5,68.00,8.69,70,104,32,46"   # Table 1
    assert rows[("ImageNet", "3-NN")] == "ImageNet,3-NN,6,76.67,2.98,91,116,47,64"        # Table 1
    # Dogs/SOD: only 6 of the paper's 32 users (Table A8) are public; 180 test trials
    dogs = rows[("Dogs", "SOD")].split(",")
    assert dogs[2] == "6"
    assert int(dogs[6]) + int(dogs[8]) == 180


def test_public_coverage_and_exclusion_lists(shared_dir, exports_path, original):
    cov = nguyen2021.coverage(original).set_index(["dataset", "method", "population"])
    with_test = cov[cov["test_users"] > 0]
    assert list(with_test.index) == [("Dogs", "SOD", "lay"), ("ImageNet", "GradCAM", "expert"),
                                     ("ImageNet", "3-NN", "expert")]
    assert cov.loc[("Dogs", "SOD", "lay"), "paper_users"] == 32   # Table A8
    assert cov.loc[("ImageNet", "Confidence", "lay"), "validation_users"] == 0
    # the authors' bad-user lists are empty, and every public participant passes the rule
    lists = nguyen2021.find_bad_user_lists(exports_path)
    assert {p.name for p in lists} == {"Natural_bad_users.csv", "Dog_bad_users.csv"}
    assert all(gorilla.read_bad_users(p) == set() for p in lists)
    scores = nguyen2021.validation_scores(original)
    assert scores["kept"].all()
    assert (scores.loc[(scores["population"] == "lay") & (scores["dataset"] == "ImageNet"), "validation_correct"] == 10).all()


def test_breakdowns_add_up_and_tests_match_scipy(shared_dir, original):
    test = nguyen2021.apply_exclusion(original)
    ku = nguyen2021.known_unknown(test)
    assert ku.groupby(["dataset", "method", "population"])["trials"].sum().to_dict() == \
        test.groupby(["dataset", "condition", "population"]).size().to_dict()
    acc = nguyen2021.acceptance_rates(test)
    assert np.allclose(acc.groupby(["dataset", "method", "population"])["rate"].sum(), 100)
    nat = test[test["image_type"] == "natural"]
    by_diff = nguyen2021.difficulty_accuracy(test)
    assert by_diff["trials"].sum() == len(nat)
    users = nguyen2021.user_accuracy(test)
    mw = nguyen2021.method_tests(users)
    assert len(mw) == 1  # only the experts have two methods with test data
    g = users[users["population"] == "expert"].groupby("condition")["accuracy"].apply(list)
    ref = sps.mannwhitneyu(g["GradCAM"], g["3-NN"], alternative="two-sided")
    assert np.isclose(mw["p"].iloc[0], ref.pvalue) and np.isclose(mw["U"].iloc[0], ref.statistic)


# ------------------------------------------------------------------- the chapter's building blocks
def test_chapter_runs_without_and_with_exports(tmp_path, monkeypatch, fix_dir):
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path))
    assert nguyen2021.exports_dir() is None
    note = nguyen2021.exports_status()
    assert "No Gorilla exports" in note and "anguyen8/effectiveness-attribution-maps" in note
    with pytest.raises(DataNotFoundError, match="nguyen2021-gorilla"):
        nguyen2021.load_human()
    cov = nguyen2021.coverage(None)
    assert len(cov) == 12 and (cov["test_users"] == 0).all()   # 2 datasets x 5 methods (lay) + 2 expert methods
    (tmp_path / "nguyen2021-gorilla").symlink_to(fix_dir, target_is_directory=True)
    assert nguyen2021.exports_dir() == tmp_path / "nguyen2021-gorilla"
    assert nguyen2021.exports_status().startswith("Found 2 Gorilla task export(s)")
    trials = nguyen2021.load_human()
    test = nguyen2021.apply_exclusion(trials)
    view = nguyen2021.comparison_view(nguyen2021.compare_with_published(nguyen2021.method_summary(test)))
    row = view[(view["method"] == "GradCAM")].iloc[0]
    assert (row["users"], row["paper users"], row["natural"], row["adversarial"]) == (1, 5, "3/3", "0/1")
    chart = nguyen2021.reanalysis_chart(nguyen2021.user_accuracy(test)).to_dict()
    assert "human: Nguyen et al. 2021 Gorilla exports" in str(chart["title"])


def test_published_charts_carry_provenance():
    acc = nguyen2021.published_accuracy()
    assert len(acc) == 12 and set(acc["population"]) == {"lay", "expert"}
    assert acc.set_index(["dataset", "method", "population"]).loc[("ImageNet", "3-NN", "lay"), "mean"] == 76.08
    for chart, source in [(nguyen2021.published_accuracy_chart(), "Fig. 1b"),
                          (nguyen2021.published_bins_chart(), "Table A1")]:
        title = str(chart.to_dict()["title"])
        assert source in title and "scale: n/a" in title
