"""Alqaraawi et al. 2020: the study's data, from the offline scenes or from PASCAL VOC (Sec. 3.1.1).

The paper fine-tuned on VOC 2012 train-val and held out the VOC 2007 test set. Both sources give
three splits (``train`` for fine-tuning, ``val``, ``test`` the hold-out) as one :class:`Split` each:
uint8 images at the plan's side, multi-hot labels and a class map of the labelled objects (the
ground truth the relevance measurements use). The pipeline asks its source, never which it is.

* :class:`ScenesSource`: :func:`xaibook.world.scenes.voc_dataset` (12 VOC-like classes, with
  cats, horses and vehicles), rendered with the rails' mask under trains (``context``); object
  masks are exact.
* :class:`VOCSource`: ``<XAIBOOK_DATA>/voc`` (VOC2012 ``train``/``val``, VOC2007 ``test``), images
  resized to a square without the centre crop that would cut labelled objects; object masks are
  the annotated boxes (VOC's segmentation masks cover only a subset of images).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ... import cache
from ...errors import DataNotFoundError, ParameterError

SPLITS = ("train", "val", "test")
#: The VOC splits the paper used (Sec. 3.1.1) as (year, image set) per split.
VOC_SPLITS = {"train": ("2012", "train"), "val": ("2012", "val"), "test": ("2007", "test")}
VOC_LAYOUT = ("<XAIBOOK_DATA>/voc/VOCdevkit/VOC2012/{JPEGImages,Annotations,ImageSets/Main/train.txt,"
              "ImageSets/Main/val.txt} and <XAIBOOK_DATA>/voc/VOCdevkit/VOC2007/{JPEGImages,Annotations,"
              "ImageSets/Main/test.txt}")


#: Image counts of the standard VOC image sets (devkit ImageSets/Main), to compare with the paper's
#: "19,714 images" (Sec. 3.1.1). Disjoint sets; VOC2012 holds 17,125 images in all (trainval + unlabelled).
VOC_SET_SIZES = {"VOC2012 train": 5717, "VOC2012 val": 5823, "VOC2007 trainval": 5011, "VOC2007 test": 4952}
VOC2012_ALL = 17125


def voc_count_check(stated: int) -> str:
    """Whether ``stated`` images equals any sum of the standard VOC sets (a generated sentence)."""
    from itertools import combinations

    sets = dict(VOC_SET_SIZES)
    sums = {}
    names = list(sets)
    for r in range(1, len(names) + 1):
        for combo in combinations(names, r):
            sums[" + ".join(combo)] = sum(sets[c] for c in combo)
    for other in ("VOC2007 trainval", "VOC2007 test"):
        sums[f"all VOC2012 + {other}"] = VOC2012_ALL + sets[other]
    sums["all VOC2012"] = VOC2012_ALL
    hits = [k for k, v in sums.items() if v == stated]
    if hits:
        return f"The paper's {stated:,} images equal {hits[0]}."
    closest = min(sums, key=lambda k: abs(sums[k] - stated))
    used = sets["VOC2012 train"] + sets["VOC2012 val"] + sets["VOC2007 test"]
    return (f"The paper's {stated:,} images match no sum of the standard VOC image sets ({len(sums)} combinations "
            f"tried); the closest is {closest} = {sums[closest]:,}, and the splits it names (VOC2012 train-val and "
            f"VOC2007 test) hold {used:,}.")


@dataclass
class Split:
    """One split: ``images`` uint8 ``[N,3,S,S]``, ``labels`` float ``[N,C]`` multi-hot, ``class_map``
    uint8 ``[N,S,S]`` (class index + 1 of the labelled object at each pixel, 0 elsewhere), ``context``
    bool ``[N,S,S]`` (rails under trains) or None, ``ids`` one name per image."""

    images: torch.Tensor
    labels: torch.Tensor
    class_map: torch.Tensor
    context: torch.Tensor | None
    ids: list[str]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index) -> "Split":
        idx = torch.as_tensor(np.asarray(index, dtype=np.int64))
        return Split(self.images[idx], self.labels[idx], self.class_map[idx],
                     None if self.context is None else self.context[idx], [self.ids[int(i)] for i in idx])


class Source(Protocol):
    name: str
    generated: bool
    classes: tuple[str, ...]
    context_class: str | None

    def describe(self) -> str: ...

    def splits(self, sizes: dict[str, int | None], image_size: int, seed: int) -> dict[str, Split]: ...


class ScenesSource:
    """The offline multi-object scenes (the VOC stand-in of :mod:`xaibook.world.scenes`)."""

    name = "scenes"
    generated = True  # the data are rendered here, not read from the user's folder
    context_class = "train"

    @property
    def classes(self) -> tuple[str, ...]:
        from ...world.scenes import CLASSES
        return CLASSES

    def describe(self) -> str:
        return f"offline multi-object scenes, {len(self.classes)} VOC-like classes"

    def splits(self, sizes: dict[str, int | None], image_size: int, seed: int) -> dict[str, Split]:
        from ...world.scenes import voc_dataset

        out = {}
        for split in SPLITS:
            s = voc_dataset(split, n=sizes[split], seed=seed, size=image_size, context=True)
            out[split] = Split((s.images * 255).round().to(torch.uint8), s.labels.float(), s.classes,
                               s.context, list(s.scenes["id"]))
        return out


def check_voc_layout(root: Path) -> None:
    """Raise :class:`DataNotFoundError` naming every missing part of the expected VOC layout."""
    missing = []
    for year, image_set in VOC_SPLITS.values():
        base = root / "VOCdevkit" / f"VOC{year}"
        for part in ("JPEGImages", "Annotations", f"ImageSets/Main/{image_set}.txt"):
            if not (base / part).exists():
                missing.append(str(base / part))
    if missing:
        raise DataNotFoundError(f"PASCAL VOC under {root} is incomplete: missing {', '.join(sorted(set(missing)))}. "
                                f"Expected layout: {VOC_LAYOUT} (unpack VOCtrainval_11-May-2012.tar and "
                                "VOCtest_06-Nov-2007.tar from http://host.robots.ox.ac.uk/pascal/VOC/ there).")


def _resize(path: Path, size: int) -> torch.Tensor:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB").resize((size, size), Image.BILINEAR)
        return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)


def _box_map(item, size: int) -> torch.Tensor:
    """Class map painted from the boxes (largest first, so smaller objects stay visible on top)."""
    out = torch.zeros(size, size, dtype=torch.uint8)
    w, h = item.size or (size, size)
    order = np.argsort([-(b[2] - b[0] + 1) * (b[3] - b[1] + 1) for b in item.boxes]) if len(item.boxes) else []
    for k in order:
        x0, y0, x1, y1 = item.boxes[k]
        c0, r0 = int(np.floor(x0 * size / w)), int(np.floor(y0 * size / h))
        c1, r1 = int(np.ceil((x1 + 1) * size / w)), int(np.ceil((y1 + 1) * size / h))
        out[max(r0, 0):min(r1, size), max(c0, 0):min(c1, size)] = int(item.box_labels[k]) + 1
    return out


class VOCSource:
    """PASCAL VOC 2012 train/val and VOC 2007 test under ``root`` (default ``<XAIBOOK_DATA>/voc``)."""

    name = "voc"
    generated = False
    context_class = None

    def __init__(self, root: Path | str | None = None):
        from ...data.voc import default_root
        self.root = Path(root).expanduser() if root is not None else default_root()

    @property
    def classes(self) -> tuple[str, ...]:
        from ...data.voc import VOC_CLASSES
        return VOC_CLASSES

    def available(self) -> bool:
        return self.root.is_dir()

    def describe(self) -> str:
        return "PASCAL VOC 2012 train (fine-tuning) and val, VOC 2007 test (hold-out), resized without crop"

    def splits(self, sizes: dict[str, int | None], image_size: int, seed: int) -> dict[str, Split]:
        from ...data.voc import list_voc
        from ...progress import bar

        check_voc_layout(self.root)
        out = {}
        for split, (year, image_set) in VOC_SPLITS.items():
            listing = list_voc(year, image_set, self.root)
            items = list(listing)
            n = sizes[split]
            if n is not None and n < len(items):
                keep = np.sort(np.random.default_rng([seed, SPLITS.index(split)]).choice(len(items), n, replace=False))
                items = [items[int(i)] for i in keep]
            key = {"root": str(self.root), "year": year, "set": image_set, "ids": [it.image_id for it in items],
                   "size": image_size}

            def load(items=items) -> dict:
                imgs = [_resize(it.path, image_size) for it in bar(items, desc=f"VOC {split}", unit="img")]
                return {"images": torch.stack(imgs), "labels": torch.tensor(np.stack([it.labels for it in items])),
                        "class_map": torch.stack([_box_map(it, image_size) for it in items])}

            d = cache.cached("alqaraawi2020.voc_split", key, load)
            out[split] = Split(d["images"], d["labels"].float(), d["class_map"], None, [it.image_id for it in items])
        return out


def data_source(name: str | None = None) -> Source:
    """``"voc"`` when ``<XAIBOOK_DATA>/voc`` exists (its layout is then checked), else the scenes."""
    if name is None:
        name = "voc" if VOCSource().available() else "scenes"
    if name == "scenes":
        return ScenesSource()
    if name == "voc":
        return VOCSource()
    raise ParameterError(f"source={name!r}; use 'scenes' or 'voc'")

