"""Command line of the procedural world: ``python -m xaibook.world GENERATOR ...``.

    python -m xaibook.world two4two --n 1000 --out data/t42 [--sampler biased|unbiased] [--seed 0] [--size 128]
    python -m xaibook.world two4two --from-params parameters.jsonl --out data/t42-rerender
    python -m xaibook.world two4two --n 1000 --out data/t42 --size 64 --overwrite   # replace data/t42

Each generator is a subcommand (:data:`GENERATORS`): ``two4two`` writes the original
generator's layout (``parameters.jsonl``, ``{id}.png``, ``{id}_mask.png``); ``zoo`` and
``scenes`` come from :mod:`xaibook.world.zoo` and :mod:`xaibook.world.scenes` (``add_cli``).
Arguments, the device, the memory and disk a run needs and the output folder are checked before
any work (:mod:`xaibook.world.writing`); bad input prints one ``error: ...`` line, exit status 2.
Folders are written atomically; an existing data set is replaced only with ``--overwrite``.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Callable, Iterable, Sequence

from ..errors import XaibookError
from . import writing

Handler = Callable[[argparse.Namespace], int]

#: Rough memory per Two4Two scene held for the whole run (parameters and record), and the
#: renderer's working memory per supersampled pixel of one batch (bytes; estimates: about
#: 220 bytes per ray measured on the CPU for a batch of 16 at 64 px, supersample 2).
T42_BYTES_PER_SCENE = 4_000
RENDER_BYTES_PER_RAY = 250


def _two4two_parser(sub: argparse._SubParsersAction) -> Handler:
    from . import two4two

    p = sub.add_parser("two4two", help="Peeky and Stretchy (Sixt et al. 2022) in the original on-disk layout",
                       description="Render a Two4Two data set: sample N scenes, or re-render a parameters.jsonl.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--n", type=writing.count, help="number of scenes to sample")
    src.add_argument("--from-params", metavar="FILE", help="render exactly the scenes of this parameters.jsonl, keeping ids")
    p.add_argument("--out", required=True, help="output folder (written atomically: complete or not at all)")
    p.add_argument("--overwrite", action="store_true", help="replace a data set already in --out (atomically)")
    p.add_argument("--sampler", choices=two4two.SAMPLERS, default="biased", help="biased (the study's data) or unbiased")
    p.add_argument("--distributions", choices=two4two.DISTRIBUTIONS, default="released",
                   help="yaw/position ranges of the released code (default) or of the paper")
    p.add_argument("--seed", type=writing.seed, default=0, help="random seed (same seed, same bytes)")
    p.add_argument("--size", type=writing.image_size, default=128, help="image height and width in pixels")
    p.add_argument("--supersample", type=writing.count, default=2, help="anti-aliasing rays per pixel per axis")
    p.add_argument("--batch", type=writing.count, default=64, help="scenes rendered per call")
    p.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")

    def run(args: argparse.Namespace) -> int:
        device = writing.resolve_device(args.device)
        writing.check_out(args.out, two4two.MARKERS, args.overwrite)
        params = two4two.read_params(args.from_params) if args.from_params else None
        n = len(params) if params is not None else args.n
        size, ss = args.size, args.supersample
        writing.check_budget(n, size, ram_per_image=T42_BYTES_PER_SCENE, disk_per_image=size * size + 1_000,
                             out=args.out, working_ram=min(n, args.batch) * (size * ss) ** 2 * RENDER_BYTES_PER_RAY,
                             working_arg="--batch (or --supersample)")
        if params is None:
            params = two4two.sample(n, sampler=args.sampler, seed=args.seed, distributions=args.distributions)
        start = time.perf_counter()
        out = two4two.write_dataset(params, args.out, size=size, supersample=ss, batch=args.batch, device=device,
                                    overwrite=args.overwrite)
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
    """Run a generator; bad input prints one ``error: ...`` line and returns 2 (no traceback)."""
    prog = "python -m xaibook.world"
    parser = writing.Parser(prog=prog, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="generator", metavar="GENERATOR")
    handlers = {name: add(sub) for name, add in GENERATORS.items()}
    args = parser.parse_args(argv)
    if args.generator is None:
        print(f"error: give a generator, one of {', '.join(GENERATORS)} (see {prog} GENERATOR --help)",
              file=sys.stderr)
        return 2
    try:
        return handlers[args.generator](args)
    except XaibookError as e:
        print(f"error: {e}", file=sys.stderr)
    except MemoryError:
        print("error: out of memory; use a smaller --n, --size or --batch, or render in chunks "
              "(several runs with different --seed into separate --out folders)", file=sys.stderr)
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}; check the --out folder and free disk space", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted; --out is unchanged (folders are written completely or not at all)",
              file=sys.stderr)
        return 130
    return 2


def run_generator(name: str, argv: Iterable[str] | None = None) -> int:
    """``main([name, *argv])``, with ``sys.argv[1:]`` when ``argv`` is None (the generators' ``main_*``)."""
    return main([name, *(list(argv) if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
