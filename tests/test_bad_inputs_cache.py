"""The artifact cache on bad input: foreign folders, corrupt or half-written entries, leftovers, the CLI.

Every case checks that the message (or warning) names the folder, file, entry or argument at fault.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from xaibook import cache as cache_mod
from xaibook.errors import CacheError, ParameterError

MARKER = "XAIBOOK_CACHE.json"


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, XAIBOOK_CACHE=str(root))
    return subprocess.run([sys.executable, "-m", "xaibook.cache", *args], env=env, capture_output=True, text=True)


def _user_folder(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A folder of user files that a mistyped XAIBOOK_CACHE could point at (the issue's reproduction)."""
    root = tmp_path / "projects"
    files = [root / "web" / "package.json", root / "web" / "package.pt", root / "notes" / "todo.json",
             root / "notes" / "todo.txt"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text('{"name": "mine"}' if f.suffix == ".json" else "user data")
    return root, files


def _corrupt_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 8] = bytes(b ^ 0xFF for b in data[mid:mid + 8])
    path.write_bytes(bytes(data))


# -- folders that are not caches ------------------------------------------------------------
def test_clear_refuses_a_folder_that_is_not_a_cache(tmp_path):
    root, files = _user_folder(tmp_path)
    with pytest.raises(CacheError, match=f"{root}.*not an xaibook cache.*XAIBOOK_CACHE"):
        cache_mod.Cache(root).clear()
    assert all(f.exists() for f in files)


def test_list_refuses_a_folder_that_is_not_a_cache(tmp_path):
    root, files = _user_folder(tmp_path)
    with pytest.raises(CacheError, match=f"{root}.*(package|todo)"):
        cache_mod.Cache(root).entries()
    assert all(f.exists() for f in files) and not (root / MARKER).exists()


@pytest.mark.parametrize("cmd", ["list", "clear"])
def test_cli_on_a_non_cache_folder_prints_one_error_line_and_exits_2(tmp_path, cmd):
    root, files = _user_folder(tmp_path)
    res = _cli(root, cmd)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    assert str(root) in lines[0] and "XAIBOOK_CACHE" in lines[0] and "Traceback" not in res.stderr
    assert all(f.exists() for f in files)


def test_writing_into_a_non_cache_folder_is_refused_before_computing(tmp_path):
    root, _ = _user_folder(tmp_path)
    calls = []
    with pytest.raises(CacheError, match=str(root)):
        cache_mod.Cache(root).get_or_compute("alpha", {"a": 1}, lambda: calls.append(1) or 1, fmt="pkl")
    assert calls == [] and sorted(p.name for p in root.iterdir()) == ["notes", "web"]


def test_non_dict_json_in_a_foreign_folder_is_refused_not_a_crash(tmp_path):
    root = tmp_path / "data"
    (root / "x").mkdir(parents=True)
    (root / "x" / "rows.json").write_text("[1, 2, 3]")
    with pytest.raises(CacheError, match=r"x/rows\.json"):
        cache_mod.Cache(root).entries()
    res = _cli(root, "clear")
    assert res.returncode == 2 and "x/rows.json" in res.stderr and "AttributeError" not in res.stderr
    assert (root / "x" / "rows.json").exists()


def test_json_array_inside_a_cache_is_ignored_not_a_crash(tmp_path):
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("alpha", {"a": 1}, lambda: 1, fmt="pkl")
    stray = c.path("alpha", {"a": 2}, "pkl").with_suffix(".json")
    stray.write_text("[1, 2]")
    stray.with_suffix(".pkl").write_bytes(b"not ours")
    assert [e.name for e in c.entries()] == ["alpha"]
    assert c.clear() == 1 and stray.exists() and stray.with_suffix(".pkl").exists()


def test_foreign_meta_named_like_an_entry_is_neither_listed_nor_deleted(tmp_path):
    """A JSON whose file name is not the key of what it holds is not an entry of this cache."""
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("alpha", {"a": 1}, lambda: 1, fmt="pkl")
    fake = c.root / "alpha" / ("0" * 20 + ".json")
    fake.write_text(json.dumps({"name": "alpha", "params": {}, "version": "0.1.0"}))
    fake.with_suffix(".pkl").write_bytes(b"user bytes")
    assert [e.key for e in c.entries()] == [c.key("alpha", {"a": 1})]
    c.clear()
    assert fake.exists() and fake.with_suffix(".pkl").exists()


