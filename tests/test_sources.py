"""The image-source protocol (xaibook.data.sources): zoo, ImageNet and Stanford Dogs behind one interface."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import fixtures_real as fr
from xaibook.data import sources
from xaibook.errors import DataNotFoundError, ParameterError

ROOT = Path(__file__).resolve().parents[1]


def test_every_registered_source_follows_the_protocol(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path))
    for name in sources.SOURCES:
        src = sources.get(name)
        assert isinstance(src, sources.ImageSource) and src.name == name
        assert src.pretrained == (src.input_size is not None)
    assert sources.get("zoo").available()
    assert not sources.get("imagenet").available() and not sources.get("stanford_dogs").available()
    with pytest.raises(ParameterError, match="source='voc'"):
        sources.get("voc")


def test_study_pipelines_ask_their_source():
    """No study branches on the name of its data source (a pipeline asks its source)."""
    out = subprocess.run(["grep", "-rn", "source ==", str(ROOT / "lib" / "xaibook" / "studies")],
                         capture_output=True, text=True)
    assert out.stdout == ""


class _AlwaysChihuahua(torch.nn.Module):
    """A tiny 'ImageNet classifier' that labels every image 151 (Chihuahua) with confidence ~0.9."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 1000)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            self.fc.bias[151] = float(np.log(0.9 * 999 / 0.1))

    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3)))


def test_stanford_dogs_source_on_a_fixture(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path))
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "cache"))
    src = sources.get("stanford_dogs")
    clf = sources.Classifier(_AlwaysChihuahua(), [f"c{i}" for i in range(1000)], "stanford_dogs", "tiny",
                             {"tiny": 1}, np.arange(151, 269), "", 224)
    with pytest.raises(DataNotFoundError, match="stanford_dogs"):
        src.pool(clf, "Dogs", n=None)
    size = (300, 260)
    fr.build_dogs(tmp_path / "stanford_dogs", [
        fr.DogImage("n02085620", "Chihuahua", 1, "train", size=size, boxes=[(10, 10, 200, 200)]),
        fr.DogImage("n02085620", "Chihuahua", 2, "train", size=size, boxes=[(10, 10, 200, 200)]),
        fr.DogImage("n02085620", "Chihuahua", 3, "test", size=size, boxes=[(10, 10, 200, 200)]),
        fr.DogImage("n02085782", "Japanese_spaniel", 4, "test", size=size, boxes=[(10, 10, 200, 200)]),
        fr.DogImage("n02085782", "Japanese_spaniel", 5, "test", size=(120, 100), boxes=[(1, 1, 50, 50)])])
    assert src.available()
    with pytest.raises(ParameterError, match="dataset='ImageNet'"):
        src.pool(clf, "ImageNet", n=None)
    pool = src.pool(clf, "Dogs", n=None)
    assert len(pool) == 2  # the small test image is filtered out
    assert sorted(pool.labels) == [151, 152] and (pool.predictions == 151).all()
    assert pool.accuracy == 0.5 and pool.load([0, 1]).shape == (2, 3, 224, 224)
    assert all(b.shape == (1, 4) and (b >= 0).all() and (b <= 223).all() for b in pool.boxes)
    bank = src.bank(clf, pool, set(), per_class=None)
    ids, images = bank.images(151)
    assert sorted(ids) == ["n02085620_1", "n02085620_2"] and images.shape == (2, 3, 224, 224)
    assert bank.images(152)[1].shape[0] == 0
    assert src.seen_images(clf, ["n02085620_3"]) is None
    assert "Stanford Dogs" in src.provenance(clf) and "Stanford Dogs" in src.stand_in(clf, len(pool))


def test_zoo_source_pool_and_bank(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "cache"))
    from xaibook.world import zoo

    src = sources.get("zoo")
    model = sources.zoo_resnet(18, len(zoo.SPECIES)).eval()
    clf = sources.Classifier(model, list(zoo.SPECIES["name"]), "zoo", "untrained", {"untrained": 1},
                             zoo.species_indices(zoo.FINE_GRAINED_FAMILY), model.gradcam_layer, 32)
    pool = src.pool(clf, "Dogs", n=12, image_size=32, seed=0)
    assert np.isin(pool.predictions, clf.dog_classes).all() and np.isin(pool.labels, clf.dog_classes).all()
    assert any("non-dog class removed" in n for n in pool.notes)
    assert pool.masks is not None and pool.images.dtype == torch.uint8
    bank = src.bank(clf, pool, set(), per_class=2, train_images=48, image_size=32, seed=0)
    ids, images = bank.images(int(clf.dog_classes[0]))
    assert len(ids) <= 2 and images.shape[1:] == (3, 32, 32)
    assert src.seen_images(clf, ["x"]) is None
    assert src.stand_in(clf).startswith("offline zoo stand-in for ImageNet")
