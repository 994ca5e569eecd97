"""The error-cause knobs, the sampling of zoo parameter tables, and the categories C1-C5 the
knobs cause (Shen & Huang 2020, "Categorizing Error Cases"; the table in the
:mod:`xaibook.world.zoo` docstring).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ...errors import ParameterError
from .. import backgrounds as bgs
from ..render import CAMERA_X
from .creature import FRAME_HALF_WIDTH, creature_parts
from .species import _SPECIES, LOOKALIKE, morph_plan, species_indices


@dataclass(frozen=True)
class Knobs:
    """Rates of the error-cause knobs (each in [0, 1]; see the module docstring for categories).

    Attributes:
        context_rate: probability that an image's background is its class's signature context.
        context_species: the species whose context is correlated (None: every species).
        second_rate: probability of a second creature (another species) in the image.
        occlude_rate: probability of an occluder block in front of the creature.
        crop_rate: probability that the creature is shifted partly out of the frame.
        lookalike_rate: probability that the creature is morphed towards its look-alike species.
        lookalike_mix: range of the morph fraction (0 = the species itself, 1 = the look-alike).
        label_noise: probability that the gold label is replaced by another species.
    """

    context_rate: float = 0.0
    context_species: tuple[int, ...] | None = None
    second_rate: float = 0.0
    occlude_rate: float = 0.0
    crop_rate: float = 0.0
    lookalike_rate: float = 0.0
    lookalike_mix: tuple[float, float] = (0.3, 0.6)
    label_noise: float = 0.0

    def __post_init__(self) -> None:
        for f in ("context_rate", "second_rate", "occlude_rate", "crop_rate", "lookalike_rate", "label_noise"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0.0 <= float(v) <= 1.0:
                raise ParameterError(f"knob {f}={v!r} must be a probability in [0, 1]")
        lo, hi = self.lookalike_mix
        if not 0.0 <= lo <= hi <= 1.0:
            raise ParameterError(f"lookalike_mix={self.lookalike_mix!r} must be (lo, hi) with 0 <= lo <= hi <= 1")
        if self.context_species is not None:
            object.__setattr__(self, "context_species", tuple(int(i) for i in species_indices(self.context_species)))

    @classmethod
    def coerce(cls, knobs: "Knobs | Mapping[str, Any] | None") -> "Knobs":
        """Accept a :class:`Knobs`, a dict of its fields, or None (all off)."""
        if knobs is None:
            return cls()
        if isinstance(knobs, cls):
            return knobs
        if isinstance(knobs, Mapping):
            names = {f.name for f in fields(cls)}
            bad = sorted(set(knobs) - names)
            if bad:
                raise ParameterError(f"unknown knob(s) {bad}; the knobs are {sorted(names)}")
            return cls(**dict(knobs))
        raise ParameterError(f"knobs must be a Knobs, a dict or None, got {type(knobs).__name__}")


#: Which Shen & Huang (2020) error category each knob produces.
KNOB_CATEGORY: dict[str, str] = {"occluded": "C1", "cropped": "C1", "second": "C2", "lookalike": "C3",
                                 "context_fired": "C4", "label_flipped": "C5"}
#: Shen & Huang's names of the categories.
CATEGORY_NAMES: dict[str, str] = {"C1": "local character inference", "C2": "multiple objects selection",
                                  "C3": "similar appearance inference", "C4": "correlation learning",
                                  "C5": "incorrect gold-standard label"}

#: Context signatures: 6 background kinds x N_HUE_BINS hue bins; species s owns CONTEXT_OF[s].
N_HUE_BINS = int(math.ceil(len(_SPECIES) / len(bgs.KINDS)))
CONTEXT_OF: np.ndarray = np.random.default_rng(20200707).permutation(len(bgs.KINDS) * N_HUE_BINS)[:len(_SPECIES)]
_OWNER = np.full(len(bgs.KINDS) * N_HUE_BINS, -1, dtype=np.int64)
_OWNER[CONTEXT_OF] = np.arange(len(_SPECIES))


def _sample_creature(rng: np.random.Generator, species: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    n = len(species)
    hue = np.zeros(n)
    sat = np.zeros(n)
    val = np.zeros(n)
    rnd = np.zeros(n)
    bend = np.zeros(n)
    u = rng.uniform(size=(n, 5))
    for i, s in enumerate(species):
        p = _SPECIES[s].plan
        hue[i] = np.mod(p["hue"][0] + u[i, 0] * (p["hue"][1] - p["hue"][0]), 360.0)
        sat[i] = p["sat"][0] + u[i, 1] * (p["sat"][1] - p["sat"][0])
        val[i] = p["val"][0] + u[i, 2] * (p["val"][1] - p["val"][0])
        rnd[i] = p["roundness"][0] + u[i, 3] * (p["roundness"][1] - p["roundness"][0])
        bend[i] = (2 * u[i, 4] - 1) * p["bend_max"]
    return {
        prefix + "species": species.astype(np.int64),
        prefix + "facing": rng.choice([-1, 1], n).astype(np.int64),
        prefix + "turn": rng.uniform(-35, 35, n),
        prefix + "elev": rng.uniform(-5, 25, n),
        prefix + "tilt": np.clip(rng.normal(0, 8, n), -20, 20),
        prefix + "bend": bend,
        prefix + "scale": rng.uniform(0.85, 1.1, n),
        prefix + "pos_x": np.zeros(n),
        prefix + "pos_y": rng.uniform(-0.5, 0.5, n),
        prefix + "pos_z": rng.uniform(-0.5, 0.5, n),
        prefix + "hue": hue, prefix + "sat": sat, prefix + "val": val, prefix + "roundness": rnd,
        prefix + "shape_seed": rng.integers(0, 2**31 - 1, n),
    }


def sample_zoo(n: int, seed: int = 0, species: None | str | int | Iterable[int | str] = None,
               knobs: Knobs | Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Draw the parameter table of ``n`` zoo images (one row per image; deterministic in ``seed``).

    Args:
        n: number of images.
        seed: random seed (same seed, same table).
        species: which species to draw (None: all; a family name; names or indices). Classes
            are balanced: each selected species appears ``n / len(species)`` times (+-1).
        knobs: error-cause knobs (:class:`Knobs` or a dict of its fields); default all off.
    Returns:
        a DataFrame with the creature's pose, colour and shape seed; the background record
        (``bg_*``); the knob columns ``context_fired``, ``second``, ``occluded``, ``cropped``,
        ``lookalike``, ``label_flipped`` with their parameters; ``species`` (true class) and
        ``label`` (gold label, differs where ``label_flipped``); and ``knobs`` (fired knobs).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ParameterError(f"n={n!r} must be a non-negative int")
    kn = Knobs.coerce(knobs)
    sel = species_indices(species)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 3, 1]))
    main = sel[rng.permutation(np.arange(n) % len(sel))] if n else np.zeros(0, dtype=np.int64)
    cols: dict[str, Any] = {"id": [f"zoo-{seed}-{i:06d}" for i in range(n)]}
    cols.update(_sample_creature(rng, main, ""))

    # C3: look-alike morph
    look = rng.uniform(size=n) < kn.lookalike_rate
    cols["lookalike"] = look
    cols["lookalike_species"] = np.where(look, LOOKALIKE[main], -1)
    cols["lookalike_mix"] = np.where(look, rng.uniform(*kn.lookalike_mix, n), 0.0)
    if look.any():  # draw the colour from the morphed bands
        for i in np.flatnonzero(look):
            p = morph_plan(_SPECIES[main[i]].plan, _SPECIES[LOOKALIKE[main[i]]].plan, cols["lookalike_mix"][i])
            u = rng.uniform(size=4)
            cols["hue"][i] = np.mod(p["hue"][0] + u[0] * (p["hue"][1] - p["hue"][0]), 360.0)
            cols["sat"][i] = p["sat"][0] + u[1] * (p["sat"][1] - p["sat"][0])
            cols["val"][i] = p["val"][0] + u[2] * (p["val"][1] - p["val"][0])
            cols["roundness"][i] = p["roundness"][0] + u[3] * (p["roundness"][1] - p["roundness"][0])

    # C4: context correlated with the class
    bg = bgs.sample_backgrounds(n, rng)
    eligible = np.ones(n, dtype=bool) if kn.context_species is None else np.isin(main, kn.context_species)
    ctx = (rng.uniform(size=n) < kn.context_rate) & eligible
    if ctx.any():
        kind, hue = bgs.signature_to_background(CONTEXT_OF[main[ctx]], N_HUE_BINS, rng)
        bg["kind"][ctx] = kind
        bg["hue"][ctx] = hue
        bg["hue2"][ctx] = np.mod(hue + rng.uniform(25, 70, int(ctx.sum())) * rng.choice([-1, 1], int(ctx.sum())), 360)
    for k, v in bg.items():
        cols["bg_" + k] = v
    sig = bgs.context_signature(bg["kind"], bg["hue"], N_HUE_BINS)
    cols["bg_signature"] = sig
    cols["context_class"] = _OWNER[sig]
    cols["context_fired"] = ctx

    # C2: a second creature of another species, on the other side of the frame
    second = rng.uniform(size=n) < kn.second_rate
    other = (main + rng.integers(1, len(_SPECIES), n)) % len(_SPECIES)
    sec = _sample_creature(rng, other, "second_")
    side = rng.choice([-1.0, 1.0], n)
    cols["second"] = second
    sec["second_species"] = np.where(second, other, -1)
    sec["second_scale"] = sec["second_scale"] * 0.62
    sec["second_pos_y"] = np.where(second, -side * rng.uniform(1.4, 1.9, n), 0.0)
    sec["second_pos_x"] = np.where(second, rng.choice([-0.8, 0.8], n), 0.0)
    cols.update(sec)
    cols["scale"] = np.where(second, cols["scale"] * 0.62, cols["scale"])
    cols["pos_y"] = np.where(second, side * rng.uniform(1.4, 1.9, n), cols["pos_y"])

    # C1: cropping (shift towards a frame edge) and occlusion (a block in front)
    crop = rng.uniform(size=n) < kn.crop_rate
    axis = rng.integers(0, 2, n)  # 0: horizontal, 1: vertical
    sign = rng.choice([-1.0, 1.0], n)
    outside = rng.uniform(0.15, 0.5, n)  # target share of the creature pushed out of the frame
    cols["cropped"] = crop
    cols["crop_axis"] = np.where(crop, axis, -1)
    cols["crop_target"] = np.where(crop, outside, 0.0)
    for i in np.flatnonzero(crop):
        row = {k: v[i] for k, v in cols.items() if isinstance(v, np.ndarray)}
        row["pos_y"] = row["pos_z"] = 0.0
        a = creature_parts(row).arrays()
        weight = np.sort(a["half"], axis=1)[:, 1:].prod(1)  # about each block's projected area
        coord = sign[i] * a["center"][:, 1 + axis[i]]
        # the shift at which each block's centre reaches the frame edge (perspective at its depth)
        reach = FRAME_HALF_WIDTH * (CAMERA_X - a["center"][:, 0]) / CAMERA_X - coord
        order = np.argsort(reach)
        share = np.cumsum(weight[order]) / weight.sum()
        shift = reach[order][min(int(np.searchsorted(share, outside[i])), len(order) - 1)]
        cols["pos_y" if axis[i] == 0 else "pos_z"][i] = sign[i] * shift
    occ = rng.uniform(size=n) < kn.occlude_rate
    cols["occluded"] = occ
    cols["occ_y"] = np.where(occ, cols["pos_y"] + rng.uniform(-0.9, 0.9, n) * cols["scale"], 0.0)
    cols["occ_z"] = np.where(occ, cols["pos_z"] + rng.uniform(-0.5, 0.5, n) * cols["scale"], 0.0)
    cols["occ_w"] = np.where(occ, rng.uniform(0.6, 1.3, n) * cols["scale"], 0.0)
    cols["occ_h"] = np.where(occ, rng.uniform(0.8, 1.8, n) * cols["scale"], 0.0)
    cols["occ_tilt"] = np.where(occ, rng.uniform(-30, 30, n), 0.0)
    cols["occ_hue"] = rng.uniform(0, 360, n)
    cols["occ_sat"] = rng.uniform(0.0, 0.35, n)
    cols["occ_val"] = rng.uniform(0.25, 0.85, n)
    cols["occ_roundness"] = rng.uniform(0.0, 0.6, n)

    # C5: wrong gold labels
    flip = rng.uniform(size=n) < kn.label_noise
    wrong = (main + rng.integers(1, len(_SPECIES), n)) % len(_SPECIES)
    cols["label_flipped"] = flip
    cols["label"] = np.where(flip, wrong, main).astype(np.int64)
    df = pd.DataFrame(cols)
    df["knobs"] = [ "+".join(k for k in KNOB_CATEGORY if row[k]) for row in df[list(KNOB_CATEGORY)].to_dict("records")] \
        if n else []
    return df


def error_categories(records: pd.DataFrame, predictions: Sequence[int] | np.ndarray | torch.Tensor,
                     min_visible: float = 0.7) -> pd.DataFrame:
    """Shen & Huang's categories C1-C5 of each misclassified image, from the knobs' records.

    A misclassification (prediction != gold label) is attributed to
    C1 if under ``min_visible`` of the creature is visible (occluded or cropped);
    C2 if a second creature is present and the prediction is its species;
    C3 if the creature was morphed towards a look-alike and the prediction is that species;
    C4 if the prediction is the class whose signature context is the background;
    C5 if the gold label is wrong.
    Several may hold; ``category`` is the first in the order C5, C2, C3, C4, C1, else ``"other"``
    (and ``"correct"`` for correctly classified images).
    """
    pred = np.asarray(predictions.cpu() if isinstance(predictions, torch.Tensor) else predictions).astype(np.int64)
    if len(pred) != len(records):
        raise ParameterError(f"{len(pred)} predictions for {len(records)} records")
    wrong = pred != records["label"].to_numpy()
    out = pd.DataFrame({"id": records["id"].to_numpy(), "prediction": pred, "label": records["label"].to_numpy(),
                        "species": records["species"].to_numpy(), "wrong": wrong})
    vis = records["visible_fraction"].to_numpy() if "visible_fraction" in records else np.ones(len(pred))
    out["C1"] = wrong & (vis < min_visible)
    out["C2"] = wrong & records["second"].to_numpy() & (pred == records["second_species"].to_numpy())
    out["C3"] = wrong & records["lookalike"].to_numpy() & (pred == records["lookalike_species"].to_numpy())
    out["C4"] = wrong & (pred == records["context_class"].to_numpy()) & (pred != records["species"].to_numpy())
    out["C5"] = wrong & records["label_flipped"].to_numpy()
    cat = np.where(wrong, "other", "correct").astype(object)
    for c in ("C1", "C4", "C3", "C2", "C5"):  # later assignments take priority
        cat = np.where(out[c], c, cat)
    out["category"] = cat
    return out


