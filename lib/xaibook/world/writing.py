"""Writing generated data sets safely: checks before any work, and atomic folders.

The generators' command lines (``python -m xaibook.world``) check everything they can before
sampling or rendering: numbers (:func:`count`, :func:`image_size`, :func:`seed` as argparse
types), the torch device (:func:`resolve_device`), that ``n`` images fit the memory and disk
this machine has free (:func:`check_budget`), and that the output folder can be written and
holds no data set unless told to overwrite (:func:`check_out`). :func:`atomic_folder` writes
into a hidden temporary sibling and renames it into place at the end, so an interrupted run
leaves the previous folder (or nothing) behind, never a mix of two runs. (A run killed with
SIGKILL can leave a hidden ``.NAME.partial-*`` sibling; delete it by hand.)
"""
from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from .. import config
from ..errors import ParameterError

#: Files a generated data set may hold (a folder of only these may be overwritten).
DATASET_FILES = ("*.png", "*.jsonl", "*.jsonl.tmp", "*.csv")


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one ``error: ...`` line (exit status 2)."""

    def error(self, message: str) -> "Any":  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _integer(text: str) -> int:
    """``"1000"``, ``"1_000"`` or ``"1e3"`` as an int (argparse raises on anything else)."""
    text = text.strip()
    if re.fullmatch(r"[+-]?[0-9_]+", text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    return int(value)


def count(text: str) -> int:
    """argparse type: a positive integer (``1e6`` allowed)."""
    n = _integer(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return n


def seed(text: str) -> int:
    """argparse type: a non-negative integer seed."""
    n = _integer(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return n


def image_size(text: str) -> int:
    """argparse type: an image side of at least 16 pixels."""
    n = _integer(text)
    if n < 16:
        raise argparse.ArgumentTypeError(f"must be at least 16 (pixels), got {text!r}")
    return n


def resolve_device(want: str | None, arg: str = "--device") -> "Any":
    """The torch device named by ``want`` (None: :func:`xaibook.config.device`), checked to exist."""
    import torch

    config.configure_threads()
    if want is None:
        return config.device()
    try:
        dev = torch.device(want)
    except (RuntimeError, TypeError, ValueError):
        raise ParameterError(f"{arg} {want!r} is not a torch device; use cpu, cuda or cuda:N") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError(f"{arg} {want} but CUDA is not available on this machine; "
                                 "use --device cpu or leave --device out")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ParameterError(f"{arg} {want} but this machine has {torch.cuda.device_count()} CUDA device(s)")
        return dev
    if dev.type == "mps" and torch.backends.mps.is_available():
        return dev
    raise ParameterError(f"{arg} {want!r} is not available here; the renderer runs on cpu or cuda")


def _existing_ancestor(path: Path) -> Path:
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def available_memory() -> int | None:
    """Bytes of memory this process can still take (MemAvailable, capped by a cgroup limit)."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            room = max(0, int(limit) - used)
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail


def _gb(b: float) -> str:
    return f"{b / 1e9:,.1f} GB" if b >= 1e8 else f"{b / 1e6:.3g} MB"


def check_budget(n: int, size: int, *, ram_per_image: int, disk_per_image: int = 0, out: Path | str | None = None,
                 working_ram: int = 0, working_arg: str = "--batch") -> None:
    """Refuse ``n`` images of ``size`` px that would not fit the free memory or disk.

    ``ram_per_image`` and ``disk_per_image`` are the caller's estimates (bytes) of what one
    image holds in memory for the whole run and on disk; ``working_ram`` is what one render
    call needs at once (named by ``working_arg`` when it alone is too much).
    """
    avail = available_memory()
    chunks = "render in chunks: several runs with different --seed into separate --out folders"
    if avail is not None:
        if working_ram > avail:
            raise ParameterError(f"{working_arg} at --size {size} needs about {_gb(working_ram)} of memory per "
                                 f"render call but {_gb(avail)} is available; use a smaller {working_arg} or --size")
        need = n * ram_per_image + working_ram
        if need > avail:
            most = max(0, (avail - working_ram) // ram_per_image)
            raise ParameterError(f"--n {n} at --size {size} needs about {_gb(need)} of memory "
                                 f"({ram_per_image / 1e3:.3g} kB per image) but {_gb(avail)} is available; use "
                                 f"--n {most} or less, or {chunks}")
    if out is not None and disk_per_image:
        where = _existing_ancestor(Path(out))
        free = shutil.disk_usage(where if where.is_dir() else where.parent).free
        need = n * disk_per_image
        if need > free:
            raise ParameterError(f"--n {n} at --size {size} needs about {_gb(need)} on disk "
                                 f"({disk_per_image / 1e3:.3g} kB per image) but {where} has {_gb(free)} free; use "
                                 f"--n {free // disk_per_image} or less, or {chunks} on other disks")


def is_dataset(folder: Path, markers: Sequence[str]) -> bool:
    """Whether ``folder`` holds a generated data set (a marker file, or only data-set files)."""
    if any((folder / m).exists() for m in markers):
        return True
    return all(e.is_file() and any(e.match(p) for p in DATASET_FILES) for e in folder.iterdir())


def _probe(where: Path, arg: str, target: Path) -> None:
    if not where.is_dir():
        raise ParameterError(f"{arg} {target}: {where} is a file, so nothing can be written there; give another path")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".xaibook-probe-", dir=where))
    except OSError as e:
        raise ParameterError(f"{arg} {target} cannot be written ({where}: {e.strerror}); "
                             "give a folder you can write to") from None


def check_out(out: Path | str, markers: Sequence[str], overwrite: bool = False, arg: str = "--out",
              flag: str = "--overwrite") -> Path:
    """Check that the data set folder ``out`` can be written, before any work.

    It must be new, empty, or (with ``overwrite``) hold a data set of the same generator;
    its nearest existing parent must be writable.
    """
    out = Path(out).expanduser()
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise ParameterError(f"{arg} {out} is an existing file, not a folder; give a folder path")
        if any(out.iterdir()):
            if not is_dataset(out, markers):
                raise ParameterError(f"{arg} {out} holds files that are not a data set of this generator; "
                                     "give a new or empty folder")
            if not overwrite:
                raise ParameterError(f"{arg} {out} already holds a data set; give a new folder, or {flag} to "
                                     "replace it (the old one stays until the new one is complete)")
    _probe(_existing_ancestor(out.absolute().parent), arg, out)
    return out


def check_file_out(path: Path | str, arg: str) -> Path:
    """Check that the file ``path`` (e.g. a contact sheet) can be written, before any work."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ParameterError(f"{arg} {path} is a folder; give a file name such as {path / 'sheet.png'}")
    _probe(_existing_ancestor(path.absolute().parent), arg, path)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_folder(out: Path | str, markers: Sequence[str], overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it becomes ``out`` (replacing an old
    data set there only with ``overwrite``), on any error or interrupt it is removed."""
    out = check_out(out, markers, overwrite, arg="out", flag="overwrite=True").absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old)  # onto the empty placeholder
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
