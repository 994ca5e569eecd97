"""A content-keyed artifact cache for expensive results (maps, trained models, datasets).

An entry is keyed by a name (the function that made it), its parameters and the library
version. Each entry is a value (``<key>.pt``, ``<key>.pkl`` or a folder ``<key>``) and a
meta file ``<key>.json`` holding the name, parameters, version, the sha256 of the value's
bytes (of a folder's file names and bytes) and the seconds its compute took. Writes are
atomic (a temporary file renamed into place) and the meta is written last, so an
interrupted run never leaves an entry that counts as valid; rerunning recomputes only what
is missing. Reads verify the sha256 (in 1 MB chunks; a read passes over the file twice):
:meth:`Cache.load` raises :class:`CacheError` naming the file on a mismatch,
:meth:`Cache.get_or_compute` warns (:class:`CacheWarning`, naming the entry) and recomputes it.
``map_chunks`` caches long loops chunk by chunk, so they resume where they stopped.

    >>> from xaibook.cache import cached
    >>> maps = cached("gradcam", {"model": "resnet18-zoo", "n": 64}, lambda: compute())

**Which folders are caches.** A cache folder holds the marker file ``XAIBOOK_CACHE.json``
(written when the cache is created; it carries the entry format). An empty or missing
folder becomes a cache on the first write. A folder without the marker is adopted (the
marker is written) only if everything in it has the cache's layout and every meta file
verifies (its file name is the key of the name, parameters and version it holds): a cache
made before the marker existed. Its entries carry no sha256 yet; each gets one the first
time it loads. Any other folder (a mistyped ``XAIBOOK_CACHE``) is refused with a
:class:`CacheError`: nothing in it is listed, written or deleted. Leftover ``.tmp-*`` files
of killed writers are removed by the next write in their folder once they are 10 minutes
old, and by ``clear``.

Command line: ``python -m xaibook.cache list`` and ``python -m xaibook.cache clear [NAME]``.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from . import config
from .errors import CacheError, ParameterError, XaibookError

FORMATS = ("pt", "pkl", "dir")
MARKER = "XAIBOOK_CACHE.json"
FORMAT = 2          # 1: entries without sha256 (caches made before the marker); 2: sha256 and seconds in the meta
TMP_MAX_AGE_S = 600  # a .tmp-* leftover this old, of a writer no longer running, is removed by the next write
_STALE_S = 86_400    # ... and one this old whatever its writer
_KEY = re.compile(r"[0-9a-f]{20}")
_TMP_PID = re.compile(r"\.tmp-(\d+)-")
_CHUNK = 1 << 20
_SWEPT: set[Path] = set()        # entry folders swept for leftovers by this process (once each)
_RECOGNISED: set[Path] = set()   # roots whose marker this process has read


class CacheWarning(UserWarning):
    """A cache entry was corrupt or unreadable and is recomputed."""


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


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _meta_path(target: Path) -> Path:
    """The meta file of the value at ``target`` (``<key>.json`` beside it)."""
    return target.parent / (target.name.split(".")[0] + ".json")


def _meta_key(meta: dict) -> str:
    """The key a meta's name, parameters and version hash to (the same blob as :meth:`Cache.key`)."""
    blob = json.dumps({"name": meta["name"], "params": meta["params"], "version": meta["version"]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _verified_meta(meta_path: Path) -> dict | None:
    """The meta at ``meta_path`` if it is an entry's meta of this cache layout, else None."""
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not (isinstance(meta, dict) and isinstance(meta.get("name"), str) and isinstance(meta.get("version"), str)
            and "params" in meta):
        return None
    try:
        ok = _meta_key(meta) == meta_path.stem and meta_path.parent.name == _safe(meta["name"])
    except (TypeError, ValueError):
        return None
    return meta if ok else None


def _feed(h: Any, path: Path) -> None:
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)


def _content_sha256(target: Path) -> str:
    """sha256 of a file's bytes, or of a folder's relative file names, sizes and bytes (1 MB chunks)."""
    h = hashlib.sha256()
    if not target.is_dir():
        _feed(h, target)
        return h.hexdigest()
    files = sorted((p.relative_to(target).as_posix(), p) for p in target.rglob("*") if p.is_file())
    for rel, p in files:
        h.update(rel.encode() + b"\0" + str(p.stat().st_size).encode() + b"\0")
        _feed(h, p)
    return h.hexdigest()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _writer_alive(tmp: Path) -> bool:
    """Whether the process that made ``tmp`` (pid in its name) still runs on this machine."""
    m = _TMP_PID.match(tmp.name)
    if m is None:
        return False  # named before writers put their pid in it
    pid = int(m.group(1))
    if os.name != "posix":
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _age_s(path: Path) -> float:
    """Seconds since ``path`` (or, for a folder, anything in it) last changed."""
    try:
        newest = path.stat().st_mtime
        if path.is_dir():
            newest = max([newest] + [p.stat().st_mtime for p in path.rglob("*")])
    except OSError:
        return 0.0
    return time.time() - newest


def _sweep(folder: Path, min_age_s: float) -> int:
    """Remove ``.tmp-*`` leftovers in ``folder`` of writers no longer running, at least ``min_age_s`` old."""
    removed = 0
    for tmp in folder.glob(".tmp-*"):
        age = _age_s(tmp)
        if age >= _STALE_S or (age >= min_age_s and not _writer_alive(tmp)):
            _remove(tmp)
            removed += 1
    return removed


def atomic_write(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file renamed into place (never half-written)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".tmp-{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@dataclass
class Entry:
    """One listed entry: its value's path and size, and ``seconds`` its compute took (None: unknown)."""

    name: str
    key: str
    path: Path
    size: int
    mtime: float
    params: dict
    seconds: float | None = None
    fmt: str = ""


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
        safe = _safe(name)
        suffix = "" if fmt == "dir" else f".{fmt}"
        return self.root / safe / f"{self.key(name, params)}{suffix}"

    def has(self, name: str, params: dict, fmt: str = "pt") -> bool:
        """Whether the entry's value and meta exist (a value without meta counts as missing)."""
        target = self.path(name, params, fmt)
        return target.exists() and _meta_path(target).is_file()

    # -- which folder is a cache ----------------------------------------------------------
    def _not_a_cache(self, why: str) -> CacheError:
        env = os.environ.get("XAIBOOK_CACHE", "")
        return CacheError(
            f"{self.root} is not an xaibook cache ({why}), so nothing in it is listed, written or deleted; "
            f"check XAIBOOK_CACHE (now {env!r}) and point it at a new or empty folder or at an existing cache "
            f"(a folder holding {MARKER}).")

    def _adoption_problem(self) -> str | None:
        """Why the marker-less folder ``root`` is not a cache made before the marker, or None if it is one."""
        for top in sorted(self.root.iterdir()):
            if top.name.startswith("."):
                continue  # hidden files (.DS_Store) are never listed, written or deleted
            if not top.is_dir():
                return f"{top.name} is a file, not a cache entry folder"
            for p in sorted(top.iterdir()):
                if p.name.startswith(".tmp-"):
                    continue
                stem, _, ext = p.name.partition(".")
                if not _KEY.fullmatch(stem) or ext not in ("", "pt", "pkl", "json"):
                    return f"{top.name}/{p.name} is not a cache entry"
                if ext == "json" and _verified_meta(p) is None:
                    return f"{top.name}/{p.name} is not a cache entry's meta"
        return None

    def _marker_format(self, marker: Path) -> int:
        try:
            info = json.loads(marker.read_text())
        except (OSError, UnicodeDecodeError, ValueError):
            info = None
        fmt = info.get("xaibook_cache") if isinstance(info, dict) else None
        if not isinstance(fmt, int) or isinstance(fmt, bool):
            raise CacheError(f"the cache marker {marker} is unreadable or holds no format number; if {self.root} "
                             f"is an xaibook cache, delete {marker.name} (it is rewritten), else check XAIBOOK_CACHE.")
        if fmt > FORMAT:
            raise CacheError(f"the cache at {self.root} has entry format {fmt} (marker {marker}) but this xaibook "
                             f"reads up to format {FORMAT}; upgrade xaibook or point XAIBOOK_CACHE at another folder.")
        return fmt

    def _write_marker(self) -> None:
        info = {"xaibook_cache": FORMAT, "created": time.time(),
                "about": "an xaibook artifact cache; `python -m xaibook.cache list` shows its entries"}
        atomic_write(self.root / MARKER, json.dumps(info, indent=1).encode())

    def _recognise(self, create: bool) -> bool:
        """Whether ``root`` is a cache (False: missing or empty); raise CacheError for any other folder.

        With ``create``, a missing or empty root becomes a cache (folder and marker written).
        """
        root, marker = self.root, self.root / MARKER
        if root.exists() and not root.is_dir():
            raise CacheError(f"the cache folder {root} is a file; point XAIBOOK_CACHE at a folder.")
        if marker.is_file():
            if root not in _RECOGNISED:
                self._marker_format(marker)
                _RECOGNISED.add(root)
            return True
        if marker.exists():
            raise self._not_a_cache(f"{MARKER} there is not a file")
        if root.is_dir() and next(root.iterdir(), None) is not None:
            why = self._adoption_problem()
            if why is not None:
                raise self._not_a_cache(why)
            try:
                self._write_marker()  # a cache made before the marker: adopt it
            except OSError:
                pass
            return True
        if create:
            try:
                root.mkdir(parents=True, exist_ok=True)
                self._write_marker()
            except OSError as exc:
                raise CacheError(f"cannot create the cache folder {root} ({exc}); point XAIBOOK_CACHE at a "
                                 f"writable folder.") from exc
            return True
        return False

    def _prepare(self, target: Path) -> None:
        """Before writing ``target``: check the root, make its folder, sweep stale leftovers there.

        The sweep runs at a process's first write in a folder (leftovers come from killed
        processes), so a long chunked loop does not list its folder at every chunk.
        """
        self._recognise(create=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.parent not in _SWEPT:
            _sweep(target.parent, TMP_MAX_AGE_S)
            _SWEPT.add(target.parent)

    # -- read and write -------------------------------------------------------------------
    def _commit(self, tmp: Path, target: Path, name: str, params: dict, fmt: str, seconds: float | None) -> None:
        """Move the finished ``tmp`` into place, then write its meta (until then the entry counts as missing)."""
        meta = {"name": name, "params": _canon(params), "version": _version(), "created": time.time(),
                "format": fmt, "sha256": _content_sha256(tmp),
                "seconds": None if seconds is None else round(float(seconds), 3)}
        meta_path = _meta_path(target)
        meta_path.unlink(missing_ok=True)
        if fmt == "dir":
            _remove(target)
            try:
                os.rename(tmp, target)
            except OSError:
                if not target.exists():
                    raise
                return  # another process wrote this entry first; it writes its own meta
        else:
            os.replace(tmp, target)
        atomic_write(meta_path, json.dumps(meta, indent=1).encode())

    def load(self, name: str, params: dict, fmt: str = "pt") -> Any:
        """The entry's value (for ``fmt="dir"`` its folder), after checking it against its sha256.

        Raises :class:`CacheError` naming the file when the entry is missing, has no meta,
        does not match its sha256 or cannot be read.
        """
        target = self.path(name, params, fmt)
        meta_path = _meta_path(target)
        todo = f"delete it or run `python -m xaibook.cache clear {name}` and rerun."
        if not target.exists():
            raise CacheError(f"cache entry {target} does not exist; compute it with get_or_compute() or cached().")
        if not meta_path.is_file():
            raise CacheError(f"cache entry {target} has no meta file {meta_path.name} (its writer was interrupted); "
                             f"it counts as missing: {todo}")
        meta = _verified_meta(meta_path)
        if meta is None:
            raise CacheError(f"the meta file {meta_path} of cache entry {target} is unreadable or not this "
                             f"entry's; {todo}")
        try:
            sha = _content_sha256(target)
        except OSError as exc:
            raise CacheError(f"cache entry {target} is unreadable ({exc}); {todo}") from exc
        if meta.get("sha256") is not None and sha != meta["sha256"]:
            raise CacheError(f"cache entry {target} does not match the sha256 in {meta_path.name} (its bytes were "
                             f"changed or truncated); {todo}")
        try:
            if fmt == "pt":
                import torch

                value = torch.load(target, map_location="cpu", weights_only=False)
            elif fmt == "pkl":
                with open(target, "rb") as fh:
                    value = pickle.load(fh)
            else:
                value = target
        except Exception as exc:  # any failure to unpickle means the entry cannot be served
            raise CacheError(f"cache entry {target} is unreadable ({type(exc).__name__}: {exc}); {todo}") from exc
        if meta.get("sha256") is None:  # an entry made before sha256s: it loaded, so record its digest now
            try:
                atomic_write(meta_path, json.dumps({**meta, "format": fmt, "sha256": sha}, indent=1).encode())
            except OSError:
                pass
        return value

    def save(self, name: str, params: dict, value: Any, fmt: str = "pt", seconds: float | None = None) -> Path:
        """Store ``value`` (``seconds``: how long it took to compute, shown by ``list``)."""
        target = self.path(name, params, fmt)
        if fmt == "dir":
            raise ParameterError("directory entries are written through get_or_compute(..., fmt='dir')")
        self._prepare(target)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".tmp-{os.getpid()}-", suffix=target.suffix)
        os.close(fd)
        try:
            if fmt == "pt":
                import torch

                torch.save(value, tmp)
            else:
                with open(tmp, "wb") as fh:
                    pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            self._commit(Path(tmp), target, name, params, fmt, seconds)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    def get_or_compute(self, name: str, params: dict, compute: Callable[..., Any], fmt: str = "pt") -> Any:
        """Return the cached value, computing and storing it first if absent or corrupt.

        For ``fmt="dir"``, ``compute(folder)`` fills a fresh temporary folder which is then
        renamed into place; the cached folder's path is returned. A corrupt entry (sha256
        mismatch, truncated, unreadable) is recomputed with a :class:`CacheWarning`.
        """
        target = self.path(name, params, fmt)
        self._recognise(create=False)
        if self.has(name, params, fmt):
            try:
                return self.load(name, params, fmt)
            except CacheError as exc:
                warnings.warn(f"cache entry {name!r} ({target}) is corrupt, recomputing it: {exc}", CacheWarning,
                              stacklevel=2)
                _meta_path(target).unlink(missing_ok=True)
                _remove(target)
        t0 = time.perf_counter()
        if fmt == "dir":
            self._prepare(target)
            tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".tmp-{os.getpid()}-"))
            try:
                compute(tmp)
                self._commit(tmp, target, name, params, fmt, time.perf_counter() - t0)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
            return target
        value = compute()
        self.save(name, params, value, fmt, seconds=time.perf_counter() - t0)
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
    def _metas(self, name: str | None) -> list[tuple[Path, dict]]:
        """The verified meta files (of one name), whether or not their value exists."""
        if not self._recognise(create=False):
            return []
        found = []
        for top in sorted(self.root.iterdir()):
            if not top.is_dir() or top.name.startswith(".") or (name is not None and top.name != _safe(name)):
                continue
            for meta_path in sorted(top.glob("*.json")):
                meta = _verified_meta(meta_path)
                if meta is not None and (name is None or meta["name"] == name):
                    found.append((meta_path, meta))
        return found

    def entries(self, name: str | None = None) -> list[Entry]:
        """The valid-looking entries (value and verified meta; the sha256 is checked on load)."""
        found: list[Entry] = []
        for meta_path, meta in self._metas(name):
            fmts = [meta["format"]] if meta.get("format") in FORMATS else list(FORMATS)
            values = [(f, meta_path.with_suffix("" if f == "dir" else f".{f}")) for f in fmts]
            values = [(f, p) for f, p in values if (p.is_dir() if f == "dir" else p.is_file())]
            if not values:
                continue
            fmt, p = values[0]
            size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size
            params = meta["params"] if isinstance(meta["params"], dict) else {}
            found.append(Entry(meta["name"], meta_path.stem, p, size, p.stat().st_mtime, params,
                               meta.get("seconds"), fmt))
        return found

    def clear(self, name: str | None = None) -> int:
        """Delete all entries (or those of one name); return how many were removed.

        Also removes metas left without a value and ``.tmp-*`` leftovers of writers no longer
        running. Refuses (CacheError) a folder that is not a cache.
        """
        removed = 0
        for e in self.entries(name):
            _remove(e.path)
            _meta_path(e.path).unlink(missing_ok=True)
            removed += 1
        for meta_path, _ in self._metas(name):  # metas whose value is gone
            meta_path.unlink(missing_ok=True)
        if self.root.is_dir() and (self.root / MARKER).is_file():
            for top in self.root.iterdir():
                if top.is_dir() and not top.name.startswith(".") and (name is None or top.name == _safe(name)):
                    _sweep(top, 0.0)
        return removed


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


def _cli(args: Any) -> int:
    cache = default_cache()
    if args.cmd == "list":
        entries = cache.entries()
        print(f"cache at {cache.root}: {len(entries)} entries")
        for e in entries:
            took = "-" if e.seconds is None else f"{e.seconds:.1f}"
            print(f"{e.name:32s} {e.key}  {e.size / 1e6:9.2f} MB  {took:>8s} s  "
                  f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(e.mtime))}")
        return 0
    if args.name is not None and not cache.entries(args.name):
        names = sorted({e.name for e in cache.entries()})
        cache.clear(args.name)  # leftovers of that name, if any
        print(f"no entries named {args.name!r} in {cache.root}; nothing removed "
              f"(names there: {', '.join(names) if names else 'none'})")
        return 0
    n = cache.clear(args.name)
    print(f"removed {n} entries from {cache.root}")
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m xaibook.cache", description="List or clear cached artifacts.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list cached entries (name, key, size, compute seconds, date)")
    pc = sub.add_parser("clear", help="delete cached entries")
    pc.add_argument("name", nargs="?", help="only entries of this name")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        rc = _cli(args)
        sys.stdout.flush()
        return rc
    except XaibookError as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (`list | head -1`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
