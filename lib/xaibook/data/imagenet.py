"""ImageNet ILSVRC2012 validation images, class labels and bounding boxes.

Nguyen et al. (2021), Sec. 2.2-2.3, classified ImageNet validation images with a torchvision
ResNet-34, kept colour images of at least 224 px, and scored attribution maps against the
human bounding boxes. This module reads the validation set in the layouts it is shipped in
(facts: ``notes/real-formats.md`` Sec. 1) and maps every label to **torchvision's
1000-class index** (the WNID's rank among the sorted WNIDs), never to 0..k-1:

* ``folders``: ``<root>/val/<wnid>/ILSVRC2012_val_XXXXXXXX.JPEG`` (what torchvision's
  ``ImageNet(root, split="val")`` leaves behind);
* ``flat``: the official ``ILSVRC2012_img_val.tar`` unpacked into ``<root>/val/`` (or
  ``<root>/ILSVRC2012_img_val/``) plus the devkit ``ILSVRC2012_devkit_t12/data/`` with
  ``ILSVRC2012_validation_ground_truth.txt`` (ILSVRC2012_IDs, *not* torchvision indices)
  and ``meta.mat`` (ILSVRC2012_ID -> WNID);
* ``kaggle``: ``<root>/ILSVRC/Data/CLS-LOC/val/*.JPEG`` with ``<root>/LOC_val_solution.csv``.

Bounding boxes come from the per-image XML of ``ILSVRC2012_bbox_val_v3.tgz``
(``val/ILSVRC2012_val_XXXXXXXX.xml``) or from Kaggle's ``LOC_val_solution.csv``.

Conventions shared by all real-data loaders (``imagenet``, ``dogs``, ``voc``,
``visual_genome``): images are read with PIL and a corrupt file raises
:class:`~xaibook.errors.DataFormatError` naming it; boxes are ``(x0, y0, x1, y1)`` float
arrays ``[k, 4]`` in 0-based *inclusive* pixel coordinates (the XML's 1-based values minus
one, as TorchRay's ``voc_as_mask`` and :mod:`xaibook.metrics.localisation` expect), clamped
to the image; nothing is dropped silently: every left-out file or box is in the listing's
``skipped`` list and in :meth:`Listing.report`.
"""
from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from .. import config
from ..errors import DataFormatError, DataNotFoundError, ParameterError
from .imagenet_classes import WNIDS

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
VAL_NAME = re.compile(r"^ILSVRC2012_val_(\d{8})$")
WNID_NAME = re.compile(r"^n\d{8}$")

#: torchvision indices of the 120 Stanford Dogs breeds: 151-268 without 251 (dalmatian),
#: plus 273-275 (dingo, dhole, African hunting dog) (``notes/real-formats.md`` Sec. 2).
DOG_INDICES: tuple[int, ...] = tuple([i for i in range(151, 269) if i != 251] + [273, 274, 275])

HOW_TO_GET = (
    "Get the ILSVRC2012 validation images (ILSVRC2012_img_val.tar), the devkit "
    "(ILSVRC2012_devkit_t12.tar.gz) and the boxes (ILSVRC2012_bbox_val_v3.tgz) from "
    "https://image-net.org/download-images (free registration), or Kaggle's "
    "'imagenet-object-localization-challenge' (ILSVRC/Data/CLS-LOC/val + LOC_val_solution.csv), "
    "and unpack them under <XAIBOOK_DATA>/imagenet."
)


# ---------------------------------------------------------------------------------------------
# class index


def wnids() -> tuple[str, ...]:
    """The 1000 WNIDs in torchvision's index order (sorted)."""
    return WNIDS


@lru_cache(maxsize=1)
def _wnid_index() -> dict[str, int]:
    return {w: i for i, w in enumerate(WNIDS)}


def wnid_to_index(wnid: str) -> int:
    """torchvision's ImageNet index of ``wnid`` (e.g. ``"n01440764"`` -> 0)."""
    try:
        return _wnid_index()[wnid]
    except KeyError:
        raise DataFormatError(f"{wnid!r} is not one of the 1000 ILSVRC2012 class WNIDs") from None


