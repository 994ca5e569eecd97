"""Image sources: where a study's classifier, images and neighbour bank come from.

A study pipeline never asks *which* data it runs on; it asks its :class:`ImageSource`::

    src = sources.get(name)                   # "zoo", "imagenet", "stanford_dogs"
    clf = src.classifier(arch=..., image_size=..., train_images=..., epochs=..., seed=...)
    pool = src.pool(clf, "ImageNet", n=..., image_size=..., seed=...)   # images + top-1 predictions
    bank = src.bank(clf, pool, exclude={...}, per_class=..., train_images=..., image_size=..., seed=...)
    ids, images = bank.images(cls)            # the 3-NN search space of one class
    src.provenance(clf)                       # the "data" line of every figure and ledger claim

The protocol (:class:`ImageSource`) is small on purpose:

``name``                    the key of :data:`SOURCES`
``pretrained``              True when the classifier comes with published weights (its input
                            side is ``input_size``), False when it is trained here
``input_size``              the classifier's input side for a pretrained source, else None
``near_duplicate_distance`` neighbours closer than this (feature L2) are dropped, or None
``available()``             the source's data are present
``classifier(...)``         a :class:`Classifier` (cached, resumable training where it is trained
                            here; ``on_epoch(epoch, record)`` is called after each epoch)
``pool(clf, dataset, ...)`` a :class:`Pool`: the filtered images of one experiment with the
                            classifier's top-1 label and confidence, boxes (and masks)
``bank(clf, pool, ...)``    a :class:`Bank` of labelled images per class for nearest neighbours
``seen_images(clf, ids)``   the images with these source ids (those people judged) as
                            ``(rows, images, boxes, missing)``, or None when the source's images
                            are not the ones people saw
``describe(...)``           one clause naming the classifier and images, for a plan's summary
``stand_in(clf, n)``        why a number computed on this source may differ from the paper's

To add scenes, PASCAL VOC or Visual Genome: write a class with these members (images as
``[k,3,S,S]`` floats in [0, 1], boxes ``[k,4]`` 0-based inclusive pixels of the model input),
register it in :data:`SOURCES`, and the pipelines run on it unchanged. Cache entries are named
``<study>.<what>`` (``study`` is given to the constructor), so two studies never share one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
import pandas as pd

from .. import config
from ..errors import DataFormatError, DataNotFoundError, ParameterError

#: The fine-grained experiment's name (Stanford Dogs in the paper; the zoo's hounds offline).
FINE_GRAINED = "Dogs"
#: Error-cause knobs of the zoo (:class:`xaibook.world.zoo.Knobs`) at low rates in its test images
#: (the training images are clean): occluded, cropped, look-alike and two-creature images.
ZOO_KNOBS = {"occlude_rate": 0.1, "crop_rate": 0.05, "lookalike_rate": 0.15, "second_rate": 0.1}


@dataclass
class Classifier:
    """A classifier and what downstream steps need to know about it.

    ``source`` is the :data:`SOURCES` key it came from, ``key`` identifies the weights in cache
    keys; ``dog_classes`` are the classes of the fine-grained experiment.
    """

    model: "Any"
    categories: list[str]
    source: str
    name: str
    key: dict
    dog_classes: np.ndarray
    gradcam_layer: str
    input_size: int
    history: pd.DataFrame | None = None

    @property
    def provenance(self) -> str:
        return get(self.source).provenance(self)


@dataclass
class Pool:
    """The filtered images of one experiment with the classifier's top-1 label and confidence.

    ``boxes`` are per image ``[k,4]`` ground-truth boxes ``(x0, y0, x1, y1)`` in 0-based
    inclusive pixels of the model input; ``masks`` (zoo only) the labelled creature's pixels.
    Images are in memory (``images``, uint8) or read from disk (``items`` with a ``path``).
    """

    dataset: str
    source: str
    ids: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    confidences: np.ndarray
    boxes: list
    masks: "Any" = None
    images: "Any" = None
    items: list | None = None
    notes: list[str] = field(default_factory=list)
    key: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def correct(self) -> np.ndarray:
        return self.predictions == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self) else float("nan")

    def load(self, index) -> "Any":
        """Images ``[k,3,S,S]`` in [0, 1] at positions ``index`` of the pool."""
        import torch

        index = np.array(index, dtype=np.int64).reshape(-1)  # a writable copy for torch
        if self.images is not None:
            return self.images[torch.as_tensor(index)].float() / 255.0
        from .imagenet import preprocess, read_image

        return torch.stack([preprocess(read_image(self.items[i].path)) for i in index])

    def table(self) -> pd.DataFrame:
        """One row per image: id, label, prediction, confidence, correct and its bin (None: no bin)."""
        from ..stats import assign_bins

        return pd.DataFrame({"dataset": self.dataset, "source_id": self.ids, "label": self.labels,
                             "prediction": self.predictions, "confidence": self.confidences, "correct": self.correct,
                             "bin": pd.Series(assign_bins(self.confidences, self.correct) if len(self) else [],
                                              dtype=object)})


@runtime_checkable
class Bank(Protocol):
    """Labelled images per class for the nearest-neighbour explanation."""

    note: str

    def images(self, cls: int) -> tuple[np.ndarray, "Any"]:
        """``(ids, images [k,3,S,S])`` of class ``cls``."""


@runtime_checkable
class ImageSource(Protocol):
    """Where a pipeline's classifier, images and neighbour bank come from (module docstring)."""

    name: str
    pretrained: bool
    input_size: int | None
    near_duplicate_distance: float | None

    def available(self) -> bool: ...

    def classifier(self, *, arch: str, image_size: int, train_images: int, epochs: int, seed: int,
                   on_epoch: Any = None) -> Classifier: ...

    def pool(self, clf: Classifier, dataset: str, *, n: int | None, image_size: int, seed: int) -> Pool: ...

    def bank(self, clf: Classifier, pool: Pool, exclude: set, *, per_class: int | None, train_images: int,
             image_size: int, seed: int) -> Bank: ...

    def seen_images(self, clf: Classifier, source_ids: Sequence[str]) -> tuple | None: ...

    def describe(self, *, arch: str, image_size: int, train_images: int, epochs: int) -> str: ...

    def provenance(self, clf: Classifier) -> str: ...

    def stand_in(self, clf: Classifier, n_images: int | None = None) -> str: ...


