"""``python -m xaibook.studykit export STUDY --out DIR [--conditions ...] [--trials N] [--seed S]``
(errors: one ``error:`` line on stderr, exit 2)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from ..errors import XaibookError
from .build import export


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (the house rule for command lines)
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _size(path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = _Parser(prog="python -m xaibook.studykit",
                     description="The study kit: a chapter's trials as a jsPsych web study that runs offline.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    e = sub.add_parser("export", help="write a self-contained study folder (open study/index.html or upload study/)")
    e.add_argument("study", help="the study key, e.g. nguyen2021, shen2020, alqaraawi2020, im2023, sixt2022")
    e.add_argument("--out", required=True, help="the folder to write (new, empty, or an earlier export)")
    e.add_argument("--conditions", nargs="+", default=None, help="between-subject conditions to include (default all)")
    e.add_argument("--trials", type=int, default=None,
                   help="screens per phase and condition, or tasks where a study counts tasks (default all)")
    e.add_argument("--seed", type=int, default=0, help="seed of the trial draw and of each participant's order")
    e.add_argument("--manifest", default=None, help="a manifest CSV to export instead of the chapter's own")
    args = parser.parse_args(argv)
    try:
        out = export(args.study, args.out, conditions=args.conditions, trials=args.trials, seed=args.seed,
                     manifest=args.manifest)
    except XaibookError as err:
        print("error: " + " ".join(str(err).split()), file=sys.stderr)
        return 2
    meta = json.loads((out / "studykit.json").read_text())
    print(f"{out}: study kit {meta['kit_id']}, conditions {', '.join(meta['conditions'])}, screens per phase "
          f"{meta['screens_per_phase']}, {_size(out / 'study') / 1e6:.1f} MB; open {out / 'study' / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
