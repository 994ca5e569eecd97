"""Shen & Huang 2020: where the classifier and its misclassified images come from (Method, Step 1).

Two sides answer the same three questions, so the pipeline never asks which one it runs on:

* :class:`ZooSide` (offline default): a classifier trained here on the zoo
  (:mod:`xaibook.world.zoo`) with the error causes switched on (:data:`TRAIN_KNOBS` in its
  training data, :data:`TEST_KNOBS` in the images it labels), so every error has a
  ground-truth cause;
* :class:`ImageNetSide`: torchvision's ResNet-50 and the ImageNet validation folder under
  ``XAIBOOK_DATA`` (the released code's setting); real photos carry no recorded cause.

``classifier(p)`` returns a :class:`xaibook.data.sources.Classifier`; ``labelled(clf, p)`` a
:class:`Labelled` set (every image the classifier labelled, with its prediction and, on the
zoo, the knob record); ``families(clf)`` one family index per class (the "same family" of
C3 and of the hard distractors).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from ... import config
from ...data import sources
from ...data.sources import Classifier
from ...errors import DataNotFoundError, ParameterError

STUDY = "shen2020"
#: Error causes in the zoo classifier's training data: class-signature backgrounds (so context
#: co-occurs with the class and can be learnt: C4) and a few wrong gold labels (ImageNet's own).
TRAIN_KNOBS = {"context_rate": 0.6, "label_noise": 0.02}
#: Error causes in the images the classifier labels (Categorizing Error Cases): occlusion and
#: cropping (C1), a second creature (C2), look-alike morphs (C3), wrong gold labels (C5); the
#: backgrounds are random, so a learnt context points to another class (C4). Rates tuned by
#: hand toward the pooled shares of Tables 1-2 at the ``default`` scale.
TEST_KNOBS = {"occlude_rate": 0.15, "crop_rate": 0.1, "second_rate": 0.2, "lookalike_rate": 0.3,
              "label_noise": 0.04}
#: The knob (and size) to raise for each category when the pool runs short.
KNOB_OF = {"C1": "occlude_rate / crop_rate", "C2": "second_rate", "C3": "lookalike_rate",
           "C4": "TRAIN_KNOBS context_rate", "C5": "label_noise"}


@dataclass
class Labelled:
    """Every image the classifier labelled: ``table`` (``pool_index``, ``source_id``, ``label``,
    ``prediction``, ``confidence``, ``correct``), ``records`` (the zoo's knob record per image,
    None for real photos), ``load(index)`` the images ``[k,3,S,S]`` in [0, 1] exactly as classified."""

    source: str
    table: pd.DataFrame
    load: Callable[[Any], Any]
    records: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    key: dict = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return float(self.table["correct"].mean()) if len(self.table) else float("nan")


def class_embedding(model) -> "Any":
    """The classifier's class embedding: the weight ``[C, D]`` of its last linear layer."""
    from torch import nn

    linear = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linear:
        raise ParameterError("the classifier has no linear layer, so it has no class embedding")
    return linear[-1].weight.detach().float().cpu()


def _zoo_model(arch: str, n_classes: int):
    """``small_vgg`` (16-128 channels, batch norm) below ``paper``; a ResNet-50 with ``layer4`` unstrided at ``paper``."""
    from ...models import classifiers
    from ...models.wrappers import Normalized

    if arch == "small_vgg":
        return classifiers.small_vgg(n_classes, widths=(16, 32, 64, 128), batch_norm=True)
    if arch == "resnet50":
        from torchvision import models

        net = models.resnet50(weights=None, num_classes=n_classes)
        first = net.layer4[0]
        first.conv2.stride = (1, 1)
        first.downsample[0].stride = (1, 1)
        model = Normalized(net)
        model.gradcam_layer = "net.layer4"
        return model
    raise ParameterError(f"arch={arch!r}; the zoo side trains 'small_vgg' or 'resnet50'")


