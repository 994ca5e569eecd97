"""The built book in a real browser, offline (headless Chromium, every non-file request blocked).

* Without executing the chapters (about a minute): every page loads without console errors or
  requests leaving the book, math is rendered by the MathJax the book serves itself, and the
  teaching page's exercises hide their solutions.
* With the chapters executed at the smoke scale (marked ``chapters``; several minutes, fast when
  test_chapters has warmed the session's artifact cache): the same on every page, plus each
  chapter's figures and its embedded study demo (consent screen inside the iframe).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_studykit_browser import Page, browser  # noqa: F401  (the module-scoped Chromium fixture)

ROOT = Path(__file__).resolve().parents[1]


def build(out: Path, execute: bool) -> Path:
    """``jupyter-book build`` of the project into ``out`` with the README build's flags (warnings, broken
    references included, fail it); with ``execute`` False the chapters are not run."""
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--path-output", str(out),
           "--keep-going", "-W", "-n"]
    if not execute:
        config = (ROOT / "_config.yml").read_text()
        config = re.sub(r"execute_notebooks:\s*\S+", 'execute_notebooks: "off"', config)
        (out / "_config.yml").write_text(config)
        cmd += ["--config", str(out / "_config.yml")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=3000)
    html = out / "_build" / "html"
    assert run.returncode == 0 and (html / "index.html").is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    reports = sorted((html / "reports").glob("*.log")) if (html / "reports").is_dir() else []
    assert not reports, "chapters failed to execute: " + ", ".join(r.name for r in reports)
    return html


def pages(html: Path) -> list[Path]:
    return sorted(html.glob("*.html")) + sorted((html / "book").glob("*.html"))


def check_page(browser, path: Path, executed: bool) -> None:  # noqa: F811
    tab = Page(browser)
    try:
        page = tab.page
        page.goto(path.as_uri(), wait_until="load")
        if page.locator(".math").count():
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=20_000)
            page.evaluate("() => MathJax.startup.promise")
            assert page.locator("mjx-container").count() > 0, f"{path.name}: math not rendered"
            assert "\\(" not in page.inner_text("main"), f"{path.name}: raw LaTeX left on the page"
        if executed and path.parent.name == "book" and path.name[:2].isdigit():
            figures = page.locator(".cell_output img, .cell_output svg, .cell_output .vega-embed").count()
            assert figures > 0, f"{path.name}: no figure in the executed chapter"
            demos = page.locator("iframe[src*='studykit/']")
            assert demos.count() > 0, f"{path.name}: no embedded study demo"
            for i in range(demos.count()):
                page.frame_locator("iframe[src*='studykit/']").nth(i).locator(
                    "[data-xb-screen=consent]").wait_for(timeout=15_000)
        page.wait_for_timeout(300)
        assert not tab.errors, f"{path.name}: console errors {tab.errors}"
        assert not tab.external, f"{path.name}: requests leaving the book {tab.external}"
    finally:
        tab.context.close()


def test_every_page_works_offline_with_its_math(browser, tmp_path):  # noqa: F811
    html = build(tmp_path, execute=False)
    found = pages(html)
    assert {"01_nguyen2021.html", "teaching.html"} <= {p.name for p in found}
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    for path in found:
        check_page(browser, path, executed=False)
    teaching = (html / "book" / "teaching.html").read_text()
    assert teaching.count('class="exercise') >= 15 and teaching.count('class="solution dropdown') >= 15


@pytest.mark.chapters
def test_the_executed_book_shows_figures_and_working_demos_offline(browser, tmp_path):  # noqa: F811
    html = build(tmp_path, execute=True)
    for path in pages(html):
        check_page(browser, path, executed=True)
