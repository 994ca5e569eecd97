"""Write every chapter's Colab install cell from the repository URL in ``_config.yml``.

The book's address is set once, as ``repository.url`` in ``_config.yml`` (the launch buttons
read it there too). After changing it run

    python scripts/sync_colab_cell.py

which rewrites the first code cell of every chapter (``book/*.md`` with a Colab cell) and
pairs the notebooks again with jupytext. ``tests/test_book.py`` fails while a cell and the
configuration disagree.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MARK = "# On Colab this installs the book's package; anywhere else it does nothing."

TEMPLATE = '''{mark}
import sys
REPOSITORY = "{url}"  # set once in _config.yml (repository.url); see scripts/sync_colab_cell.py
if "google.colab" in sys.modules:
    import os, subprocess
    steps = [] if os.path.isdir("/content/xaibook") else [
        ["git", "clone", "-q", "--depth", "1", REPOSITORY, "/content/xaibook"]]
    steps.append([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/xaibook"])
    for step in steps:
        if subprocess.run(step).returncode != 0:
            print(f"Colab set-up failed at `{{' '.join(step)}}`: check that {{REPOSITORY}} can be "
                  "reached (Runtime > Restart) and run this cell again.")
            break
    else:
        sys.path.insert(0, "/content/xaibook/lib")'''


def repository_url() -> str:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    return str(cfg["repository"]["url"]).rstrip("/")


def cell_source(url: str | None = None) -> str:
    """The install cell's code for ``url`` (default: the one in ``_config.yml``)."""
    return TEMPLATE.format(mark=MARK, url=url or repository_url())


def chapters() -> list[Path]:
    return sorted(p for p in (ROOT / "book").glob("*.md") if MARK in p.read_text())


_CELL = re.compile(r"(```\{code-cell\} ipython3\n:tags: \[remove-cell\]\n\n)" + re.escape(MARK) + r".*?(\n```)",
                   re.S)


def main() -> int:
    source = cell_source()
    changed = []
    for md in chapters():
        text = md.read_text()
        new, n = _CELL.subn(lambda m: m.group(1) + source + m.group(2), text, count=1)
        if n != 1:
            print(f"error: {md}: no install cell starting with {MARK!r} under ':tags: [remove-cell]'", file=sys.stderr)
            return 2
        if new != text:
            md.write_text(new)
            changed.append(md)
    for md in changed:
        subprocess.run([sys.executable, "-m", "jupytext", "--sync", str(md)], check=True, capture_output=True)
    print(f"{len(changed)} chapter(s) updated to {repository_url()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
