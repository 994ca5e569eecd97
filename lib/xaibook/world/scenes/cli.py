"""``python -m xaibook.world scenes``: render scenes with their tables."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ...errors import ParameterError
from ..zoo import contact_sheet
from .datasets import MARKERS, _DISK_FIXED, _DISK_PER_PIXEL, _RAM_FIXED, _RAM_PER_PIXEL, write_folder
from .images import render_scenes
from .objects import CLASSES
from .sampling import im_task, sample_scenes


def _cli_arguments(p: argparse.ArgumentParser) -> None:
    from .. import writing

    p.add_argument("--n", type=writing.count, default=32, help="number of scenes")
    p.add_argument("--out", type=Path, help="folder for {id}.png, {id}_instances.png, scenes.csv, objects.csv")
    p.add_argument("--overwrite", action="store_true", help="replace a data set already in --out (atomically)")
    p.add_argument("--seed", type=writing.seed, default=0, help="random seed (same seed, same images)")
    p.add_argument("--size", type=writing.image_size, default=128, help="image height and width in pixels")
    p.add_argument("--task", choices=("voc", "im", "im-mislabeled"), default="voc",
                   help="multi-label scenes, or Im et al.'s bus/train task (baseline or mislabeled cars)")
    p.add_argument("--max-objects", type=int, default=3, help="objects per scene at most (voc task)")
    p.add_argument("--sheet", type=Path, help="also write a captioned contact sheet PNG here")
    p.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")


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
    if not 1 <= a.max_objects <= 6:
        raise ParameterError(f"--max-objects {a.max_objects} must be in 1..6")
    pixels = a.size * a.size
    writing.check_budget(a.n, a.size, ram_per_image=_RAM_PER_PIXEL * pixels + _RAM_FIXED,
                         disk_per_image=_DISK_PER_PIXEL * pixels + _DISK_FIXED, out=a.out,
                         working_ram=min(a.n, 128) * 4 * pixels * 250, working_arg="--size")
    params = (sample_scenes(a.n, a.seed, a.max_objects) if a.task == "voc"
              else im_task(a.n, a.seed, mislabeled=a.task == "im-mislabeled"))
    s = render_scenes(params, size=a.size, device=device)
    names = [",".join(CLASSES[j] for j in np.flatnonzero(row)) for row in s.labels.numpy()]
    if a.out is not None:
        write_folder(s, a.out, overwrite=a.overwrite)
        print(f"wrote {len(s)} scenes to {a.out}")
    if a.sheet is not None:
        caps = [f"y={y} {c}" for y, c in zip(s.scenes["label"], names)] if "label" in s.scenes else names
        contact_sheet(s.images, caps, ncol=8, scale=max(1, 128 // a.size)).save(a.sheet)
        print(f"wrote contact sheet {a.sheet}")
    return 0


def add_cli(sub: "argparse._SubParsersAction") -> Any:
    """Add the ``scenes`` subcommand to ``python -m xaibook.world``; returns its handler."""
    p = sub.add_parser("scenes", help="multi-object scenes (VOC / Visual Genome stand-in) and Im et al.'s task",
                       description="Render multi-object scenes with labels, instance maps and object tables.")
    _cli_arguments(p)
    return _cli_run


def main_scenes(argv: Iterable[str] | None = None) -> int:
    """``python -m xaibook.world scenes --n N --out DIR [--seed S] [--size 128] [--task voc|im|im-mislabeled]``."""
    from ..__main__ import run_generator

    return run_generator("scenes", argv)
