"""Executes every chapter at the smoke scale (as CI does), failing on the first error."""
from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbclient
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))


@pytest.mark.chapters
@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_executes_at_smoke_scale(md: Path, tmp_path):
    nb = jupytext.read(md)
    env_scale = os.environ.get("XAIBOOK_SCALE")
    os.environ["XAIBOOK_SCALE"] = "smoke"
    try:
        client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                         resources={"metadata": {"path": str(md.parent)}})
        client.execute()
    finally:
        if env_scale is None:
            os.environ.pop("XAIBOOK_SCALE", None)
        else:
            os.environ["XAIBOOK_SCALE"] = env_scale
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
