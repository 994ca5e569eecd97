"""The study kit in a real browser: headless Chromium (Debian's package) driven by Playwright.

A scripted participant completes each study's export from file:// (offline), its CSV comes back
through read_studykit and the chapter's analysis runs on it; a reload halfway resumes without
losing an answer; markup in a label stays text; the embedded demo loads without console errors.
Without Chromium these tests skip with the command that installs it (scripts/setup.sh installs it
when run as root, so CI runs them).
"""
from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import sync_playwright

from test_studykit_manifests import BUILDERS, XSS, nguyen, study_data
from xaibook import studykit
from xaibook.data.responses import read_studykit
from xaibook.errors import DataNotFoundError
from xaibook.studykit import analysis
from xaibook.studykit.build import available_studies
from xaibook.studykit.embed import Demo
from xaibook.studykit.participant import chromium, study_url, take_study

FIRST_GROUP = {"alqaraawi2020": {"task_order": "cats first"}}


@pytest.fixture(scope="module")
def browser():
    try:
        executable = chromium()
    except DataNotFoundError as e:
        pytest.skip(f"browser tests need Chromium: {e}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield b
        b.close()


class Page:
    """A fresh browser context (own storage) whose page records console errors and non-file requests."""

    def __init__(self, browser):
        self.context = browser.new_context(accept_downloads=True)
        self.errors: list[str] = []
        self.external: list[str] = []

        def route(r):
            if r.request.url.startswith(("file:", "data:", "blob:")):
                r.continue_()
            else:
                self.external.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.external, self.external


@pytest.fixture
def tab(browser):
    t = Page(browser)
    yield t
    t.context.close()


def key_of(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "key" / "manifest.csv", dtype=str, keep_default_na=False)


def alternate(folder: Path, condition: str):
    """Answers right on even-numbered trial ids of the key and wrong on the others (where a key exists)."""
    key = key_of(folder)
    key = key[key["condition"] == condition].set_index(["phase", "trial_id"])["answer"]

    def answer(screen: dict) -> str:
        right = key.get((screen["phase"], screen["trial_id"]), "")
        if not right:
            return screen["options"][0]
        if sorted(key.index).index((screen["phase"], screen["trial_id"])) % 2 == 0:
            return right
        return next(o for o in screen["options"] if o != right)
    return answer


def complete(tab: Page, folder: Path, condition: str, participant: str, tmp: Path, **params) -> pd.DataFrame:
    tab.page.goto(study_url(folder, condition=condition, participant=participant, **params))
    csv = take_study(tab.page, alternate(folder, condition), download_to=tmp)
    assert csv is not None and csv.name == f"studykit-{study_data(folder)['kit_id']}-{participant}.csv"
    return read_studykit(csv)


def check_against_key(trials: pd.DataFrame, folder: Path, condition: str, study: str) -> None:
    key = key_of(folder)
    key = key[key["condition"] == condition]
    if study in FIRST_GROUP:
        col, value = next(iter(FIRST_GROUP[study].items()))
        key = key[key[col] == value]
    assert sorted(trials["trial_id"]) == sorted(key["trial_id"]), "every screen answered once"
    assert trials["complete"].all()
    expect = alternate(folder, condition)
    for r in trials.itertuples():
        k = key[(key["trial_id"] == r.trial_id) & (key["phase"] == r.phase)].iloc[0]
        options = pd.read_json(pd.io.common.StringIO(k["options"]), typ="series").tolist()
        assert r.option == expect({"trial_id": r.trial_id, "phase": r.phase, "options": options})
        assert (r.correct is None) == (k["answer"] == "")
        if k["answer"]:
            assert r.correct == (r.option == k["answer"])
    for phase, g in trials.groupby("phase"):
        assert sorted(g["trial"]) == list(range(1, len(g) + 1)), "trial numbers run 1..n per phase"
    assert (trials["rt"] >= 0).all()


@pytest.mark.parametrize("study", sorted(BUILDERS))
def test_a_scripted_participant_completes_each_kind_of_study(study, tab, tmp_path):
    folder = studykit.export(study, tmp_path / "export", manifest=BUILDERS[study](tmp_path / "m"), lock_ms=0)
    condition = study_data(folder)["conditions"][-1]
    trials = complete(tab, folder, condition, "P01", tmp_path, **FIRST_GROUP.get(study, {}))
    check_against_key(trials, folder, condition, study)
    assert set(trials["condition"]) == {condition} and set(trials["participant"]) == {"P01"}
    tables = analysis.analyse(trials)
    assert tables and all(isinstance(t, pd.DataFrame) for t in tables.values())
    tab.clean()


def _with_trial_manifest() -> list[str]:
    return [s for s in available_studies()
            if hasattr(importlib.import_module(f"xaibook.studies.{s}"), "trial_manifest")]


@pytest.mark.parametrize("study", _with_trial_manifest())
def test_each_chapter_exports_a_study_a_participant_completes(study, tab, tmp_path):
    """The chapter's own manifest (trial_manifest at the smoke scale, through the session's cache),
    one screen per phase (one task where the study counts tasks), completed in Chromium and analysed."""
    folder = studykit.export(study, tmp_path / "export", trials=1, lock_ms=0)
    data = study_data(folder)
    condition = data["conditions"][0]
    groups = sorted({t["group"] for t in data["trials"] if t["condition"] == condition and t["group"]})
    params = {data["group_column"]: groups[0]} if groups else {}
    trials = complete(tab, folder, condition, "C01", tmp_path, **params)
    assert trials["complete"].all() and len(trials) == len([t for t in data["trials"] if t["condition"] == condition
                                                            and (not groups or t["group"] == groups[0])])
    assert (trials["source"] == f"human: studykit {data['kit_id']}").all()
    analysis.analyse(trials)
    tab.clean()


def test_a_reload_halfway_resumes_and_loses_no_answer(tab, tmp_path):
    folder = studykit.export("nguyen2021", tmp_path / "export", manifest=nguyen(tmp_path / "m"))
    url = study_url(folder, condition="GradCAM", participant="R1")
    tab.page.goto(url)
    assert take_study(tab.page, alternate(folder, "GradCAM"), stop_after=2) is None
    saved = tab.page.evaluate("window.xaibookStudy.state.rows.length")
    assert saved == 2
    tab.page.reload()
    csv = take_study(tab.page, alternate(folder, "GradCAM"), download_to=tmp_path)
    trials = read_studykit(csv)
    check_against_key(trials, folder, "GradCAM", "nguyen2021")
    assert len(trials) == 4
    tab.clean()


def test_markup_in_a_label_is_shown_as_text_and_runs_nothing(tab, tmp_path):
    folder = studykit.export("nguyen2021", tmp_path / "export", manifest=nguyen(tmp_path / "m", label=XSS))
    tab.page.goto(study_url(folder, condition="GradCAM", participant="X1"))
    seen = []

    def answer(screen):
        seen.append(tab.page.inner_text("[data-xb-screen]"))
        return screen["options"][0]

    take_study(tab.page, answer)
    assert any(XSS in text for text in seen), "the label is shown literally"
    assert tab.page.evaluate("window.__pwned") is None
    assert tab.page.locator("img[src='x']").count() == 0
    tab.clean()


def test_condition_from_the_url_and_a_bad_one_is_refused_as_text(tab, tmp_path):
    folder = studykit.export("sixt2022", tmp_path / "export", manifest=BUILDERS["sixt2022"](tmp_path / "m"))
    tab.page.goto(study_url(folder, condition="<b>INN</b>"))
    tab.page.wait_for_selector("[data-xb-screen=error]")
    assert "<b>INN</b>" in tab.page.inner_text("[data-xb-screen=error]")
    tab.page.goto(study_url(folder, participant="Q1"))  # no condition: drawn at random, kept on reload
    tab.page.wait_for_selector("[data-xb-screen=consent]")
    first = tab.page.evaluate("window.xaibookStudy.state.condition")
    tab.page.reload()
    tab.page.wait_for_selector("[data-xb-screen=consent]")
    assert tab.page.evaluate("window.xaibookStudy.state.condition") == first in ("Baseline", "INN")
    tab.clean()


def test_declining_consent_keeps_nothing(tab, tmp_path):
    folder = studykit.export("sixt2022", tmp_path / "export", manifest=BUILDERS["sixt2022"](tmp_path / "m"))
    tab.page.goto(study_url(folder, condition="INN", participant="D1"))
    tab.page.locator("button:text-is('I do not agree')").click()
    tab.page.wait_for_selector("[data-xb-screen=end]")
    assert "nothing was kept" in tab.page.inner_text("[data-xb-screen=end]")
    assert tab.page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('xaibook')).length") == 0
    tab.clean()


