"""A content-keyed artifact cache for expensive results (maps, trained models, datasets).

An entry is keyed by a name (the function that made it), its parameters and the library
version. Writes are atomic (a temporary file renamed into place), so an interrupted run
never leaves a half-written entry; rerunning recomputes only what is missing.
``map_chunks`` caches long loops chunk by chunk, so they resume where they stopped.

    >>> from xaibook.cache import cached
    >>> maps = cached("gradcam", {"model": "resnet18-zoo", "n": 64}, lambda: compute())

Command line: ``python -m xaibook.cache list`` and ``python -m xaibook.cache clear [NAME]``.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from . import config
from .errors import CacheError, ParameterError

FORMATS = ("pt", "pkl", "dir")


def _canon(obj: Any) -> Any:
    """A JSON-able canonical form of parameters (tensors and arrays by content hash)."""
    import numpy as np

    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return repr(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _canon(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canon(v) for v in obj]
    if isinstance(obj, np.generic):
        return _canon(obj.item())
    if isinstance(obj, np.ndarray):
        return {"ndarray": hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()[:16],
                "shape": list(obj.shape), "dtype": str(obj.dtype)}
    try:
        import torch

        if isinstance(obj, torch.Tensor):
            return _canon(obj.detach().cpu().numpy())
        if isinstance(obj, torch.device):
            return str(obj)
    except ImportError:  # pragma: no cover
        pass
    raise ParameterError(f"cache parameter of type {type(obj).__name__} cannot be keyed; pass plain values")


def digest(*parts: Any) -> str:
    """A short content hash of arrays, tensors and plain values: the one digest of the library.

    Use it to key cache entries on data (``{"images": digest(ids)}``). Arrays and tensors are
    hashed by dtype, shape and bytes (object arrays by their items' text), anything else by
    its ``repr``.
    """
    import numpy as np

    h = hashlib.sha256()
    for p in parts:
        if hasattr(p, "detach"):
            p = p.detach().cpu().numpy()
        if isinstance(p, np.ndarray):
            h.update(str(p.dtype).encode() + str(p.shape).encode())
            h.update(np.ascontiguousarray(p).tobytes() if p.dtype != object else "|".join(map(str, p.ravel())).encode())
        else:
            h.update(repr(p).encode())
    return h.hexdigest()[:20]


def _version() -> str:
    from . import __version__

    return __version__


@dataclass
class Entry:
    name: str
    key: str
    path: Path
    size: int
    mtime: float
    params: dict


class Cache:
    """A cache rooted at a folder (default ``config.cache_root()``)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else config.cache_root()

    # -- keys and paths -----------------------------------------------------------------
    def key(self, name: str, params: dict) -> str:
        blob = json.dumps({"name": name, "params": _canon(params), "version": _version()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def path(self, name: str, params: dict, fmt: str = "pt") -> Path:
        if fmt not in FORMATS:
            raise ParameterError(f"fmt={fmt!r}; use one of {FORMATS}")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        suffix = "" if fmt == "dir" else f".{fmt}"
        return self.root / safe / f"{self.key(name, params)}{suffix}"

    def has(self, name: str, params: dict, fmt: str = "pt") -> bool:
        return self.path(name, params, fmt).exists()

    # -- read and write -------------------------------------------------------------------
    def _write_meta(self, target: Path, name: str, params: dict) -> None:
        meta = {"name": name, "params": _canon(params), "version": _version(), "created": time.time()}
        _atomic_bytes(target.parent / (target.name.split(".")[0] + ".json"), json.dumps(meta, indent=1).encode())

    def load(self, name: str, params: dict, fmt: str = "pt") -> Any:
        target = self.path(name, params, fmt)
        try:
            if fmt == "pt":
                import torch

                return torch.load(target, map_location="cpu", weights_only=False)
            if fmt == "pkl":
                with open(target, "rb") as fh:
                    return pickle.load(fh)
            return target
        except (EOFError, pickle.UnpicklingError, RuntimeError) as exc:
            raise CacheError(
                f"cache entry {target} is unreadable ({exc}); delete it or run "
                f"`python -m xaibook.cache clear {name}` and rerun."
            ) from exc

    def save(self, name: str, params: dict, value: Any, fmt: str = "pt") -> Path:
        target = self.path(name, params, fmt)
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "dir":
            raise ParameterError("directory entries are written through get_or_compute(..., fmt='dir')")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        os.close(fd)
        try:
            if fmt == "pt":
                import torch

                torch.save(value, tmp)
            else:
                with open(tmp, "wb") as fh:
                    pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._write_meta(target, name, params)
        return target

    def get_or_compute(self, name: str, params: dict, compute: Callable[..., Any], fmt: str = "pt") -> Any:
        """Return the cached value, computing and storing it first if absent.

        For ``fmt="dir"``, ``compute(folder)`` fills a fresh temporary folder which is then
        renamed into place; the cached folder's path is returned.
        """
        target = self.path(name, params, fmt)
        if target.exists():
            return self.load(name, params, fmt)
        if fmt == "dir":
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
            try:
                compute(tmp)
                try:
                    os.rename(tmp, target)
                except OSError:
                    if not target.exists():
                        raise
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
            self._write_meta(target, name, params)
            return target
        value = compute()
        self.save(name, params, value, fmt)
        return value

    def map_chunks(
        self,
        name: str,
        params: dict,
        items: Sequence[Any],
        compute_chunk: Callable[[Sequence[Any]], Any],
        chunk_size: int,
        fmt: str = "pt",
        desc: str | None = None,
    ) -> list[Any]:
        """Apply ``compute_chunk`` to consecutive chunks of ``items``, caching each chunk.

        An interrupted run resumes: finished chunks are loaded, not recomputed. Returns the
        list of per-chunk results in order.
        """
        from .progress import bar

        if chunk_size < 1:
            raise ParameterError(f"chunk_size must be >= 1, got {chunk_size}")
        n = len(items)
        starts = list(range(0, n, chunk_size))
        out = []
        for start in bar(starts, desc=desc or name, unit="chunk"):
            chunk_params = {"_parent": params, "_chunk": [start, min(n, start + chunk_size)], "_n": n}
            out.append(self.get_or_compute(name, chunk_params,
                                           lambda s=start: compute_chunk(items[s:s + chunk_size]), fmt))
        return out

    # -- listing and clearing -------------------------------------------------------------
    def entries(self, name: str | None = None) -> list[Entry]:
        found: list[Entry] = []
        if not self.root.is_dir():
            return found
        for meta_path in sorted(self.root.glob("*/*.json")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if name is not None and meta.get("name") != name:
                continue
            stem = meta_path.stem
            paths = [p for p in meta_path.parent.glob(stem + "*") if p != meta_path]
            if not paths:
                continue
            p = paths[0]
            size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size
            found.append(Entry(meta.get("name", "?"), stem, p, size, p.stat().st_mtime, meta.get("params", {})))
        return found

    def clear(self, name: str | None = None) -> int:
        """Delete all entries (or those of one name); return how many were removed."""
        removed = 0
        for e in self.entries(name):
            if e.path.is_dir():
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                e.path.unlink(missing_ok=True)
            (e.path.parent / (e.key + ".json")).unlink(missing_ok=True)
            removed += 1
        # leftovers of interrupted writes
        if self.root.is_dir():
            for tmp in self.root.glob("*/.tmp-*"):
                if name is None or tmp.parent.name == name:
                    shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        return removed


def _atomic_bytes(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def default_cache() -> Cache:
    """The cache at ``XAIBOOK_CACHE`` (read each call, so tests can redirect it)."""
    return Cache()


def cached(name: str, params: dict, compute: Callable[..., Any], fmt: str = "pt") -> Any:
    """``default_cache().get_or_compute(name, params, compute, fmt)``."""
    return default_cache().get_or_compute(name, params, compute, fmt)


def map_chunks(name: str, params: dict, items: Sequence[Any], compute_chunk: Callable[[Sequence[Any]], Any],
               chunk_size: int, fmt: str = "pt", desc: str | None = None) -> list[Any]:
    """``default_cache().map_chunks(...)``: a resumable, chunk-cached loop."""
    return default_cache().map_chunks(name, params, items, compute_chunk, chunk_size, fmt, desc)


def main(argv: Iterable[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m xaibook.cache", description="List or clear cached artifacts.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list cached entries")
    pc = sub.add_parser("clear", help="delete cached entries")
    pc.add_argument("name", nargs="?", help="only entries of this name")
    args = parser.parse_args(list(argv) if argv is not None else None)
    cache = default_cache()
    if args.cmd == "list":
        entries = cache.entries()
        print(f"cache at {cache.root}: {len(entries)} entries")
        for e in entries:
            print(f"{e.name:32s} {e.key}  {e.size / 1e6:9.2f} MB  {time.strftime('%Y-%m-%d %H:%M', time.localtime(e.mtime))}")
        return 0
    n = cache.clear(args.name)
    print(f"removed {n} entries from {cache.root}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