def predict_top1(study: str, model, images_or_dataset, key: dict, desc: str) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 label and confidence of every image, cached as ``<study>.predictions``."""
    from ..cache import cached
    from ..models.inference import predict

    def compute():
        probs = predict(model, images_or_dataset, output="probabilities", desc=desc, batch_size=128)
        conf, pred = probs.max(dim=1)
        return {"prediction": pred.numpy(), "confidence": conf.double().numpy()}

    out = cached(f"{study}.predictions", key, compute, fmt="pkl")
    return out["prediction"].astype(np.int64), out["confidence"].astype(np.float64)


def _check_dataset(dataset: str, allowed: Sequence[str]) -> None:
    if dataset not in allowed:
        raise ParameterError(f"dataset={dataset!r}; use one of {tuple(allowed)}")


def _keep_fine_grained(clf: Classifier, dataset: str, pred: np.ndarray, notes: list[str]) -> np.ndarray:
    """The fine-grained experiment drops images the classifier labels outside its classes (Sec. 2.4.3)."""
    from . import published

    keep = np.ones(len(pred), dtype=bool)
    if dataset == FINE_GRAINED:
        keep = np.isin(pred, clf.dog_classes)
        removed = published.ref("nguyen2021_methods", dataset="Dogs", metric="non_dog_predictions_removed").value
        before = published.ref("nguyen2021_methods", dataset="Dogs", metric="images_available_before_dog_filter").value
        notes.append(f"{int((~keep).sum())} images labelled by the classifier as a non-dog class removed "
                     f"(paper: {removed:.0f} of {before:,.0f}), {int(keep.sum())} left")
    return keep


def _subset(pool_fields: dict, keep: np.ndarray) -> dict:
    """The pool's per-image fields at the kept positions."""
    import torch

    idx = np.flatnonzero(keep)
    out = dict(pool_fields)
    for k in ("ids", "labels", "predictions", "confidences"):
        out[k] = pool_fields[k][idx]
    out["boxes"] = [pool_fields["boxes"][i] for i in idx]
    for k in ("masks", "images"):
        if pool_fields.get(k) is not None:
            out[k] = pool_fields[k][torch.as_tensor(idx)]
    if pool_fields.get("items") is not None:
        out["items"] = [pool_fields["items"][i] for i in idx]
    return out


