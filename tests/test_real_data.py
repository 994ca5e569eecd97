"""Real-dataset loaders on tiny fixtures written in exactly the real formats (tests/fixtures_real.py).

Independent references: torchvision's own readers (devkit parser, ``ImageNet``, ``VOCDetection``,
``weights.transforms()``), the class lists shipped in ../shared (when present) and hand-computed
box conversions.
"""
from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

import fixtures_real as fr
from xaibook.data import dogs, imagenet, visual_genome, voc
from xaibook.data.imagenet_classes import WNIDS
from xaibook.errors import DataFormatError, DataNotFoundError

# ---------------------------------------------------------------------------------------------
# the class table


def test_wnid_table_is_torchvision_order():
    from torchvision.models import ResNet34_Weights

    assert len(WNIDS) == 1000 and len(set(WNIDS)) == 1000
    assert list(WNIDS) == sorted(WNIDS)  # torchvision index = rank among sorted WNIDs
    names = ResNet34_Weights.IMAGENET1K_V1.meta["categories"]
    # anchors from notes/real-formats.md
    assert imagenet.wnid_to_index("n01440764") == 0 and names[0] == "tench"
    assert imagenet.wnid_to_index("n02085620") == 151 and names[151] == "Chihuahua"
    assert imagenet.wnid_to_index("n01751748") == 65 and names[65] == "sea snake"
    assert imagenet.wnid_to_index("n02119789") == 278 and names[278] == "kit fox"
    assert WNIDS[999] == "n15075141" and names[999] == "toilet tissue"
    with pytest.raises(DataFormatError, match="not one of the 1000"):
        imagenet.wnid_to_index("n99999999")


def test_dog_indices():
    names = imagenet.categories()
    assert len(imagenet.DOG_INDICES) == 120 and len(set(imagenet.DOG_INDICES)) == 120
    assert 251 not in imagenet.DOG_INDICES and names[251] == "dalmatian"
    assert [names[i] for i in imagenet.DOG_INDICES[-3:]] == ["dingo", "dhole", "African hunting dog"]
    assert dogs.is_dog(151) and not dogs.is_dog(251) and not dogs.is_dog(276)
    assert dogs.is_dog(torch.tensor([151, 251, 275])).tolist() == [True, False, True]


def test_wnid_table_against_shared_lists(shared_dir):
    """The Nguyen et al. materials list the 1000 WNIDs and the 120 Stanford Dogs folders."""
    base = shared_dir / "data" / "nguyen2021-gorilla"
    definition = base / "csv_files" / "definition.csv"
    dog_types = base / "input_txt_files" / "dog_type.txt"
    if not definition.is_file() or not dog_types.is_file():
        pytest.skip(f"{definition} or {dog_types} absent")
    listed = [ln.split()[0] for ln in definition.read_text().splitlines() if ln.strip()]
    assert tuple(listed) == WNIDS
    names = imagenet.categories()
    folders = [ln.strip() for ln in dog_types.read_text().splitlines() if ln.strip()]
    assert len(folders) == 120
    idx = [imagenet.wnid_to_index(f.split("-", 1)[0]) for f in folders]
    assert sorted(idx) == list(imagenet.DOG_INDICES)
    for f, i in zip(folders, idx):  # breed names agree with torchvision's names (case, '_' ignored)
        assert f.split("-", 1)[1].replace("_", " ").lower() == names[i].lower(), (f, names[i])


# ---------------------------------------------------------------------------------------------
# ImageNet val

IMAGES = [fr.ValImage(1, "n01751748", (50, 40), boxes=[(111 % 50, 8, 45, 39)]),
          fr.ValImage(2, "n02119789", (48, 32), boxes=[(1, 1, 48, 32), (5, 6, 10, 12)]),
          fr.ValImage(4, "n01440764", (30, 60))]


