"""The zoo's species: 48 body plans in 10 families, their look-alikes, morphs and individual jitter.

Each family starts from :data:`BASE_PLAN`; species within a family differ subtly (see the
:mod:`xaibook.world.zoo` docstring). Nguyen et al. 2021, Sec. 3 (ImageNet and Stanford Dogs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ...errors import ParameterError


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