# --------------------------------------------------------------------------------------
# the offline zoo


def zoo_resnet(depth: int, n_classes: int) -> "Any":
    """A torchvision ResNet-``depth`` for small zoo images: the ImageNet stem (7x7/2 convolution
    and max-pool) and a ``layer4`` without its stride.

    ``layer4`` then is a 4x4 grid at 64 px (8x8 at 128 px), the small-image analogue of the
    7x7 ``layer4`` of ResNet-34 at 224 px that Grad-CAM and the 3-NN features read.
    """
    from ..models.classifiers import resnet

    model = resnet(depth, n_classes=n_classes, small_input=False)
    first = model.net.layer4[0]
    first.conv1.stride = (1, 1)
    first.downsample[0].stride = (1, 1)
    return model


class _ZooBank:
    def __init__(self, train_images: int, image_size: int, per_class: int | None, seed: int):
        from ..world import zoo

        self.zoo = zoo.zoo_dataset("train", n=train_images, size=image_size, seed=seed)
        self.ids = self.zoo.records["id"].to_numpy(dtype=object)
        self.labels = self.zoo.labels.numpy()
        self.cap, self.rng = per_class, np.random.default_rng([seed, 13])
        self.note = "3-NN bank: the classifier's zoo training images"

    def images(self, cls: int):
        import torch

        idx = np.flatnonzero(self.labels == cls)
        if self.cap is not None and len(idx) > self.cap:
            idx = np.sort(self.rng.choice(idx, self.cap, replace=False))
        return self.ids[idx], self.zoo.images[torch.as_tensor(idx, dtype=torch.long)]


