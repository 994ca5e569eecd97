"""``python -m xaibook.simulate STUDY [--backend ray] [--workers 2] [--address ADDR] [--by-group]``

Runs (or loads from the cache) a study's simulated participants at ``XAIBOOK_SCALE`` and prints the
table of agent accuracies beside people's as CSV; the base models of Sixt and Im run on Ray when
asked (a local Ray with ``--workers`` CPUs, or the cluster at ``--address``).
"""
from __future__ import annotations

import argparse
import sys

from ..errors import XaibookError


def main(argv: list[str] | None = None) -> int:
    from . import results

    ap = argparse.ArgumentParser(prog="python -m xaibook.simulate", description=__doc__.splitlines()[2].strip())
    ap.add_argument("study", help=f"one of {', '.join(sorted(results.STUDIES))}")
    ap.add_argument("--backend", default="inprocess", choices=("inprocess", "ray"))
    ap.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray (default 2)")
    ap.add_argument("--address", default=None, help="a Ray cluster address instead of a local Ray")
    ap.add_argument("--by-group", action="store_true", help="one row per group of test trials")
    args = ap.parse_args(argv)
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        results.simulate(args.study, backend=args.backend, workers=args.workers, address=args.address)
        table = results.report(args.study, by_group=args.by_group)
    except XaibookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        from .jobs import shutdown

        shutdown()
    print(f"# {table.attrs['caption']}")
    table.to_csv(sys.stdout, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