def test_flat_layout_converts_ilsvrc_ids(tmp_path):
    fr.build_imagenet_flat(tmp_path, IMAGES)
    gt = (tmp_path / "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt").read_text().split()
    assert gt[0] == "490"  # the notes: val_00000001 (sea snake) has ILSVRC2012_ID 490
    listing = imagenet.list_val(tmp_path, boxes=True)
    assert listing.layout == "flat"
    assert [it.image_id for it in listing] == ["ILSVRC2012_val_00000001", "ILSVRC2012_val_00000002",
                                                "ILSVRC2012_val_00000004"]
    # torchvision indices, not ILSVRC2012_IDs (490, 1, 449) and not 0..k-1
    assert [it.label for it in listing] == [65, 278, 0]
    assert [it.wnid for it in listing] == ["n01751748", "n02119789", "n01440764"]
    # 1-based XML boxes -> 0-based inclusive, clamped to the image
    np.testing.assert_array_equal(listing[0].boxes, [[10, 7, 44, 38]])
    np.testing.assert_array_equal(listing[1].boxes, [[0, 0, 47, 31], [4, 5, 9, 11]])
    assert listing[1].size == (48, 32)
    x, y = imagenet.ImageDataset(listing)[1]
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1 and y == 278


def test_flat_layout_agrees_with_torchvision_devkit_parser(tmp_path, monkeypatch):
    """torchvision's own devkit parser, run on a tar of the fixture devkit, gives the same WNIDs."""
    import torchvision.datasets.imagenet as tvi

    fr.build_imagenet_flat(tmp_path / "ours", IMAGES)
    tv_root = tmp_path / "tv"
    tv_root.mkdir()
    with tarfile.open(tv_root / "ILSVRC2012_devkit_t12.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "ours" / "ILSVRC2012_devkit_t12", arcname="ILSVRC2012_devkit_t12")
    monkeypatch.setattr(tvi, "_verify_archive", lambda *a, **k: None)  # the MD5 is that of the real archive
    tvi.parse_devkit_archive(str(tv_root))
    _, val_wnids = tvi.load_meta_file(str(tv_root))
    listing = imagenet.list_val(tmp_path / "ours")
    assert [it.wnid for it in listing] == [val_wnids[im.number - 1] for im in IMAGES]


def test_folder_layout_maps_to_full_index_and_matches_torchvision(tmp_path):
    from torchvision.datasets import ImageNet

    fr.build_imagenet_folders(tmp_path, IMAGES)
    listing = imagenet.list_val(tmp_path, boxes=True)
    assert listing.layout == "folders"
    assert [it.label for it in listing] == [65, 278, 0]
    tv = ImageNet(str(tmp_path), split="val")  # reads meta.bin + val/<wnid>/
    assert sorted(tv.wnids) == ["n01440764", "n01751748", "n02119789"]
    tv_by_file = {Path(p).stem: tv.wnids[t] for p, t in tv.samples}
    assert {it.image_id: it.wnid for it in listing} == tv_by_file
    # torchvision's folder index is 0..k-1; ours is the 1000-class index
    assert sorted({t for _, t in tv.samples}) == [0, 1, 2]


def test_kaggle_layout_with_csv_boxes(tmp_path):
    ims = [fr.ValImage(3, "n02123045", (40, 40), boxes=[(10, 10, 20, 20), (1, 2, 3, 4)]), fr.ValImage(1, "n01751748")]
    fr.build_imagenet_kaggle(tmp_path, ims)
    listing = imagenet.list_val(tmp_path, boxes=tmp_path / "LOC_val_solution.csv")
    assert listing.layout == "kaggle"
    assert [(it.image_id, it.label) for it in listing] == [("ILSVRC2012_val_00000001", 65), ("ILSVRC2012_val_00000003", 281)]
    np.testing.assert_array_equal(listing[1].boxes, [[9, 9, 19, 19], [0, 1, 2, 3]])
    via_xml = imagenet.list_val(tmp_path, boxes=tmp_path / "ILSVRC/Annotations/CLS-LOC/val")
    for a, b in zip(listing, via_xml):
        np.testing.assert_array_equal(a.boxes, b.boxes)


def test_csv_boxes_for_the_flat_layout(tmp_path):
    fr.build_imagenet_flat(tmp_path, IMAGES, boxes="csv")
    listing = imagenet.list_val(tmp_path, boxes=True)
    np.testing.assert_array_equal(listing[1].boxes, [[0, 0, 47, 31], [4, 5, 9, 11]])


def test_missing_dataset_and_ground_truth(tmp_path):
    with pytest.raises(DataNotFoundError, match="image-net.org"):
        imagenet.list_val(tmp_path / "nowhere")
    fr.build_imagenet_flat(tmp_path, IMAGES)
    (tmp_path / "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt").unlink()
    with pytest.raises(DataNotFoundError, match="ILSVRC2012_validation_ground_truth.txt"):
        imagenet.list_val(tmp_path)


def test_missing_meta_and_truncated_ground_truth(tmp_path):
    fr.build_imagenet_flat(tmp_path, IMAGES, n_lines=2)  # image 4 but only 2 lines
    with pytest.raises(DataFormatError, match="only 2 lines"):
        imagenet.list_val(tmp_path)
    (tmp_path / "ILSVRC2012_devkit_t12/data/meta.mat").unlink()
    with pytest.raises(DataNotFoundError, match="meta.mat"):
        imagenet.list_val(tmp_path)


def test_unextracted_tar_is_named(tmp_path):
    (tmp_path / "ILSVRC2012_img_val.tar").write_bytes(b"")
    with pytest.raises(DataNotFoundError, match="unpack it"):
        imagenet.list_val(tmp_path)


def test_wrong_folder_is_named(tmp_path):
    fr.build_imagenet_folders(tmp_path, IMAGES)
    fr.write_jpeg(tmp_path / "val" / "cats" / "ILSVRC2012_val_00000009.JPEG")
    with pytest.raises(DataFormatError, match="cats"):
        imagenet.list_val(tmp_path)


def test_mixed_layout_is_refused(tmp_path):
    fr.build_imagenet_folders(tmp_path, IMAGES, boxes=None)
    fr.write_jpeg(tmp_path / "val" / "ILSVRC2012_val_00000009.JPEG")
    with pytest.raises(DataFormatError, match="mixes class folders"):
        imagenet.list_val(tmp_path)


def test_box_label_mismatch_and_partial_boxes(tmp_path):
    fr.build_imagenet_flat(tmp_path, IMAGES)
    xml = tmp_path / "val" / "ILSVRC2012_val_00000002.xml"
    xml.write_text(xml.read_text().replace("n02119789", "n01440764"))
    with pytest.raises(DataFormatError, match="labels and boxes disagree"):
        imagenet.list_val(tmp_path, boxes=True)
    xml.unlink()
    with pytest.raises(DataFormatError, match="1 of 3 images have no annotation"):
        imagenet.list_val(tmp_path, boxes=True)
    shutil.rmtree(tmp_path / "val")
    fr.build_imagenet_flat(tmp_path, IMAGES, boxes=None)
    with pytest.raises(DataNotFoundError, match="ILSVRC2012_bbox_val_v3.tgz"):
        imagenet.list_val(tmp_path, boxes=True)


def test_invalid_box_is_reported_not_silent(tmp_path):
    ims = [fr.ValImage(1, "n01751748", (40, 40), boxes=[(30, 5, 10, 20), (2, 2, 8, 8)])]  # xmin > xmax
    fr.build_imagenet_flat(tmp_path, ims)
    listing = imagenet.list_val(tmp_path, boxes=True)
    np.testing.assert_array_equal(listing[0].boxes, [[1, 1, 7, 7]])
    assert len(listing.skipped) == 1 and "invalid box" in listing.skipped[0].reason
    assert "invalid box" in listing.report()


def test_corrupt_jpeg_is_named(tmp_path):
    fr.build_imagenet_flat(tmp_path, IMAGES)
    bad = fr.write_corrupt_jpeg(tmp_path / "val" / "ILSVRC2012_val_00000002.JPEG")
    listing = imagenet.list_val(tmp_path)
    with pytest.raises(DataFormatError, match="ILSVRC2012_val_00000002.JPEG"):
        imagenet.ImageDataset(listing)[1]
    with pytest.raises(DataFormatError, match=str(bad.name)):
        imagenet.filter_images(listing, min_side=0)
    kept = imagenet.filter_images(listing, min_side=0, on_corrupt="skip")
    assert len(kept) == 2 and [s.path.name for s in kept.skipped] == [bad.name]


def test_nguyen_filter_drops_grey_and_small_with_reasons(tmp_path):
    ims = [fr.ValImage(1, "n01751748", (300, 240)), fr.ValImage(2, "n02119789", (300, 240), mode="L"),
           fr.ValImage(3, "n01440764", (500, 200)), fr.ValImage(4, "n02123045", (224, 224), mode="CMYK"),
           fr.ValImage(5, "n02085620", (224, 230))]
    fr.build_imagenet_flat(tmp_path, ims, boxes=None)
    kept = imagenet.filter_images(imagenet.list_val(tmp_path), min_side=224, rgb=True)
    assert [it.image_id[-1] for it in kept] == ["1", "5"]
    reasons = {s.path.stem[-1]: s.reason for s in kept.skipped}
    assert reasons["2"].startswith("not RGB") and "L" in reasons["2"]
    assert reasons["3"].startswith("too small") and "500x200" in reasons["3"]
    assert reasons["4"].startswith("not RGB") and "CMYK" in reasons["4"]
    assert "3 left out" in kept.report()
    ds, listing = imagenet.val_dataset(tmp_path)
    assert len(ds) == 2 and len(listing.skipped) == 3


def test_preprocess_matches_torchvision_weights_transforms():
    from PIL import Image
    from torchvision.models import ResNet34_Weights

    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(300, 410, 3), dtype=np.uint8)
    pil = Image.fromarray(arr)
    ref = ResNet34_Weights.IMAGENET1K_V1.transforms()(pil)  # normalised
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    ours = imagenet.preprocess(pil)
    assert ours.shape == (3, 224, 224)
    torch.testing.assert_close((ours - mean) / std, ref, atol=1e-5, rtol=0)
    ref_t = ResNet34_Weights.IMAGENET1K_V1.transforms()(torch.from_numpy(arr).permute(2, 0, 1))
    torch.testing.assert_close((imagenet.preprocess(arr) - mean) / std, ref_t, atol=1e-5, rtol=0)