def test_the_answer_buttons_stay_locked_for_the_study_s_time(tab, tmp_path):
    folder = studykit.export("shen2020", tmp_path / "export", manifest=BUILDERS["shen2020"](tmp_path / "m"),
                             lock_ms=1500)
    tab.page.goto(study_url(folder, condition="Int", participant="L1"))
    tab.page.locator("button:text-is('I agree')").click()
    while tab.page.locator("[data-xb-screen=trial]").count() == 0:
        tab.page.locator("#jspsych-instructions-next, #jspsych-html-button-response-btngroup button").first.click()
    buttons = tab.page.locator("#jspsych-html-button-response-btngroup button")
    assert buttons.count() == 5 and buttons.first.is_disabled()
    tab.page.wait_for_function("() => !document.querySelector('#jspsych-html-button-response-btngroup button').disabled",
                               timeout=5000)
    tab.clean()


def test_the_embedded_demo_loads_without_console_errors(tab, tmp_path):
    """The chapter's demo cell: an iframe of ../studykit/<study>/index.html on a page in book/."""
    folder = studykit.export("nguyen2021", tmp_path / "export", manifest=nguyen(tmp_path / "m"), trials=1)
    site = tmp_path / "html"
    (site / "book").mkdir(parents=True)
    import shutil

    shutil.copytree(folder / "study", site / "studykit" / "nguyen2021")
    demo = Demo("nguyen2021", study_data(folder)["kit_id"], site / "studykit" / "nguyen2021")
    (site / "book" / "01_nguyen2021.html").write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
                                                       f"<link rel='icon' href='data:,'></head><body>"
                                                       f"{demo._repr_html_()}</body></html>")
    tab.page.goto((site / "book" / "01_nguyen2021.html").as_uri())
    frame = tab.page.frame_locator("iframe")
    frame.locator("[data-xb-screen=consent]").wait_for()
    frame.locator("button:text-is('I agree')").click()
    frame.locator("[data-xb-screen=instructions]").wait_for()
    tab.clean()