def test_cache_root_that_is_a_file_is_named(tmp_path):
    root = tmp_path / "cachefile"
    root.write_text("not a folder")
    with pytest.raises(CacheError, match=f"{root} is a file"):
        cache_mod.Cache(root).entries()
    with pytest.raises(CacheError, match=f"{root} is a file"):
        cache_mod.Cache(root).get_or_compute("alpha", {}, lambda: 1)


def test_garbage_marker_is_named(tmp_path):
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("alpha", {"a": 1}, lambda: 1, fmt="pkl")
    (c.root / MARKER).write_text("[not json")
    with pytest.raises(CacheError, match=MARKER):
        c.entries()


def test_marker_of_a_newer_format_is_refused(tmp_path):
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("alpha", {"a": 1}, lambda: 1, fmt="pkl")
    (c.root / MARKER).write_text(json.dumps({"xaibook_cache": 99}))
    with pytest.raises(CacheError, match=f"format 99.*{MARKER}.*upgrade"):
        c.get_or_compute("alpha", {"a": 1}, lambda: 1, fmt="pkl")


def test_bad_fmt_is_named(tmp_path):
    with pytest.raises(ParameterError, match="fmt='npz'"):
        cache_mod.Cache(tmp_path).get_or_compute("alpha", {}, lambda: 1, fmt="npz")


# -- corrupt and half-written entries ---------------------------------------------------------
@pytest.mark.parametrize("fmt", ["pt", "pkl"])
def test_overwritten_bytes_are_caught_and_recomputed(tmp_path, fmt):
    c = cache_mod.Cache(tmp_path / "cache")
    value = torch.full((4096,), 7, dtype=torch.uint8)
    c.get_or_compute("maps", {"a": 1}, lambda: value, fmt)
    path = c.path("maps", {"a": 1}, fmt)
    _corrupt_middle(path)
    with pytest.raises(CacheError, match=f"{path}.*sha256.*xaibook.cache clear maps"):
        c.load("maps", {"a": 1}, fmt)
    calls = []
    with pytest.warns(UserWarning, match=f"'maps'.*{path.name}"):
        again = c.get_or_compute("maps", {"a": 1}, lambda: calls.append(1) or value, fmt)
    assert calls == [1] and torch.equal(again, value) and torch.equal(c.load("maps", {"a": 1}, fmt), value)


def test_truncated_entry_is_recomputed_with_one_warning(tmp_path):
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("rows", {"a": 1}, lambda: list(range(1000)), fmt="pkl")
    path = c.path("rows", {"a": 1}, "pkl")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match="'rows'") as record:
        assert c.get_or_compute("rows", {"a": 1}, lambda: list(range(1000)), fmt="pkl") == list(range(1000))
        assert c.get_or_compute("rows", {"a": 1}, lambda: [], fmt="pkl") == list(range(1000))
    assert len([w for w in record if issubclass(w.category, UserWarning)]) == 1


def test_changed_file_in_a_dir_entry_is_caught(tmp_path):
    c = cache_mod.Cache(tmp_path / "cache")

    def write(folder):
        (folder / "manifest.csv").write_text("a,b\n1,2\n")

    folder = c.get_or_compute("stimuli", {"a": 1}, write, fmt="dir")
    (folder / "manifest.csv").write_text("a,b\n1,3\n")
    with pytest.raises(CacheError, match=f"{folder}.*sha256"):
        c.load("stimuli", {"a": 1}, "dir")
    with pytest.warns(UserWarning, match="'stimuli'"):
        folder = c.get_or_compute("stimuli", {"a": 1}, write, fmt="dir")
    assert (folder / "manifest.csv").read_text() == "a,b\n1,2\n"


def test_value_without_meta_counts_as_missing(tmp_path):
    """A writer killed between renaming the value and writing its meta leaves no valid entry."""
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("alpha", {"a": 1}, lambda: "old", fmt="pkl")
    path = c.path("alpha", {"a": 1}, "pkl")
    path.with_suffix(".json").unlink()
    assert not c.has("alpha", {"a": 1}, "pkl") and c.entries() == []
    with pytest.raises(CacheError, match=f"{path}.*no meta file {path.stem}.json"):
        c.load("alpha", {"a": 1}, "pkl")
    assert c.get_or_compute("alpha", {"a": 1}, lambda: "new", fmt="pkl") == "new"
    assert c.load("alpha", {"a": 1}, "pkl") == "new"


