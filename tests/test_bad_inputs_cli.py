"""Bad input to ``python -m xaibook.world`` and to the data sets it writes.

Every refusal is one ``error: ...`` line naming the argument or file, exit status 2, no
traceback, and happens before any work (nothing is written). Writing is atomic: an existing
data set is replaced only with ``--overwrite``, and an interrupted run leaves it unchanged.
The Two4Two ``Dataset`` names the file it cannot read (missing, corrupt, wrong size).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xaibook.errors import DataFormatError, DataNotFoundError, ParameterError
from xaibook.world import two4two as T

HUGE = str(10**12)


def world(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, XAIBOOK_PROGRESS="0", XAIBOOK_THREADS="1")
    return subprocess.run([sys.executable, "-m", "xaibook.world", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def refused(r: subprocess.CompletedProcess, *names: str) -> str:
    """Assert a clean refusal naming ``names``; returns the error line."""
    assert "Traceback" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert r.returncode == 2, (r.returncode, r.stderr)
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize("batch", ["0", "-1"])
def test_batch_must_be_positive(tmp_path, batch):
    out = tmp_path / "t42"
    refused(world("two4two", "--n", "5", "--out", str(out), "--size", "16", "--batch", batch), "--batch")
    assert not out.exists()  # --batch -1 used to print "wrote 5 scenes" and write no image


@pytest.mark.parametrize("generator", ["two4two", "zoo"])
def test_size_zero_is_refused(tmp_path, generator):
    refused(world(generator, "--n", "2", "--out", str(tmp_path / "o"), "--size", "0"), "--size")
    assert not (tmp_path / "o").exists()


def test_negative_seed_is_refused(tmp_path):
    refused(world("two4two", "--n", "2", "--out", str(tmp_path / "o"), "--seed", "-1"), "--seed")


def test_zero_supersample_is_refused(tmp_path):
    refused(world("two4two", "--n", "2", "--out", str(tmp_path / "o"), "--supersample", "0"), "--supersample")


def test_unknown_sampler_is_refused(tmp_path):
    refused(world("two4two", "--n", "2", "--out", str(tmp_path / "o"), "--sampler", "fair"), "--sampler", "biased")


def test_knob_rate_outside_0_1_is_refused(tmp_path):
    refused(world("zoo", "--n", "2", "--out", str(tmp_path / "o"), "--context-rate", "2"), "--context-rate")


def test_max_objects_outside_range_is_refused(tmp_path):
    refused(world("scenes", "--n", "2", "--out", str(tmp_path / "o"), "--max-objects", "0"), "--max-objects")


def test_no_generator_names_the_choices():
    line = refused(world())
    assert "two4two" in line and "zoo" in line and "scenes" in line


# ------------------------------------------------------------------ sizes bounded by the machine


@pytest.mark.parametrize("generator,n", [("two4two", HUGE), ("zoo", HUGE), ("scenes", "1e12")])
def test_huge_n_is_refused_before_work(tmp_path, generator, n):
    out = tmp_path / "o"
    line = refused(world(generator, "--n", n, "--out", str(out), timeout=60), "--n", "available")
    assert "chunks" in line  # suggests a smaller --n or chunked runs
    assert not out.exists()


def test_huge_size_is_refused_before_work(tmp_path):
    refused(world("zoo", "--n", "1", "--out", str(tmp_path / "o"), "--size", "1000000", timeout=60), "--size")


# ------------------------------------------------------------------ devices


def test_cuda_without_a_gpu_is_refused(tmp_path):
    dev = f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"
    refused(world("two4two", "--n", "2", "--out", str(tmp_path / "o"), "--device", dev), "--device", dev)
    assert not (tmp_path / "o").exists()


def test_unknown_device_is_refused(tmp_path):
    refused(world("zoo", "--n", "2", "--out", str(tmp_path / "o"), "--device", "tpu9"), "--device", "tpu9")


# ------------------------------------------------------------------ input and output files


def test_binary_from_params_is_refused(tmp_path):
    params = tmp_path / "params.jsonl"
    params.write_bytes(bytes(range(256)) * 4)
    refused(world("two4two", "--from-params", str(params), "--out", str(tmp_path / "o")), str(params))


@pytest.mark.parametrize("generator", ["two4two", "zoo", "scenes"])
def test_out_that_is_a_file_is_refused_before_rendering(tmp_path, generator):
    # zoo and scenes used to render everything first and then fail with a traceback;
    # 2000 images would take minutes, so the timeout shows the check comes first
    out = tmp_path / "taken"
    out.write_text("not a folder")
    refused(world(generator, "--n", "2000", "--size", "16", "--out", str(out), timeout=60), "--out", str(out))
    assert out.read_text() == "not a folder"


def test_unwritable_out_is_refused(tmp_path):
    out = "/proc/xaibook-no-such/out"  # not writable, even by root
    refused(world("zoo", "--n", "2000", "--size", "16", "--out", out, timeout=60), "--out", out)


def test_out_below_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "sub"
    refused(world("scenes", "--n", "2000", "--size", "16", "--out", str(out), timeout=60), "--out", str(out))


def test_unwritable_sheet_is_refused(tmp_path):
    refused(world("zoo", "--n", "2000", "--size", "16", "--sheet", str(tmp_path), timeout=60), "--sheet")


@pytest.mark.parametrize("generator,marker", [("two4two", "parameters.jsonl"), ("zoo", "records.csv"),
                                              ("scenes", "scenes.csv")])
def test_existing_data_set_needs_overwrite(tmp_path, generator, marker):
    out = tmp_path / "ds"
    out.mkdir()
    (out / marker).write_text("old\n")
    (out / "a.png").write_bytes(b"old")
    before = digest(out)
    refused(world(generator, "--n", "2", "--size", "16", "--out", str(out)), "--out", "--overwrite")
    assert digest(out) == before


def test_overwrite_never_replaces_a_folder_of_other_files(tmp_path):
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    refused(world("two4two", "--n", "2", "--size", "16", "--out", str(out), "--overwrite"), "--out")
    assert (out / "thesis.tex").read_text() == "precious"


# ------------------------------------------------------------------ atomic re-render (in process)


@pytest.fixture
def small_set(tmp_path) -> Path:
    out = tmp_path / "t42"
    T.write_dataset(T.sample(3, seed=1), out, size=32, supersample=1, device="cpu", progress=False)
    return out


def test_overwrite_replaces_the_data_set_with_one_size(small_set):
    from xaibook.world.__main__ import main

    assert main(["two4two", "--n", "4", "--seed", "2", "--size", "16", "--supersample", "1", "--out",
                 str(small_set), "--overwrite", "--device", "cpu"]) == 0
    ds = T.Two4TwoDataset(small_set, masks=True)
    assert len(ds) == 4 and len(list(small_set.iterdir())) == 9
    assert all(ds[i][0].shape == (3, 16, 16) for i in range(4))
    assert leftovers(small_set.parent) == []


def test_interrupted_overwrite_leaves_the_old_data_set(small_set, monkeypatch):
    before = digest(small_set)
    real, calls = T.render_params, []

    def render_then_interrupt(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(T, "render_params", render_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        T.write_dataset(T.sample(4, seed=2), small_set, size=16, supersample=1, batch=2, device="cpu",
                        progress=False, overwrite=True)
    assert len(calls) == 2 and digest(small_set) == before
    assert leftovers(small_set.parent) == []
    assert T.Two4TwoDataset(small_set)[0][0].shape == (3, 32, 32)


def test_write_dataset_refuses_an_existing_data_set(small_set):
    with pytest.raises(ParameterError, match="already holds a data set.*overwrite=True"):
        T.write_dataset(T.sample(2, seed=3), small_set, size=16, device="cpu", progress=False)


# ------------------------------------------------------------------ the Dataset names the bad file


def test_dataset_refuses_an_image_of_another_size(small_set):
    first = T.read_params(small_set)[1].id
    Image.new("RGB", (16, 16)).save(small_set / f"{first}.png")
    ds = T.Two4TwoDataset(small_set)
    ds[0]
    with pytest.raises(DataFormatError, match=f"{first}.png is 16x16 px but parameters.jsonl records 32x32"):
        ds[1]


def test_dataset_refuses_mixed_resolutions(small_set):
    lines = (small_set / "parameters.jsonl").read_text().splitlines()
    lines[2] = json.dumps(dict(json.loads(lines[2]), resolution=[64, 64]))
    (small_set / "parameters.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match="parameters.jsonl mixes resolutions"):
        T.Two4TwoDataset(small_set)


def test_dataset_names_a_corrupt_png(small_set):
    first = T.read_params(small_set)[0].id
    (small_set / f"{first}.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataFormatError, match=f"{first}.png is not a readable PNG"):
        T.Two4TwoDataset(small_set)


def test_dataset_names_a_missing_image_or_mask(small_set):
    last = T.read_params(small_set)[-1].id
    (small_set / f"{last}_mask.png").unlink()
    assert len(T.Two4TwoDataset(small_set)) == 3  # masks not asked for
    with pytest.raises(DataNotFoundError, match=f"no {last}_mask.png"):
        T.Two4TwoDataset(small_set, masks=True)
    (small_set / f"{last}.png").unlink()
    with pytest.raises(DataNotFoundError, match=f"no {last}.png"):
        T.Two4TwoDataset(small_set)


def test_read_params_names_a_binary_file(tmp_path):
    path = tmp_path / "parameters.jsonl"
    path.write_bytes(np.arange(256, dtype=np.uint8).tobytes())
    with pytest.raises(DataFormatError, match="not a text file"):
        T.read_params(path)


def _zoo_images(n: int, masks: torch.Tensor | None = None):
    import pandas as pd

    from xaibook.world.zoo import ZooImages

    return ZooImages(torch.rand(n, 3, 16, 16), torch.zeros(n, dtype=torch.long),
                     torch.zeros(n, 16, 16, dtype=torch.uint8) if masks is None else masks, torch.zeros(n, 4),
                     pd.DataFrame({"id": [f"z{i}" for i in range(n)]}), torch.zeros(n, 16, 16, dtype=torch.uint8))


def test_zoo_write_folder_is_atomic(tmp_path):
    from xaibook.world import zoo

    out = tmp_path / "zoo"
    zoo.write_folder(_zoo_images(2), out)
    before = digest(out)
    with pytest.raises(ParameterError, match="already holds a data set"):
        zoo.write_folder(_zoo_images(3), out)
    bad = _zoo_images(3, masks=torch.zeros(3, 16, 16, 2, dtype=torch.float64))  # fails while writing
    with pytest.raises(TypeError):
        zoo.write_folder(bad, out, overwrite=True)
    assert digest(out) == before and leftovers(tmp_path) == []
    zoo.write_folder(_zoo_images(3), out, overwrite=True)
    assert len(list(out.glob("*_mask.png"))) == 3 and leftovers(tmp_path) == []


def test_scenes_write_folder_is_atomic(tmp_path):
    import pandas as pd

    from xaibook.world import scenes as S

    def batch(n, instances=None):
        inst = torch.zeros(n, 16, 16, dtype=torch.uint8) if instances is None else instances
        return S.Scenes(torch.rand(n, 3, 16, 16), torch.zeros(n, len(S.CLASSES)), inst, inst.clone(),
                        torch.zeros(n, 1, 4), pd.DataFrame({"id": [f"s{i}" for i in range(n)]}),
                        pd.DataFrame({"scene": list(range(n))}))

    out = tmp_path / "sc"
    S.write_folder(batch(2), out)
    before = digest(out)
    with pytest.raises(ParameterError, match="already holds a data set"):
        S.write_folder(batch(2), out)
    with pytest.raises(TypeError):
        S.write_folder(batch(3, torch.zeros(3, 16, 16, 2, dtype=torch.float64)), out, overwrite=True)
    assert digest(out) == before and leftovers(tmp_path) == []
