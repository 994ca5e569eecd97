"""Command line of the procedural world: ``python -m xaibook.world GENERATOR ...``.

    python -m xaibook.world two4two --n 1000 --out data/t42 [--sampler biased|unbiased] [--seed 0] [--size 128]
    python -m xaibook.world two4two --from-params parameters.jsonl --out data/t42-rerender

Each generator is a subcommand (:data:`GENERATORS`): ``two4two`` writes the original
generator's layout (``parameters.jsonl``, ``{id}.png``, ``{id}_mask.png``); ``zoo`` and
``scenes`` come from :mod:`xaibook.world.zoo` and :mod:`xaibook.world.scenes` (``add_cli``).
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Callable, Sequence

from ..errors import XaibookError

Handler = Callable[[argparse.Namespace], int]


def _two4two_parser(sub: argparse._SubParsersAction) -> Handler:
    from . import two4two

    p = sub.add_parser("two4two", help="Peeky and Stretchy (Sixt et al. 2022) in the original on-disk layout",
                       description="Render a Two4Two data set: sample N scenes, or re-render a parameters.jsonl.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--n", type=int, help="number of scenes to sample")
    src.add_argument("--from-params", metavar="FILE", help="render exactly the scenes of this parameters.jsonl, keeping ids")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--sampler", choices=two4two.SAMPLERS, default="biased", help="biased (the study's data) or unbiased")
    p.add_argument("--distributions", choices=two4two.DISTRIBUTIONS, default="released",
                   help="yaw/position ranges of the released code (default) or of the paper")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    p.add_argument("--size", type=int, default=128, help="image height and width in pixels")
    p.add_argument("--supersample", type=int, default=2, help="anti-aliasing rays per pixel per axis")
    p.add_argument("--batch", type=int, default=64, help="scenes rendered per call")
    p.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")

    def run(args: argparse.Namespace) -> int:
        if args.from_params:
            params = two4two.read_params(args.from_params)
        else:
            params = two4two.sample(args.n, sampler=args.sampler, seed=args.seed, distributions=args.distributions)
        start = time.perf_counter()
        out = two4two.write_dataset(params, args.out, size=args.size, supersample=args.supersample,
                                    batch=args.batch, device=args.device)
        took = time.perf_counter() - start
        print(f"wrote {len(params)} scenes to {out} in {took:.1f} s", file=sys.stderr)
        return 0

    return run


def _from_module(name: str) -> Callable[[argparse._SubParsersAction], Handler]:
    """The ``add_cli(sub)`` of ``xaibook.world.<name>`` (adds its subparser, returns its handler)."""

    def add(sub: argparse._SubParsersAction) -> Handler:
        return importlib.import_module(f".{name}", __package__).add_cli(sub)

    return add


GENERATORS: dict[str, Callable[[argparse._SubParsersAction], Handler]] = {
    "two4two": _two4two_parser,
    "zoo": _from_module("zoo"),
    "scenes": _from_module("scenes"),
}
"""Subcommand name -> function that adds its parser and returns its handler."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xaibook.world", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="generator", required=True, metavar="GENERATOR")
    handlers = {name: add(sub) for name, add in GENERATORS.items()}
    args = parser.parse_args(argv)
    try:
        return handlers[args.generator](args)
    except XaibookError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