def categories() -> list[str]:
    """torchvision's 1000 short class names (``ResNet34_Weights.IMAGENET1K_V1.meta['categories']``)."""
    from torchvision.models import ResNet34_Weights

    return list(ResNet34_Weights.IMAGENET1K_V1.meta["categories"])


# ---------------------------------------------------------------------------------------------
# items, listings, images


@dataclass(frozen=True)
class ImageItem:
    """One ImageNet image.

    Attributes:
        path: the image file.
        image_id: the file name without extension (``ILSVRC2012_val_00000001``).
        label: torchvision's ImageNet index of the image's class.
        wnid: the class WNID.
        boxes: ``[k, 4]`` float32 boxes ``(x0, y0, x1, y1)``, 0-based inclusive pixels
            (empty ``[0, 4]`` when boxes were not read).
        size: ``(width, height)`` from the annotation, or ``None``.
    """

    path: Path
    image_id: str
    label: int
    wnid: str
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32), compare=False)
    size: tuple[int, int] | None = None

    @property
    def target(self) -> int:
        return self.label


@dataclass(frozen=True)
class Skipped:
    """A file or annotation left out of a listing, and why."""

    path: Path
    reason: str


@dataclass
class Listing:
    """The items of a dataset plus everything left out (never silently).

    Iterates and indexes like a list of items.
    """

    items: list[Any]
    skipped: list[Skipped] = field(default_factory=list)
    layout: str = ""
    root: Path | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __getitem__(self, i: int) -> Any:
        return self.items[i]

    def report(self, max_lines: int = 10) -> str:
        """A short text report: how many items, how many left out and why."""
        lines = [f"{len(self.items)} images ({self.layout} layout at {self.root})" if self.layout
                 else f"{len(self.items)} images"]
        lines += self.notes
        if self.skipped:
            reasons: dict[str, int] = {}
            for s in self.skipped:
                key = s.reason.split(":")[0]
                reasons[key] = reasons.get(key, 0) + 1
            lines.append(f"{len(self.skipped)} left out: " + "; ".join(f"{k} ({v})" for k, v in sorted(reasons.items())))
            lines += [f"  {s.path}: {s.reason}" for s in self.skipped[:max_lines]]
            if len(self.skipped) > max_lines:
                lines.append(f"  ... and {len(self.skipped) - max_lines} more")
        return "\n".join(lines)


def read_image(path: Path | str) -> "Any":
    """The image at ``path`` as a fully decoded PIL image; a clear error if it is not readable."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"image file {path} does not exist")
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataFormatError(
            f"image file {path} is corrupt or not an image ({type(exc).__name__}: {exc}); "
            "replace it with a good copy from the original archive."
        ) from exc


def image_header(path: Path | str) -> tuple[int, int, str]:
    """``(width, height, mode)`` read from the file header (no decoding)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size[0], im.size[1], im.mode
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataFormatError(f"image file {path} is corrupt or not an image ({type(exc).__name__}: {exc})") from exc


def preprocess(image: Any, resize: int = 256, crop: int = 224) -> torch.Tensor:
    """torchvision's ImageNet evaluation preprocessing without the normalisation.

    Resizes the shorter side to ``resize`` (bilinear, antialiased), centre-crops ``crop`` and
    returns a float ``[3, crop, crop]`` tensor in [0, 1] (the models normalise inside,
    :class:`~xaibook.models.wrappers.Normalized`). Accepts a PIL image, a ``H x W x 3``
    uint8 array or a ``[3, H, W]`` tensor (uint8, or float in [0, 1]).
    """
    from PIL import Image
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as F

    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ParameterError(f"image array must be H x W x 3, got shape {image.shape}")
        image = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    if isinstance(image, Image.Image):
        image = image.convert("RGB")
    elif isinstance(image, torch.Tensor):
        if image.dim() != 3 or image.shape[0] != 3:
            raise ParameterError(f"image tensor must be [3, H, W], got {tuple(image.shape)}")
    else:
        raise ParameterError(f"image must be a PIL image, an array or a tensor, got {type(image).__name__}")
    image = F.resize(image, [resize], interpolation=InterpolationMode.BILINEAR, antialias=True)
    image = F.center_crop(image, [crop])
    if isinstance(image, Image.Image):
        image = F.pil_to_tensor(image)
    if not image.is_floating_point():
        return image.float() / 255.0
    return image.float().clamp(0, 1)


