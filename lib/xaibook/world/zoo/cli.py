"""``python -m xaibook.world zoo``: render zoo images with their per-image records."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Iterable

from ...errors import ParameterError
from .datasets import MARKERS, _DISK_FIXED, _DISK_PER_PIXEL, _RAM_FIXED, _RAM_PER_PIXEL, contact_sheet, write_folder
from .images import render_zoo
from .sampling import sample_zoo
from .species import FAMILIES, SPECIES

_KNOB_FLAGS = ("context_rate", "second_rate", "occlude_rate", "crop_rate", "lookalike_rate", "label_noise")
_FLAG_CATEGORY = {"context_rate": "C4", "second_rate": "C2", "occlude_rate": "C1", "crop_rate": "C1",
                  "lookalike_rate": "C3", "label_noise": "C5"}


def _cli_arguments(p: argparse.ArgumentParser) -> None:
    from .. import writing

    p.add_argument("--n", type=writing.count, default=64, help="number of images")
    p.add_argument("--out", type=Path, help="folder for {id}.png, {id}_mask.png (instance ids) and records.csv")
    p.add_argument("--overwrite", action="store_true", help="replace a data set already in --out (atomically)")
    p.add_argument("--seed", type=writing.seed, default=0, help="random seed (same seed, same images)")
    p.add_argument("--size", type=writing.image_size, default=128, help="image height and width in pixels")
    p.add_argument("--species", default=None, help="a family name, or comma-separated species names/indices")
    p.add_argument("--sheet", type=Path, help="also write a captioned contact sheet PNG here")
    p.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")
    for f in _KNOB_FLAGS:
        p.add_argument("--" + f.replace("_", "-"), type=float, default=0.0, help=f"knob {f} ({_FLAG_CATEGORY[f]})")


def _cli_run(a: argparse.Namespace) -> int:
    from .. import writing

    if a.out is None and a.sheet is None:
        raise ParameterError("give --out and/or --sheet: there is nothing to write")
    # everything that can be checked is checked before sampling and rendering
    device = writing.resolve_device(a.device)
    if a.out is not None:
        writing.check_out(a.out, MARKERS, a.overwrite)
    if a.sheet is not None:
        writing.check_file_out(a.sheet, "--sheet")
    for f in _KNOB_FLAGS:
        if not 0.0 <= getattr(a, f) <= 1.0:
            raise ParameterError(f"--{f.replace('_', '-')} {getattr(a, f)} must be a rate in [0, 1]")
    pixels = a.size * a.size
    writing.check_budget(a.n, a.size, ram_per_image=_RAM_PER_PIXEL * pixels + _RAM_FIXED,
                         disk_per_image=_DISK_PER_PIXEL * pixels + _DISK_FIXED, out=a.out,
                         working_ram=min(a.n, 128) * 4 * pixels * 250, working_arg="--size")
    species: Any = a.species
    if species is not None and species not in FAMILIES:
        species = [int(s) if s.strip().isdigit() else s.strip() for s in species.split(",")]
    knobs = {f: getattr(a, f) for f in _KNOB_FLAGS}
    z = render_zoo(sample_zoo(a.n, a.seed, species, knobs), size=a.size, device=device)
    if a.out is not None:
        write_folder(z, a.out, overwrite=a.overwrite)
        print(f"wrote {len(z)} images to {a.out}")
    if a.sheet is not None:
        names = SPECIES.name.to_numpy()
        caps = [f"{names[s]}" + (f" [{k}]" if k else "") for s, k in zip(z.records.species, z.records.knobs)]
        contact_sheet(z.images, caps, ncol=8, scale=max(1, 128 // a.size)).save(a.sheet)
        print(f"wrote contact sheet {a.sheet}")
    return 0


def add_cli(sub: "argparse._SubParsersAction") -> "Any":
    """Add the ``zoo`` subcommand to ``python -m xaibook.world``; returns its handler."""
    p = sub.add_parser("zoo", help="zoo species with error-cause knobs (ImageNet / Stanford Dogs stand-in)",
                       description="Render zoo images with their per-image records.")
    _cli_arguments(p)
    return _cli_run


def main_zoo(argv: Iterable[str] | None = None) -> int:
    """``python -m xaibook.world zoo --n N --out DIR [--seed S] [--size 128] [--species hounds] [knobs]``."""
    from ..__main__ import run_generator

    return run_generator("zoo", argv)
