"""PASCAL VOC 2007/2012 images with 20-class multi-hot labels and boxes (Alqaraawi et al. 2020).

Alqaraawi et al. (2020), Sec. 3.2, showed LRP maps of a VGG16 multi-label classifier on
PASCAL VOC 2012. Layout (``notes/real-formats.md`` Sec. 3; torchvision's ``VOCDetection``),
under ``<XAIBOOK_DATA>/voc``:

* ``VOCdevkit/VOC{year}/ImageSets/Main/{image_set}.txt`` (one image id per line),
* ``VOCdevkit/VOC{year}/JPEGImages/{id}.jpg``, ``VOCdevkit/VOC{year}/Annotations/{id}.xml``,
* optionally ``ImageSets/Main/{class}_{image_set}.txt`` (``<id> <label>`` with 1 = present,
  0 = only difficult objects, -1 = absent), cross-checked by :func:`check_class_lists`.

Boxes in the XML are 1-based pixels and may be fractional; items carry them 0-based
inclusive (minus one), as :mod:`xaibook.metrics.localisation` expects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .. import config
from ..errors import DataFormatError, DataNotFoundError, ParameterError
from .imagenet import ImageDataset, Listing, parse_voc_xml, to_zero_based

#: The 20 classes in the devkit's standard order (``VOCinit.m``).
VOC_CLASSES: tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)

HOW_TO_GET = (
    "Get VOCtrainval_11-May-2012.tar (and for 2007 VOCtrainval_06-Nov-2007.tar, VOCtest_06-Nov-2007.tar) "
    "from http://host.robots.ox.ac.uk/pascal/VOC/ and unpack them under <XAIBOOK_DATA>/voc, "
    "giving voc/VOCdevkit/VOC2012/{Annotations,ImageSets,JPEGImages}."
)


@dataclass(frozen=True)
class VOCItem:
    """One VOC image.

    Attributes:
        path: the JPEG; ``image_id``: e.g. ``2008_000033`` or ``000005``.
        labels: float32 ``[20]`` multi-hot of the classes with at least one non-difficult object.
        difficult_only: bool ``[20]``: classes present only through objects marked difficult.
        boxes: float32 ``[k, 4]`` 0-based inclusive pixels, one per object (difficult ones included).
        box_labels: int64 ``[k]`` class index of each box; ``box_difficult``: bool ``[k]``.
        size: ``(width, height)``.
    """

    path: Path
    image_id: str
    labels: np.ndarray = field(compare=False)
    difficult_only: np.ndarray = field(compare=False)
    boxes: np.ndarray = field(compare=False)
    box_labels: np.ndarray = field(compare=False)
    box_difficult: np.ndarray = field(compare=False)
    size: tuple[int, int] | None = None

    @property
    def target(self) -> np.ndarray:
        return self.labels


def default_root() -> Path:
    """``<XAIBOOK_DATA>/voc``."""
    return config.data_root() / "voc"


def _base(root: Path, year: str) -> Path:
    if str(year) not in ("2007", "2012"):
        raise ParameterError(f"year={year!r}; use '2007' or '2012'")
    if not root.is_dir():
        raise DataNotFoundError(f"PASCAL VOC: folder {root} does not exist. {HOW_TO_GET}")
    base = root / "VOCdevkit" / f"VOC{year}"
    if not base.is_dir():
        found = sorted(p.name for p in (root / "VOCdevkit").glob("VOC*")) if (root / "VOCdevkit").is_dir() else []
        raise DataNotFoundError(f"PASCAL VOC {year}: {base} does not exist (found: {found or 'nothing'}). {HOW_TO_GET}")
    return base


def read_image_set(root: Path | str | None = None, year: str = "2012", image_set: str = "val") -> list[str]:
    """The image ids of ``ImageSets/Main/{image_set}.txt``."""
    base = _base(Path(root).expanduser() if root is not None else default_root(), str(year))
    path = base / "ImageSets" / "Main" / f"{image_set}.txt"
    if not path.is_file():
        avail = sorted(p.stem for p in (base / "ImageSets" / "Main").glob("*.txt") if "_" not in p.stem) \
            if (base / "ImageSets" / "Main").is_dir() else []
        raise DataNotFoundError(f"PASCAL VOC {year}: {path} is missing (image sets found: {avail or 'none'}). {HOW_TO_GET}")
    return [ln.split()[0] for ln in path.read_text().splitlines() if ln.strip()]


def list_voc(year: str = "2012", image_set: str = "val", root: Path | str | None = None) -> Listing:
    """List the images of a VOC image set with multi-hot labels, difficult flags and 0-based boxes.

    Every listed id must have its ``JPEGImages/{id}.jpg`` and ``Annotations/{id}.xml``
    (else :class:`DataNotFoundError` naming the first missing file); an object of an
    unknown class raises :class:`DataFormatError`.
    """
    year = str(year)
    root = Path(root).expanduser() if root is not None else default_root()
    base = _base(root, year)
    ids = read_image_set(root, year, image_set)
    index = {c: i for i, c in enumerate(VOC_CLASSES)}
    items, skipped, missing = [], [], []
    for image_id in ids:
        jpg = base / "JPEGImages" / f"{image_id}.jpg"
        xml = base / "Annotations" / f"{image_id}.xml"
        if not jpg.is_file():
            missing.append(jpg)
            continue
        if not xml.is_file():
            missing.append(xml)
            continue
        size, objects = parse_voc_xml(xml)
        for o in objects:
            if o.name not in index:
                raise DataFormatError(f"{xml}: object class {o.name!r} is not one of the 20 VOC classes {VOC_CLASSES}")
        kept_boxes, box_labels, box_difficult = [], [], []
        for o in objects:  # one at a time, so an invalid box drops only its own label
            b = to_zero_based([o.box], size, xml, skipped)
            if len(b):
                kept_boxes.append(b[0])
                box_labels.append(index[o.name])
                box_difficult.append(bool(o.difficult))
        boxes = np.asarray(kept_boxes, np.float32).reshape(-1, 4)
        box_labels = np.asarray(box_labels, np.int64)
        box_difficult = np.asarray(box_difficult, bool)
        labels = np.zeros(len(VOC_CLASSES), np.float32)
        any_obj = np.zeros(len(VOC_CLASSES), bool)
        for o in objects:
            any_obj[index[o.name]] = True
            if not o.difficult:
                labels[index[o.name]] = 1.0
        items.append(VOCItem(jpg, image_id, labels, any_obj & (labels == 0), boxes, box_labels, box_difficult, size))
    if missing:
        raise DataNotFoundError(
            f"PASCAL VOC {year} {image_set}: {len(missing)} files listed in ImageSets/Main/{image_set}.txt are missing "
            f"(first: {missing[0]}); the dataset is partial. {HOW_TO_GET}"
        )
    return Listing(items, skipped, f"VOC{year}/{image_set}", root)


def read_class_lists(year: str = "2012", image_set: str = "val", root: Path | str | None = None) -> dict[str, np.ndarray]:
    """Per-image int8 ``[20]`` labels (1 / 0 / -1) from the ``{class}_{image_set}.txt`` files."""
    year = str(year)
    root = Path(root).expanduser() if root is not None else default_root()
    main = _base(root, year) / "ImageSets" / "Main"
    out: dict[str, np.ndarray] = {}
    for c, cls in enumerate(VOC_CLASSES):
        path = main / f"{cls}_{image_set}.txt"
        if not path.is_file():
            raise DataNotFoundError(f"PASCAL VOC {year}: {path} is missing. {HOW_TO_GET}")
        for n, line in enumerate(path.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in ("1", "0", "-1"):
                raise DataFormatError(f"{path}, line {n}: expected '<id> <1|0|-1>', got {line!r}")
            out.setdefault(parts[0], np.full(len(VOC_CLASSES), -2, np.int8))[c] = int(parts[1])
    return out


def check_class_lists(listing: Listing, year: str = "2012", image_set: str = "val",
                      root: Path | str | None = None) -> list[str]:
    """Compare labels derived from the XML with the per-class lists; return the disagreements."""
    lists = read_class_lists(year, image_set, root)
    problems = []
    for item in listing:
        want = lists.get(item.image_id)
        if want is None:
            problems.append(f"{item.image_id}: not in the per-class lists")
            continue
        mine = np.where(item.labels > 0, 1, np.where(item.difficult_only, 0, -1)).astype(np.int8)
        for c in np.nonzero(mine != want)[0]:
            problems.append(f"{item.image_id} {VOC_CLASSES[c]}: XML gives {mine[c]}, list gives {want[c]}")
    return problems


def voc_dataset(year: str = "2012", image_set: str = "val", root: Path | str | None = None,
                transform: Callable[[Any], torch.Tensor] | None = None) -> tuple[ImageDataset, Listing]:
    """VOC as an :class:`~xaibook.data.imagenet.ImageDataset` of ``(image, multi-hot [20])``.

    ``transform`` defaults to resize 256 / centre crop 224 in [0, 1].
    """
    listing = list_voc(year, image_set, root)
    return ImageDataset(listing, transform), listing
