"""The book's structure: every chapter is a jupytext pair in sync; the toc and config agree."""
from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))


def _sources(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_five_chapters_in_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for c in toc["chapters"]]
    assert [f"book/{p.stem}" for p in CHAPTERS] == [f for f in files if f.startswith("book/0")]
    assert "book/ledger" in files
    assert len(CHAPTERS) == 5


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_pair_in_sync(md: Path):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{md.name} has no paired notebook: run `jupytext --sync {md}`"
    text_nb = jupytext.read(md)
    paired = jupytext.read(ipynb)
    assert _sources(text_nb) == _sources(paired), (
        f"{md.name} and {ipynb.name} differ: run `jupytext --sync book/*.md`")
    for cell in paired.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{ipynb.name} holds outputs: strip them before committing"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_colab_cell_first(md: Path):
    nb = jupytext.read(md)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "google.colab" in first.source and "pip install" in first.source


def test_config_offline_and_cached():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] == "cache"
    assert cfg["launch_buttons"]["colab_url"].startswith("https://colab")
    assert "book/references.bib" in cfg["bibtex_bibfiles"]
