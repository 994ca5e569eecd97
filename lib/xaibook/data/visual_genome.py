"""Visual Genome v1.2 images labelled bus / train / car from object synsets (Im et al. 2023).

Im et al. (2023) built a binary task from Visual Genome images (buses and trains positive)
and a mislabelled training set that puts cars into the positive class. Layout
(``notes/real-formats.md`` Sec. 4), under ``<XAIBOOK_DATA>/visual_genome``:

* ``image_data.json``: a list of ``{image_id (older: id), url, width, height, coco_id, flickr_id}``;
* ``objects.json``: a list in the **same order and length** with
  ``{image_id, objects: [{object_id, x, y, w, h, names, synsets}]}`` (x, y: top-left, pixels);
* ``VG_100K/<image_id>.jpg`` and ``VG_100K_2/<image_id>.jpg`` (``images.zip``, ``images2.zip``).

An image contains a class when an object's ``synsets`` include the class synset
(:data:`VG_CLASSES`, the synsets detectron2 uses for COCO's bus/train/car); with
``use_names=True`` an object whose lower-cased name equals the class name counts as well.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from .. import config
from ..errors import DataFormatError, DataNotFoundError, ParameterError
from .imagenet import ImageDataset, Listing, Skipped, to_zero_based

#: class name -> WordNet synset used to label Visual Genome objects.
VG_CLASSES: dict[str, str] = {"bus": "bus.n.01", "train": "train.n.01", "car": "car.n.01"}
IMAGE_FOLDERS = ("VG_100K", "VG_100K_2")

HOW_TO_GET = (
    "Get image_data.json.zip, objects_v1_2.json.zip (unpack it as objects.json), images.zip and images2.zip "
    "from https://homes.cs.washington.edu/~ranjay/visualgenome/api.html and unpack them under "
    "<XAIBOOK_DATA>/visual_genome (giving image_data.json, objects.json, VG_100K/, VG_100K_2/)."
)


@dataclass(frozen=True)
class VGItem:
    """One Visual Genome image.

    Attributes:
        path: the JPEG; ``image_id``: the VG id as a string.
        labels: float32 ``[C]`` multi-hot over the requested classes (in their order).
        boxes: float32 ``[k, 4]`` 0-based inclusive pixels of the objects of those classes;
            ``box_labels``: int64 ``[k]`` class index of each box.
        size: ``(width, height)`` from ``image_data.json``.
    """

    path: Path
    image_id: str
    labels: np.ndarray = field(compare=False)
    boxes: np.ndarray = field(compare=False)
    box_labels: np.ndarray = field(compare=False)
    size: tuple[int, int] | None = None

    @property
    def target(self) -> np.ndarray:
        return self.labels


def default_root() -> Path:
    """``<XAIBOOK_DATA>/visual_genome``."""
    return config.data_root() / "visual_genome"


def _load_json(path: Path) -> Any:
    if not path.is_file():
        zipped = path.with_name(path.name + ".zip")
        hint = f" Found {zipped.name}: unzip it first." if zipped.is_file() else ""
        raise DataNotFoundError(f"Visual Genome: {path} is missing.{hint} {HOW_TO_GET}")
    try:
        with open(path) as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"Visual Genome: {path} is not valid JSON ({exc}); it may be truncated: unzip it again.") from exc


def _image_id(entry: Mapping[str, Any], where: Path, i: int) -> int:
    for key in ("image_id", "id"):
        if key in entry:
            return int(entry[key])
    raise DataFormatError(f"{where}: entry {i} has neither 'image_id' nor 'id'")


def _image_path(root: Path, image_id: int, url: str | None) -> Path:
    if url:
        parts = url.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] in IMAGE_FOLDERS:
            return root / parts[-2] / f"{image_id}.jpg"
    for folder in IMAGE_FOLDERS:
        cand = root / folder / f"{image_id}.jpg"
        if cand.is_file():
            return cand
    return root / IMAGE_FOLDERS[0] / f"{image_id}.jpg"


def list_vg(classes: Mapping[str, str] | None = None, root: Path | str | None = None, use_names: bool = False,
            contains_any: bool = False, missing_images: str = "raise") -> Listing:
    """List Visual Genome images with multi-hot labels of ``classes`` and their boxes.

    Args:
        classes: ``{name: synset}`` (default :data:`VG_CLASSES`: bus, train, car).
        root: the dataset folder (default ``<XAIBOOK_DATA>/visual_genome``).
        use_names: also count objects whose lower-cased name equals a class name.
        contains_any: list only images with at least one of the classes (the number left
            out is stated in the listing's notes).
        missing_images: ``"raise"`` (default; a partial image set raises
            :class:`DataNotFoundError` with the count and first missing file) or
            ``"skip"`` (they go to the listing's ``skipped`` list).
    """
    if missing_images not in ("raise", "skip"):
        raise ParameterError(f"missing_images={missing_images!r}; use 'raise' or 'skip'")
    classes = dict(VG_CLASSES if classes is None else classes)
    if not classes:
        raise ParameterError("classes is empty; give {name: synset}, e.g. {'bus': 'bus.n.01'}")
    root = Path(root).expanduser() if root is not None else default_root()
    if not root.is_dir():
        raise DataNotFoundError(f"Visual Genome: folder {root} does not exist. {HOW_TO_GET}")
    image_data = _load_json(root / "image_data.json")
    objects = _load_json(root / "objects.json")
    if not isinstance(image_data, list) or not isinstance(objects, list):
        raise DataFormatError(f"Visual Genome: image_data.json and objects.json must both be JSON lists at {root}")
    if len(image_data) != len(objects):
        raise DataFormatError(
            f"Visual Genome: image_data.json has {len(image_data)} images but objects.json has {len(objects)}; "
            "they must be the same release (v1.2) in the same order."
        )
    names = list(classes)
    synset_to_class = {s: k for k, s in enumerate(classes.values())}
    name_to_class = {n.lower(): k for k, n in enumerate(names)}
    items, skipped, missing = [], [], []
    n_without = 0
    for i, (meta, objs) in enumerate(zip(image_data, objects)):
        image_id = _image_id(meta, root / "image_data.json", i)
        if _image_id(objs, root / "objects.json", i) != image_id:
            raise DataFormatError(
                f"Visual Genome: entry {i} is image {image_id} in image_data.json but "
                f"{_image_id(objs, root / 'objects.json', i)} in objects.json; the files are not in the same order."
            )
        size = (int(meta["width"]), int(meta["height"])) if "width" in meta and "height" in meta else None
        labels = np.zeros(len(names), np.float32)
        raw_boxes, box_labels = [], []
        for obj in objs.get("objects", []):
            hit = None
            for s in obj.get("synsets", []) or []:
                if s in synset_to_class:
                    hit = synset_to_class[s]
                    break
            if hit is None and use_names:
                for n in obj.get("names", []) or ([obj["name"]] if "name" in obj else []):
                    if n.strip().lower() in name_to_class:
                        hit = name_to_class[n.strip().lower()]
                        break
            if hit is None:
                continue
            try:
                x, y, w, h = (float(obj[k]) for k in ("x", "y", "w", "h"))
            except (KeyError, TypeError, ValueError) as exc:
                raise DataFormatError(f"Visual Genome: object {obj.get('object_id')} of image {image_id} lacks x, y, w, h ({exc})") from exc
            labels[hit] = 1.0
            n_before = len(skipped)
            b = to_zero_based([(x, y, x + w - 1, y + h - 1)], size, root / "objects.json", skipped, one_based=False)
            if len(skipped) > n_before:
                skipped[-1] = Skipped(skipped[-1].path, f"{skipped[-1].reason} (image {image_id}, object {obj.get('object_id')})")
            if len(b):
                raw_boxes.append(b[0])
                box_labels.append(hit)
        if contains_any and not labels.any():
            n_without += 1
            continue
        path = _image_path(root, image_id, meta.get("url"))
        if not path.is_file():
            if missing_images == "raise":
                missing.append(path)
            else:
                skipped.append(Skipped(path, "image file missing"))
            continue
        items.append(VGItem(path, str(image_id), labels, np.asarray(raw_boxes, np.float32).reshape(-1, 4),
                            np.asarray(box_labels, np.int64), size))
    if missing:
        raise DataNotFoundError(
            f"Visual Genome at {root}: {len(missing)} image files are missing (first: {missing[0]}); "
            f"unpack both images.zip (VG_100K/) and images2.zip (VG_100K_2/), or pass missing_images='skip'. {HOW_TO_GET}"
        )
    notes = ["classes: " + ", ".join(f"{n}={s}" for n, s in classes.items()) + (" (+ object names)" if use_names else "")]
    if contains_any:
        notes.append(f"{n_without} images without any of the classes not listed (contains_any=True)")
    return Listing(items, skipped, "visual_genome", root, notes)


def vg_dataset(classes: Mapping[str, str] | None = None, root: Path | str | None = None, contains_any: bool = True,
               transform: Callable[[Any], torch.Tensor] | None = None, **kwargs: Any) -> tuple[ImageDataset, Listing]:
    """Visual Genome as an :class:`~xaibook.data.imagenet.ImageDataset` of ``(image, multi-hot)``."""
    listing = list_vg(classes, root, contains_any=contains_any, **kwargs)
    return ImageDataset(listing, transform), listing