def preprocess_geometry(width: int, height: int, resize: int = 256, crop: int = 224) -> tuple[float, float, int, int]:
    """``(scale_x, scale_y, left, top)`` of :func:`preprocess` for a ``width x height`` image."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(resize * long / short)
    new_w, new_h = (resize, new_long) if width <= height else (new_long, resize)
    left = int(round((new_w - crop) / 2.0))
    top = int(round((new_h - crop) / 2.0))
    return new_w / width, new_h / height, left, top


def boxes_after_preprocess(boxes: np.ndarray, width: int, height: int, resize: int = 256,
                           crop: int = 224) -> np.ndarray:
    """Map 0-based inclusive pixel boxes of a ``width x height`` image into :func:`preprocess`'s crop.

    Boxes are clamped to the crop; boxes that fall entirely outside it are removed.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    sx, sy, left, top = preprocess_geometry(width, height, resize, crop)
    x0 = np.floor(boxes[:, 0] * sx - left)
    y0 = np.floor(boxes[:, 1] * sy - top)
    x1 = np.ceil((boxes[:, 2] + 1) * sx - left) - 1
    y1 = np.ceil((boxes[:, 3] + 1) * sy - top) - 1
    out = np.stack([x0, y0, x1, y1], 1)
    keep = (out[:, 2] >= 0) & (out[:, 3] >= 0) & (out[:, 0] <= crop - 1) & (out[:, 1] <= crop - 1)
    out = np.clip(out[keep], 0, crop - 1)
    return out.astype(np.float32)


class ImageDataset(torch.utils.data.Dataset):
    """A torch Dataset over listed items: ``(image, target)`` with ``image = transform(PIL)``.

    ``transform`` defaults to :func:`preprocess` (resize 256, centre crop 224, [0, 1]);
    ``target`` maps an item to its target (default: ``item.target``). A corrupt file raises
    :class:`~xaibook.errors.DataFormatError` naming it.
    """

    def __init__(self, items: Sequence[Any] | Listing, transform: Callable[[Any], torch.Tensor] | None = None,
                 target: Callable[[Any], Any] | None = None):
        self.items = list(items.items if isinstance(items, Listing) else items)
        self.transform = transform if transform is not None else preprocess
        self.target = target if target is not None else (lambda item: item.target)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any]:
        item = self.items[i]
        image = read_image(item.path).convert("RGB")
        tgt = self.target(item)
        if isinstance(tgt, np.ndarray):
            tgt = torch.from_numpy(tgt)
        return self.transform(image), tgt


def filter_images(items: Sequence[Any] | Listing, min_side: int = 224, rgb: bool = True,
                  on_corrupt: str = "raise") -> Listing:
    """Nguyen et al. (2021), Sec. 2.3: keep colour images whose shorter side is >= ``min_side``.

    Reads only the file headers. Returns a :class:`Listing` of the kept items whose
    ``skipped`` lists every dropped image with its reason (``not RGB (mode L)``,
    ``too small (200x180)``; and ``corrupt`` when ``on_corrupt="skip"``; by default a
    corrupt file raises :class:`~xaibook.errors.DataFormatError` naming it).
    """
    from ..progress import bar

    if on_corrupt not in ("raise", "skip"):
        raise ParameterError(f"on_corrupt={on_corrupt!r}; use 'raise' or 'skip'")
    src = items if isinstance(items, Listing) else Listing(list(items))
    kept, skipped = [], list(src.skipped)
    for item in bar(src.items, desc="checking image sizes and colour", unit="img"):
        try:
            w, h, mode = image_header(item.path)
        except DataFormatError as exc:
            if on_corrupt == "raise":
                raise
            skipped.append(Skipped(item.path, f"corrupt: {exc}"))
            continue
        if rgb and mode != "RGB":
            skipped.append(Skipped(item.path, f"not RGB: mode {mode}"))
        elif min(w, h) < min_side:
            skipped.append(Skipped(item.path, f"too small: {w}x{h} < {min_side} px"))
        else:
            kept.append(item)
    notes = src.notes + [f"filter: colour (RGB) = {rgb}, shorter side >= {min_side} px"]
    return Listing(kept, skipped, src.layout, src.root, notes)


