"""Execute chapters headless (no HTML), print each slow cell's time, fail on the first error.

    python scripts/execute_chapter.py book/02_shen2020.md [more.md ...] [--scale default] [--slow 30]

The scale defaults to ``XAIBOOK_SCALE``; the chapter writes its ledger into
``XAIBOOK_LEDGER`` (default ``_build/ledger/<scale>``) as in a book build. Useful to time one
chapter, or to check a change before rebuilding the whole book.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    parser.add_argument("--scale", choices=("smoke", "default", "paper"))
    parser.add_argument("--slow", type=float, default=30.0, help="print cells slower than this (s)")
    parser.add_argument("--timeout", type=int, default=1800, help="per-cell limit (s), as in the book build")
    args = parser.parse_args(argv)
    if args.scale:
        os.environ["XAIBOOK_SCALE"] = args.scale
    import jupytext
    import nbclient

    status = 0
    for md in args.chapters:
        if not md.is_file():
            print(f"error: {md} is not a file", file=sys.stderr)
            return 2
        nb = jupytext.read(md)
        client = nbclient.NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                         resources={"metadata": {"path": str(md.resolve().parent)}})
        t0 = time.perf_counter()
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                c0 = time.perf_counter()
                try:
                    client.execute_cell(cell, i)
                except nbclient.exceptions.CellExecutionError as exc:
                    print(f"{md.name}: cell {i} failed after {time.perf_counter() - c0:.0f} s:\n{exc}", file=sys.stderr)
                    status = 1
                    break
                dt = time.perf_counter() - c0
                if dt >= args.slow:
                    first = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
                    print(f"{md.name}: cell {i} took {dt:.0f} s  ({first})", flush=True)
        print(f"{md.name}: {'failed' if status else 'executed'} in {time.perf_counter() - t0:.0f} s "
              f"at scale {os.environ.get('XAIBOOK_SCALE', 'default')}", flush=True)
        if status:
            return status
    return status


if __name__ == "__main__":
    raise SystemExit(main())