def test_boxes_after_preprocess_hand_case():
    # 512 x 256 image: shorter side 256 -> scale 1, new size 512 x 256, crop 224 -> left 144, top 16
    assert imagenet.preprocess_geometry(512, 256) == (1.0, 1.0, 144, 16)
    out = imagenet.boxes_after_preprocess(np.array([[150, 20, 200, 100], [0, 0, 100, 100], [100, 0, 400, 255]]), 512, 256)
    np.testing.assert_array_equal(out, [[6, 4, 56, 84], [0, 0, 223, 223]])  # 2nd box lies left of the crop
    # 1000 x 500 image: scale 0.512 both ways
    out = imagenet.boxes_after_preprocess(np.array([[500, 250, 599, 349]]), 1000, 500)
    sx, sy, left, top = imagenet.preprocess_geometry(1000, 500)
    assert (sx, left, top) == (0.512, 144, 16)
    np.testing.assert_array_equal(out, [[np.floor(500 * sx - 144), np.floor(250 * sy - 16),
                                         np.ceil(600 * sx - 144) - 1, np.ceil(350 * sy - 16) - 1]])


# ---------------------------------------------------------------------------------------------
# Stanford Dogs

DOGS = [fr.DogImage("n02085620", "Chihuahua", 10074, "train"), fr.DogImage("n02085620", "Chihuahua", 3, "test"),
        fr.DogImage("n02116738", "African_hunting_dog", 7, "test", boxes=[(1, 1, 40, 30), (5, 5, 9, 9)]),
        fr.DogImage("n02115641", "dingo", 11, "test")]


