"""Zoo splits at the run's scale (rendered once, cached chunk by chunk), contact sheets and
data-set folders."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ... import config
from ...errors import ParameterError
from .images import ZooImages, render_zoo
from .sampling import Knobs, sample_zoo
from .species import species_indices


def default_sizes() -> dict[str, int]:
    """Dataset sizes at the run's scale (``XAIBOOK_SCALE``): images per split and image size."""
    return config.scale().pick(
        smoke=dict(train=96, val=48, test=48, size=64),
        default=dict(train=4800, val=480, test=960, size=64),
        paper=dict(train=48000, val=4800, test=9600, size=128),
    )


_SPLIT_SEED = {"train": 0, "val": 1, "test": 2}


def zoo_dataset(split: str = "train", n: int | None = None, seed: int = 0,
                species: None | str | int | Iterable[int | str] = None,
                knobs: Knobs | Mapping[str, Any] | None = None, size: int | None = None,
                chunk: int = 256) -> ZooImages:
    """A zoo split at the run's scale, rendered once and cached (chunk by chunk, resumable).

    Args:
        split: ``train``, ``val`` or ``test`` (each split has its own seed stream).
        n: number of images (default :func:`default_sizes`).
        seed: base seed.
        species: species selection (see :func:`species_indices`; ``"hounds"`` for the Dogs stand-in).
        knobs: error-cause knobs.
        size: image side (default :func:`default_sizes`).
        chunk: images per cached chunk.
    """
    from ...cache import map_chunks

    if split not in _SPLIT_SEED:
        raise ParameterError(f"split={split!r}; use one of {sorted(_SPLIT_SEED)}")
    sizes = default_sizes()
    n = sizes[split] if n is None else n
    size = sizes["size"] if size is None else size
    kn = Knobs.coerce(knobs)
    sel = species_indices(species)
    params = sample_zoo(n, seed=seed * 7919 + _SPLIT_SEED[split] + 1, species=sel, knobs=kn)
    key = {"split": split, "n": n, "seed": seed, "species": sel.tolist(), "knobs": asdict(kn), "size": size}

    def compute(rows: Sequence[int]) -> dict:
        z = render_zoo(params.iloc[list(rows)].reset_index(drop=True), size=size, chunk=len(rows))
        return {"images": (z.images * 255).round().to(torch.uint8), "masks": z.masks, "parts": z.parts,
                "boxes": z.boxes, "records": z.records}

    chunks = map_chunks("world.zoo", key, list(range(n)), compute, chunk, desc=f"zoo {split}")
    records = pd.concat([c["records"] for c in chunks], ignore_index=True)
    return ZooImages(torch.cat([c["images"] for c in chunks]).float() / 255,
                     torch.tensor(records["label"].to_numpy(dtype=np.int64)),
                     torch.cat([c["masks"] for c in chunks]), torch.cat([c["boxes"] for c in chunks]),
                     records, torch.cat([c["parts"] for c in chunks]))


# ---------------------------------------------------------------------------------------------
# contact sheets and data-set folders


def contact_sheet(images: torch.Tensor, captions: Sequence[str] | None = None, ncol: int = 8,
                  scale: int = 1) -> "Any":
    """A PIL image tiling ``images [N,3,H,W]`` in [0, 1], with an optional caption under each."""
    from PIL import Image, ImageDraw

    n, _, h, w = images.shape
    ncol = min(ncol, n)
    nrow = (n + ncol - 1) // ncol
    cap = 12 if captions is not None else 0
    sheet = Image.new("RGB", (ncol * w * scale, nrow * (h * scale + cap)), "white")
    draw = ImageDraw.Draw(sheet)
    arr = (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    for i in range(n):
        r, c = divmod(i, ncol)
        tile = Image.fromarray(arr[i])
        if scale != 1:
            tile = tile.resize((w * scale, h * scale), Image.NEAREST)
        sheet.paste(tile, (c * w * scale, r * (h * scale + cap)))
        if captions is not None:
            draw.text((c * w * scale + 2, r * (h * scale + cap) + h * scale), str(captions[i])[:w * scale // 6],
                      fill=(0, 0, 0))
    return sheet


#: The file that marks a zoo data set folder.
MARKERS = ("records.csv",)
#: Rough memory per image held by the command line (float image, masks, copies, record) in
#: units of pixels, plus a fixed part; and disk per image (two PNGs, a CSV row). Estimates.
_RAM_PER_PIXEL, _RAM_FIXED, _DISK_PER_PIXEL, _DISK_FIXED = 32, 4_000, 2, 1_000


def write_folder(z: ZooImages, out: Path | str, overwrite: bool = False) -> Path:
    """Write ``{id}.png``, ``{id}_mask.png`` (instance ids) and ``records.csv`` into ``out``.

    The folder is written beside ``out`` and renamed into place when complete; an existing
    data set is replaced only with ``overwrite``.
    """
    from PIL import Image

    from ..writing import atomic_folder

    with atomic_folder(out, MARKERS, overwrite) as tmp:
        imgs = (z.images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        for i, rid in enumerate(z.records["id"]):
            Image.fromarray(imgs[i]).save(tmp / f"{rid}.png")
            Image.fromarray(z.masks[i].numpy()).save(tmp / f"{rid}_mask.png")
        z.records.to_csv(tmp / "records.csv", index=False)
    return Path(out)

