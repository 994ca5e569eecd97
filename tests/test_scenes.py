"""Facts about the multi-object scenes (xaibook.world.scenes): labels, masks, boxes, blur, Im et al.'s task."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import ndimage

from xaibook.errors import ParameterError
from xaibook.world import scenes as S

FAST = dict(size=48, supersample=1, shadows=False, device="cpu")


@pytest.fixture(scope="module")
def rendered() -> S.Scenes:
    return S.render_scenes(S.sample_scenes(10, seed=1, max_objects=4), **FAST)


def test_classes_include_the_studies_classes():
    assert len(S.CLASSES) >= 10
    for c in ("bus", "train", "car", "cat", "horse"):
        assert c in S.CLASSES


def test_sampling_and_rendering_are_deterministic():
    a, b = S.sample_scenes(6, seed=2), S.sample_scenes(6, seed=2)
    pd.testing.assert_frame_equal(a.objects, b.objects)
    pd.testing.assert_frame_equal(a.scenes, b.scenes)
    assert not a.objects.equals(S.sample_scenes(6, seed=3).objects)
    r1, r2 = S.render_scenes(a.subset([0, 1]), **FAST), S.render_scenes(b.subset([0, 1]), **FAST)
    assert torch.equal(r1.images, r2.images) and torch.equal(r1.instances, r2.instances)


def test_every_class_renders_as_a_visible_object():
    sp = S.sample_scenes(len(S.CLASSES), seed=4, max_objects=1)
    sp.objects["class"] = list(S.CLASSES)
    sp.objects["class_index"] = np.arange(len(S.CLASSES))
    sp.objects["pos_z"] = np.where(sp.objects["class"] == "aeroplane", 0.5, S.GROUND_Z)
    s = S.render_scenes(sp, **FAST)
    assert s.objects.visible.all()
    assert torch.equal(s.labels, torch.eye(len(S.CLASSES)))


def test_multi_hot_labels_agree_with_the_instance_maps(rendered):
    s = rendered
    assert s.labels.shape == (10, len(S.CLASSES))
    min_pixels = S._min_pixels(48)
    for i in range(len(s)):
        objs = s.objects[s.objects.scene == i]
        want = torch.zeros(len(S.CLASSES))
        for _, o in objs.iterrows():
            m = s.instances[i] == o.instance
            if int(m.sum()) >= min_pixels:
                want[o.class_index] = 1
            # the class map holds the object's class wherever its instance is
            assert (s.classes[i][m] == o.class_index + 1).all()
        assert torch.equal(s.labels[i], want)
    # rails are scenery: never an instance, never a class
    assert ((s.classes == 0) == (s.instances == 0)).all()
    assert (s.labels.sum(1) >= 1).all()


def test_boxes_contain_their_masks(rendered):
    s = rendered
    for i in range(len(s)):
        for k in range(s.boxes.shape[1]):
            m = s.instances[i] == k + 1
            if not m.any():
                assert torch.isnan(s.boxes[i, k]).all()
                continue
            ys, xs = torch.nonzero(m, as_tuple=True)
            x0, y0, x1, y1 = s.boxes[i, k].tolist()
            assert xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1
            assert xs.min() == x0 and ys.min() == y0  # tight


def test_blur_changes_pixels_only_inside_the_object_region(rendered):
    s = rendered
    masks = s.masks(0)
    margin = 2
    out = S.blur_objects(s.images, masks, sigma=2.0, margin=margin)
    region = torch.from_numpy(np.stack([ndimage.binary_dilation(m.numpy(), np.ones((5, 5), bool)) for m in masks]))
    outside = ~region[:, None].expand_as(out)
    assert torch.equal(out[outside], s.images[outside])
    assert (out - s.images).abs()[~outside].max() > 0.01
    # inside the region the pixels equal an independent Gaussian blur (scipy, nearest-edge padding)
    ref = torch.from_numpy(np.stack([ndimage.gaussian_filter(img.numpy(), sigma=(0, 2.0, 2.0), mode="nearest",
                                                             truncate=3.0) for img in s.images]))
    assert torch.allclose(out[~outside], ref[~outside], atol=1e-5)
    one = S.blur_object(s.images[0], masks[0], sigma=2.0, margin=margin)
    assert torch.equal(one, out[0])


def test_blur_bad_parameters():
    img, m = torch.rand(2, 3, 16, 16), torch.zeros(2, 16, 16, dtype=torch.bool)
    with pytest.raises(ParameterError, match="sigma"):
        S.blur_objects(img, m, sigma=0)
    with pytest.raises(ParameterError, match="masks must be"):
        S.blur_objects(img, m[:, :8], sigma=1)
    with pytest.raises(ParameterError, match="margin"):
        S.blur_objects(img, m, sigma=1, margin=-1)
    assert torch.equal(S.blur_objects(img, m, sigma=3), img)  # an empty mask changes nothing


def test_im_task_labels_and_the_mislabeled_variant():
    base = S.im_task(300, seed=5)
    bad = S.im_task(300, seed=5, mislabeled=True)
    for sp in (base, bad):
        sc = sp.scenes
        assert (sc.true_label == sc.main_class.isin(S.IM_POSITIVE)).all()
        main = sp.objects[sp.objects.slot == 0].set_index("scene")["class"]
        assert (main.sort_index().to_numpy() == sc.main_class.to_numpy()).all()
        # distractors are never positives or cars
        assert not sp.objects[sp.objects.slot > 0]["class"].isin(S.IM_POSITIVE + (S.IM_CONFUSER,)).any()
        assert abs(sc.true_label.mean() - 0.5) < 0.01
    assert (base.scenes.label == base.scenes.true_label).all() and not base.scenes.mislabeled.any()
    cars = bad.scenes.main_class == S.IM_CONFUSER
    assert cars.sum() > 20
    assert (bad.scenes.label[cars] == 1).all() and (bad.scenes.mislabeled == cars).all()
    assert (bad.scenes.label[~cars] == bad.scenes.true_label[~cars]).all()


def test_im_task_renders_with_binary_labels():
    s = S.render_scenes(S.im_task(4, seed=6, mislabeled=True), **FAST)
    assert torch.equal(s.binary_labels, torch.tensor(s.scenes.label.to_numpy()))
    assert s.masks(0).flatten(1).any(1).all()  # the main object is visible in every scene


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ParameterError, match="unknown scene class"):
        S.sample_scenes(3, classes=["unicorn"])
    with pytest.raises(ParameterError, match="max_objects"):
        S.sample_scenes(3, max_objects=0)
    with pytest.raises(ParameterError, match="p_objects"):
        S.sample_scenes(3, max_objects=2, p_objects=[1.0])
    sp = S.sample_scenes(2, seed=0)
    sp.objects.loc[0, "class"] = "spaceship"
    with pytest.raises(ParameterError, match="unknown scene classes"):
        S.render_scenes(sp, **FAST)
    with pytest.raises(ParameterError, match="SceneParams"):
        S.render_scenes(pd.DataFrame(), **FAST)
    with pytest.raises(ParameterError, match="no binary label"):
        S.render_scenes(S.sample_scenes(1, seed=0), **FAST).binary_labels


def test_datasets_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path))
    a = S.im_dataset("test", mislabeled=True, n=5, size=32, chunk=3)
    assert len(list(tmp_path.rglob("*.pt"))) == 2
    monkeypatch.setattr(S.datasets, "render_scenes", lambda *a_, **k: (_ for _ in ()).throw(AssertionError("re-rendered")))
    b = S.im_dataset("test", mislabeled=True, n=5, size=32, chunk=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert (b.objects.scene.max() == 4) and len(b.scenes) == 5
    sizes = S.default_sizes()
    assert set(sizes) == {"voc", "im"} and sizes["voc"]["train"] <= 200  # smoke scale in tests


def test_cli_writes_scenes(tmp_path):
    out = tmp_path / "sc"
    assert S.main_scenes(["--n", "2", "--size", "32", "--out", str(out), "--task", "im-mislabeled",
                          "--device", "cpu"]) == 0
    sc = pd.read_csv(out / "scenes.csv")
    assert len(sc) == 2 and {"label", "true_label", "classes"} <= set(sc.columns)
    assert all((out / f"{i}.png").exists() and (out / f"{i}_instances.png").exists() for i in sc.id)


def test_cli_plugs_into_a_subcommand_parser(tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="generator")
    handler = S.add_cli(sub)
    args = parser.parse_args(["scenes", "--n", "1", "--size", "32", "--sheet", str(tmp_path / "s.png"),
                              "--device", "cpu"])
    assert handler(args) == 0 and (tmp_path / "s.png").exists()