def test_dogs_labels_map_to_imagenet(tmp_path):
    fr.build_dogs(tmp_path, DOGS)
    test = dogs.list_dogs("test", tmp_path)
    assert [it.image_id for it in test] == ["n02085620_3", "n02116738_7", "n02115641_11"]
    assert [it.label for it in test] == [151, 275, 273]
    assert [it.label120 for it in test] == [0, 119, 117]
    assert [it.breed for it in test] == ["Chihuahua", "African_hunting_dog", "dingo"]
    np.testing.assert_array_equal(test[1].boxes, [[0, 0, 39, 29], [4, 4, 8, 8]])
    train = dogs.list_dogs("train", tmp_path)
    assert [it.image_id for it in train] == ["n02085620_10074"]
    assert len(dogs.list_dogs("all", tmp_path)) == 4
    import scipy.io

    raw = scipy.io.loadmat(str(tmp_path / "lists" / "test_list.mat"))["labels"].ravel()
    assert raw.tolist() == [1.0, 120.0, 118.0]  # the fixture really is 1-based
    ds, listing = dogs.dogs_dataset("test", tmp_path, min_side=0)
    assert ds[2][1] == 273


def test_dogs_lists_in_root_and_errors(tmp_path):
    fr.build_dogs(tmp_path, DOGS, lists_folder="")
    assert len(dogs.list_dogs("test", tmp_path)) == 3
    (tmp_path / "test_list.mat").unlink()
    with pytest.raises(DataNotFoundError, match="test_list.mat"):
        dogs.list_dogs("test", tmp_path)
    with pytest.raises(DataNotFoundError, match="vision.stanford.edu"):
        dogs.list_dogs("test", tmp_path / "nowhere")


