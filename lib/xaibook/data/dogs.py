"""Stanford Dogs as the 120 dog classes of ImageNet (Nguyen et al. 2021, Sec. 2.2).

Nguyen et al. ran the ImageNet ResNet-34 on Stanford Dogs and scored it on the 120 breeds,
which are ImageNet classes: in torchvision's index order they are 151-268 without 251
(dalmatian) plus 273-275 (dingo, dhole, African hunting dog) (``notes/real-formats.md``
Sec. 2, :data:`DOG_INDICES`). Layout read here, under ``<XAIBOOK_DATA>/stanford_dogs``:

* ``Images/n02085620-Chihuahua/n02085620_10074.jpg``
* ``Annotation/n02085620-Chihuahua/n02085620_10074`` (PASCAL-VOC-style XML, **no extension**;
  ``<name>`` is the breed name, not the WNID)
* ``lists/{file_list,train_list,test_list}.mat`` (or the same files in the root) with
  ``file_list`` (paths relative to ``Images/``), ``annotation_list`` and **1-based**
  ``labels`` 1..120.

Each item's ``label`` is the torchvision ImageNet index (from the folder's WNID, checked
against the list's label), ``label120`` the 0-based Stanford label.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .. import config
from ..errors import DataFormatError, DataNotFoundError, ParameterError
from .imagenet import (DOG_INDICES, ImageDataset, Listing, filter_images, parse_voc_xml, to_zero_based,
                       wnid_to_index)

SPLITS = {"train": "train_list.mat", "test": "test_list.mat", "all": "file_list.mat"}

HOW_TO_GET = (
    "Get images.tar, annotation.tar and lists.tar from http://vision.stanford.edu/aditya86/ImageNetDogs/ "
    "and unpack them under <XAIBOOK_DATA>/stanford_dogs (giving Images/, Annotation/ and the three "
    "*_list.mat files, in lists/ or beside Images/)."
)


@dataclass(frozen=True)
class DogItem:
    """One Stanford Dogs image.

    Attributes:
        path: the JPEG.
        image_id: file name without extension (``n02085620_10074``).
        label: torchvision ImageNet index of the breed (one of :data:`DOG_INDICES`).
        label120: the 0-based Stanford label (the list's 1-based label minus one).
        wnid: the breed's WNID; ``breed``: the folder's breed name (``Chihuahua``).
        boxes: ``[k, 4]`` float32, 0-based inclusive pixels; ``size``: ``(width, height)``.
    """

    path: Path
    image_id: str
    label: int
    label120: int
    wnid: str
    breed: str
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32), compare=False)
    size: tuple[int, int] | None = None

    @property
    def target(self) -> int:
        return self.label


def default_root() -> Path:
    """``<XAIBOOK_DATA>/stanford_dogs``."""
    return config.data_root() / "stanford_dogs"


def is_dog(index: int | np.ndarray | torch.Tensor) -> Any:
    """Whether ImageNet index (or array of indices) is one of the 120 Stanford Dogs classes."""
    if isinstance(index, torch.Tensor):
        return torch.isin(index, torch.tensor(DOG_INDICES, device=index.device))
    if isinstance(index, np.ndarray):
        return np.isin(index, DOG_INDICES)
    return int(index) in DOG_INDICES


def _as_str(v: Any) -> str:
    while isinstance(v, np.ndarray):
        if v.size != 1:
            raise ValueError(f"expected one string, got an array of shape {v.shape}")
        v = v.reshape(-1)[0]
    return str(v)


def read_list(path: Path | str) -> tuple[list[str], list[str], np.ndarray]:
    """``(file_list, annotation_list, labels)`` of a Stanford Dogs ``*_list.mat`` (labels 1-based)."""
    import scipy.io

    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:
        raise DataFormatError(f"{path} is not a readable MATLAB file ({exc}). {HOW_TO_GET}") from exc
    missing = [k for k in ("file_list", "annotation_list", "labels") if k not in mat]
    if missing:
        raise DataFormatError(f"{path} lacks the variables {missing} (expected file_list, annotation_list, labels)")
    try:
        files = [_as_str(v) for v in np.asarray(mat["file_list"]).reshape(-1)]
        anns = [_as_str(v) for v in np.asarray(mat["annotation_list"]).reshape(-1)]
        labels = np.asarray(mat["labels"], dtype=np.float64).reshape(-1)
    except (ValueError, TypeError) as exc:
        raise DataFormatError(f"{path}: file_list/annotation_list must be lists of strings, labels numbers ({exc})") from exc
    if not (len(files) == len(anns) == len(labels)):
        raise DataFormatError(f"{path}: file_list ({len(files)}), annotation_list ({len(anns)}) and labels "
                              f"({len(labels)}) differ in length")
    if len(labels) and (labels.min() < 1 or labels.max() > 120 or np.any(labels != np.round(labels))):
        raise DataFormatError(f"{path}: labels must be integers 1..120 (1-based), got range "
                              f"{labels.min():g}..{labels.max():g}")
    return files, anns, labels.astype(np.int64)


def _find_list(root: Path, split: str) -> Path:
    name = SPLITS[split]
    for cand in (root / "lists" / name, root / name):
        if cand.is_file():
            return cand
    raise DataNotFoundError(f"Stanford Dogs: {name} not found in {root / 'lists'} or {root}. {HOW_TO_GET}")


def list_dogs(split: str = "test", root: Path | str | None = None, boxes: bool = True) -> Listing:
    """List Stanford Dogs images of ``split`` (``train``, ``test`` or ``all``) with ImageNet labels.

    Args:
        split: which list file to read.
        root: the dataset folder (default ``<XAIBOOK_DATA>/stanford_dogs``).
        boxes: read the bounding boxes from ``Annotation/`` (every image must have one).

    Raises :class:`DataNotFoundError` for a missing folder, list, image or annotation and
    :class:`DataFormatError` when a list label disagrees with the image's breed folder.
    """
    if split not in SPLITS:
        raise ParameterError(f"split={split!r}; use one of {sorted(SPLITS)}")
    root = Path(root).expanduser() if root is not None else default_root()
    if not root.is_dir():
        raise DataNotFoundError(f"Stanford Dogs: folder {root} does not exist. {HOW_TO_GET}")
    if not (root / "Images").is_dir():
        raise DataNotFoundError(f"Stanford Dogs: {root / 'Images'} is missing. {HOW_TO_GET}")
    if boxes and not (root / "Annotation").is_dir():
        raise DataNotFoundError(f"Stanford Dogs: {root / 'Annotation'} is missing (needed for boxes; "
                                f"pass boxes=False to list images only). {HOW_TO_GET}")
    list_path = _find_list(root, split)
    files, anns, labels = read_list(list_path)
    items, skipped, missing = [], [], []
    for rel, ann, lab in zip(files, anns, labels):
        path = root / "Images" / rel
        if not path.is_file():
            missing.append(path)
            continue
        folder = Path(rel).parts[0] if len(Path(rel).parts) > 1 else ""
        wnid, _, breed = folder.partition("-")
        try:
            index = wnid_to_index(wnid)
        except DataFormatError:
            raise DataFormatError(f"{path}: folder {folder!r} does not start with an ImageNet WNID (n02085620-Chihuahua)") from None
        if DOG_INDICES[lab - 1] != index:
            raise DataFormatError(
                f"{list_path}: label {lab} (1-based) of {rel} means ImageNet index {DOG_INDICES[lab - 1]}, "
                f"but its folder {folder} is index {index}; the list and the folders disagree."
            )
        item_boxes, size = np.zeros((0, 4), np.float32), None
        if boxes:
            ann_path = root / "Annotation" / ann
            if not ann_path.is_file():
                missing.append(ann_path)
                continue
            size, objects = parse_voc_xml(ann_path)
            item_boxes = to_zero_based([o.box for o in objects], size, ann_path, skipped)
        items.append(DogItem(path, path.stem, index, int(lab) - 1, wnid, breed, item_boxes, size))
    if missing:
        raise DataNotFoundError(
            f"Stanford Dogs at {root}: {len(missing)} files named in {list_path.name} are missing "
            f"(first: {missing[0]}); the dataset is partial. {HOW_TO_GET}"
        )
    return Listing(items, skipped, f"stanford_dogs/{split}", root,
                   [f"labels: {list_path.name} (1-based) mapped to ImageNet indices {DOG_INDICES[0]}..{DOG_INDICES[-1]}"])


def dogs_dataset(split: str = "test", root: Path | str | None = None, min_side: int | None = 224, rgb: bool = True,
                 transform: Callable[[Any], torch.Tensor] | None = None) -> tuple[ImageDataset, Listing]:
    """Stanford Dogs as an :class:`~xaibook.data.imagenet.ImageDataset` of ``(image, ImageNet index)``.

    The Nguyen et al. filter (colour, shorter side >= ``min_side``) is applied first;
    returns the dataset and the listing with its skip list.
    """
    listing = list_dogs(split, root)
    if min_side is not None or rgb:
        listing = filter_images(listing, min_side=min_side or 0, rgb=rgb)
    return ImageDataset(listing, transform), listing