def test_unreadable_meta_is_named_and_recomputed(tmp_path):
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("alpha", {"a": 1}, lambda: 1, fmt="pkl")
    meta = c.path("alpha", {"a": 1}, "pkl").with_suffix(".json")
    meta.write_text("[1, 2]")
    with pytest.raises(CacheError, match=f"meta file {meta}"):
        c.load("alpha", {"a": 1}, "pkl")
    with pytest.warns(UserWarning, match="'alpha'"):
        assert c.get_or_compute("alpha", {"a": 1}, lambda: 2, fmt="pkl") == 2


# -- leftovers, caches made before the marker -----------------------------------------------
def test_stale_tmp_leftovers_are_removed_by_the_next_write_and_by_clear(tmp_path):
    """Leftovers of killed writers (an earlier process) go at the next write in their folder."""
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("beta", {"a": 1}, lambda: 1, fmt="pkl")
    folder = c.root / "alpha"
    folder.mkdir()
    old_file, old_dir, fresh = folder / ".tmp-x1.pkl", folder / ".tmp-x2", folder / ".tmp-x3.pkl"
    live = folder / f".tmp-{os.getpid()}-x4.pkl"  # a writer still running (this process)
    old_dir.mkdir()
    (old_dir / "half.png").write_bytes(b"x")
    for p in (old_file, fresh, live):
        p.write_bytes(b"half")
    hour_ago = time.time() - 3600
    for p in (old_file, old_dir, old_dir / "half.png", live):
        os.utime(p, (hour_ago, hour_ago))
    c.get_or_compute("alpha", {"a": 2}, lambda: 2, fmt="pkl")
    assert not old_file.exists() and not old_dir.exists() and fresh.exists() and live.exists()
    assert "removed 2 entries" in _cli(c.root, "clear").stdout
    assert not fresh.exists() and live.exists()
    live.unlink()


def test_cache_made_before_the_marker_is_adopted_without_recomputing(tmp_path):
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("alpha", {"a": 1}, lambda: {"w": 1}, fmt="pkl")
    (c.root / MARKER).unlink()
    meta_path = c.path("alpha", {"a": 1}, "pkl").with_suffix(".json")
    old = {k: v for k, v in json.loads(meta_path.read_text()).items() if k in ("name", "params", "version", "created")}
    meta_path.write_text(json.dumps(old))  # the meta as the old cache wrote it
    (c.root / "alpha" / ".tmp-abc.pkl").write_bytes(b"half")
    assert c.get_or_compute("alpha", {"a": 1}, lambda: pytest.fail("recomputed"), fmt="pkl") == {"w": 1}
    assert (c.root / MARKER).is_file() and "sha256" in json.loads(meta_path.read_text())
    _corrupt_middle(c.path("alpha", {"a": 1}, "pkl"))  # now verified like any entry
    with pytest.raises(CacheError, match="sha256"):
        c.load("alpha", {"a": 1}, "pkl")


def test_folder_holding_only_a_checkpoint_at_an_entry_path_is_a_cache(tmp_path):
    """train_cached writes its checkpoint at cache.path() before the cache writes any entry."""
    c = cache_mod.Cache(tmp_path / "cache")
    ckpt = c.path("tiny.checkpoint", {"n": 1})
    ckpt.parent.mkdir(parents=True)
    torch.save({"epoch": 1}, ckpt)
    assert c.get_or_compute("tiny", {"n": 1}, lambda: 5) == 5 and (c.root / MARKER).is_file()
    assert [e.name for e in c.entries()] == ["tiny"] and ckpt.exists()


# -- the command line -----------------------------------------------------------------------
def test_list_into_a_closed_pipe_prints_no_broken_pipe(tmp_path):
    c = cache_mod.Cache(tmp_path / "cache")
    for i in range(3):
        c.get_or_compute(f"entry{i}", {"a": i}, lambda: pickle.dumps(i), fmt="pkl")
    env = dict(os.environ, XAIBOOK_CACHE=str(c.root))
    proc = subprocess.Popen([sys.executable, "-m", "xaibook.cache", "list"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the command prints (`list | head -0`)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and "BrokenPipe" not in err and "Traceback" not in err, err


def test_clear_of_an_unknown_name_says_so(tmp_path):
    c = cache_mod.Cache(tmp_path / "cache")
    c.get_or_compute("alpha", {"a": 1}, lambda: 1, fmt="pkl")
    res = _cli(c.root, "clear", "alpah")
    assert res.returncode == 0 and "no entries named 'alpah'" in res.stdout and "alpha" in res.stdout
    assert c.has("alpha", {"a": 1}, "pkl")