def test_dogs_label_folder_mismatch_and_missing_annotation(tmp_path):
    from xaibook.data.imagenet import DOG_INDICES

    fr.build_dogs(tmp_path, DOGS)
    wrong = [fr.DogImage("n02085620", "Chihuahua", 3, "test")]
    fake_order = [WNIDS[i] for i in DOG_INDICES][::-1]  # labels counted from the wrong end
    fr.write_dog_list(tmp_path / "lists" / "test_list.mat", wrong, fake_order)
    with pytest.raises(DataFormatError, match="disagree"):
        dogs.list_dogs("test", tmp_path)
    fr.build_dogs(tmp_path, DOGS)
    (tmp_path / "Annotation" / "n02115641-dingo" / "n02115641_11").unlink()
    with pytest.raises(DataNotFoundError, match="n02115641_11"):
        dogs.list_dogs("test", tmp_path)
    assert len(dogs.list_dogs("test", tmp_path, boxes=False)) == 3


# ---------------------------------------------------------------------------------------------
# PASCAL VOC

VOC_IMAGES = [
    fr.VocImage("2008_000033", (50, 40), [("aeroplane", (1, 1, 50, 40), 0), ("person", (10.5, 45.700000762939453 - 40, 20, 30), 0)]),
    fr.VocImage("2008_000023", (50, 40), [("bottle", (3, 4, 8, 9), 1), ("dog", (2, 2, 30, 30), 0), ("dog", (5, 5, 6, 6), 1)]),
]


def test_voc_labels_and_zero_based_boxes(tmp_path):
    fr.build_voc(tmp_path, VOC_IMAGES, "2012", "val")
    listing = voc.list_voc("2012", "val", tmp_path)
    a, b = listing.items
    assert a.image_id == "2008_000033" and a.size == (50, 40)
    idx = {c: i for i, c in enumerate(voc.VOC_CLASSES)}
    assert np.nonzero(a.labels)[0].tolist() == [idx["aeroplane"], idx["person"]]
    np.testing.assert_allclose(a.boxes, [[0, 0, 49, 39], [9.5, 4.700000762939453, 19, 29]])
    # bottle only difficult: not a positive label, flagged difficult_only; dog positive
    assert np.nonzero(b.labels)[0].tolist() == [idx["dog"]]
    assert np.nonzero(b.difficult_only)[0].tolist() == [idx["bottle"]]
    assert b.box_labels.tolist() == [idx["bottle"], idx["dog"], idx["dog"]]
    assert b.box_difficult.tolist() == [True, False, True]
    assert voc.check_class_lists(listing, "2012", "val", tmp_path) == []
    x, y = voc.voc_dataset("2012", "val", tmp_path)[0][1]
    assert x.shape == (3, 224, 224) and y.dtype == torch.float32 and y.sum() == 1


def test_voc_agrees_with_torchvision_vocdetection(tmp_path):
    from torchvision.datasets import VOCDetection

    fr.build_voc(tmp_path, VOC_IMAGES, "2007", "test", class_lists=False)
    tv = VOCDetection(str(tmp_path), year="2007", image_set="test")
    ours = voc.list_voc("2007", "test", tmp_path)
    for (_, target), item in zip(tv, ours):
        objs = target["annotation"]["object"]
        assert [o["name"] for o in objs] == [voc.VOC_CLASSES[i] for i in item.box_labels]
        tv_boxes = np.array([[float(o["bndbox"][k]) for k in ("xmin", "ymin", "xmax", "ymax")] for o in objs])
        np.testing.assert_allclose(item.boxes, tv_boxes - 1, atol=1e-6)


