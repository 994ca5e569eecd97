"""Scene splits at the run's scale (rendered once, cached chunk by chunk) and data-set folders."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ... import config
from ...errors import ParameterError
from .images import Scenes, render_scenes
from .objects import CLASSES
from .sampling import SceneParams, im_task, sample_scenes


def default_sizes() -> dict[str, dict[str, int]]:
    """Dataset sizes at the run's scale: ``voc`` (multi-label scenes) and ``im`` (binary task)."""
    return config.scale().pick(
        smoke=dict(voc=dict(train=64, val=32, test=32, size=64), im=dict(train=64, val=32, test=32, size=64)),
        default=dict(voc=dict(train=3000, val=300, test=600, size=64),
                     im=dict(train=2000, val=200, test=400, size=64)),
        paper=dict(voc=dict(train=12000, val=1200, test=4800, size=128),
                   im=dict(train=10000, val=1000, test=2000, size=128)),
    )


_SPLIT_SEED = {"train": 0, "val": 1, "test": 2}


def _split(kind: str, split: str, n: int | None, size: int | None, seed: int) -> tuple[int, int, int]:
    """A split's image count, side (the scale's defaults for ``kind`` where None) and its own seed."""
    if split not in _SPLIT_SEED:
        raise ParameterError(f"split={split!r}; use one of {sorted(_SPLIT_SEED)}")
    sizes = default_sizes()[kind]
    return (sizes[split] if n is None else n, sizes["size"] if size is None else size,
            seed * 7919 + _SPLIT_SEED[split] + 1)


def _cached_render(name: str, key: dict, params: SceneParams, size: int, chunk: int, desc: str,
                   context: bool = False) -> Scenes:
    from ...cache import map_chunks

    def compute(rows: Sequence[int]) -> dict:
        s = render_scenes(params.subset(list(rows)), size=size, chunk=len(rows), context=context)
        out = {"images": (s.images * 255).round().to(torch.uint8), "labels": s.labels, "instances": s.instances,
               "classes": s.classes, "boxes": s.boxes, "scenes": s.scenes, "objects": s.objects}
        if context:
            out["context"] = s.context
        return out

    chunks = map_chunks(name, key, list(range(len(params))), compute, chunk, desc=desc)
    parts = [Scenes(c["images"].float() / 255, c["labels"], c["instances"], c["classes"], c["boxes"], c["scenes"],
                    c["objects"], c.get("context")) for c in chunks]
    return Scenes.cat(parts) if len(parts) > 1 else parts[0]


def voc_dataset(split: str = "train", n: int | None = None, seed: int = 0, size: int | None = None,
                max_objects: int = 3, chunk: int = 256, context: bool = False) -> Scenes:
    """Multi-label scenes (the PASCAL VOC stand-in) at the run's scale, rendered once and cached.

    ``context=True`` also returns the rails' mask (``Scenes.context``); the images are the same.
    """
    n, size, split_seed = _split("voc", split, n, size, seed)
    params = sample_scenes(n, seed=split_seed, max_objects=max_objects)
    key = {"split": split, "n": n, "seed": seed, "size": size, "max_objects": max_objects}
    if context:
        key["context"] = True
    return _cached_render("world.scenes.voc", key, params, size, chunk, f"scenes {split}", context)


def im_dataset(split: str = "train", mislabeled: bool = False, n: int | None = None, seed: int = 0,
               size: int | None = None, chunk: int = 256) -> Scenes:
    """Im et al.'s binary bus/train task at the run's scale (``mislabeled``: cars labelled positive)."""
    n, size, split_seed = _split("im", split, n, size, seed)
    params = im_task(n, seed=split_seed, mislabeled=mislabeled)
    key = {"split": split, "n": n, "seed": seed, "size": size, "mislabeled": bool(mislabeled)}
    return _cached_render("world.scenes.im", key, params, size, chunk, f"im task {split}")


#: The file that marks a scenes data set folder.
MARKERS = ("scenes.csv",)
#: Rough memory per scene held by the command line (float image, maps, copies, tables) in
#: units of pixels, plus a fixed part; and disk per scene (two PNGs, CSV rows). Estimates.
_RAM_PER_PIXEL, _RAM_FIXED, _DISK_PER_PIXEL, _DISK_FIXED = 32, 4_000, 2, 1_000


def write_folder(s: Scenes, out: Path | str, overwrite: bool = False) -> Path:
    """Write ``{id}.png``, ``{id}_instances.png``, ``scenes.csv`` (with a ``classes`` column) and
    ``objects.csv`` into ``out``, atomically (written beside ``out``, renamed when complete);
    an existing data set is replaced only with ``overwrite``."""
    from PIL import Image

    from ..writing import atomic_folder

    names = [",".join(CLASSES[j] for j in np.flatnonzero(row)) for row in s.labels.numpy()]
    with atomic_folder(out, MARKERS, overwrite) as tmp:
        imgs = (s.images * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        for i, rid in enumerate(s.scenes["id"]):
            Image.fromarray(imgs[i]).save(tmp / f"{rid}.png")
            Image.fromarray(s.instances[i].numpy()).save(tmp / f"{rid}_instances.png")
        sc = s.scenes.copy()
        sc["classes"] = names
        sc.to_csv(tmp / "scenes.csv", index=False)
        s.objects.to_csv(tmp / "objects.csv", index=False)
    return Path(out)
