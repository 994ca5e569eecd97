"""A scripted participant: takes an exported study in a real browser (Playwright + Chromium).

For a dry run before class and for the tests::

    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium())
        page = browser.new_page()
        page.goto(study_url(folder, condition="GradCAM", participant="P01"))
        csv = take_study(page, answer=lambda screen: screen["options"][0], download_to=tmp)

Screens are found by the ``data-xb-screen`` attribute the kit writes on each of them.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

from ..errors import DataNotFoundError

#: Where Debian's Chromium lives (Playwright's own browser download is not needed).
CHROMIUM = "/usr/bin/chromium"
HOW_TO_INSTALL_CHROMIUM = ("install Chromium: `apt-get update && apt-get install -y chromium` (as root; "
                           "scripts/setup.sh does it when run as root)")


def chromium() -> str:
    """The Chromium executable: ``/usr/bin/chromium`` or the first ``chromium`` on PATH."""
    found = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise DataNotFoundError(f"no Chromium found; {HOW_TO_INSTALL_CHROMIUM}")
    return found


def study_url(folder: Path | str, **params: str) -> str:
    """``file://`` URL of an export's ``study/index.html`` with URL parameters (condition, participant...)."""
    index = Path(folder).resolve() / "study" / "index.html"
    if not index.is_file():
        raise DataNotFoundError(f"{index} does not exist; export the study first (xaibook.studykit.export)")
    return index.as_uri() + ("?" + urlencode(params) if params else "")


Answer = Callable[[dict], str]


def _screen(page, timeout_ms: int):
    page.wait_for_selector("[data-xb-screen]", timeout=timeout_ms)
    return page.query_selector("[data-xb-screen]")


def _click(page, handle, selector: str, timeout_ms: int) -> None:
    page.locator(selector).first.click(timeout=timeout_ms)
    page.wait_for_function("el => !el.isConnected", arg=handle, timeout=timeout_ms)


def take_study(page, answer: Answer | None = None, *, stop_after: int | None = None,
               download_to: Path | str | None = None, timeout_ms: int = 15_000) -> Path | None:
    """Click through the study open in ``page``; return the downloaded CSV (with ``download_to``).

    ``answer(screen)`` picks the option on each trial screen from ``{"trial_id", "phase",
    "options"}`` (default: the first option). ``stop_after``: stop after that many trial screens
    (to test resuming), returning None.
    """
    answer = answer or (lambda s: s["options"][0])
    answered = 0
    while True:
        el = _screen(page, timeout_ms)
        kind = el.get_attribute("data-xb-screen")
        if kind == "end":
            break
        if kind == "error":
            raise RuntimeError(f"the study showed an error: {el.inner_text()}")
        if kind == "instructions":
            _click(page, el, "#jspsych-instructions-next", timeout_ms)
        elif kind == "consent":
            _click(page, el, "button:text-is('I agree')", timeout_ms)
        elif kind == "trial":
            if stop_after is not None and answered >= stop_after:
                return None
            options = page.locator("#jspsych-html-button-response-btngroup button").all_inner_texts()
            screen = {"trial_id": el.get_attribute("data-xb-trial"), "phase": el.get_attribute("data-xb-phase"),
                      "options": options}
            choice = options.index(answer(screen))
            button = page.locator("#jspsych-html-button-response-btngroup button").nth(choice)
            button.wait_for(state="visible", timeout=timeout_ms)
            page.wait_for_function("b => !b.disabled", arg=button.element_handle(), timeout=timeout_ms)
            button.click(timeout=timeout_ms)
            page.wait_for_function("el => !el.isConnected", arg=el, timeout=timeout_ms)
            answered += 1
        else:  # pre, followup, feedback, phase: the first button
            _click(page, el, "#jspsych-html-button-response-btngroup button", timeout_ms)
    if download_to is None:
        return None
    with page.expect_download(timeout=timeout_ms) as info:
        page.locator("#xb-download").click()
    target = Path(download_to) / info.value.suggested_filename
    info.value.save_as(target)
    return target