FAKE_JATOS = """window.__sent = []; window.jatos = {
  onLoad: function (cb) { cb(); },
  appendResultData: function (text) { window.__sent.push(text); return Promise.resolve(); },
  endStudyAjax: function () { window.__ended = true; return Promise.resolve(); }
};"""


def test_on_jatos_each_trial_is_sent_as_it_ends(tab, tmp_path):
    """Served from a JATOS-like URL (/publix/...), the study loads jatos.js and appends every finished
    trial; a participant who leaves early leaves a partial record, read back as incomplete."""
    folder = studykit.export("nguyen2021", tmp_path / "export", manifest=nguyen(tmp_path / "m"))
    web = folder / "study"

    def serve(route):
        rel = route.request.url.split("/publix/7/", 1)[1].split("?", 1)[0]
        if rel == "jatos.js":
            route.fulfill(body=FAKE_JATOS, content_type="text/javascript")
        elif (web / rel).is_file():
            route.fulfill(path=str(web / rel))
        else:
            route.fulfill(status=404, body="")

    tab.page.route("http://jatos.test/**", serve)
    tab.page.goto("http://jatos.test/publix/7/index.html?condition=GradCAM&participant=J1")
    take_study(tab.page, alternate(folder, "GradCAM"), stop_after=2)
    sent = tab.page.evaluate("window.__sent")
    assert len(sent) == 2 and all(s.endswith("\n") for s in sent)
    results = tmp_path / "jatos-results.jsonl"
    results.write_text("".join(sent))
    trials = read_studykit(results, manifest=folder)
    assert len(trials) == 2 and not trials["complete"].any()
    assert tab.page.evaluate("window.__ended") is None
    tab.clean()


def test_the_end_screen_offers_the_completion_link_only_for_web_addresses(tab, tmp_path):
    folder = studykit.export("sixt2022", tmp_path / "export", manifest=BUILDERS["sixt2022"](tmp_path / "m"),
                             trials=1)
    done = "https://app.prolific.com/submissions/complete?cc=C0DE"
    tab.page.goto(study_url(folder, condition="INN", participant="E1", redirect=done))
    take_study(tab.page)
    assert tab.page.locator("#xb-redirect").get_attribute("href") == done
    tab.page.goto(study_url(folder, condition="INN", participant="E2", redirect="javascript:alert(1)"))
    take_study(tab.page)
    assert tab.page.locator("#xb-redirect").count() == 0
    tab.clean()