# ---------------------------------------------------------------------------------------------
# XML boxes (PASCAL VOC format, also used by the ImageNet and Stanford Dogs annotations)


@dataclass(frozen=True)
class XmlObject:
    name: str
    box: tuple[float, float, float, float]  # as written in the file (1-based)
    difficult: int
    truncated: int


def parse_voc_xml(path: Path | str) -> tuple[tuple[int, int] | None, list[XmlObject]]:
    """``(size, objects)`` of a PASCAL-VOC-style XML annotation (coordinates as written).

    ``size`` is ``(width, height)`` or ``None`` when absent. Coordinates are parsed with
    ``float()`` (some VOC2012 boxes are fractional).
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise DataFormatError(f"annotation {path} is not valid XML ({exc}); replace it from the original archive") from exc
    if root.tag != "annotation":
        raise DataFormatError(f"annotation {path}: root element is <{root.tag}>, expected <annotation> (PASCAL VOC format)")
    size = None
    sz = root.find("size")
    if sz is not None and sz.findtext("width") and sz.findtext("height"):
        try:
            size = (int(float(sz.findtext("width"))), int(float(sz.findtext("height"))))
        except ValueError as exc:
            raise DataFormatError(f"annotation {path}: unreadable <size> ({exc})") from exc
    objects = []
    for obj in root.findall("object"):
        bb = obj.find("bndbox")
        name = (obj.findtext("name") or "").strip()
        if bb is None or not name:
            raise DataFormatError(f"annotation {path}: an <object> lacks <name> or <bndbox>")
        try:
            box = tuple(float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"annotation {path}: <bndbox> of {name!r} lacks a number ({exc})") from exc
        objects.append(XmlObject(name, box, int(float(obj.findtext("difficult") or 0)),
                                 int(float(obj.findtext("truncated") or 0))))
    return size, objects


def to_zero_based(boxes: Sequence[Sequence[float]], size: tuple[int, int] | None, where: Path | str,
                  skipped: list[Skipped] | None = None, one_based: bool = True) -> np.ndarray:
    """Boxes as written (1-based when ``one_based``) -> 0-based inclusive, clamped to ``size``.

    A box with ``max < min`` or lying wholly outside the image is left out and recorded in
    ``skipped`` (or raises :class:`DataFormatError` when ``skipped`` is ``None``).
    """
    out = []
    for b in boxes:
        x0, y0, x1, y1 = (float(v) - (1.0 if one_based else 0.0) for v in b)
        if size is not None:
            w, h = size
            x0, x1 = max(0.0, x0), min(w - 1.0, x1)
            y0, y1 = max(0.0, y0), min(h - 1.0, y1)
        if x1 < x0 or y1 < y0:
            msg = f"invalid box: {tuple(b)} (after clamping to {size}: empty)"
            if skipped is None:
                raise DataFormatError(f"{where}: {msg}")
            skipped.append(Skipped(Path(where), msg))
            continue
        out.append((x0, y0, x1, y1))
    return np.asarray(out, dtype=np.float32).reshape(-1, 4)


# ---------------------------------------------------------------------------------------------
# ImageNet validation set


def default_root() -> Path:
    """``<XAIBOOK_DATA>/imagenet``."""
    return config.data_root() / "imagenet"


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _val_number(path: Path) -> int:
    m = VAL_NAME.match(path.stem)
    if not m:
        raise DataFormatError(f"{path}: not an ImageNet validation file name (expected ILSVRC2012_val_XXXXXXXX.JPEG)")
    return int(m.group(1))


def _detect_layout(root: Path) -> tuple[str, Path]:
    """``(layout, image folder)`` of an ImageNet root; a clear error when none fits."""
    if not root.is_dir():
        raise DataNotFoundError(f"ImageNet validation set: folder {root} does not exist. {HOW_TO_GET}")
    kaggle = root / "ILSVRC" / "Data" / "CLS-LOC" / "val"
    if kaggle.is_dir():
        return "kaggle", kaggle
    for cand in (root / "val", root / "ILSVRC2012_img_val"):
        if not cand.is_dir():
            continue
        subdirs = [p for p in cand.iterdir() if p.is_dir()]
        images = _image_files(cand)
        if subdirs and images:
            raise DataFormatError(
                f"ImageNet validation set: {cand} mixes class folders ({subdirs[0].name}, ...) and loose images "
                f"({images[0].name}, ...). Use one layout: val/<wnid>/*.JPEG, or all 50,000 JPEGs flat in val/ "
                "with the devkit's ground truth."
            )
        if subdirs:
            return "folders", cand
        if images:
            return "flat", cand
        raise DataFormatError(f"ImageNet validation set: {cand} holds neither class folders nor images. {HOW_TO_GET}")
    tars = [p.name for p in root.glob("ILSVRC2012_img_val*.tar")]
    hint = f" Found {tars[0]}: unpack it into {root / 'val'} first." if tars else ""
    raise DataNotFoundError(
        f"ImageNet validation set: {root} has none of val/<wnid>/ (class folders), val/*.JPEG with "
        f"ILSVRC2012_devkit_t12/data/ (official flat layout) or ILSVRC/Data/CLS-LOC/val/ (Kaggle).{hint} {HOW_TO_GET}"
    )


def read_meta_mat(path: Path | str) -> dict[int, str]:
    """ILSVRC2012_ID -> WNID of the 1000 leaf classes in the devkit's ``meta.mat``.

    The struct fields are read by position after ``loadmat(squeeze_me=True)``, as
    torchvision does: 0 = ILSVRC2012_ID, 1 = WNID, 4 = num_children (leaves have 0).
    """
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(
            f"ImageNet devkit file {path} is missing: the ILSVRC2012_IDs of the ground truth cannot be "
            f"mapped to classes without it. Unpack ILSVRC2012_devkit_t12.tar.gz under {path.parents[2]}. {HOW_TO_GET}"
        )
    try:
        synsets = scipy.io.loadmat(str(path), squeeze_me=True)["synsets"]
    except Exception as exc:  # scipy raises several types for bad files
        raise DataFormatError(f"{path} is not the devkit's meta.mat with a 'synsets' struct ({exc})") from exc
    out: dict[int, str] = {}
    for row in np.atleast_1d(synsets):
        try:
            ident, wnid, n_children = int(row[0]), str(row[1]), int(row[4])
        except (IndexError, TypeError, ValueError) as exc:
            raise DataFormatError(f"{path}: a synset lacks the fields ILSVRC2012_ID, WNID, ..., num_children ({exc})") from exc
        if n_children == 0:
            out[ident] = wnid
    if not out:
        raise DataFormatError(f"{path}: no leaf synsets (num_children == 0) found")
    return out


def read_ground_truth(path: Path | str) -> list[int]:
    """The ILSVRC2012_IDs of ``ILSVRC2012_validation_ground_truth.txt`` (line i = image i)."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(
            f"ImageNet ground truth {path} is missing: the flat validation layout needs the devkit's "
            f"ILSVRC2012_validation_ground_truth.txt (one ILSVRC2012_ID per image) and meta.mat in "
            f"{path.parent}. Unpack ILSVRC2012_devkit_t12.tar.gz under {path.parents[2]}. {HOW_TO_GET}"
        )
    ids = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            ids.append(int(line))
        except ValueError:
            raise DataFormatError(f"{path}, line {n}: {line!r} is not an ILSVRC2012_ID (an integer 1..1000)") from None
    return ids