class ZooSide:
    """The offline zoo with Shen & Huang's error causes as knobs (module docstring)."""

    name = "zoo"
    pretrained = False

    def available(self) -> bool:
        return True

    def classifier(self, p) -> Classifier:
        from ...models.train import train_cached
        from ...world import zoo

        n_classes = len(zoo.SPECIES)
        params = {"arch": p.arch, "size": p.image_size, "n_train": p.train_images, "n_classes": n_classes,
                  "knobs": TRAIN_KNOBS, "seed": p.seed}
        train_kw = dict(epochs=p.epochs, batch_size=64, lr=3e-3, weight_decay=5e-4,
                        augment={"flip": True, "shift": max(1, p.image_size // 16)}, seed=p.seed,
                        desc=f"train {p.arch} on the zoo")
        model, history = train_cached(
            f"{STUDY}.zoo-classifier", params, lambda: _zoo_model(p.arch, n_classes),
            lambda: zoo.zoo_dataset("train", n=p.train_images, size=p.image_size, seed=p.seed, knobs=TRAIN_KNOBS),
            val_fn=lambda: zoo.zoo_dataset("val", n=max(48, p.train_images // 10), size=p.image_size, seed=p.seed,
                                           knobs=TRAIN_KNOBS), **train_kw)
        name = (f"{'ResNet-50' if p.arch == 'resnet50' else 'small VGG'} trained here ({p.train_images} zoo images "
                f"of {p.image_size} px, {p.epochs} epochs{config.precision_note()})")
        key = {"name": f"{STUDY}.zoo-classifier", **params, **{k: v for k, v in train_kw.items() if k != "desc"},
               **config.precision_key()}
        return Classifier(model.to(config.device()).eval(), list(zoo.SPECIES["name"]), self.name, name, key,
                          zoo.species_indices(zoo.FINE_GRAINED_FAMILY), model.gradcam_layer, p.image_size, history)

    def labelled(self, clf: Classifier, p) -> Labelled:
        from ...world import zoo

        z = zoo.zoo_dataset("test", n=p.pool_images, size=p.image_size, seed=p.seed, knobs=TEST_KNOBS)
        key = {"model": clf.key, "n": p.pool_images, "size": p.image_size, "seed": p.seed, "knobs": TEST_KNOBS}
        pred, conf = sources.predict_top1(STUDY, clf.model, z.images, key, desc="classify the zoo pool")
        labels = z.labels.numpy()
        table = pd.DataFrame({"pool_index": np.arange(len(labels)), "source_id": z.records["id"].to_numpy(),
                              "label": labels, "prediction": pred, "confidence": conf, "correct": pred == labels})
        knobs = ", ".join(f"{k.replace('_rate', '')} {v:.0%}" for k, v in TEST_KNOBS.items())
        notes = [f"{len(labels)} zoo test images of {p.image_size} px with error causes ({knobs})"]
        images = z.images

        def load(index):
            import torch

            return images[torch.as_tensor(np.array(index, dtype=np.int64).reshape(-1))]

        return Labelled(self.name, table, load, z.records.reset_index(drop=True), notes, key)

    def families(self, clf: Classifier) -> np.ndarray:
        from ...world import zoo

        return zoo.SPECIES["family_index"].to_numpy()

    def provenance(self, clf: Classifier) -> str:
        return f"offline zoo (world.zoo, error-cause knobs), {clf.name}"


class ImageNetSide:
    """ImageNet val under ``<XAIBOOK_DATA>/imagenet`` with torchvision's ResNet-50 (the released code)."""

    name = "imagenet"
    pretrained = True
    input_size = 224

    def available(self) -> bool:
        return sources.get("imagenet", STUDY).available()

    def classifier(self, p) -> Classifier:
        from ...data import imagenet
        from ...models.pretrained import torchvision_classifier

        model = torchvision_classifier("resnet50").to(config.device()).eval()
        return Classifier(model, list(model.categories), self.name, "torchvision ResNet-50 (IMAGENET1K_V1)",
                          {"arch": "resnet50", "weights": "IMAGENET1K_V1"}, np.asarray(imagenet.DOG_INDICES),
                          model.gradcam_layer, self.input_size)

    def labelled(self, clf: Classifier, p) -> Labelled:
        from ...data import imagenet

        src = sources.get("imagenet", STUDY)
        if not src.available():
            raise DataNotFoundError(f"{imagenet.default_root()} does not exist. {imagenet.HOW_TO_GET}")
        pool = src.pool(clf, "ImageNet", n=p.pool_images, image_size=self.input_size, seed=p.seed)
        table = pd.DataFrame({"pool_index": np.arange(len(pool)), "source_id": pool.ids, "label": pool.labels,
                              "prediction": pool.predictions, "confidence": pool.confidences,
                              "correct": pool.correct})
        return Labelled(self.name, table, pool.load, None, list(pool.notes), pool.key)

    def families(self, clf: Classifier) -> np.ndarray:
        """The 120 dog classes form one family; every other class is its own (no class tree here)."""
        fam = np.arange(len(clf.categories)) + 1
        fam[np.asarray(clf.dog_classes)] = 0
        return fam

    def provenance(self, clf: Classifier) -> str:
        return f"ImageNet val, {clf.name}"


SIDES = {"zoo": ZooSide, "imagenet": ImageNetSide}


def side(name: str):
    """The data side registered as ``name`` (``"zoo"`` or ``"imagenet"``)."""
    if name not in SIDES:
        raise ParameterError(f"source={name!r}; use one of {tuple(SIDES)}")
    return SIDES[name]()
