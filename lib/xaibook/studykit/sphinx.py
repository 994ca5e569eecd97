"""Sphinx extension of the book (``_config.yml``: ``sphinx.extra_extensions``): offline assets.

* MathJax from the build output: ``mathjax_path`` points at ``_static/mathjax/tex-mml-chtml.js``,
  copied with its fonts and TeX extensions from ``web/node_modules/mathjax`` (installed by
  ``npm ci``), so a reader offline sees rendered math instead of raw LaTeX and no CDN request.
* The chapters' embedded study demos (:func:`xaibook.studykit.demo`), copied from the staging
  folder to ``<html>/studykit/<study>``.
* No console errors: sphinx-thebe 0.3.1 adds its inline ``const THEBE_JS_URL`` script twice
  (once with filename None, once with ''; the second throws "already declared"), so repeated
  scripts are dropped from each page; and
  the theme's colour mode defaults to ``auto`` (an empty mode makes the theme log an error).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.util import logging

from .embed import staging_dir
from .build import node_modules

MATHJAX_PATH = "mathjax/tex-mml-chtml.js"
#: Parts of MathJax's es5 build the book serves (the combined file loads the rest lazily from these).
MATHJAX_PARTS = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y")
logger = logging.getLogger(__name__)


def mathjax_source() -> Path:
    return node_modules() / "mathjax" / "es5"


def _copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def _finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    src = mathjax_source()
    if (src / "tex-mml-chtml.js").is_file():
        for part in MATHJAX_PARTS:
            _copy(src / part, out / "_static" / "mathjax" / part)
    else:
        logger.warning(f"MathJax is not installed ({src} missing): pages will show raw LaTeX offline; "
                       "run `npm ci --prefix web` (scripts/setup.sh does)")
    demos = staging_dir()
    if demos.is_dir():
        for study in sorted(p for p in demos.iterdir() if p.is_dir()):
            target = out / "studykit" / study.name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(study, target)


def _script_key(js) -> str:
    attributes = getattr(js, "attributes", None)
    return repr((getattr(js, "filename", js) or "", sorted(attributes.items()) if attributes else ()))


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        seen: set[str] = set()
        scripts[:] = [js for js in scripts if not (_script_key(js) in seen or seen.add(_script_key(js)))]


def _theme_mode(app, config) -> None:
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def setup(app):
    app.connect("config-inited", _theme_mode)
    app.connect("html-page-context", _unique_scripts, priority=999)  # last: after MathJax's and the theme's
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
