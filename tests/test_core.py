"""config and cache: scale, device, paths, atomic writes, resume after interruption, list/clear."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from xaibook import cache as cache_mod
from xaibook import config
from xaibook.errors import DataFormatError, DataNotFoundError, ParameterError


def test_scale_from_env(monkeypatch):
    monkeypatch.setenv("XAIBOOK_SCALE", "paper")
    assert config.scale().name == "paper"
    assert config.scale().pick(smoke=1, default=2, paper=3) == 3
    monkeypatch.setenv("XAIBOOK_SCALE", "huge")
    with pytest.raises(ParameterError, match="smoke, default, paper"):
        config.scale()
    monkeypatch.delenv("XAIBOOK_SCALE")
    assert config.scale().name == "default"


def test_device_override(monkeypatch):
    monkeypatch.setenv("XAIBOOK_DEVICE", "cpu")
    assert config.device() == torch.device("cpu")
    if not torch.cuda.is_available():
        monkeypatch.setenv("XAIBOOK_DEVICE", "cuda")
        with pytest.raises(ParameterError, match="CUDA is not available"):
            config.device()


def test_require_dir_messages(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist.*XAIBOOK_DATA"):
        config.require_dir(tmp_path / "imagenet", "ImageNet val", "Download it from image-net.org.")
    (tmp_path / "imagenet").mkdir()
    with pytest.raises(DataFormatError, match="lacks val"):
        config.require_dir(tmp_path / "imagenet", "ImageNet val", "Download it.", expect=["val"])
    (tmp_path / "imagenet" / "val").mkdir()
    assert config.require_dir(tmp_path / "imagenet", "x", "y", expect=["val"]) == tmp_path / "imagenet"


def test_cache_computes_once_and_keys_on_params(tmp_path):
    c = cache_mod.Cache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return torch.arange(5)

    a = c.get_or_compute("maps", {"n": 5, "lr": 0.1}, compute)
    b = c.get_or_compute("maps", {"lr": 0.1, "n": 5}, compute)  # same params, other order
    assert torch.equal(a, b) and len(calls) == 1
    c.get_or_compute("maps", {"n": 6, "lr": 0.1}, compute)
    assert len(calls) == 2
    assert c.key("maps", {"t": torch.ones(3)}) != c.key("maps", {"t": torch.zeros(3)})


def test_cache_write_is_atomic(tmp_path):
    """A compute that fails leaves no entry and no temporary file behind."""
    c = cache_mod.Cache(tmp_path)

    def boom():
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        c.get_or_compute("x", {"a": 1}, boom)
    assert not c.has("x", {"a": 1})
    assert not list(tmp_path.rglob(".tmp-*"))
    with pytest.raises(RuntimeError):
        c.get_or_compute("d", {"a": 1}, lambda folder: (folder.joinpath("half").write_text("x"), boom()), fmt="dir")
    assert not c.has("d", {"a": 1}, fmt="dir") and not list(tmp_path.rglob(".tmp-*"))


def test_map_chunks_resumes_after_interruption(tmp_path):
    c = cache_mod.Cache(tmp_path)
    seen = []

    def work(chunk):
        if 6 in chunk and not os.environ.get("_XB_RESUME"):
            raise KeyboardInterrupt  # the user stops the run in the middle
        seen.extend(chunk)
        return [v * 10 for v in chunk]

    items = list(range(10))
    with pytest.raises(KeyboardInterrupt):
        c.map_chunks("loop", {"v": 1}, items, work, chunk_size=3)
    assert seen == [0, 1, 2, 3, 4, 5]
    os.environ["_XB_RESUME"] = "1"
    try:
        out = c.map_chunks("loop", {"v": 1}, items, work, chunk_size=3)
    finally:
        del os.environ["_XB_RESUME"]
    assert [v for chunk in out for v in chunk] == [v * 10 for v in items]
    assert seen == list(range(10))  # the first two chunks were not recomputed


def test_unreadable_entry_says_what_to_do(tmp_path):
    c = cache_mod.Cache(tmp_path)
    c.get_or_compute("m", {"a": 1}, lambda: {"w": torch.ones(2)})
    c.path("m", {"a": 1}).write_bytes(b"garbage")
    with pytest.raises(Exception, match="xaibook.cache clear"):
        c.load("m", {"a": 1})


def test_cache_cli_list_and_clear(tmp_path):
    c = cache_mod.Cache(tmp_path)
    c.get_or_compute("alpha", {"a": 1}, lambda: 1, fmt="pkl")
    c.get_or_compute("beta", {"a": 1}, lambda: 2, fmt="pkl")
    env = dict(os.environ, XAIBOOK_CACHE=str(tmp_path))
    run = lambda *a: subprocess.run([sys.executable, "-m", "xaibook.cache", *a], env=env,
                                    capture_output=True, text=True, check=True).stdout
    listing = run("list")
    assert "2 entries" in listing and "alpha" in listing and "beta" in listing
    assert "removed 1" in run("clear", "alpha")
    assert "1 entries" in run("list")
    assert not c.has("alpha", {"a": 1}, fmt="pkl") and c.has("beta", {"a": 1}, fmt="pkl")


def test_cache_keys_unchanged_and_compute_seconds_listed(tmp_path, monkeypatch, capsys):
    """Keys and ``digest`` keep their values (warm caches stay warm); each entry's meta holds its compute time."""
    monkeypatch.setattr(cache_mod, "_version", lambda: "0.1.0")
    c = cache_mod.Cache(tmp_path)
    assert c.key("maps", {"n": 5, "lr": 0.1, "t": torch.arange(3), "p": ("a", None, True)}) == "c96f488b512f95027eae"
    assert cache_mod.digest(np.arange(4), "x", 3, np.array(["a", "b"], dtype=object)) == "0417b6e309497823e01d"
    c.get_or_compute("slow", {"a": 1}, lambda: time.sleep(0.2) or 1, fmt="pkl")
    (entry,) = c.entries()
    assert 0.2 <= entry.seconds < 5
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path))
    assert cache_mod.main(["list"]) == 0 and f"{entry.seconds:.1f} s" in capsys.readouterr().out
