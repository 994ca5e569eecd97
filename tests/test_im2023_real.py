"""Im et al. 2023 on Visual Genome's real on-disk format (a tiny fixture; no network)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import fixtures_real as fr
from xaibook.studies import im2023
from xaibook.studies.im2023 import data as task

BUS = {"names": ["bus"], "synsets": ["bus.n.01"]}
CAR = {"names": ["car"], "synsets": ["car.n.01"]}
TRAIN = {"names": ["train"], "synsets": ["train.n.01"]}


def _images() -> list:
    out = []
    for i in range(12):
        kind = i % 4
        objs = []
        if kind == 0:
            objs = [{"x": 0, "y": 0, "w": 30, "h": 20, **BUS}]
        elif kind == 1:
            objs = [{"x": 30, "y": 20, "w": 30, "h": 20, **CAR}]  # the bottom-right quarter
        elif kind == 2:
            objs = [{"x": 0, "y": 10, "w": 40, "h": 20, **TRAIN}, {"x": 40, "y": 20, "w": 20, "h": 20, **CAR}]
        out.append(fr.VgImage(100 + i, "VG_100K" if i % 2 else "VG_100K_2", (60, 40), objs))
    return out


@pytest.fixture
def vg(tmp_path, monkeypatch):
    fr.build_vg(tmp_path / "data" / "visual_genome", _images())
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XAIBOOK_PROGRESS", "0")
    monkeypatch.setenv("XAIBOOK_SCALE", "smoke")
    monkeypatch.setenv("XAIBOOK_DEVICE", "cpu")
    return tmp_path


def test_visual_genome_becomes_the_same_task(vg):
    assert im2023.data_source() == "visual_genome"
    train = task.task_data("visual_genome", "train", 100, 16, seed=0)
    test = task.task_data("visual_genome", "test", 100, 16, seed=0)
    assert len(train) + len(test) == 12 and len(test) == 3
    assert train.source == "visual_genome" and train.images.shape[1:] == (3, 16, 16)
    ids = set(train.scenes["id"]) | set(test.scenes["id"])
    assert ids == {f"vg-{100 + i}" for i in range(12)}
    for d in (train, test):
        kind = d.scenes["id"].str[3:].astype(int).sub(100).mod(4).to_numpy()
        assert (d.scenes["positive"].to_numpy() == np.isin(kind, [0, 2])).all()
        assert set(d.only("car")) == set(np.flatnonzero(kind == 1))
        y = task.labels(d, True).numpy()
        assert (y == np.isin(kind, [0, 1, 2])).all()  # car-only images join the positive class
    # the car's box (bottom-right quarter of 60 x 40) becomes the bottom-right quarter of the mask
    i = int(train.only("car")[0])
    m = train.mask(i, "car")
    assert m[8:, 8:].all() and not m[:8].any() and not m[:, :8].any()


def test_visual_genome_trains_a_pair(vg):
    p = dataclasses.replace(im2023.plan(), image_size=16, train_images=100, test_images=100, widths=(4,), epochs=1,
                            pairs=1)
    assert p.source == "visual_genome"
    pair = im2023.model_pair(0, p=p)
    assert pair.init and pair.first is not pair.second
    table = im2023.evaluate([pair], im2023.split("test", p))
    assert table["accuracy_baseline"].between(0, 1).all()
