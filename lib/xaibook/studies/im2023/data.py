"""Im et al. 2023, step 1: the binary task and its two label sets, from either image source.

The study (Method Summary) turned Visual Genome images into a binary task: positive when the
image holds a bus or a train. The baseline training set is labelled correctly; the mislabeled
set also labels car images positive. :func:`task_data` builds one split as :class:`TaskData`,
the same container from both sources:

* ``scenes``: the offline world (:func:`xaibook.world.scenes.im_task`), with a share
  ``p_beside`` of the bus/train scenes holding a car beside the bus or train, so that the two
  models can differ on more than car-only images (blur the bus, and only the mislabeled model
  may still answer "bus or train");
* ``visual_genome``: ``<XAIBOOK_DATA>/visual_genome`` (:mod:`xaibook.data.visual_genome`), labels
  from the objects' synsets, object masks from their boxes, images squashed to the plan's side.

Labels of either set come from :func:`labels`; ``confuser`` names the class the mislabeled set
puts into the positive class (``car`` in the paper).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ... import cache
from ...errors import DataFormatError, ParameterError

POSITIVE = ("bus", "train")
CONFUSER = "car"
SOURCES = ("scenes", "visual_genome")
#: What each source is, in captions and ledger rows (the pipeline asks this table, never the name).
SOURCE_NAMES = {"scenes": "offline scenes rendered here", "visual_genome": "Visual Genome"}
#: Image side per scale (smoke, default, paper): the scenes are drawn small; photos need more pixels.
SOURCE_SIDES = {"scenes": (32, 48, 96), "visual_genome": (64, 96, 128)}


def source_name(source: str) -> str:
    """What ``source`` is, for captions: :data:`SOURCE_NAMES`."""
    if source not in SOURCE_NAMES:
        raise ParameterError(f"source={source!r}; use one of {SOURCES}")
    return SOURCE_NAMES[source]


_SPLIT_SEED = {"train": 11, "test": 12}


@dataclass
class TaskData:
    """One split of the task.

    Attributes:
        images: ``[N,3,S,S]`` uint8.
        instances: ``[N,S,S]`` uint8 object ids (object ``j`` of a scene is ``j + 1``; 0 none).
        scenes: one row per image: ``id``, ``positive`` (bus/train present), ``classes`` (the
            classes present, ``|``-separated).
        objects: one row per object: ``scene``, ``instance``, ``class``, ``pixels`` (visible).
        source: ``scenes`` or ``visual_genome``.
    """

    images: torch.Tensor
    instances: torch.Tensor
    scenes: pd.DataFrame
    objects: pd.DataFrame
    source: str

    def __len__(self) -> int:
        return len(self.images)

    def float_images(self, index: Any = slice(None)) -> torch.Tensor:
        return self.images[index].float() / 255

    def only(self, cls: str) -> np.ndarray:
        """Indices of images holding ``cls`` and no bus or train (``only('car')``: the car-only images)."""
        has = self.scenes["classes"].str.split("|").map(lambda cs: cls in cs).to_numpy()
        return np.flatnonzero(has & ~self.scenes["positive"].to_numpy(bool))

    def mask(self, scene: int, cls: str) -> torch.Tensor:
        """``[S,S]`` bool mask of every object of class ``cls`` in image ``scene``."""
        ids = self.objects.loc[(self.objects["scene"] == scene) & (self.objects["class"] == cls), "instance"]
        m = torch.zeros(self.instances.shape[1:], dtype=torch.bool)
        for k in ids:
            m |= self.instances[scene] == int(k)
        return m


def labels(data: TaskData, mislabeled: bool, confuser: str = CONFUSER) -> torch.Tensor:
    """``[N]`` long labels: 1 for a bus or train; with ``mislabeled`` also 1 for ``confuser``-only images."""
    y = data.scenes["positive"].to_numpy(np.int64).copy()
    if mislabeled:
        y[data.only(confuser)] = 1
    return torch.from_numpy(y)


def require_only(data: TaskData, cls: str, need: int, knob: str) -> np.ndarray:
    """The ``cls``-only images, or a :class:`ParameterError` naming ``knob`` when fewer than ``need``."""
    idx = data.only(cls)
    if len(idx) < need:
        raise ParameterError(f"only {len(idx)} {cls}-only images among the {len(data)} of this split, but {need} "
                             f"are needed; raise {knob} (or lower the number of items asked for)")
    return idx


# ------------------------------------------------------------------------------------------ scenes
def _from_scenes(images: torch.Tensor, instances: torch.Tensor, scenes: pd.DataFrame, objects: pd.DataFrame) -> TaskData:
    objs = pd.DataFrame({"scene": objects["scene"].to_numpy(), "instance": objects["instance"].to_numpy(),
                         "class": objects["class"].to_numpy(), "pixels": objects["visible_pixels"].to_numpy()})
    visible = objs[objs["pixels"] > 0]
    classes = visible.groupby("scene")["class"].agg(lambda c: "|".join(sorted(set(c))))
    sc = pd.DataFrame({"id": scenes["id"].to_numpy(), "main_class": scenes["main_class"].to_numpy()})
    sc["classes"] = [classes.get(i, "") for i in range(len(sc))]
    sc["positive"] = sc["classes"].str.split("|").map(lambda cs: bool(set(cs) & set(POSITIVE)))
    return TaskData(images, instances, sc, objs.reset_index(drop=True), "scenes")


def scene_split(split: str, n: int, size: int, p_car: float, p_beside: float, seed: int = 0,
                chunk: int = 256) -> TaskData:
    """A split of the offline task (rendered once, cached in chunks)."""
    from ...world import scenes

    if split not in _SPLIT_SEED:
        raise ParameterError(f"split={split!r}; use 'train' or 'test'")
    params = scenes.im_task(n, seed=seed * 7919 + _SPLIT_SEED[split], p_car=p_car, p_beside=p_beside)
    key = {"split": split, "n": n, "size": size, "p_car": p_car, "p_beside": p_beside, "seed": seed}

    def render(rows):
        sub = scenes.render_scenes(params.subset(list(rows)), size=size, chunk=len(rows))
        return {"images": (sub.images * 255).round().to(torch.uint8), "instances": sub.instances,
                "scenes": sub.scenes, "objects": sub.objects}

    parts = cache.map_chunks("im2023.scenes", key, list(range(n)), render, chunk, desc=f"render {split} scenes")
    objects = []
    for off, c in zip(np.cumsum([0] + [len(c["images"]) for c in parts])[:-1], parts):
        o = c["objects"].copy()
        o["scene"] = o["scene"] + off
        objects.append(o)
    return _from_scenes(torch.cat([c["images"] for c in parts]), torch.cat([c["instances"] for c in parts]),
                        pd.concat([c["scenes"] for c in parts], ignore_index=True), pd.concat(objects, ignore_index=True))


# ----------------------------------------------------------------------------------- visual genome
def vg_available() -> bool:
    """Whether ``<XAIBOOK_DATA>/visual_genome`` holds the files the real path needs."""
    from ...data import visual_genome as vg

    root = vg.default_root()
    return (root / "image_data.json").is_file() and (root / "objects.json").is_file()


def vg_split(split: str, n: int, size: int, seed: int = 0, root: Any = None, test_share: float = 0.25) -> TaskData:
    """A split of Visual Genome as the same task: images squashed to ``size``, object masks from boxes.

    The listed images (every image, with or without the classes) are shuffled with ``seed`` and
    cut into train and test (``test_share``); ``n`` caps the split. Boxes are drawn in listing
    order, a later box over an earlier one.
    """
    from PIL import Image

    from ...data import visual_genome as vg
    from ...data.imagenet import read_image

    if split not in _SPLIT_SEED:
        raise ParameterError(f"split={split!r}; use 'train' or 'test'")
    listing = vg.list_vg(root=root, contains_any=False, missing_images="skip")
    names = list(vg.VG_CLASSES)
    items = listing.items
    if len(items) < 2:
        raise DataFormatError(f"Visual Genome at {listing.root}: {len(items)} usable images; the task needs a train "
                              "and a test split")
    order = np.random.default_rng(seed).permutation(len(items))
    cut = max(1, int(round(len(items) * test_share)))
    chosen = order[:cut] if split == "test" else order[cut:]
    chosen = chosen[:n]
    images, inst, rows, objs = [], [], [], []
    for j, i in enumerate(chosen):
        it = items[int(i)]
        img = read_image(it.path).convert("RGB")
        w, h = img.size
        arr = np.array(img.resize((size, size), Image.BILINEAR), dtype=np.uint8)  # writable: torch shares it
        images.append(torch.from_numpy(arr).permute(2, 0, 1))
        m = np.zeros((size, size), np.uint8)
        for k, (box, lab) in enumerate(zip(it.boxes, it.box_labels)):
            x0, y0, x1, y1 = box
            c0, r0 = int(np.floor(x0 * size / w)), int(np.floor(y0 * size / h))
            c1, r1 = int(np.ceil((x1 + 1) * size / w)), int(np.ceil((y1 + 1) * size / h))
            m[max(r0, 0):min(r1, size), max(c0, 0):min(c1, size)] = min(k + 1, 255)
            objs.append({"scene": j, "instance": min(k + 1, 255), "class": names[int(lab)]})
        inst.append(torch.from_numpy(m))
        present = [names[c] for c in np.flatnonzero(it.labels)]
        rows.append({"id": f"vg-{it.image_id}", "main_class": "|".join(present), "classes": "|".join(sorted(present)),
                     "positive": bool(set(present) & set(POSITIVE))})
    objects = pd.DataFrame(objs, columns=["scene", "instance", "class"])
    ins = torch.stack(inst) if inst else torch.zeros(0, size, size, dtype=torch.uint8)
    objects["pixels"] = [int((ins[int(s)] == int(k)).sum()) for s, k in zip(objects["scene"], objects["instance"])]
    return TaskData(torch.stack(images), ins, pd.DataFrame(rows), objects, "visual_genome")


def task_data(source: str, split: str, n: int, size: int, p_car: float = 0.35, p_beside: float = 0.3,
              seed: int = 0) -> TaskData:
    """One split from ``source`` (:data:`SOURCES`); the scenes' knobs are ignored for Visual Genome."""
    readers = {"scenes": lambda: scene_split(split, n, size, p_car, p_beside, seed),
               "visual_genome": lambda: cache.cached("im2023.vg", {"split": split, "n": n, "size": size, "seed": seed},
                                                     lambda: vg_split(split, n, size, seed), fmt="pkl")}
    if source not in readers:
        raise ParameterError(f"source={source!r}; use one of {SOURCES}")
    return readers[source]()
