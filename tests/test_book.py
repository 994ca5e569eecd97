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
    parts = {p["caption"]: [c["file"] for c in p["chapters"]] for p in toc["parts"]}
    assert [f"book/{p.stem}" for p in CHAPTERS] == parts["The five studies"]
    assert len(CHAPTERS) == 5
    assert parts["Appendices"] == ["book/ledger", "book/library", "book/references"]
    for f in parts["Appendices"]:
        assert (ROOT / f"{f}.md").is_file()


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


def _sync_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_colab_cell", ROOT / "scripts" / "sync_colab_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_colab_cell_first_and_from_the_config(md: Path):
    """Each chapter's first code cell installs the book on Colab from _config.yml's repository URL."""
    nb = jupytext.read(md)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "google.colab" in first.source and '"pip", "install"' in first.source
    want = _sync_script().cell_source()
    assert first.source.strip() == want.strip(), (
        f"{md.name}: the Colab cell differs from _config.yml's repository.url: "
        "run `python scripts/sync_colab_cell.py`")


def test_colab_cell_follows_a_new_url():
    script = _sync_script()
    new = script.cell_source("https://example.org/me/book")
    assert 'REPOSITORY = "https://example.org/me/book"' in new and script.repository_url() not in new


def test_config_offline_and_cached():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] == "cache"
    assert cfg["launch_buttons"]["colab_url"].startswith("https://colab")
    assert "book/references.bib" in cfg["bibtex_bibfiles"]
