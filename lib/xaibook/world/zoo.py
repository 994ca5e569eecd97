"""A zoo of block-built species: the offline stand-in for ImageNet and Stanford Dogs.

The zoo has 48 species in 10 families. Families differ in body plan (spine blocks, leg pairs,
neck, head, tail, fins, wings, proportions); species within a family differ subtly (leg
placement and length, ear carriage, tail carriage, hue band, roundness band). The ``hounds``
family (12 close species) stands in for Stanford Dogs, the whole zoo for ImageNet
(Nguyen et al. 2021, Sec. 3). Images vary in pose (facing, turn, elevation, in-plane tilt,
spine bend), scale, position and background (plain, gradient, stripes, checker, dots, noise),
so a classifier has to learn shape rather than trivia.

The causes of classifier errors that Shen & Huang (2020, "Categorizing Error Cases") coded by
hand are knobs here, each with a per-image record, so their categories C1-C5 come from ground
truth (:data:`KNOB_CATEGORY`, :func:`error_categories`):

=====================  ====  ===========================================================
knob                   cat.  what it does
=====================  ====  ===========================================================
``occlude_rate``       C1    an occluder block in front of the creature (local evidence)
``crop_rate``          C1    the creature partly outside the frame
``second_rate``        C2    a second creature of another species in the image
``lookalike_rate``     C3    the creature's body plan and colours morphed towards its
                             nearest look-alike species (an atypical member)
``context_rate``       C4    the background takes the class's signature context (kind and
                             hue band) at this rate, so context co-occurs with the class
``label_noise``        C5    the gold label replaced by another species
=====================  ====  ===========================================================

    >>> params = sample_zoo(16, seed=0, knobs={"second_rate": 0.5})
    >>> images, labels, masks, boxes, records = render_zoo(params, size=64)

Instance ids in ``masks``: 0 background, 1 the labelled creature, 2 the second creature,
3 the occluder. Part labels (``.parts``): see :data:`PART_LABELS`.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .. import config
from ..errors import ParameterError
from . import backgrounds as bgs
from .render import CAMERA_X, FOCAL_MM, SENSOR_MM
# the geometry lives in blocks.py; these names stay importable from zoo for old callers
from .blocks import PART_LABELS, Parts, blocks_from_parts, pose_rotation, rx, ry, rz  # noqa: F401

# ---------------------------------------------------------------------------------------------
# instance ids

#: Instance ids: the labelled creature, the second creature (C2 knob) and the occluder (C1 knob).
MAIN, SECOND, OCCLUDER = 1, 2, 3


# ---------------------------------------------------------------------------------------------
# body plans

#: Continuous plan parameters (morphable between species of one family, jittered per image).
_SIZE_KEYS = ("seg_len", "seg_h", "seg_w", "leg_len", "leg_len2", "leg_th", "neck_len", "neck_th", "head_l",
              "head_h", "head_w", "snout_l", "snout_h", "ear_len", "ear_w", "tail_len", "tail_th", "tail_fin",
              "fin_h", "fin_l", "wing_l", "wing_h", "antenna_len", "trunk_len", "trunk_th")
_ANGLE_KEYS = ("neck_angle", "head_tilt", "ear_angle", "tail_angle", "tail_curl", "incline", "leg_splay")

#: The default body plan every family starts from (also the base of the scenes' animals).
BASE_PLAN: dict[str, Any] = dict(
    n_spine=3, seg_len=0.75, seg_h=0.65, seg_w=0.55, taper=0.0, incline=0.0,
    legs=((0.12, 0.0, 0.0, 1.0), (0.88, 0.0, 0.0, 1.0)),  # (place along spine, lean, knee, length scale)
    leg_len=0.9, leg_len2=0.0, leg_th=0.2, leg_splay=0.0,
    neck_n=1, neck_len=0.35, neck_th=0.32, neck_angle=50.0,
    head_l=0.55, head_h=0.45, head_w=0.42, head_tilt=-5.0, eyes=1,
    snout_l=0.35, snout_h=0.24,
    ear_len=0.3, ear_w=0.16, ear_angle=15.0,
    tail_n=2, tail_len=0.35, tail_th=0.12, tail_angle=35.0, tail_curl=0.0, tail_fin=0.0,
    fin_h=0.0, fin_l=0.0, wing_l=0.0, wing_h=0.0, antenna_len=0.0,
    trunk_n=0, trunk_len=0.0, trunk_th=0.0,
    hue=(30.0, 40.0), sat=(0.45, 0.6), val=(0.55, 0.7), roundness=(0.25, 0.5),
    accent=0.0, accent_roles=("ear",), stripe=0.0, bend_max=12.0,
)


@dataclass(frozen=True)
class Species:
    """One species: its class index, name, family and full body plan."""

    index: int
    name: str
    family: str
    plan: Mapping[str, Any]


def _family(base: Mapping[str, Any], species: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, dict]]:
    plan = dict(BASE_PLAN)
    plan.update(base)
    out = []
    for name, over in species:
        p = dict(plan)
        p.update(over)
        out.append((name, p))
    return out


# Colour bands used by several families
_TAN = dict(hue=(28.0, 38.0), sat=(0.45, 0.6), val=(0.6, 0.75))
_RUSSET = dict(hue=(8.0, 18.0), sat=(0.6, 0.75), val=(0.48, 0.62))
_CREAM = dict(hue=(38.0, 50.0), sat=(0.18, 0.3), val=(0.82, 0.92))
_GREY = dict(hue=(200.0, 230.0), sat=(0.03, 0.1), val=(0.48, 0.62))
_SABLE = dict(hue=(20.0, 30.0), sat=(0.45, 0.6), val=(0.22, 0.34))

_LOP = dict(ear_angle=150.0, ear_len=0.4, ear_w=0.2)
_TALL = dict(leg_len=1.3, snout_l=0.5, head_h=0.38, ear_angle=80.0, tail_angle=-35.0, seg_h=0.55)
_SHORT = dict(leg_len=0.5, seg_len=0.9, ear_angle=150.0, ear_len=0.4, tail_angle=5.0)
_CURL = dict(tail_angle=75.0, tail_curl=70.0, snout_l=0.25, ear_angle=5.0, ear_len=0.25)
_BOX = dict(seg_h=0.82, seg_w=0.7, head_h=0.55, head_w=0.5, snout_l=0.2, snout_h=0.34, ear_len=0.2,
            tail_len=0.2, leg_th=0.26, accent=-0.45, accent_roles=("snout", "ear"))

_FAMILIES: dict[str, list[tuple[str, dict]]] = {
    # Stanford Dogs stand-in: 12 close species (colour, ears, legs, tail, muzzle)
    "hounds": _family(dict(accent_roles=("ear",), accent=-0.25), [
        ("tan pricked hound", dict(**_TAN)),
        ("tan lop hound", dict(**_TAN, **_LOP)),
        ("russet pricked hound", dict(**_RUSSET)),
        ("russet lop hound", dict(**_RUSSET, **_LOP)),
        ("grey tallhound", dict(**_GREY, **_TALL)),
        ("cream tallhound", dict(**_CREAM, **_TALL)),
        ("grey shorthound", dict(**_GREY, **_SHORT)),
        ("tan shorthound", dict(**_TAN, **_SHORT)),
        ("sable curltail", dict(**_SABLE, **_CURL)),
        ("cream curltail", dict(**_CREAM, **_CURL)),
        ("sable boxhound", dict(**_SABLE, **_BOX)),
        ("russet boxhound", dict(**_RUSSET, **_BOX)),
    ]),
    "crawlers": _family(dict(
        n_spine=2, seg_len=0.8, seg_h=0.42, seg_w=0.9, roundness=(0.6, 0.95), bend_max=6.0,
        legs=((0.2, 55.0, 50.0, 1.0), (0.5, 5.0, 10.0, 1.0), (0.8, -55.0, -50.0, 1.0)),
        leg_len=0.45, leg_len2=0.4, leg_th=0.09, leg_splay=40.0,
        neck_n=0, head_l=0.32, head_h=0.3, head_w=0.45, head_tilt=0.0, snout_l=0.0, ear_len=0.0,
        antenna_len=0.55, tail_n=0, accent=-0.5, accent_roles=("head", "leg", "antenna"),
    ), [
        ("green shieldbug", dict(hue=(95.0, 125.0), sat=(0.5, 0.7), val=(0.45, 0.6))),
        ("scarlet dotbeetle", dict(hue=(355.0, 368.0), sat=(0.7, 0.85), val=(0.6, 0.75), roundness=(0.85, 1.0),
                                   seg_h=0.5, antenna_len=0.3)),
        ("blue longhorn", dict(hue=(205.0, 228.0), sat=(0.5, 0.7), val=(0.45, 0.6), seg_len=1.0,
                               antenna_len=1.0)),
        ("bronze dungroller", dict(hue=(28.0, 40.0), sat=(0.5, 0.65), val=(0.32, 0.45), seg_h=0.58,
                                   leg_th=0.12)),
    ]),
    "serpents": _family(dict(
        n_spine=6, seg_len=0.5, seg_h=0.4, seg_w=0.4, taper=0.35, legs=(), neck_n=0,
        head_l=0.5, head_h=0.34, head_w=0.44, head_tilt=0.0, snout_l=0.16, snout_h=0.2, ear_len=0.0,
        tail_n=1, tail_len=0.4, tail_th=0.16, tail_angle=0.0, roundness=(0.6, 1.0), bend_max=45.0,
    ), [
        ("jade coilsnake", dict(hue=(120.0, 150.0), sat=(0.45, 0.65), val=(0.45, 0.6))),
        ("banded coilsnake", dict(hue=(42.0, 55.0), sat=(0.55, 0.7), val=(0.65, 0.8), stripe=0.55)),
        ("ember viper", dict(hue=(0.0, 14.0), sat=(0.6, 0.8), val=(0.5, 0.65), head_l=0.65, head_h=0.42,
                             head_w=0.56, stripe=0.2)),
        ("dusk adder", dict(hue=(262.0, 290.0), sat=(0.3, 0.5), val=(0.35, 0.48), seg_h=0.5, seg_w=0.5)),
    ]),
    "waders": _family(dict(
        n_spine=2, seg_len=0.5, seg_h=0.55, seg_w=0.45, taper=-0.2, incline=10.0,
        legs=((0.55, 12.0, 35.0, 1.0),), leg_len=0.6, leg_len2=0.65, leg_th=0.08,
        neck_n=2, neck_len=0.3, neck_th=0.15, neck_angle=72.0, head_l=0.34, head_h=0.28, head_w=0.26,
        head_tilt=0.0, snout_l=0.45, snout_h=0.07, ear_len=0.0, tail_n=1, tail_len=0.4, tail_th=0.08,
        tail_angle=20.0, wing_l=0.8, wing_h=0.38, accent=-0.35, accent_roles=("wing", "snout"),
        roundness=(0.4, 0.8), bend_max=8.0,
    ), [
        ("rose stiltwader", dict(hue=(330.0, 350.0), sat=(0.35, 0.55), val=(0.75, 0.88), leg_len=0.75,
                                 leg_len2=0.8)),
        ("white heronet", dict(hue=(180.0, 220.0), sat=(0.0, 0.07), val=(0.86, 0.95), neck_len=0.4)),
        ("slate crane", dict(hue=(205.0, 225.0), sat=(0.15, 0.3), val=(0.45, 0.6), neck_angle=55.0,
                             tail_angle=-10.0)),
        ("sun wader", dict(hue=(44.0, 56.0), sat=(0.6, 0.8), val=(0.7, 0.85), snout_l=0.22, snout_h=0.12,
                           leg_len=0.45, leg_len2=0.5)),
    ]),
    "longnecks": _family(dict(
        n_spine=2, seg_len=0.75, seg_h=0.7, seg_w=0.55, legs=((0.06, 0.0, 0.0, 1.0), (0.94, 0.0, 0.0, 1.0)),
        leg_len=1.4, leg_th=0.17, neck_n=4, neck_len=0.34, neck_th=0.22, neck_angle=70.0,
        head_l=0.45, head_h=0.25, head_w=0.25, head_tilt=-10.0, snout_l=0.2, snout_h=0.17, ear_len=0.15,
        ear_w=0.1, ear_angle=40.0, tail_n=1, tail_len=0.4, tail_th=0.07, tail_angle=-60.0,
        accent=-0.4, accent_roles=("ear", "snout", "tail"),
    ), [
        ("ochre longneck", dict(hue=(36.0, 46.0), sat=(0.55, 0.7), val=(0.65, 0.8))),
        ("dun longneck", dict(hue=(24.0, 32.0), sat=(0.35, 0.5), val=(0.45, 0.58))),
        ("lofty longneck", dict(hue=(40.0, 52.0), sat=(0.5, 0.65), val=(0.7, 0.85), neck_len=0.42,
                                leg_len=1.55)),
        ("grey longneck", dict(**_GREY, neck_angle=52.0, neck_len=0.3)),
    ]),
    "shellbacks": _family(dict(
        n_spine=1, seg_len=1.6, seg_h=0.85, seg_w=1.2, roundness=(0.7, 1.0),
        legs=((0.12, 25.0, 0.0, 1.0), (0.88, -25.0, 0.0, 1.0)), leg_len=0.4, leg_th=0.24,
        neck_n=1, neck_len=0.32, neck_th=0.2, neck_angle=15.0, head_l=0.36, head_h=0.3, head_w=0.3,
        head_tilt=0.0, snout_l=0.0, ear_len=0.0, tail_n=1, tail_len=0.22, tail_th=0.1, tail_angle=-10.0,
        accent=0.45, accent_roles=("head", "leg", "neck", "tail"), bend_max=0.0,
    ), [
        ("moss shellback", dict(hue=(88.0, 110.0), sat=(0.4, 0.6), val=(0.4, 0.55))),
        ("amber shellback", dict(hue=(28.0, 40.0), sat=(0.6, 0.75), val=(0.5, 0.62))),
        ("dome shellback", dict(hue=(58.0, 74.0), sat=(0.45, 0.6), val=(0.45, 0.6), seg_h=1.1)),
        ("flat shellback", dict(hue=(168.0, 190.0), sat=(0.35, 0.5), val=(0.45, 0.6), seg_h=0.55,
                                seg_len=1.8)),
    ]),
    "finners": _family(dict(
        n_spine=3, seg_len=0.62, seg_h=0.85, seg_w=0.34, taper=0.55, legs=(), neck_n=0,
        head_l=0.38, head_h=0.74, head_w=0.32, head_tilt=0.0, snout_l=0.0, ear_len=0.0,
        tail_n=1, tail_len=0.28, tail_th=0.2, tail_angle=0.0, tail_fin=0.95, fin_h=0.38, fin_l=0.55,
        accent=-0.35, accent_roles=("fin", "tailfin"), roundness=(0.75, 1.0), bend_max=18.0,
    ), [
        ("coral finner", dict(hue=(4.0, 18.0), sat=(0.55, 0.75), val=(0.65, 0.8))),
        ("azure finner", dict(hue=(196.0, 218.0), sat=(0.5, 0.7), val=(0.55, 0.72))),
        ("gold finner", dict(hue=(44.0, 56.0), sat=(0.65, 0.8), val=(0.7, 0.85), fin_h=0.65, tail_fin=1.2)),
        ("striped finner", dict(hue=(165.0, 185.0), sat=(0.4, 0.6), val=(0.55, 0.7), stripe=0.5)),
    ]),
    "spinners": _family(dict(
        n_spine=2, seg_len=0.6, seg_h=0.5, seg_w=0.5, taper=-0.6, roundness=(0.75, 1.0),
        legs=((0.6, 130.0, 105.0, 1.0), (0.68, 112.0, 100.0, 1.0), (0.76, -112.0, -100.0, 1.0),
              (0.84, -130.0, -105.0, 1.0)),
        leg_len=0.6, leg_len2=0.8, leg_th=0.07, leg_splay=25.0, neck_n=0, head_l=0.0, snout_l=0.0,
        ear_len=0.0, tail_n=0, eyes=0, accent=-0.4, accent_roles=("leg",), bend_max=5.0,
    ), [
        ("black orbspinner", dict(hue=(250.0, 280.0), sat=(0.1, 0.25), val=(0.2, 0.3))),
        ("redback spinner", dict(hue=(355.0, 365.0), sat=(0.65, 0.8), val=(0.45, 0.6), accent=-0.7)),
        ("tawny wolfspinner", dict(hue=(26.0, 38.0), sat=(0.45, 0.6), val=(0.45, 0.6), leg_th=0.1,
                                   leg_len2=0.65)),
        ("longleg harvester", dict(hue=(30.0, 45.0), sat=(0.25, 0.4), val=(0.55, 0.7), seg_len=0.45,
                                   leg_len=0.8, leg_len2=1.15, leg_th=0.05)),
    ]),
    "hoppers": _family(dict(
        n_spine=2, seg_len=0.55, seg_h=0.6, seg_w=0.7, incline=28.0, taper=0.1,
        legs=((0.05, 55.0, 120.0, 1.0), (0.9, -15.0, 0.0, 0.6)), leg_len=0.55, leg_len2=0.55, leg_th=0.16,
        neck_n=0, head_l=0.45, head_h=0.4, head_w=0.62, head_tilt=-25.0, snout_l=0.0,
        ear_len=0.16, ear_w=0.16, ear_angle=-10.0, tail_n=0, roundness=(0.6, 0.95),
        accent=0.3, accent_roles=("leg",), bend_max=6.0,
    ), [
        ("leaf hopper", dict(hue=(95.0, 120.0), sat=(0.5, 0.7), val=(0.5, 0.65))),
        ("mud hopper", dict(hue=(25.0, 38.0), sat=(0.35, 0.5), val=(0.32, 0.45))),
        ("sky hopper", dict(hue=(195.0, 215.0), sat=(0.5, 0.7), val=(0.55, 0.7))),
        ("sun hopper", dict(hue=(48.0, 60.0), sat=(0.6, 0.8), val=(0.65, 0.8), stripe=0.35)),
    ]),
    "tuskers": _family(dict(
        n_spine=2, seg_len=0.95, seg_h=1.0, seg_w=0.9, legs=((0.12, 0.0, 0.0, 1.0), (0.88, 0.0, 0.0, 1.0)),
        leg_len=0.75, leg_th=0.32, neck_n=0, head_l=0.55, head_h=0.7, head_w=0.6, head_tilt=-10.0,
        snout_l=0.0, ear_len=0.62, ear_w=0.55, ear_angle=165.0, trunk_n=3, trunk_len=0.3, trunk_th=0.16,
        tail_n=1, tail_len=0.35, tail_th=0.06, tail_angle=-70.0, roundness=(0.3, 0.6),
        accent=-0.2, accent_roles=("ear",), **_GREY,
    ), [
        ("grey tusker", dict()),
        ("clay tusker", dict(hue=(10.0, 22.0), sat=(0.3, 0.45), val=(0.5, 0.62))),
        ("woolly tusker", dict(hue=(22.0, 34.0), sat=(0.4, 0.55), val=(0.3, 0.42), roundness=(0.7, 1.0))),
        ("smallear tusker", dict(ear_len=0.36, ear_w=0.3, ear_angle=150.0, leg_len=0.9)),
    ]),
}

#: The family standing in for Stanford Dogs (fine-grained species).
FINE_GRAINED_FAMILY = "hounds"


def _build_species() -> list[Species]:
    out = []
    for family, members in _FAMILIES.items():
        for name, plan in members:
            out.append(Species(len(out), name, family, plan))
    return out


_SPECIES: list[Species] = _build_species()
FAMILIES: tuple[str, ...] = tuple(_FAMILIES)

#: The species table: ``index`` (stable class index), ``name``, ``family``, ``family_index``,
#: ``fine_grained`` (member of the Stanford Dogs stand-in), ``lookalike`` (nearest species).
SPECIES: pd.DataFrame  # filled below, once the look-alikes are known


def _plan_vector(plan: Mapping[str, Any]) -> np.ndarray:
    """The continuous part of a plan as a vector (sizes, angles in radians, colour bands)."""
    v = [float(plan[k]) for k in _SIZE_KEYS]
    v += [math.radians(float(plan[k])) for k in _ANGLE_KEYS]
    v += [x for leg in plan["legs"] for x in (leg[0], math.radians(leg[1]) / 2, math.radians(leg[2]) / 2, leg[3])]
    h = math.radians(np.mean(plan["hue"]))
    v += [0.6 * plan["sat"][0] * math.cos(h), 0.6 * plan["sat"][0] * math.sin(h), np.mean(plan["val"]),
          np.mean(plan["sat"]), np.mean(plan["roundness"]), plan["accent"], plan["stripe"]]
    return np.asarray(v)


def _lookalikes() -> np.ndarray:
    """For each species, the nearest species of its family in plan space."""
    out = np.zeros(len(_SPECIES), dtype=np.int64)
    vecs = [_plan_vector(s.plan) for s in _SPECIES]
    for s in _SPECIES:
        best, arg = math.inf, s.index
        for t in _SPECIES:
            if t.family == s.family and t.index != s.index:
                d = float(np.linalg.norm(vecs[s.index] - vecs[t.index]))
                if d < best:
                    best, arg = d, t.index
        out[s.index] = arg
    return out


LOOKALIKE: np.ndarray = _lookalikes()
SPECIES = pd.DataFrame({
    "index": [s.index for s in _SPECIES],
    "name": [s.name for s in _SPECIES],
    "family": [s.family for s in _SPECIES],
    "family_index": [FAMILIES.index(s.family) for s in _SPECIES],
    "fine_grained": [s.family == FINE_GRAINED_FAMILY for s in _SPECIES],
    "lookalike": LOOKALIKE,
})


def species_indices(species: None | str | int | Iterable[int | str] = None) -> np.ndarray:
    """Resolve a species selection to class indices.

    ``None`` is the whole zoo; a family name (e.g. ``"hounds"``) its members; otherwise species
    names or indices (one or a list).
    """
    if species is None:
        return SPECIES["index"].to_numpy()
    if isinstance(species, str) and species in FAMILIES:
        return SPECIES.loc[SPECIES.family == species, "index"].to_numpy()
    items = [species] if isinstance(species, (str, int, np.integer)) else list(species)
    if not items:
        raise ParameterError("the species selection is empty; pass None for the whole zoo")
    out = []
    names = dict(zip(SPECIES.name, SPECIES["index"]))
    for it in items:
        if isinstance(it, str):
            if it in FAMILIES:
                out.extend(SPECIES.loc[SPECIES.family == it, "index"].tolist())
            elif it in names:
                out.append(names[it])
            else:
                raise ParameterError(f"unknown species or family {it!r}; see zoo.SPECIES (families: "
                                     f"{', '.join(FAMILIES)})")
        elif isinstance(it, (int, np.integer)) and not isinstance(it, bool):
            if not 0 <= int(it) < len(_SPECIES):
                raise ParameterError(f"species index {it} out of range [0, {len(_SPECIES) - 1}]")
            out.append(int(it))
        else:
            raise ParameterError(f"species must be given by name or index, got {type(it).__name__}")
    return np.asarray(sorted(set(out)), dtype=np.int64)


def morph_plan(a: Mapping[str, Any], b: Mapping[str, Any], t: float) -> dict[str, Any]:
    """The plan a fraction ``t`` of the way from plan ``a`` to plan ``b`` (same family).

    Sizes, angles, leg placements and colour bands are interpolated (hue on the circle);
    integer counts and role lists are taken from ``a``.
    """
    out = dict(a)
    for k in _SIZE_KEYS + _ANGLE_KEYS + ("accent", "stripe", "taper"):
        out[k] = (1 - t) * float(a[k]) + t * float(b[k])
    if len(a["legs"]) != len(b["legs"]):
        raise ParameterError("morph_plan needs plans with the same number of leg pairs (one family)")
    out["legs"] = tuple(tuple((1 - t) * x + t * y for x, y in zip(la, lb)) for la, lb in zip(a["legs"], b["legs"]))
    for k in ("sat", "val", "roundness"):
        out[k] = tuple((1 - t) * x + t * y for x, y in zip(a[k], b[k]))
    d = ((np.mean(b["hue"]) - np.mean(a["hue"]) + 180.0) % 360.0) - 180.0
    out["hue"] = (a["hue"][0] + t * d, a["hue"][1] + t * d)
    return out


def _jitter(plan: Mapping[str, Any], seed: int, amount: float = 0.05) -> dict[str, Any]:
    """Individual variation: sizes times ``1 + N(0, amount)``, angles plus ``N(0, 5 deg)``."""
    rng = np.random.default_rng(int(seed))
    out = dict(plan)
    for k in _SIZE_KEYS:
        out[k] = float(plan[k]) * float(np.clip(1 + amount * rng.standard_normal(), 0.8, 1.2))
    for k in ("neck_angle", "head_tilt", "ear_angle", "tail_angle"):
        out[k] = float(plan[k]) + 5.0 * float(np.clip(rng.standard_normal(), -2, 2))
    return out


def build_creature(plan: Mapping[str, Any], hue: float, sat: float, val: float, roundness: float,
                   bend: float = 0.0) -> Parts:
    """The blocks of one creature in its body frame (x depth, y forward, z up), centred.

    Args:
        plan: a body plan (a species' ``plan``, possibly morphed or jittered).
        hue, sat, val: the body colour (hue in degrees).
        roundness: block rounding in [0, 1] (0 sharp boxes, 1 sphere-like).
        bend: spine bend in degrees (positive arches the back).
    """
    P = Parts()
    accent_roles = set(plan["accent_roles"])

    def colour(role: str, darker: float = 0.0) -> np.ndarray:
        if role == "eye":
            return np.array([0.04, 0.04, 0.05])
        v = val * (1 + plan["accent"]) if role in accent_roles else val
        s = sat * (0.7 if role in accent_roles and plan["accent"] > 0 else 1.0)
        return bgs.hsv_to_rgb(hue, s, np.clip(v * (1 - darker), 0.02, 1.0))

    rd = roundness
    n = int(plan["n_spine"])
    inc = math.radians(plan["incline"])
    b = math.radians(bend)
    # spine chain, tail (i=0) to front (i=n-1); segment i points at angle a_i above the horizontal
    heights = [plan["seg_h"] * (1 - plan["taper"] * (1 - i / max(n - 1, 1))) for i in range(n)]
    joint = np.zeros(3)
    frames = []  # (rotation, centre, length, height) per segment
    for i in range(n):
        a = inc + (b * (0.5 - (i + 0.5) / n) if n > 1 else 0.0)
        R = rx(a)
        d = R @ np.array([0.0, 1.0, 0.0])
        c = joint + d * plan["seg_len"] / 2
        frames.append((R, c, plan["seg_len"], heights[i]))
        joint = joint + d * plan["seg_len"]
        darker = plan["stripe"] if i % 2 == 1 else 0.0
        P.add(c, (plan["seg_w"] / 2, plan["seg_len"] / 2 * 1.04, heights[i] / 2), R, colour("body", darker), "body", rd)
    rear_R, rear_c, L0, h0 = frames[0]
    front_R, front_c, Ln, hn = frames[-1]
    rear = rear_c - rear_R @ np.array([0.0, L0 / 2, 0.0])
    front = front_c + front_R @ np.array([0.0, Ln / 2, 0.0])

    # legs: placed along the spine, directions in the body frame (legs stay upright when bending)
    total = n * plan["seg_len"]
    splay = math.radians(plan["leg_splay"])
    for place, lean, knee, scale in plan["legs"]:
        i = min(int(place * n), n - 1)
        R, c, L, h = frames[i]
        y_local = place * total - (i + 0.5) * L
        for side in (-1.0, 1.0):
            hip = c + R @ np.array([side * (plan["seg_w"] / 2 - plan["leg_th"] / 2 - 0.02), y_local, -h * 0.25])
            splay_R = ry(-side * splay)
            l1 = plan["leg_len"] * scale
            R1 = splay_R @ rx(math.radians(lean))
            d1 = R1 @ np.array([0.0, 0.0, -1.0])
            P.add(hip + d1 * l1 / 2, (plan["leg_th"] / 2, plan["leg_th"] / 2, l1 / 2 + plan["leg_th"] * 0.3), R1,
                  colour("leg"), "leg", rd)
            if plan["leg_len2"] > 0:
                l2 = plan["leg_len2"] * scale
                R2 = splay_R @ rx(math.radians(lean - knee))
                d2 = R2 @ np.array([0.0, 0.0, -1.0])
                knee_p = hip + d1 * l1
                th2 = plan["leg_th"] * 0.85
                P.add(knee_p + d2 * l2 / 2, (th2 / 2, th2 / 2, l2 / 2 + th2 * 0.3), R2, colour("leg"), "leg", rd)

    # neck and head
    head_base = front + front_R @ np.array([0.0, -0.05, hn * 0.15])
    nang = math.radians(plan["neck_angle"])
    Rn = rx(nang)
    dn = Rn @ np.array([0.0, 1.0, 0.0])
    for j in range(int(plan["neck_n"])):
        P.add(head_base + dn * plan["neck_len"] * 0.5, (plan["neck_th"] / 2, plan["neck_len"] / 2 + plan["neck_th"] / 4,
              plan["neck_th"] / 2), Rn, colour("neck"), "neck", rd)
        head_base = head_base + dn * plan["neck_len"]
    if plan["head_l"] > 0:
        Rh = rx(math.radians(plan["head_tilt"]))
        hl, hh, hw = plan["head_l"], plan["head_h"], plan["head_w"]
        hc = head_base + Rh @ np.array([0.0, hl * 0.4, 0.0])
        P.add(hc, (hw / 2, hl / 2, hh / 2), Rh, colour("head"), "head", rd)
        if plan["snout_l"] > 0:
            sh = min(plan["snout_h"], hh)
            P.add(hc + Rh @ np.array([0.0, hl / 2 + plan["snout_l"] / 2 - 0.04, -(hh - sh) / 2]),
                  (min(hw, sh * 1.3) / 2, plan["snout_l"] / 2, sh / 2), Rh, colour("snout"), "snout", rd)
        if plan["eyes"]:
            e = max(0.05, 0.16 * hh)
            for side in (-1.0, 1.0):
                P.add(hc + Rh @ np.array([side * hw / 2, hl * 0.18, hh * 0.18]), (e, e, e), Rh, colour("eye"), "eye", 1.0)
        if plan["ear_len"] > 0:
            ea = math.radians(plan["ear_angle"])
            Re = Rh @ rx(ea)
            out_x = hw / 2 * (0.55 + 0.45 * float(np.clip((plan["ear_angle"] - 60) / 60, 0, 1)))
            for side in (-1.0, 1.0):
                base_p = hc + Rh @ np.array([side * out_x, -hl * 0.15, hh / 2 - 0.04])
                de = Re @ np.array([0.0, 0.0, 1.0])
                P.add(base_p + de * plan["ear_len"] / 2, (0.035, plan["ear_w"] / 2, plan["ear_len"] / 2), Re,
                      colour("ear"), "ear", min(rd, 0.5))
        if plan["antenna_len"] > 0:
            Ra = Rh @ rx(math.radians(35.0))
            da = Ra @ np.array([0.0, 1.0, 0.0])
            for side in (-1.0, 1.0):
                base_p = hc + Rh @ np.array([side * hw * 0.25, hl * 0.4, hh * 0.35])
                P.add(base_p + da * plan["antenna_len"] / 2, (0.03, plan["antenna_len"] / 2, 0.03), Ra,
                      colour("antenna"), "antenna", 0.5)
        if plan["trunk_n"] > 0:
            p = hc + Rh @ np.array([0.0, hl / 2, -hh * 0.1])
            for j in range(int(plan["trunk_n"])):
                Rt = Rh @ rx(math.radians(-50.0 - 22.0 * j))
                dt = Rt @ np.array([0.0, 1.0, 0.0])
                P.add(p + dt * plan["trunk_len"] / 2, (plan["trunk_th"] / 2, plan["trunk_len"] / 2 + plan["trunk_th"] / 4,
                      plan["trunk_th"] / 2), Rt, colour("trunk"), "trunk", rd)
                p = p + dt * plan["trunk_len"]

    # tail: a chain backwards from the rear joint, angle above the horizontal, curling up
    p = rear + rear_R @ np.array([0.0, 0.04, h0 * 0.2])
    tang = math.radians(plan["tail_angle"])
    for j in range(int(plan["tail_n"])):
        a = tang + j * math.radians(plan["tail_curl"])
        Rt = rx(-a)
        dt = Rt @ np.array([0.0, -1.0, 0.0])
        P.add(p + dt * plan["tail_len"] / 2, (plan["tail_th"] / 2, plan["tail_len"] / 2 + plan["tail_th"] / 4,
              plan["tail_th"] / 2), Rt, colour("tail"), "tail", rd)
        p = p + dt * plan["tail_len"]
        if j == int(plan["tail_n"]) - 1 and plan["tail_fin"] > 0:
            fin = plan["tail_fin"]
            P.add(p + dt * fin * 0.15, (0.04, fin * 0.22, fin / 2), Rt, colour("tailfin"), "tailfin", 0.6)
    if plan["fin_h"] > 0:
        R, c, L, h = frames[n // 2]
        Rf = R @ rx(math.radians(25.0))
        P.add(c + R @ np.array([0.0, 0.0, h / 2]) + Rf @ np.array([0.0, 0.0, plan["fin_h"] / 2 - 0.08]),
              (0.035, plan["fin_l"] / 2, plan["fin_h"] / 2), Rf, colour("fin"), "fin", 0.6)
    if plan["wing_l"] > 0:
        R, c, L, h = frames[-1] if n == 1 else frames[n // 2]
        Rw = R @ rx(math.radians(-12.0))
        for side in (-1.0, 1.0):
            P.add(c + R @ np.array([side * (plan["seg_w"] / 2 + 0.01), -L * 0.15, h * 0.08]),
                  (0.035, plan["wing_l"] / 2, plan["wing_h"] / 2), Rw, colour("wing"), "wing", 0.7)
    corners = P.corners()
    mid = (corners.min(0) + corners.max(0)) / 2
    return P.transform(np.eye(3), -mid)


def _neutral_extent(plan: Mapping[str, Any]) -> float:
    corners = build_creature(plan, 0.0, 0.5, 0.5, 0.3).corners()
    ext = corners.max(0) - corners.min(0)
    return float(max(ext[1], ext[2]))


#: Per-family scale that makes the family's first species about 4.2 units long or tall at scale 1
#: (the frame is about 6.5 units wide at the creature's depth), so families are comparable in size.
FAMILY_SCALE: dict[str, float] = {f: 4.2 / _neutral_extent(dict(_FAMILIES[f][0][1])) for f in FAMILIES}


FRAME_HALF_WIDTH = CAMERA_X * SENSOR_MM / 2 / FOCAL_MM
"""Half the visible width at the depth of the origin (the renderer's camera and lens)."""


# ---------------------------------------------------------------------------------------------
# knobs and sampling


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


# ---------------------------------------------------------------------------------------------
# rendering


def creature_parts(row: Mapping[str, Any], prefix: str = "") -> Parts:
    """The world-frame blocks of the creature described by a parameter row (``prefix`` for the second)."""
    s = int(row[prefix + "species"])
    if not 0 <= s < len(_SPECIES):
        raise ParameterError(f"{prefix}species={s} is not a species index; see zoo.SPECIES")
    plan = _SPECIES[s].plan
    if not prefix and int(row.get("lookalike_species", -1)) >= 0:
        plan = morph_plan(plan, _SPECIES[int(row["lookalike_species"])].plan, float(row["lookalike_mix"]))
    plan = _jitter(plan, int(row[prefix + "shape_seed"]))
    body = build_creature(plan, float(row[prefix + "hue"]), float(row[prefix + "sat"]), float(row[prefix + "val"]),
                          float(row[prefix + "roundness"]), float(row[prefix + "bend"]))
    R = pose_rotation(float(row[prefix + "facing"]), float(row[prefix + "turn"]), float(row[prefix + "elev"]),
                      float(row[prefix + "tilt"]))
    scale = float(row[prefix + "scale"]) * FAMILY_SCALE[_SPECIES[s].family]
    pos = (float(row[prefix + "pos_x"]), float(row[prefix + "pos_y"]), float(row[prefix + "pos_z"]))
    return body.transform(R, pos, scale)


def occluder_parts(row: Mapping[str, Any]) -> Parts:
    """The occluder block of a row (in front of the creature, nearer the camera)."""
    P = Parts()
    rgb = bgs.hsv_to_rgb(float(row["occ_hue"]), float(row["occ_sat"]), float(row["occ_val"]))
    P.add((2.6, float(row["occ_y"]), float(row["occ_z"])), (0.25, float(row["occ_w"]) / 2, float(row["occ_h"]) / 2),
          rx(math.radians(float(row["occ_tilt"]))), rgb, "occluder", float(row["occ_roundness"]))
    return P


_REQUIRED = ("species", "facing", "turn", "elev", "tilt", "bend", "scale", "pos_x", "pos_y", "pos_z", "hue", "sat",
             "val", "roundness", "shape_seed", "label", "second", "occluded", "cropped", "lookalike_species",
             "lookalike_mix") + tuple("bg_" + f for f in bgs.FIELDS)


@dataclass
class ZooImages:
    """Rendered zoo images with ground truth. Unpacks as ``images, labels, masks, boxes, records``.

    Attributes:
        images: ``[N,3,H,W]`` float in [0, 1].
        labels: ``[N]`` long gold labels (the species index, or a wrong one where ``label_flipped``).
        masks: ``[N,H,W]`` uint8 instance map (0 background, 1 creature, 2 second creature, 3 occluder).
        boxes: ``[N,4]`` float pixel box ``x0, y0, x1, y1`` (exclusive ends) of the labelled creature.
        records: the parameter table plus measured facts: ``area`` (creature pixels),
            ``visible_fraction`` (visible / unoccluded, uncropped area), ``touches_border``,
            ``second_area`` and ``second_box_*``.
        parts: ``[N,H,W]`` uint8 part labels (:data:`PART_LABELS`).
    """

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    boxes: torch.Tensor
    records: pd.DataFrame
    parts: torch.Tensor

    def __iter__(self) -> Iterator[Any]:
        return iter((self.images, self.labels, self.masks, self.boxes, self.records))

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: Sequence[int] | np.ndarray | torch.Tensor) -> "ZooImages":
        """The images at ``index`` (records re-indexed from 0)."""
        idx = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return ZooImages(self.images[idx], self.labels[idx], self.masks[idx], self.boxes[idx],
                         self.records.iloc[idx.numpy()].reset_index(drop=True), self.parts[idx])

    @staticmethod
    def cat(items: Sequence["ZooImages"]) -> "ZooImages":
        return ZooImages(torch.cat([z.images for z in items]), torch.cat([z.labels for z in items]),
                         torch.cat([z.masks for z in items]), torch.cat([z.boxes for z in items]),
                         pd.concat([z.records for z in items], ignore_index=True), torch.cat([z.parts for z in items]))


def _check_params(params: pd.DataFrame) -> None:
    if not isinstance(params, pd.DataFrame):
        raise ParameterError(f"params must be the DataFrame from sample_zoo(), got {type(params).__name__}")
    missing = [c for c in _REQUIRED if c not in params.columns]
    if missing:
        raise ParameterError(f"params lack the columns {missing}; draw them with zoo.sample_zoo()")
    bad = params.loc[~params["species"].between(0, len(_SPECIES) - 1), "species"]
    if len(bad):
        raise ParameterError(f"unknown species index {int(bad.iloc[0])}; valid indices are 0..{len(_SPECIES) - 1}")


def _render_chunk(rows: list[dict], size: int, supersample: int, device: Any, shadows: bool) -> ZooImages:
    from .render import boxes_from_instances, render

    scenes = []
    for row in rows:
        objs = [(creature_parts(row), MAIN, None)]
        if row["second"]:
            objs.append((creature_parts(row, "second_"), SECOND, None))
        if row["occluded"]:
            objs.append((occluder_parts(row), OCCLUDER, None))
        scenes.append(objs)
    blocks = blocks_from_parts(scenes)
    bg = bgs.render_backgrounds({k: np.asarray([r[k] for r in rows]) for k in ["bg_" + f for f in bgs.FIELDS]},
                                size=size, prefix="bg_")
    out = render(blocks, bg, size=size, supersample=supersample, shadows=shadows, device=device)
    inst = out.instances.cpu()
    area = (inst == MAIN).flatten(1).sum(1)
    border = torch.zeros_like(inst, dtype=torch.bool)
    border[:, 0], border[:, -1], border[:, :, 0], border[:, :, -1] = True, True, True, True
    touches = ((inst == MAIN) & border).flatten(1).any(1)
    # reference: the creature alone (no occluder, no second creature), moved to the centre of the
    # frame where it was cropped or touches the border, else in place (same pixel grid)
    need = [i for i, r in enumerate(rows) if r["second"] or r["occluded"] or r["cropped"] or bool(touches[i])]
    visible = torch.ones(len(rows))
    if need:
        ref_scenes = []
        for i in need:
            r = dict(rows[i])
            if r["cropped"] or bool(touches[i]):
                r["pos_y"], r["pos_z"] = 0.0, 0.0
            ref_scenes.append([(creature_parts(r), MAIN, None)])
        ref = render(blocks_from_parts(ref_scenes), torch.zeros(len(need), 3), size=size, supersample=1,
                     shadows=False, device=device)
        ref_area = (ref.instances.cpu() == MAIN).flatten(1).sum(1).clamp_min(1)
        visible[need] = (area[need].float() / ref_area.float()).clamp(max=1.0)
    boxes = boxes_from_instances(inst, 2)
    rec = pd.DataFrame(rows)
    rec["area"] = area.numpy()
    rec["visible_fraction"] = visible.numpy()
    rec["touches_border"] = touches.numpy()
    rec["second_area"] = (inst == SECOND).flatten(1).sum(1).numpy()
    for j, c in enumerate(("x0", "y0", "x1", "y1")):
        rec["second_box_" + c] = boxes[:, 1, j].numpy()
    return ZooImages(out.image.cpu().float(), torch.tensor(rec["label"].to_numpy(dtype=np.int64)),
                     inst.to(torch.uint8), boxes[:, 0].float(), rec, out.labels.cpu().to(torch.uint8))


def render_zoo(params: pd.DataFrame, size: int = 128, supersample: int = 2, device: Any = None,
               chunk: int = 128, shadows: bool = True) -> ZooImages:
    """Render a parameter table from :func:`sample_zoo` (deterministic: same table, same images).

    Args:
        params: the table (one row per image).
        size: image side in pixels.
        supersample: anti-aliasing rays per pixel side.
        device: torch device for rendering (default :func:`xaibook.config.device`).
        chunk: images per renderer call (bounds memory); a progress bar runs over chunks.
        shadows: cast soft shadows.
    Returns:
        :class:`ZooImages` (unpacks as ``images, labels, masks, boxes, records``).
    """
    from ..progress import bar

    _check_params(params)
    if not isinstance(size, int) or size < 16:
        raise ParameterError(f"size={size!r} must be an int >= 16")
    if chunk < 1:
        raise ParameterError(f"chunk={chunk} must be >= 1")
    rows = params.to_dict("records")
    if not rows:
        raise ParameterError("params is empty: nothing to render")
    dev = torch.device(device) if device is not None else config.device()
    starts = list(range(0, len(rows), chunk))
    parts = [_render_chunk(rows[s:s + chunk], size, supersample, dev, shadows)
             for s in (bar(starts, desc="render zoo", unit="chunk") if len(starts) > 1 else starts)]
    return ZooImages.cat(parts)


# ---------------------------------------------------------------------------------------------
# ground-truth error categories


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


# ---------------------------------------------------------------------------------------------
# datasets at the run's scale, cached


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
    from ..cache import map_chunks

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
# contact sheets and the command line


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

    from .writing import atomic_folder

    with atomic_folder(out, MARKERS, overwrite) as tmp:
        imgs = (z.images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        for i, rid in enumerate(z.records["id"]):
            Image.fromarray(imgs[i]).save(tmp / f"{rid}.png")
            Image.fromarray(z.masks[i].numpy()).save(tmp / f"{rid}_mask.png")
        z.records.to_csv(tmp / "records.csv", index=False)
    return Path(out)


_KNOB_FLAGS = ("context_rate", "second_rate", "occlude_rate", "crop_rate", "lookalike_rate", "label_noise")
_FLAG_CATEGORY = {"context_rate": "C4", "second_rate": "C2", "occlude_rate": "C1", "crop_rate": "C1",
                  "lookalike_rate": "C3", "label_noise": "C5"}


def _cli_arguments(p: argparse.ArgumentParser) -> None:
    from . import writing

    p.add_argument("--n", type=writing.count, default=64, help="number of images")
    p.add_argument("--out", type=Path, help="folder for {id}.png, {id}_mask.png (instance ids) and records.csv")
    p.add_argument("--overwrite", action="store_true", help="replace a data set already in --out (atomically)")
    p.add_argument("--seed", type=writing.seed, default=0, help="random seed (same seed, same images)")
    p.add_argument("--size", type=writing.image_size, default=128, help="image height and width in pixels")
    p.add_argument("--species", default=None, help="a family name, or comma-separated species names/indices")
    p.add_argument("--sheet", type=Path, help="also write a captioned contact sheet PNG here")
    p.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")
    for f in _KNOB_FLAGS:
        p.add_argument("--" + f.replace("_", "-"), type=float, default=0.0, help=f"knob {f} ({_FLAG_CATEGORY[f]})")


def _cli_run(a: argparse.Namespace) -> int:
    from . import writing

    if a.out is None and a.sheet is None:
        raise ParameterError("give --out and/or --sheet: there is nothing to write")
    # everything that can be checked is checked before sampling and rendering
    device = writing.resolve_device(a.device)
    if a.out is not None:
        writing.check_out(a.out, MARKERS, a.overwrite)
    if a.sheet is not None:
        writing.check_file_out(a.sheet, "--sheet")
    for f in _KNOB_FLAGS:
        if not 0.0 <= getattr(a, f) <= 1.0:
            raise ParameterError(f"--{f.replace('_', '-')} {getattr(a, f)} must be a rate in [0, 1]")
    pixels = a.size * a.size
    writing.check_budget(a.n, a.size, ram_per_image=_RAM_PER_PIXEL * pixels + _RAM_FIXED,
                         disk_per_image=_DISK_PER_PIXEL * pixels + _DISK_FIXED, out=a.out,
                         working_ram=min(a.n, 128) * 4 * pixels * 250, working_arg="--size")
    species: Any = a.species
    if species is not None and species not in FAMILIES:
        species = [int(s) if s.strip().isdigit() else s.strip() for s in species.split(",")]
    knobs = {f: getattr(a, f) for f in _KNOB_FLAGS}
    z = render_zoo(sample_zoo(a.n, a.seed, species, knobs), size=a.size, device=device)
    if a.out is not None:
        write_folder(z, a.out, overwrite=a.overwrite)
        print(f"wrote {len(z)} images to {a.out}")
    if a.sheet is not None:
        names = SPECIES.name.to_numpy()
        caps = [f"{names[s]}" + (f" [{k}]" if k else "") for s, k in zip(z.records.species, z.records.knobs)]
        contact_sheet(z.images, caps, ncol=8, scale=max(1, 128 // a.size)).save(a.sheet)
        print(f"wrote contact sheet {a.sheet}")
    return 0


def add_cli(sub: "argparse._SubParsersAction") -> "Any":
    """Add the ``zoo`` subcommand to ``python -m xaibook.world``; returns its handler."""
    p = sub.add_parser("zoo", help="zoo species with error-cause knobs (ImageNet / Stanford Dogs stand-in)",
                       description="Render zoo images with their per-image records.")
    _cli_arguments(p)
    return _cli_run


def main_zoo(argv: Iterable[str] | None = None) -> int:
    """``python -m xaibook.world zoo --n N --out DIR [--seed S] [--size 128] [--species hounds] [knobs]``."""
    import sys

    from .__main__ import main

    return main(["zoo", *(list(argv) if argv is not None else sys.argv[1:])])