def test_voc_class_list_disagreement_and_errors(tmp_path):
    fr.build_voc(tmp_path, VOC_IMAGES, "2012", "val")
    f = tmp_path / "VOCdevkit/VOC2012/ImageSets/Main/dog_val.txt"
    f.write_text(f.read_text().replace("2008_000023  1", "2008_000023 -1"))
    problems = voc.check_class_lists(voc.list_voc("2012", "val", tmp_path), "2012", "val", tmp_path)
    assert problems == ["2008_000023 dog: XML gives 1, list gives -1"]
    with pytest.raises(DataNotFoundError, match="train.txt"):
        voc.list_voc("2012", "train", tmp_path)
    with pytest.raises(DataNotFoundError, match="VOC2007"):
        voc.list_voc("2007", "val", tmp_path)
    (tmp_path / "VOCdevkit/VOC2012/JPEGImages/2008_000023.jpg").unlink()
    with pytest.raises(DataNotFoundError, match="2008_000023.jpg"):
        voc.list_voc("2012", "val", tmp_path)
    xml = tmp_path / "VOCdevkit/VOC2012/Annotations/2008_000033.xml"
    xml.write_text(xml.read_text().replace("<name>person</name>", "<name>unicorn</name>"))
    (tmp_path / "VOCdevkit/VOC2012/ImageSets/Main/val.txt").write_text("2008_000033\n")
    with pytest.raises(DataFormatError, match="unicorn"):
        voc.list_voc("2012", "val", tmp_path)


# ---------------------------------------------------------------------------------------------
# Visual Genome

VG = [fr.VgImage(1, "VG_100K", (60, 40), [{"x": 0, "y": 5, "w": 10, "h": 20, "names": ["bus"], "synsets": ["bus.n.01"]},
                                         {"x": 3, "y": 3, "w": 5, "h": 5, "names": ["tree"], "synsets": ["tree.n.01"]}]),
      fr.VgImage(2, "VG_100K_2", (60, 40), [{"x": 50, "y": 30, "w": 20, "h": 20, "names": ["car"], "synsets": ["car.n.01"]}]),
      fr.VgImage(3, "VG_100K", (60, 40), [{"x": 1, "y": 1, "w": 4, "h": 4, "names": ["train"], "synsets": []}]),
      fr.VgImage(4, "VG_100K_2", (60, 40), [])]


def test_visual_genome_labels_from_synsets(tmp_path):
    fr.build_vg(tmp_path, VG)
    listing = visual_genome.list_vg(root=tmp_path)
    assert [it.image_id for it in listing] == ["1", "2", "3", "4"]
    assert [it.labels.tolist() for it in listing] == [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]
    assert listing[1].path == tmp_path / "VG_100K_2" / "2.jpg"
    np.testing.assert_array_equal(listing[0].boxes, [[0, 5, 9, 24]])  # x, y, w, h -> inclusive corners
    np.testing.assert_array_equal(listing[1].boxes, [[50, 30, 59, 39]])  # clamped to 60 x 40
    with_names = visual_genome.list_vg(root=tmp_path, use_names=True, contains_any=True)
    assert [it.image_id for it in with_names] == ["1", "2", "3"]
    assert with_names[2].labels.tolist() == [0, 1, 0]
    assert "1 images without any of the classes" in with_names.report()
    ds, _ = visual_genome.vg_dataset(root=tmp_path)
    assert len(ds) == 2 and ds[0][1].tolist() == [1, 0, 0]


def test_visual_genome_old_id_key_and_errors(tmp_path):
    fr.build_vg(tmp_path, VG, old_id_key=True)
    assert len(visual_genome.list_vg(root=tmp_path)) == 4
    (tmp_path / "VG_100K_2" / "2.jpg").unlink()
    with pytest.raises(DataNotFoundError, match="images2.zip"):
        visual_genome.list_vg(root=tmp_path)
    partial = visual_genome.list_vg(root=tmp_path, missing_images="skip")
    assert len(partial) == 3 and partial.skipped[0].reason == "image file missing"
    import json

    objs = json.loads((tmp_path / "objects.json").read_text())
    (tmp_path / "objects.json").write_text(json.dumps(objs[::-1]))
    with pytest.raises(DataFormatError, match="same order"):
        visual_genome.list_vg(root=tmp_path)
    (tmp_path / "objects.json").write_text(json.dumps(objs[:2]))
    with pytest.raises(DataFormatError, match="same release"):
        visual_genome.list_vg(root=tmp_path)
    (tmp_path / "objects.json").unlink()
    with pytest.raises(DataNotFoundError, match="objects.json"):
        visual_genome.list_vg(root=tmp_path)
