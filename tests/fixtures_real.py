"""Builders of tiny real-format datasets for tests (ImageNet val, Stanford Dogs, VOC, Visual Genome).

Each builder writes into a folder (``tmp_path``) exactly the on-disk layout and file formats
of the real dataset (``../shared/notes/real-formats.md``): JPEGs via PIL, PASCAL-VOC-style
XML, the devkit's ``meta.mat`` and Stanford Dogs' list ``.mat`` files via
``scipy.io.savemat`` with the real variable names and field order, the ground-truth text
file, Kaggle's CSV, VOC ImageSets and Visual Genome's JSON. Only the content is small.

ILSVRC2012_IDs: the real ``meta.mat`` gives ID 1 to n02119789 (kit fox) and ID 490 to
n01751748 (sea snake); :data:`ILSVRC_IDS` uses those two and arbitrary IDs for the others
(the loader must read them from the file, whatever they are).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from xaibook.data.imagenet_classes import WNIDS

# leaf synsets written into the fixture meta.mat: WNID -> ILSVRC2012_ID
ILSVRC_IDS = {"n02119789": 1, "n01751748": 490, "n01440764": 449, "n02085620": 231, "n02123045": 2}
WORDS = {"n02119789": "kit fox, Vulpes macrotis", "n01751748": "sea snake", "n01440764": "tench, Tinca tinca",
         "n02085620": "Chihuahua", "n02123045": "tabby, tabby cat"}


# ---------------------------------------------------------------------------------------------
# images and XML


def write_jpeg(path: Path, width: int = 48, height: int = 32, mode: str = "RGB", seed: int = 0) -> Path:
    """A small JPEG of random blocks (``mode`` ``RGB``, ``L`` or ``CMYK``)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(max(1, height // 8), max(1, width // 8), 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize((width, height), Image.NEAREST)
    if mode != "RGB":
        img = img.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="JPEG", quality=90)
    return path


def write_corrupt_jpeg(path: Path) -> Path:
    """A file named like a JPEG whose content is truncated garbage after the JPEG magic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00garbage" * 4)
    return path


def _object_xml(name: str, box: Sequence[float], difficult: int = 0, truncated: int = 0, pose: str = "Unspecified") -> str:
    xmin, ymin, xmax, ymax = box

    def fmt(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else repr(float(v))

    return (f"\t<object>\n\t\t<name>{name}</name>\n\t\t<pose>{pose}</pose>\n\t\t<truncated>{truncated}</truncated>\n"
            f"\t\t<difficult>{difficult}</difficult>\n\t\t<bndbox>\n\t\t\t<xmin>{fmt(xmin)}</xmin>\n"
            f"\t\t\t<ymin>{fmt(ymin)}</ymin>\n\t\t\t<xmax>{fmt(xmax)}</xmax>\n\t\t\t<ymax>{fmt(ymax)}</ymax>\n"
            "\t\t</bndbox>\n\t</object>\n")


def imagenet_xml(path: Path, image_id: str, wnid: str, size: tuple[int, int], boxes: Sequence[Sequence[float]]) -> Path:
    """``ILSVRC2012_val_XXXXXXXX.xml`` as in ``ILSVRC2012_bbox_val_v3.tgz`` (filename without extension)."""
    w, h = size
    body = "".join(_object_xml(wnid, b) for b in boxes)
    text = (f"<annotation>\n\t<folder>val</folder>\n\t<filename>{image_id}</filename>\n\t<source>\n"
            f"\t\t<database>ILSVRC_2012</database>\n\t</source>\n\t<size>\n\t\t<width>{w}</width>\n"
            f"\t\t<height>{h}</height>\n\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n{body}</annotation>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# ImageNet


@dataclass
class ValImage:
    """One validation image of a fixture: number (1-based), WNID, size, mode, boxes (1-based as in XML)."""

    number: int
    wnid: str
    size: tuple[int, int] = (48, 32)
    mode: str = "RGB"
    boxes: list[tuple[float, float, float, float]] = field(default_factory=lambda: [(3, 4, 20, 30)])

    @property
    def image_id(self) -> str:
        return f"ILSVRC2012_val_{self.number:08d}"


def write_meta_mat(path: Path, ids: dict[str, int] = ILSVRC_IDS) -> Path:
    """The devkit's ``meta.mat``: variable ``synsets``, a struct array with fields in the devkit's
    order ``ILSVRC2012_ID, WNID, words, gloss, num_children, children, wordnet_height,
    num_train_images``; leaves (``num_children == 0``) plus the internal root 1001 "entity"."""
    import scipy.io

    names = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children", "wordnet_height",
             "num_train_images"]
    leaves = sorted(ids.items(), key=lambda kv: kv[1])
    n = len(leaves) + 1
    arr = np.zeros((n, 1), dtype=[(k, object) for k in names])
    for r, (wnid, ident) in enumerate(leaves):
        arr[r, 0] = (np.array([[ident]], dtype=np.uint16), np.array([wnid]), np.array([WORDS.get(wnid, wnid)]),
                     np.array([f"gloss of {wnid}"]), np.array([[0]], dtype=np.uint8), np.zeros((1, 0), dtype=np.uint8),
                     np.array([[0]], dtype=np.uint8), np.array([[1300]], dtype=np.uint16))
    arr[n - 1, 0] = (np.array([[1001]], dtype=np.uint16), np.array(["n00001740"]), np.array(["entity"]),
                     np.array(["that which is perceived or known or inferred to have its own distinct existence"]),
                     np.array([[len(leaves)]], dtype=np.uint8),
                     np.array([[ident for _, ident in leaves]], dtype=np.uint16),
                     np.array([[19]], dtype=np.uint8), np.array([[0]], dtype=np.uint16))
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {"synsets": arr})
    return path


def build_imagenet_flat(root: Path, images: Sequence[ValImage], boxes: str | None = "xml", n_lines: int | None = None,
                        image_folder: str = "val") -> Path:
    """The official flat layout: ``val/ILSVRC2012_val_*.JPEG``, the devkit's
    ``ILSVRC2012_devkit_t12/data/{ILSVRC2012_validation_ground_truth.txt, meta.mat}`` and the
    boxes as per-image XML in ``val/`` (``boxes="xml"``) or Kaggle's CSV (``"csv"``)."""
    data = root / "ILSVRC2012_devkit_t12" / "data"
    write_meta_mat(data / "meta.mat")
    n = n_lines or max(im.number for im in images)
    by_number = {im.number: im for im in images}
    lines = [str(ILSVRC_IDS[by_number[i].wnid] if i in by_number else ILSVRC_IDS["n01440764"]) for i in range(1, n + 1)]
    (data / "ILSVRC2012_validation_ground_truth.txt").write_text("\n".join(lines) + "\n")
    for im in images:
        write_jpeg(root / image_folder / f"{im.image_id}.JPEG", *im.size, mode=im.mode, seed=im.number)
    _write_boxes(root, images, boxes, xml_dir=root / "val")
    return root


def build_imagenet_folders(root: Path, images: Sequence[ValImage], boxes: str | None = "xml") -> Path:
    """The class-folder layout torchvision's ``ImageNet(root, split='val')`` leaves:
    ``meta.bin`` and ``val/<wnid>/ILSVRC2012_val_*.JPEG`` (boxes: XML in ``val/``)."""
    import torch

    wnid_to_classes = {w: tuple(WORDS.get(w, w).split(", ")) for w in sorted({im.wnid for im in images})}
    val_wnids = [im.wnid for im in sorted(images, key=lambda im: im.number)]
    root.mkdir(parents=True, exist_ok=True)
    torch.save((wnid_to_classes, val_wnids), root / "meta.bin")
    for im in images:
        write_jpeg(root / "val" / im.wnid / f"{im.image_id}.JPEG", *im.size, mode=im.mode, seed=im.number)
    _write_boxes(root, images, boxes, xml_dir=root / "val")
    return root


def build_imagenet_kaggle(root: Path, images: Sequence[ValImage], shuffle_rows: bool = True) -> Path:
    """Kaggle's layout: ``ILSVRC/Data/CLS-LOC/val/*.JPEG``, ``ILSVRC/Annotations/CLS-LOC/val/*.xml``,
    ``LOC_val_solution.csv`` (rows in no particular order) and ``LOC_synset_mapping.txt``."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    for im in images:
        write_jpeg(root / "ILSVRC" / "Data" / "CLS-LOC" / "val" / f"{im.image_id}.JPEG", *im.size, mode=im.mode,
                   seed=im.number)
        imagenet_xml(root / "ILSVRC" / "Annotations" / "CLS-LOC" / "val" / f"{im.image_id}.xml", im.image_id, im.wnid,
                     im.size, im.boxes)
    _write_csv(root / "LOC_val_solution.csv", images, shuffle_rows)
    (root / "LOC_synset_mapping.txt").write_text(
        "".join(f"{w} {n}\n" for w, n in zip(WNIDS, _IMAGENET_CATEGORIES)))
    return root


def _write_csv(path: Path, images: Sequence[ValImage], shuffle_rows: bool) -> None:
    rows = [f"{im.image_id},{' '.join(f'{im.wnid} {int(b[0])} {int(b[1])} {int(b[2])} {int(b[3])}' for b in im.boxes)} "
            for im in images]
    if shuffle_rows:
        rows = rows[::-1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("ImageId,PredictionString\n" + "\n".join(rows) + "\n")


def _write_boxes(root: Path, images: Sequence[ValImage], boxes: str | None, xml_dir: Path) -> None:
    if boxes == "xml":
        for im in images:
            imagenet_xml(xml_dir / f"{im.image_id}.xml", im.image_id, im.wnid, im.size, im.boxes)
    elif boxes == "csv":
        _write_csv(root / "LOC_val_solution.csv", images, True)


# ---------------------------------------------------------------------------------------------
# Stanford Dogs


@dataclass
class DogImage:
    wnid: str
    breed: str
    number: int
    split: str = "test"
    size: tuple[int, int] = (40, 30)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=lambda: [(2, 3, 30, 25)])

    @property
    def folder(self) -> str:
        return f"{self.wnid}-{self.breed}"

    @property
    def stem(self) -> str:
        return f"{self.wnid}_{self.number}"


def dog_annotation(path: Path, im: DogImage) -> Path:
    """A Stanford Dogs annotation (XML, no file extension; ``<name>`` is the breed)."""
    w, h = im.size
    body = "".join(_object_xml(im.breed, b) for b in im.boxes)
    text = (f"<annotation>\n\t<folder>{im.wnid[1:]}</folder>\n\t<filename>{im.stem}</filename>\n\t<source>\n"
            f"\t\t<database>ImageNet database</database>\n\t</source>\n\t<size>\n\t\t<width>{w}</width>\n"
            f"\t\t<height>{h}</height>\n\t\t<depth>3</depth>\n\t</size>\n\t<segment>0</segment>\n{body}</annotation>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _cell_strings(values: Sequence[str]) -> np.ndarray:
    arr = np.empty((len(values), 1), dtype=object)
    for i, v in enumerate(values):
        arr[i, 0] = np.array([v])
    return arr


def write_dog_list(path: Path, images: Sequence[DogImage], dog_wnids: Sequence[str]) -> Path:
    """A ``*_list.mat``: ``file_list``, ``annotation_list`` ((N,1) cells of strings) and
    ``labels`` ((N,1) double, 1-based rank of the breed's WNID among the 120)."""
    import scipy.io

    rank = {w: i + 1 for i, w in enumerate(dog_wnids)}
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {
        "file_list": _cell_strings([f"{im.folder}/{im.stem}.jpg" for im in images]),
        "annotation_list": _cell_strings([f"{im.folder}/{im.stem}" for im in images]),
        "labels": np.array([[float(rank[im.wnid])] for im in images], dtype=np.float64).reshape(-1, 1),
    })
    return path


def build_dogs(root: Path, images: Sequence[DogImage], lists_folder: str = "lists") -> Path:
    """``Images/<wnid>-<breed>/<wnid>_<n>.jpg``, ``Annotation/<wnid>-<breed>/<wnid>_<n>`` and
    ``lists/{file_list,train_list,test_list}.mat``."""
    from xaibook.data.imagenet import DOG_INDICES

    dog_wnids = [WNIDS[i] for i in DOG_INDICES]
    for im in images:
        write_jpeg(root / "Images" / im.folder / f"{im.stem}.jpg", *im.size, seed=im.number)
        dog_annotation(root / "Annotation" / im.folder / im.stem, im)
    lists = root / lists_folder if lists_folder else root
    write_dog_list(lists / "file_list.mat", images, dog_wnids)
    write_dog_list(lists / "train_list.mat", [im for im in images if im.split == "train"], dog_wnids)
    write_dog_list(lists / "test_list.mat", [im for im in images if im.split == "test"], dog_wnids)
    return root


# ---------------------------------------------------------------------------------------------
# PASCAL VOC


@dataclass
class VocImage:
    image_id: str
    size: tuple[int, int] = (50, 40)
    objects: list[tuple[str, tuple[float, float, float, float], int]] = field(default_factory=list)  # name, box, difficult


def voc_xml(path: Path, im: VocImage, year: str) -> Path:
    w, h = im.size
    body = "".join(_object_xml(n, b, difficult=d, pose="Frontal") for n, b, d in im.objects)
    text = (f"<annotation>\n\t<folder>VOC{year}</folder>\n\t<filename>{im.image_id}.jpg</filename>\n\t<source>\n"
            f"\t\t<database>The VOC{year} Database</database>\n\t\t<annotation>PASCAL VOC{year}</annotation>\n"
            f"\t\t<image>flickr</image>\n\t</source>\n\t<size>\n\t\t<width>{w}</width>\n\t\t<height>{h}</height>\n"
            f"\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n{body}</annotation>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def build_voc(root: Path, images: Sequence[VocImage], year: str = "2012", image_set: str = "val",
              class_lists: bool = True) -> Path:
    """``VOCdevkit/VOC{year}/{JPEGImages,Annotations,ImageSets/Main}`` with ``{image_set}.txt``
    and the per-class ``{class}_{image_set}.txt`` (label right-aligned to width 2)."""
    from xaibook.data.voc import VOC_CLASSES

    base = root / "VOCdevkit" / f"VOC{year}"
    main = base / "ImageSets" / "Main"
    main.mkdir(parents=True, exist_ok=True)
    for k, im in enumerate(images):
        write_jpeg(base / "JPEGImages" / f"{im.image_id}.jpg", *im.size, seed=k)
        voc_xml(base / "Annotations" / f"{im.image_id}.xml", im, year)
    (main / f"{image_set}.txt").write_text("".join(f"{im.image_id}\n" for im in images))
    if class_lists:
        for cls in VOC_CLASSES:
            lines = []
            for im in images:
                objs = [d for n, _, d in im.objects if n == cls]
                label = -1 if not objs else (1 if any(d == 0 for d in objs) else 0)
                lines.append(f"{im.image_id} {label:>2}\n")
            (main / f"{cls}_{image_set}.txt").write_text("".join(lines))
    return root


# ---------------------------------------------------------------------------------------------
# Visual Genome


@dataclass
class VgImage:
    image_id: int
    folder: str = "VG_100K"
    size: tuple[int, int] = (60, 40)
    objects: list[dict] = field(default_factory=list)  # {x, y, w, h, names, synsets}


def build_vg(root: Path, images: Sequence[VgImage], old_id_key: bool = False, write_images: bool = True) -> Path:
    """``image_data.json``, ``objects.json`` (same order) and ``VG_100K{,_2}/<image_id>.jpg``."""
    key = "id" if old_id_key else "image_id"
    image_data, objects = [], []
    oid = 1000
    for im in images:
        url = f"https://cs.stanford.edu/people/rak248/{im.folder}/{im.image_id}.jpg"
        image_data.append({key: im.image_id, "url": url, "width": im.size[0], "height": im.size[1],
                           "coco_id": None, "flickr_id": None})
        objs = []
        for o in im.objects:
            oid += 1
            objs.append({"object_id": oid, "x": o["x"], "y": o["y"], "w": o["w"], "h": o["h"],
                         "names": o.get("names", []), "synsets": o.get("synsets", [])})
        objects.append({"image_id": im.image_id, "objects": objs, "image_url": url})
        if write_images:
            write_jpeg(root / im.folder / f"{im.image_id}.jpg", *im.size, seed=im.image_id)
    root.mkdir(parents=True, exist_ok=True)
    (root / "image_data.json").write_text(json.dumps(image_data))
    (root / "objects.json").write_text(json.dumps(objects))
    return root
