"""A chapter's "Take the study yourself": a few-trial export embedded in the page.

:func:`demo` exports the study into the book's staging folder ``_build/studykit-demos/<scale>/<study>``;
the book's Sphinx extension (:mod:`xaibook.studykit.sphinx`) copies it to ``<html>/studykit/<study>``
so the built page (``<html>/book/NN_*.html``) embeds ``../studykit/<study>/index.html``: it runs
from the built HTML with no server. The end screen offers the reader's answers as a CSV, which
:func:`xaibook.studykit.analysis.analyse_folder` reads back (its answer key is kept in the cache).
"""
from __future__ import annotations

import html
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import config
from .build import export

#: The iframe's source, relative to a chapter's page (book/NN_*.html).
PAGE_PREFIX = "../studykit"


def staging_dir() -> Path:
    """Where demos wait for the book's build to copy them: ``<project>/_build/studykit-demos/<scale>``
    (per scale, so a smoke build never serves a default build's demos or the reverse)."""
    return config.project_root() / "_build" / "studykit-demos" / config.scale().name


@dataclass(frozen=True)
class Demo:
    """An exported demo; shown in a notebook as the embedded study and how to get one's answers."""

    study: str
    kit_id: str
    folder: Path
    height: int = 640
    #: what the demo shows: "<n> screens from this build's <scale>-scale trials (<conditions>)".
    about: str = ""

    @property
    def src(self) -> str:
        return f"{PAGE_PREFIX}/{self.study}/index.html"

    def _repr_html_(self) -> str:
        src = html.escape(self.src)
        return (f'<div class="xb-demo"><iframe src="{src}" title="{html.escape(self.study)} study (demo)" '
                f'style="width:100%;height:{self.height}px;border:1px solid #ccc" loading="lazy"></iframe>'
                f'<p><a href="{src}" target="_blank" rel="noopener">Open the study in its own tab</a>. At the '
                f'end, press <b>Download my answers (CSV)</b>; the file is named '
                f'<code>studykit-{html.escape(self.kit_id)}-&lt;your id&gt;.csv</code>. '
                f'{html.escape(self.about)} Study kit {html.escape(self.kit_id)}.</p></div>')

    def __repr__(self) -> str:
        return f"Demo({self.study}, kit {self.kit_id}, {self.folder / 'index.html'})"


def demo(study: str, *, trials: int = 2, conditions: Sequence[str] | None = None, seed: int = 0,
         height: int = 640) -> Demo:
    """Export a demo of ``study`` (``trials`` screens per phase and condition) for the chapter's page."""
    with tempfile.TemporaryDirectory(prefix="studykit-demo-") as tmp:
        out = export(study, Path(tmp) / study, conditions=conditions, trials=trials, seed=seed)
        target = staging_dir() / study
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(out / "study", target)
        meta = json.loads((out / "studykit.json").read_text())
    screens = ", ".join(f"{n} {p}" for p, n in meta["screens_per_phase"].items() if n)
    about = (f"Screens per condition: {screens}, drawn from this build's {config.scale().name}-scale trials "
             f"(conditions {', '.join(meta['conditions'])}, one drawn at random per reader).")
    return Demo(study, meta["kit_id"], target, height, about)