def read_loc_solution(path: Path | str) -> dict[str, list[tuple[str, tuple[float, float, float, float]]]]:
    """Kaggle's ``LOC_val_solution.csv``: image id -> ``[(wnid, (xmin, ymin, xmax, ymax)), ...]``."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Kaggle ImageNet labels {path} are missing. {HOW_TO_GET}")
    out: dict[str, list] = {}
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["ImageId", "PredictionString"]:
            raise DataFormatError(f"{path}: header is {header}, expected ImageId,PredictionString")
        for n, row in enumerate(reader, 2):
            if not row:
                continue
            tokens = row[1].split() if len(row) > 1 else []
            if not tokens or len(tokens) % 5:
                raise DataFormatError(f"{path}, line {n}: PredictionString must repeat 'wnid xmin ymin xmax ymax', got {row[1:]!r}")
            groups = []
            for k in range(0, len(tokens), 5):
                try:
                    groups.append((tokens[k], tuple(float(v) for v in tokens[k + 1:k + 5])))
                except ValueError:
                    raise DataFormatError(f"{path}, line {n}: box coordinates are not numbers: {tokens[k:k + 5]}") from None
            out[row[0].strip()] = groups
    return out


def _find_boxes(root: Path, layout: str, image_dir: Path, boxes: bool | str | Path) -> Path | None:
    if boxes is False or boxes is None:
        return None
    if boxes is not True:
        path = Path(boxes)
        if not path.exists():
            raise DataNotFoundError(f"ImageNet boxes: {path} does not exist (give a folder of ILSVRC2012_val_*.xml or LOC_val_solution.csv)")
        return path
    candidates = [root / "ILSVRC" / "Annotations" / "CLS-LOC" / "val", root / "LOC_val_solution.csv",
                  root / "val", image_dir, root / "ILSVRC2012_bbox_val_v3" / "val", root / "bbox" / "val"]
    for cand in candidates:
        if cand.is_file() or (cand.is_dir() and any(cand.glob("ILSVRC2012_val_*.xml"))):
            return cand
    raise DataNotFoundError(
        "ImageNet boxes were asked for but none were found; looked for ILSVRC2012_val_*.xml in "
        + ", ".join(str(c) for c in candidates if c.suffix != ".csv")
        + f" and for {root / 'LOC_val_solution.csv'}. Unpack ILSVRC2012_bbox_val_v3.tgz into {root} "
        "(it creates val/ILSVRC2012_val_XXXXXXXX.xml) or pass boxes=<folder>."
    )


def list_val(root: Path | str | None = None, boxes: bool | str | Path = False) -> Listing:
    """List the ImageNet validation images with torchvision labels (and boxes).

    Args:
        root: the ImageNet folder (default ``<XAIBOOK_DATA>/imagenet``); the layout
            (``folders``, ``flat`` or ``kaggle``, see the module docstring) is detected.
        boxes: ``False`` (no boxes), ``True`` (find the per-image XML or Kaggle's CSV; an
            error if absent) or the path of the XML folder / CSV. Every listed image must
            have its annotation, and every box must carry the image's WNID (a mismatch
            means the labels and boxes disagree and raises :class:`DataFormatError`).

    Returns:
        a :class:`Listing` of :class:`ImageItem` sorted by image id; files that are not
        images, and invalid boxes, are in ``skipped``.
    """
    root = Path(root).expanduser() if root is not None else default_root()
    layout, image_dir = _detect_layout(root)
    skipped: list[Skipped] = []
    notes: list[str] = []
    entries: list[tuple[Path, str]] = []  # (path, wnid)
    solution = None

    if layout == "folders":
        for sub in sorted(p for p in image_dir.iterdir() if p.is_dir()):
            if not WNID_NAME.match(sub.name) or sub.name not in _wnid_index():
                raise DataFormatError(
                    f"ImageNet validation set: {sub} is not a class folder: class-folder layout needs "
                    f"val/<wnid>/ with one of the 1000 ILSVRC2012 WNIDs (e.g. val/n01440764/). Move or remove it."
                )
            for p in sorted(sub.iterdir()):
                if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
                    entries.append((p, sub.name))
                else:
                    skipped.append(Skipped(p, "not an image file"))
        for p in sorted(image_dir.iterdir()):
            if p.is_file() and p.suffix.lower() != ".xml" and p.name != "meta.bin":
                skipped.append(Skipped(p, "loose file beside the class folders"))
    elif layout == "flat":
        devkit = root / "ILSVRC2012_devkit_t12" / "data"
        gt = read_ground_truth(devkit / "ILSVRC2012_validation_ground_truth.txt")
        id_to_wnid = read_meta_mat(devkit / "meta.mat")
        for p in sorted(image_dir.iterdir()):
            if not (p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS):
                if p.suffix.lower() != ".xml":
                    skipped.append(Skipped(p, "not an image file"))
                continue
            num = _val_number(p)
            if num > len(gt):
                raise DataFormatError(
                    f"{p}: image number {num} but the ground truth has only {len(gt)} lines; "
                    f"ILSVRC2012_validation_ground_truth.txt is truncated or from another release."
                )
            ident = gt[num - 1]
            if ident not in id_to_wnid:
                raise DataFormatError(
                    f"ground truth line {num} gives ILSVRC2012_ID {ident}, which is not a leaf class in "
                    f"{devkit / 'meta.mat'} (leaf IDs are 1..1000)."
                )
            entries.append((p, id_to_wnid[ident]))
        notes.append("labels: ILSVRC2012_IDs of ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt "
                     "converted to torchvision indices via meta.mat")
    else:  # kaggle
        solution = read_loc_solution(root / "LOC_val_solution.csv")
        mapping = root / "LOC_synset_mapping.txt"
        if mapping.is_file():
            listed = [ln.split(" ", 1)[0] for ln in mapping.read_text().splitlines() if ln.strip()]
            if tuple(listed) != WNIDS:
                raise DataFormatError(f"{mapping} does not list the 1000 ILSVRC2012 WNIDs in sorted order")
        for p in sorted(image_dir.iterdir()):
            if not (p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS):
                skipped.append(Skipped(p, "not an image file"))
                continue
            groups = solution.get(p.stem)
            if groups is None:
                raise DataFormatError(f"{p}: no row for {p.stem} in {root / 'LOC_val_solution.csv'} (the Kaggle labels)")
            entries.append((p, groups[0][0]))

    if not entries:
        raise DataFormatError(f"ImageNet validation set at {image_dir}: no images found. {HOW_TO_GET}")

    box_source = _find_boxes(root, layout, image_dir, boxes)
    if box_source is not None and box_source.is_file() and solution is None:
        solution = read_loc_solution(box_source)
    items = []
    missing_ann = []
    for path, wnid in sorted(entries, key=lambda e: e[0].stem):
        label = wnid_to_index(wnid)
        item_boxes, size = np.zeros((0, 4), np.float32), None
        if box_source is not None:
            if box_source.is_dir():
                xml = box_source / f"{path.stem}.xml"
                if not xml.is_file():
                    missing_ann.append(xml)
                    continue
                size, objects = parse_voc_xml(xml)
                raw = []
                for obj in objects:
                    if obj.name != wnid:
                        raise DataFormatError(
                            f"{xml}: box of class {obj.name} but the image's label is {wnid}; labels and boxes disagree "
                            "(was the ground truth read in the wrong class order?)."
                        )
                    raw.append(obj.box)
                item_boxes = to_zero_based(raw, size, xml, skipped)
            else:
                groups = solution.get(path.stem)
                if groups is None:
                    missing_ann.append(box_source)
                    continue
                for g_wnid, _ in groups:
                    if g_wnid != wnid:
                        raise DataFormatError(f"{box_source}: row {path.stem} has a box of {g_wnid} but the image's label is {wnid}")
                item_boxes = to_zero_based([g[1] for g in groups], None, box_source, skipped)
        items.append(ImageItem(path, path.stem, label, wnid, item_boxes, size))
    if missing_ann:
        raise DataFormatError(
            f"ImageNet boxes at {box_source}: {len(missing_ann)} of {len(entries)} images have no annotation "
            f"(first: {missing_ann[0]}). The box set is partial: unpack all of ILSVRC2012_bbox_val_v3.tgz."
        )
    if box_source is not None:
        notes.append(f"boxes: {box_source}")
    return Listing(items, skipped, layout, root, notes)


def val_dataset(root: Path | str | None = None, boxes: bool | str | Path = False, min_side: int | None = 224,
                rgb: bool = True, transform: Callable[[Any], torch.Tensor] | None = None) -> tuple[ImageDataset, Listing]:
    """The validation set as an :class:`ImageDataset` of ``(image [3,224,224], label)``.

    With ``min_side``/``rgb`` the Nguyen et al. (2021) filter is applied first
    (:func:`filter_images`). Returns the dataset and the listing (with its skip list).
    """
    listing = list_val(root, boxes=boxes)
    if min_side is not None or rgb:
        listing = filter_images(listing, min_side=min_side or 0, rgb=rgb)
    return ImageDataset(listing, transform), listing
