"""The built book in a real browser, offline: builds the HTML book at the smoke scale (chapters
executed through the session's artifact cache, warm after test_chapters), then opens every page in
headless Chromium with every non-file request blocked. Each page must load without console errors
or outside requests, show its math rendered by the MathJax the book serves itself, each chapter
its figures, and each embedded study demo its consent screen."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from test_studykit_browser import Page, browser  # noqa: F401  (the module-scoped Chromium fixture)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).parent / "jupyter-book"
    run = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(out), "--keep-going"],
                         capture_output=True, text=True, timeout=3000)
    html = out / "_build" / "html"
    assert run.returncode == 0 and (html / "index.html").is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    reports = sorted((html / "reports").glob("*.log")) if (html / "reports").is_dir() else []
    assert not reports, "chapters failed to execute: " + ", ".join(r.name for r in reports)
    return html


def _pages(html: Path) -> list[Path]:
    return sorted(html.glob("*.html")) + sorted((html / "book").glob("*.html"))


@pytest.mark.chapters
def test_every_page_works_offline_with_math_figures_and_demos(built_book, browser):  # noqa: F811
    pages = _pages(built_book)
    assert any(p.name.startswith("01_") for p in pages) and any(p.name == "teaching.html" for p in pages)
    assert (built_book / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    for path in pages:
        tab = Page(browser)
        try:
            page = tab.page
            page.goto(path.as_uri(), wait_until="load")
            has_math = page.locator(".math").count() > 0
            if has_math:
                page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                       timeout=20_000)
                page.evaluate("() => MathJax.startup.promise")
                assert page.locator("mjx-container").count() > 0, f"{path.name}: math not rendered"
                assert "\\(" not in page.inner_text("main"), f"{path.name}: raw LaTeX left on the page"
            if path.parent.name == "book" and path.name[:2].isdigit():
                figures = page.locator(".cell_output img, .cell_output svg, .cell_output .vega-embed").count()
                assert figures > 0, f"{path.name}: no figure in the executed chapter"
                for i in range(page.locator("iframe[src*='studykit/']").count()):
                    frame = page.frame_locator("iframe[src*='studykit/']").nth(i)
                    frame.locator("[data-xb-screen=consent]").wait_for(timeout=15_000)
            page.wait_for_timeout(300)
            assert not tab.errors, f"{path.name}: console errors {tab.errors}"
            assert not tab.external, f"{path.name}: requests leaving the book {tab.external}"
        finally:
            tab.context.close()