class ZooSource:
    """The offline zoo (:mod:`xaibook.world.zoo`): a ResNet trained here on its 48 species; the
    hounds play the fine-grained breeds; test images carry :data:`ZOO_KNOBS` error causes."""

    name = "zoo"
    pretrained = False
    input_size = None
    near_duplicate_distance = None

    def __init__(self, study: str = "nguyen2021", knobs: dict | None = None):
        self.study = study
        self.knobs = dict(ZOO_KNOBS if knobs is None else knobs)

    def available(self) -> bool:
        return True

    def classifier(self, *, arch: str, image_size: int, train_images: int, epochs: int, seed: int,
                   on_epoch: Any = None) -> Classifier:
        from ..models.train import train_cached
        from ..world import zoo

        depth = int(arch.replace("resnet", ""))
        n_classes = len(zoo.SPECIES)
        params = {"arch": arch, "stem": "imagenet, layer4 stride 1", "size": image_size, "n_train": train_images,
                  "n_classes": n_classes, "seed": seed}
        train_kw = dict(epochs=epochs, batch_size=64, lr=2e-3, weight_decay=5e-4,
                        augment={"flip": True, "shift": max(1, image_size // 16)}, seed=seed,
                        desc=f"train {arch} on the zoo")
        model, history = train_cached(
            f"{self.study}.zoo-classifier", params, lambda: zoo_resnet(depth, n_classes),
            lambda: zoo.zoo_dataset("train", n=train_images, size=image_size, seed=seed),
            val_fn=lambda: zoo.zoo_dataset("val", n=max(48, train_images // 10), size=image_size, seed=seed),
            on_epoch=on_epoch, **train_kw)
        name = (f"{arch.replace('resnet', 'ResNet-')} trained here ({train_images} images of {image_size} px, "
                f"{epochs} epochs{config.precision_note()})")
        key = {"name": f"{self.study}.zoo-classifier", **params, **{k: v for k, v in train_kw.items() if k != "desc"},
               **config.precision_key()}
        return Classifier(model.eval(), list(zoo.SPECIES["name"]), self.name, name, key,
                          zoo.species_indices(zoo.FINE_GRAINED_FAMILY), model.gradcam_layer, image_size, history)

    def pool(self, clf: Classifier, dataset: str, *, n: int | None, image_size: int, seed: int) -> Pool:
        import torch

        from ..cache import digest
        from ..world import zoo

        _check_dataset(dataset, ("ImageNet", FINE_GRAINED))
        species = None if dataset == "ImageNet" else zoo.FINE_GRAINED_FAMILY
        z = zoo.zoo_dataset("test", n=n, size=image_size, seed=seed, species=species, knobs=self.knobs)
        key = {"model": clf.key, "pool": dataset, "n": n, "size": image_size, "seed": seed}
        pred, conf = predict_top1(self.study, clf.model, z.images, key, desc=f"classify {dataset} pool")
        knobs = ", ".join(f"{k.replace('_rate', '')} {v:.0%}" for k, v in self.knobs.items())
        notes = [f"{len(z.labels)} zoo test images ({'all 48 species' if species is None else 'the hounds'}; "
                 f"error causes: {knobs}), {image_size} px, all in colour: the colour and size filter removes none"]
        fields = {"ids": z.records["id"].to_numpy(dtype=object), "labels": z.labels.numpy(), "predictions": pred,
                  "confidences": conf,
                  "boxes": [b.reshape(1, 4) - np.array([0, 0, 1, 1], dtype=np.float32) for b in z.boxes.numpy()],
                  "images": (z.images * 255).round().to(torch.uint8), "masks": z.masks == zoo.MAIN, "items": None}
        f = _subset(fields, _keep_fine_grained(clf, dataset, pred, notes))
        return Pool(dataset, self.name, f["ids"], f["labels"], f["predictions"], f["confidences"], f["boxes"],
                    masks=f["masks"], images=f["images"], items=None, notes=notes,
                    key={"pool": dataset, "images": digest(f["ids"]), "model": clf.key})

    def bank(self, clf: Classifier, pool: Pool, exclude: set, *, per_class: int | None, train_images: int,
             image_size: int, seed: int) -> Bank:
        return _ZooBank(train_images, image_size, per_class, seed)

    def seen_images(self, clf: Classifier, source_ids: Sequence[str]) -> None:
        return None  # nobody judged the zoo's images

    def describe(self, *, arch: str, image_size: int, train_images: int, epochs: int) -> str:
        return f"{arch} trained here on {train_images} zoo images of {image_size} px, {epochs} epochs"

    def provenance(self, clf: Classifier) -> str:
        return "offline zoo (world.zoo), " + clf.name

    def stand_in(self, clf: Classifier, n_images: int | None = None) -> str:
        return f"offline zoo stand-in for ImageNet ({clf.name}) at scale {config.scale().name}"


# --------------------------------------------------------------------------------------
# ImageNet validation images with torchvision's ResNet-34


class _FileBank:
    """Per-class images from class folders (``train/<wnid>/``) or, failing that, from a list of items."""

    def __init__(self, train_root, fallback_items: list, fallback_labels: np.ndarray, per_class: int | None,
                 seed: int, note: str):
        self.train_root, self.items, self.labels = train_root, fallback_items, fallback_labels
        self.cap, self.rng, self.note = per_class, np.random.default_rng([seed, 13]), note

    def images(self, cls: int):
        import torch

        from .imagenet import IMAGE_EXTENSIONS, preprocess, read_image, wnids

        if self.train_root is not None and self.train_root.is_dir():
            folder = self.train_root / wnids()[cls]
            files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS) if folder.is_dir() else []
            if self.cap is not None and len(files) > self.cap:
                files = [files[i] for i in sorted(self.rng.choice(len(files), self.cap, replace=False))]
            ids = np.asarray([f.stem for f in files], dtype=object)
        else:
            pos = np.flatnonzero(self.labels == cls)
            if self.cap is not None and len(pos) > self.cap:
                pos = np.sort(self.rng.choice(pos, self.cap, replace=False))
            files = [self.items[i].path for i in pos]
            ids = np.asarray([self.items[i].image_id for i in pos], dtype=object)
        if not files:
            return ids, torch.zeros(0, 3, ImageNetSource.input_size, ImageNetSource.input_size)
        return ids, torch.stack([preprocess(read_image(f)) for f in files])


def _file_pool(study: str, src: str, clf: Classifier, dataset: str, items: list, n: int | None, seed: int,
               notes: list[str], index: int) -> Pool:
    """A pool of image files (``items`` with ``path``, ``label``, ``boxes``, ``size``), a random
    ``n`` of them, with the classifier's predictions and boxes mapped into the 224-px crop."""
    from ..cache import digest
    from . import imagenet

    if not items:
        raise DataFormatError(f"no usable {dataset} image after filtering; see the listing report above")
    if n is not None and len(items) > n:
        rng = np.random.default_rng([seed, index])
        items = [items[i] for i in sorted(rng.choice(len(items), n, replace=False))]
        notes.append(f"a random {n} of them at this scale")
    ids = np.asarray([it.image_id for it in items], dtype=object)
    key = {"model": clf.key, "images": digest(ids)}
    pred, conf = predict_top1(study, clf.model, imagenet.ImageDataset(items), key, desc=f"classify {dataset} pool")
    boxes = []
    for it in items:
        size = it.size if it.size is not None else imagenet.image_header(it.path)[:2]
        boxes.append(imagenet.boxes_after_preprocess(it.boxes, size[0], size[1]))
    fields = {"ids": ids, "labels": np.asarray([it.label for it in items], dtype=np.int64), "predictions": pred,
              "confidences": conf, "boxes": boxes, "images": None, "masks": None, "items": items}
    f = _subset(fields, _keep_fine_grained(clf, dataset, pred, notes))
    return Pool(dataset, src, f["ids"], f["labels"], f["predictions"], f["confidences"], f["boxes"],
                items=f["items"], notes=notes, key={"pool": dataset, "images": digest(f["ids"]), "model": clf.key})


class ImageNetSource:
    """ImageNet validation images under ``<XAIBOOK_DATA>/imagenet`` (greyscale and images under
    224 px removed, Sec. 2.4.3) with torchvision's ResNet-34; the fine-grained experiment uses
    the validation images of the 120 Stanford Dogs classes, as the paper did."""

    name = "imagenet"
    pretrained = True
    input_size = 224
    near_duplicate_distance = 100.0  # the authors' code drops closer neighbours as near-duplicates

    def __init__(self, study: str = "nguyen2021"):
        self.study = study

    def available(self) -> bool:
        from . import imagenet

        return imagenet.default_root().is_dir()

    def classifier(self, *, arch: str = "resnet34", image_size: int = 224, train_images: int = 0, epochs: int = 0,
                   seed: int = 0, on_epoch: Any = None) -> Classifier:
        from ..models.pretrained import torchvision_classifier
        from . import imagenet

        model = torchvision_classifier("resnet34").to(config.device()).eval()
        return Classifier(model, list(model.categories), self.name, "torchvision ResNet-34 (IMAGENET1K_V1)",
                          {"arch": "resnet34", "weights": "IMAGENET1K_V1"}, np.asarray(imagenet.DOG_INDICES),
                          model.gradcam_layer, self.input_size)

    def listing(self) -> "Any":
        """The filtered validation listing (colour, shorter side >= 224 px, with boxes), cached."""
        from ..cache import cached
        from . import imagenet

        root = imagenet.default_root()
        val = next((c for c in (root / "val", root / "ILSVRC2012_img_val", root / "ILSVRC" / "Data" / "CLS-LOC" / "val")
                    if c.is_dir()), root)
        key = {"root": str(root), "mtime": val.stat().st_mtime if val.exists() else 0}
        return cached(f"{self.study}.imagenet-listing", key,
                      lambda: imagenet.filter_images(imagenet.list_val(root, boxes=True), min_side=224, rgb=True),
                      fmt="pkl")

    def pool(self, clf: Classifier, dataset: str, *, n: int | None, image_size: int = 224, seed: int = 0) -> Pool:
        from . import imagenet

        _check_dataset(dataset, ("ImageNet", FINE_GRAINED))
        listing = self.listing()
        notes = [listing.report(max_lines=3)]
        dogs = set(imagenet.DOG_INDICES)
        items = [it for it in listing.items if dataset == "ImageNet" or it.label in dogs]
        if dataset == FINE_GRAINED:
            notes.append(f"{len(items)} images of the 120 Stanford Dogs classes")
        if not items:
            raise DataFormatError(f"the ImageNet validation set at {listing.root} holds no usable {dataset} image "
                                  "after filtering; see the listing report above")
        return _file_pool(self.study, self.name, clf, dataset, items, n, seed, notes,
                          ("ImageNet", FINE_GRAINED).index(dataset))

    def bank(self, clf: Classifier, pool: Pool, exclude: set, *, per_class: int | None, train_images: int = 0,
             image_size: int = 224, seed: int = 0) -> Bank:
        from . import imagenet

        train_root = imagenet.default_root() / "train"
        if train_root.is_dir():
            return _FileBank(train_root, [], np.zeros(0), per_class, seed,
                             f"3-NN bank: ImageNet training images under {train_root}")
        keep = [i for i in range(len(pool)) if i not in exclude]
        return _FileBank(None, [pool.items[i] for i in keep], np.asarray([pool.labels[i] for i in keep]), per_class,
                         seed, f"3-NN bank: {train_root} is absent, so the neighbours come from the other filtered "
                               "validation images of the class (the paper searched the training set)")

    def seen_images(self, clf: Classifier, source_ids: Sequence[str]) -> tuple:
        """``(rows, images, boxes, missing)`` for validation images by id (``ILSVRC2012_val_...``)."""
        import torch

        from . import imagenet

        by_id = {it.image_id: it for it in self.listing().items}
        rows, images, boxes, missing = [], [], [], []
        for sid in source_ids:
            it = by_id.get(sid)
            if it is None:
                missing.append(sid)
                continue
            size = it.size if it.size is not None else imagenet.image_header(it.path)[:2]
            rows.append({"source_id": it.image_id, "label": it.label})
            images.append(imagenet.preprocess(imagenet.read_image(it.path)))
            boxes.append(imagenet.boxes_after_preprocess(it.boxes, size[0], size[1]))
        return rows, (torch.stack(images) if images else None), boxes, missing

    def describe(self, **_: Any) -> str:
        return "torchvision ResNet-34 (ImageNet weights) on ImageNet val"

    def provenance(self, clf: Classifier) -> str:
        return "ImageNet val, " + clf.name

    def stand_in(self, clf: Classifier, n_images: int | None = None) -> str:
        n = f"{n_images} images" if n_images is not None else "a subset"
        return f"ImageNet val, {n} at scale {config.scale().name} (the paper used every filtered image)"


# --------------------------------------------------------------------------------------
# Stanford Dogs' own images with the ImageNet classifier


class StanfordDogsSource(ImageNetSource):
    """The fine-grained experiment on Stanford Dogs' own test images (``<XAIBOOK_DATA>/stanford_dogs``,
    :mod:`xaibook.data.dogs`) with torchvision's ResNet-34; neighbours from its training split.
    It offers only the fine-grained experiment (the paper's Dogs images came from ImageNet val;
    this source is the larger, separately annotated set of the same 120 breeds)."""

    name = "stanford_dogs"

    def available(self) -> bool:
        from . import dogs

        return dogs.default_root().is_dir()

    def pool(self, clf: Classifier, dataset: str, *, n: int | None, image_size: int = 224, seed: int = 0) -> Pool:
        from . import dogs, imagenet

        _check_dataset(dataset, (FINE_GRAINED,))
        if not self.available():
            raise DataNotFoundError(f"{dogs.default_root()} does not exist. {dogs.HOW_TO_GET}")
        listing = imagenet.filter_images(dogs.list_dogs("test", boxes=True), min_side=224, rgb=True)
        notes = [listing.report(max_lines=3)]
        return _file_pool(self.study, self.name, clf, dataset, list(listing.items), n, seed, notes, 1)

    def bank(self, clf: Classifier, pool: Pool, exclude: set, *, per_class: int | None, train_images: int = 0,
             image_size: int = 224, seed: int = 0) -> Bank:
        from . import dogs

        train = dogs.list_dogs("train", boxes=False)
        return _FileBank(None, list(train.items), np.asarray([it.label for it in train.items]), per_class, seed,
                         f"3-NN bank: Stanford Dogs training images under {dogs.default_root()}")

    def seen_images(self, clf: Classifier, source_ids: Sequence[str]) -> None:
        return None  # people judged ImageNet validation images, not these

    def describe(self, **_: Any) -> str:
        return "torchvision ResNet-34 (ImageNet weights) on Stanford Dogs test images"

    def provenance(self, clf: Classifier) -> str:
        return "Stanford Dogs test images, " + clf.name

    def stand_in(self, clf: Classifier, n_images: int | None = None) -> str:
        return f"Stanford Dogs test images instead of ImageNet val at scale {config.scale().name}"


#: The registered sources by name.
SOURCES: dict[str, type] = {"zoo": ZooSource, "imagenet": ImageNetSource, "stanford_dogs": StanfordDogsSource}


def get(name: str, study: str = "nguyen2021") -> ImageSource:
    """The source registered as ``name`` (cache entries named ``<study>.<what>``)."""
    if name not in SOURCES:
        raise ParameterError(f"source={name!r}; use one of {tuple(SOURCES)}")
    return SOURCES[name](study)
