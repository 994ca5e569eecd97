"""Multi-object scenes: the offline stand-in for PASCAL VOC and Visual Genome.

Scenes hold one to a few block-built objects of 12 classes (vehicles, animals, a person,
furniture) standing on a ground plane under a sky, seen by the renderer's camera. Every image
comes with a multi-hot label vector (a class is present when at least ``min_pixels`` of one
of its objects are visible), an instance map, a class map and per-object boxes. This is the
data of Alqaraawi et al. (2020, Sec. 3: a multi-label VGG16 on PASCAL VOC) and, through
:func:`im_task`, of Im et al. (2023): a binary task whose positive class is buses and trains,
with a mislabeled variant in which car images are put into the positive class.
:func:`blur_object` blurs one object's region, the counterfactual of Im et al.'s simulation task.

    >>> sp = sample_scenes(8, seed=0)
    >>> s = render_scenes(sp, size=64)
    >>> s.labels            # [8, 12] multi-hot
    >>> blurred = blur_objects(s.images, s.instances == 1, sigma=3.0)

Instance ids: object ``j`` of a scene (0-based) has instance id ``j + 1``; the class map holds
``class index + 1`` (0 background). Rails under trains are scenery (instance 0); with
``context=True`` (:func:`render_scenes`, :func:`voc_dataset`) their visible pixels also come as a
``context`` mask, the region Alqaraawi et al.'s train maps were read to highlight.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .. import config
from ..errors import ParameterError
from . import backgrounds as bgs
from .blocks import Parts, blocks_from_parts, pose_rotation, rx
from .zoo import BASE_PLAN, build_creature, contact_sheet

#: The scene classes (a VOC-like subset); the class index is the position here.
CLASSES: tuple[str, ...] = ("aeroplane", "bird", "boat", "bus", "car", "cat", "chair", "cow", "dog", "horse",
                            "person", "train")
VEHICLES = ("aeroplane", "boat", "bus", "car", "train")
_FLYING = ("aeroplane",)
GROUND_Z = -1.6
"""Height of the ground plane (the camera sits at height 0 and looks horizontally)."""

# ---------------------------------------------------------------------------------------------
# object builders: local frame x depth, y forward, z up, bottom at z = 0


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return bgs.hsv_to_rgb(h, s, v)


_GLASS = np.array([0.12, 0.16, 0.22])
_TYRE = np.array([0.06, 0.06, 0.06])
_HUB = np.array([0.55, 0.55, 0.58])


def _sides(near: int) -> tuple[float, ...]:
    """The sides (+-x) that get details: only the camera-facing one when it is known."""
    return (float(near),) if near in (-1, 1) else (-1.0, 1.0)


def _wheels(P: Parts, ys: Sequence[float], width: float, r: float, near: int = 0) -> None:
    """Wheels (discs) on both sides at positions ``ys``, radius ``r``; hub caps on the ``near`` side."""
    for y in ys:
        for side in (-1.0, 1.0):
            P.add((side * (width / 2 - 0.02), y, r), (0.09, r, r), None, _TYRE, "body", 1.0)
        for side in _sides(near):
            P.add((side * (width / 2 + 0.07), y, r), (0.03, r * 0.45, r * 0.45), None, _HUB, "body", 1.0)


def _windows(P: Parts, ys: Sequence[float], width: float, z: float, w: float, h: float, near: int = 0) -> None:
    """Window panes at positions ``ys`` on the ``near`` side (0: both sides)."""
    for y in ys:
        for side in _sides(near):
            P.add((side * (width / 2 + 0.01), y, z), (0.03, w / 2, h / 2), None, _GLASS, "body", 0.3)


def _bus(rng: np.random.Generator, colour: np.ndarray, near: int) -> Parts:
    P = Parts()
    L, W, H, r = rng.uniform(3.4, 4.0), 1.1, rng.uniform(1.35, 1.6), 0.32
    P.add((0, 0, r + H / 2), (W / 2, L / 2, H / 2), None, colour, "body", 0.12)
    n = int(rng.integers(5, 8))
    pitch = (L - 0.7) / n
    ys = [-L / 2 + 0.35 + pitch * (i + 0.5) for i in range(n)]
    _windows(P, ys, W, r + H * 0.68, pitch * 0.8, H * 0.32, near)
    P.add((0, L / 2 + 0.01, r + H * 0.62), (W / 2 * 0.85, 0.03, H * 0.22), None, _GLASS, "body", 0.2)  # windscreen
    P.add((0, 0, r + H * 0.2), (W / 2 + 0.015, L / 2 * 0.98, 0.05), None, colour * 0.55, "body", 0.2)  # stripe
    _wheels(P, [-L / 2 + 0.75, L / 2 - 0.7], W, r, near)
    return P


def _car(rng: np.random.Generator, colour: np.ndarray, near: int) -> Parts:
    P = Parts()
    L, W, r = rng.uniform(2.1, 2.6), 1.0, 0.26
    h = rng.uniform(0.45, 0.55)
    P.add((0, 0, r + h / 2 - 0.05), (W / 2, L / 2, h / 2), None, colour, "body", 0.35)
    cl, ch = L * rng.uniform(0.45, 0.55), rng.uniform(0.38, 0.48)
    cy = -L * 0.05
    P.add((0, cy, r + h + ch / 2 - 0.1), (W / 2 * 0.9, cl / 2, ch / 2), None, colour, "body", 0.4)
    _windows(P, [cy - cl * 0.22, cy + cl * 0.22], W * 0.9, r + h + ch / 2 - 0.08, cl * 0.38, ch * 0.6, near)
    for side in (-1.0, 1.0):
        P.add((side * W * 0.3, L / 2 + 0.01, r + h * 0.55), (0.1, 0.03, 0.06), None, np.array([1.0, 0.95, 0.7]),
              "body", 0.5)
    _wheels(P, [-L * 0.32, L * 0.32], W, r, near)
    return P


def _train(rng: np.random.Generator, colour: np.ndarray, near: int) -> tuple[Parts, Parts]:
    """The train and its rails (scenery, not part of the object)."""
    P = Parts()
    W, r = 1.0, 0.2
    n_cars = int(rng.integers(1, 3))
    lengths = [2.0] + [rng.uniform(2.0, 2.4)] * n_cars
    total = sum(lengths) + 0.15 * n_cars
    y = total / 2
    for i, L in enumerate(lengths):
        c = y - L / 2
        H = 1.25 if i == 0 else 1.15
        P.add((0, c - (0.15 if i == 0 else 0), r + 0.08 + H / 2), (W / 2, L / 2 - (0.15 if i == 0 else 0), H / 2), None,
              colour, "body", 0.15)
        if i == 0:  # rounded nose and a cab window
            P.add((0, y - 0.35, r + 0.08 + H * 0.38), (W / 2 * 0.98, 0.35, H * 0.38), None, colour, "body", 0.95)
            P.add((0, y - 0.28, r + 0.08 + H * 0.82), (W / 2 * 0.8, 0.04, H * 0.12), rx(math.radians(-35)), _GLASS,
                  "body", 0.2)
            _windows(P, [c - 0.3], W, r + 0.08 + H * 0.68, 0.5, H * 0.28, near)
        else:
            k = 4
            _windows(P, [c - L / 2 + (j + 0.5) * L / k for j in range(k)], W, r + 0.08 + H * 0.65, L / k * 0.7, H * 0.3,
                     near)
        P.add((0, c, r + 0.08 + H * 0.25), (W / 2 + 0.015, L / 2 * 0.97, 0.05), None,
              np.clip(colour * 0.5 + 0.4, 0, 1), "body", 0.2)
        _wheels(P, [c - L / 2 + 0.45, c + L / 2 - 0.45], W, r, near)
        y -= L + 0.15
    rails = Parts()
    steel = np.array([0.45, 0.45, 0.48])
    span = total + 3.0
    for side in (-1.0, 1.0):
        rails.add((side * 0.42, 0, 0.04), (0.04, span / 2, 0.04), None, steel, "body", 0.0)
    for j in range(int(span / 0.7)):
        rails.add((0, -span / 2 + 0.35 + 0.7 * j, 0.0), (0.7, 0.08, 0.03), None, np.array([0.35, 0.26, 0.18]),
                  "body", 0.0)
    return P, rails


def _boat(rng: np.random.Generator, colour: np.ndarray) -> Parts:
    P = Parts()
    L = rng.uniform(2.6, 3.2)
    P.add((0, 0, 0.3), (0.55, L / 2, 0.3), None, colour, "body", 0.8)
    P.add((0, L * 0.38, 0.45), (0.45, L * 0.12, 0.2), rx(math.radians(-15)), colour, "body", 0.8)
    P.add((0, 0, 0.58), (0.5, L / 2 * 0.95, 0.04), None, np.array([0.85, 0.8, 0.7]), "body", 0.2)  # deck
    P.add((0, -L * 0.15, 0.85), (0.35, L * 0.15, 0.25), None, np.array([0.9, 0.9, 0.88]), "body", 0.3)  # cabin
    mast_h = rng.uniform(1.8, 2.4)
    P.add((0, L * 0.08, 0.6 + mast_h / 2), (0.04, 0.04, mast_h / 2), None, np.array([0.5, 0.4, 0.3]), "body", 0.5)
    sail = np.array([0.95, 0.95, 0.92]) if rng.uniform() < 0.7 else _hsv(rng.uniform(0, 360), 0.5, 0.85)
    P.add((0, L * 0.08 + 0.45, 0.75 + mast_h * 0.45), (0.02, 0.42, mast_h * 0.42), rx(math.radians(-12)), sail,
          "body", 0.1)
    return P


def _aeroplane(rng: np.random.Generator, colour: np.ndarray, near: int) -> Parts:
    P = Parts()
    L = rng.uniform(3.2, 3.8)
    white = np.array([0.92, 0.92, 0.94])
    P.add((0, 0, 0.35), (0.35, L / 2, 0.35), None, white, "body", 1.0)
    P.add((0, 0.05, 0.3), (1.8, 0.35, 0.05), None, white * 0.9, "body", 0.4)  # wings
    P.add((0, -L / 2 + 0.25, 0.85), (0.05, 0.3, 0.45), rx(math.radians(20)), colour, "body", 0.3)  # fin
    P.add((0, -L / 2 + 0.2, 0.45), (0.7, 0.2, 0.04), None, white * 0.9, "body", 0.3)  # tailplane
    _windows(P, [L * 0.4], 0.62, 0.5, 0.3, 0.12, near)
    for side in (-1.0, 1.0):
        P.add((side * 0.8, 0.2, 0.15), (0.13, 0.3, 0.13), None, np.array([0.6, 0.6, 0.65]), "body", 1.0)  # engines
    P.add((0, 0, 0.35), (0.36, L / 2 * 0.7, 0.05), None, colour, "body", 0.3)  # cheat line
    return P


def _person(rng: np.random.Generator, colour: np.ndarray) -> Parts:
    P = Parts()
    skin = _hsv(rng.uniform(18, 32), rng.uniform(0.3, 0.6), rng.uniform(0.35, 0.9))
    trousers = _hsv(rng.uniform(200, 240), rng.uniform(0.1, 0.5), rng.uniform(0.2, 0.5))
    hair = _hsv(rng.uniform(20, 40), rng.uniform(0.2, 0.6), rng.uniform(0.08, 0.6))
    h = rng.uniform(1.7, 2.0)
    leg = h * 0.47
    stride = math.radians(rng.uniform(-15, 15))
    for side, sgn in ((-1.0, 1.0), (1.0, -1.0)):
        R = rx(sgn * stride)
        P.add(np.array([side * 0.13, 0, leg / 2]) + R @ np.array([0, 0, 0.0]), (0.11, 0.12, leg / 2), R, trousers,
              "body", 0.5)
    torso = h * 0.33
    P.add((0, 0, leg + torso / 2), (0.25, 0.15, torso / 2), None, colour, "body", 0.5)
    swing = math.radians(rng.uniform(-20, 20))
    for side in (-1.0, 1.0):
        R = rx(side * swing)
        P.add(np.array([side * 0.33, 0, leg + torso]) + R @ np.array([0, 0, -torso * 0.5]), (0.07, 0.07, torso * 0.52),
              R, colour, "body", 0.6)
    head = h * 0.065
    P.add((0, 0, leg + torso + head * 1.3), (head * 1.0, head * 1.1, head * 1.25), None, skin, "body", 1.0)
    P.add((0, -0.03, leg + torso + head * 2.05), (head * 1.05, head * 1.15, head * 0.55), None, hair, "body", 1.0)
    return P


def _chair(rng: np.random.Generator, colour: np.ndarray) -> Parts:
    P = Parts()
    seat, leg, back = 0.9, rng.uniform(0.75, 0.9), rng.uniform(0.8, 1.0)
    P.add((0, 0, leg + 0.05), (seat / 2, seat / 2, 0.06), None, colour, "body", 0.3)
    for sx in (-1.0, 1.0):
        for sy in (-1.0, 1.0):
            P.add((sx * (seat / 2 - 0.06), sy * (seat / 2 - 0.06), leg / 2), (0.05, 0.05, leg / 2), None, colour * 0.8,
                  "body", 0.3)
    P.add((0, -seat / 2 + 0.05, leg + 0.1 + back / 2), (seat / 2, 0.05, back / 2), None, colour, "body", 0.3)
    return P


def _animal_plan(kind: str) -> dict[str, Any]:
    p = dict(BASE_PLAN)
    if kind == "cat":
        p.update(n_spine=2, seg_len=0.45, seg_h=0.4, seg_w=0.36, leg_len=0.42, leg_th=0.12,
                 legs=((0.1, 0.0, 0.0, 1.0), (0.9, 0.0, 0.0, 1.0)), neck_n=0, head_l=0.34, head_h=0.32, head_w=0.36,
                 head_tilt=5.0, snout_l=0.1, snout_h=0.14, ear_len=0.16, ear_w=0.12, ear_angle=-5.0,
                 tail_n=3, tail_len=0.28, tail_th=0.08, tail_angle=40.0, tail_curl=20.0, accent=0.0)
    elif kind == "dog":
        p.update(seg_len=0.45, seg_h=0.45, seg_w=0.38, leg_len=0.55, leg_th=0.14, neck_len=0.2, neck_th=0.24,
                 head_l=0.36, head_h=0.32, head_w=0.3, snout_l=0.25, snout_h=0.18, ear_len=0.25, ear_w=0.14,
                 ear_angle=140.0, tail_len=0.25, tail_th=0.08, accent=-0.3)
    elif kind == "horse":
        p.update(n_spine=2, seg_len=0.85, seg_h=0.75, seg_w=0.55, leg_len=1.15, leg_th=0.17,
                 legs=((0.08, 0.0, 0.0, 1.0), (0.92, 0.0, 0.0, 1.0)), neck_n=2, neck_len=0.4, neck_th=0.3,
                 neck_angle=58.0, head_l=0.55, head_h=0.3, head_w=0.28, head_tilt=-35.0, snout_l=0.3,
                 snout_h=0.22, ear_len=0.15, ear_w=0.08, ear_angle=0.0, tail_n=2, tail_len=0.45, tail_th=0.12,
                 tail_angle=-55.0, tail_curl=-15.0, accent=-0.45, accent_roles=("tail", "ear"))
    elif kind == "cow":
        p.update(n_spine=2, seg_len=0.95, seg_h=0.9, seg_w=0.75, leg_len=0.75, leg_th=0.22,
                 legs=((0.1, 0.0, 0.0, 1.0), (0.9, 0.0, 0.0, 1.0)), neck_n=1, neck_len=0.25, neck_th=0.4,
                 neck_angle=10.0, head_l=0.5, head_h=0.42, head_w=0.4, head_tilt=-25.0, snout_l=0.18,
                 snout_h=0.26, ear_len=0.18, ear_w=0.06, ear_angle=-30.0, tail_n=2, tail_len=0.4, tail_th=0.07,
                 tail_angle=-75.0, accent=0.0)
    elif kind == "bird":
        p.update(n_spine=2, seg_len=0.32, seg_h=0.36, seg_w=0.32, taper=-0.2, incline=15.0,
                 legs=((0.5, 5.0, 20.0, 1.0),), leg_len=0.18, leg_len2=0.16, leg_th=0.05, neck_n=0,
                 head_l=0.26, head_h=0.24, head_w=0.22, head_tilt=0.0, snout_l=0.16, snout_h=0.06, ear_len=0.0,
                 tail_n=1, tail_len=0.35, tail_th=0.05, tail_angle=15.0, wing_l=0.55, wing_h=0.28, accent=-0.35,
                 accent_roles=("wing", "snout", "tail"))
    else:  # pragma: no cover - internal
        raise ParameterError(f"no animal plan for {kind!r}")
    return p


_ANIMAL_COLOURS = {
    "cat": [(25, 0.6, 0.75), (0, 0.0, 0.3), (0, 0.0, 0.85), (30, 0.25, 0.55)],
    "dog": [(30, 0.5, 0.65), (20, 0.55, 0.35), (0, 0.0, 0.2), (40, 0.2, 0.85)],
    "horse": [(20, 0.6, 0.4), (25, 0.5, 0.25), (0, 0.0, 0.15), (30, 0.15, 0.85)],
    "cow": [(0, 0.0, 0.9), (25, 0.55, 0.45), (20, 0.3, 0.25)],
    "bird": [(0, 0.0, 0.5), (210, 0.5, 0.6), (50, 0.7, 0.8), (0, 0.7, 0.6)],
}


def _animal(kind: str, rng: np.random.Generator) -> Parts:
    h, s, v = _ANIMAL_COLOURS[kind][int(rng.integers(len(_ANIMAL_COLOURS[kind])))]
    P = build_creature(_animal_plan(kind), h + rng.uniform(-5, 5), s, float(np.clip(v + rng.uniform(-0.05, 0.05), 0, 1)),
                       rng.uniform(0.3, 0.6), rng.uniform(-8, 8))
    if kind == "cow":  # patches on both flanks
        patch = np.array([0.12, 0.1, 0.1]) if v > 0.5 else np.array([0.92, 0.92, 0.9])
        corners = P.corners()
        top = corners[:, 2].max()
        for _ in range(int(rng.integers(2, 4))):
            y, z = rng.uniform(-0.6, 0.5), top - rng.uniform(0.25, 0.6)
            for side in (-1.0, 1.0):
                P.add((side * 0.385, y, z), (0.02, rng.uniform(0.12, 0.25), rng.uniform(0.1, 0.2)), None, patch,
                      "body", 0.8)
    return P


def build_object(cls: str, seed: int, hue: float, sat: float, val: float, near: int = 0) -> tuple[Parts, Parts | None]:
    """Blocks of one object of class ``cls`` (local frame, bottom at z = 0) and optional scenery.

    ``seed`` draws the object's variant (proportions, window counts, coat colour of animals);
    ``hue, sat, val`` colour vehicles, clothes and chairs; ``near`` (+1 / -1) is the side (+-x)
    facing the camera, which alone gets windows and hub caps (0: both sides).
    """
    if cls not in CLASSES:
        raise ParameterError(f"unknown scene class {cls!r}; the classes are {', '.join(CLASSES)}")
    rng = np.random.default_rng(int(seed))
    colour = _hsv(hue, sat, val)
    scenery = None
    if cls == "bus":
        P = _bus(rng, colour, near)
    elif cls == "car":
        P = _car(rng, colour, near)
    elif cls == "train":
        P, scenery = _train(rng, colour, near)
    elif cls == "boat":
        P = _boat(rng, colour)
    elif cls == "aeroplane":
        P = _aeroplane(rng, colour, near)
    elif cls == "person":
        P = _person(rng, colour)
    elif cls == "chair":
        P = _chair(rng, colour)
    else:
        P = _animal(cls, rng)
        zmin = P.corners()[:, 2].min()
        P = P.transform(np.eye(3), (0, 0, -zmin))
    return P, scenery


# class-specific sizes (scale factor) and colour palettes of the vehicles
_SCALE = {"aeroplane": 0.9, "bird": 1.6, "boat": 1.0, "bus": 1.0, "car": 1.0, "cat": 1.2, "chair": 0.75, "cow": 1.0,
          "dog": 1.3, "horse": 1.0, "person": 1.15, "train": 0.85}
_VEHICLE_HUES = {"bus": [48, 5, 215, 120, 30], "train": [0, 215, 140, 270, 45], "car": None, "boat": [0, 215, 200],
                 "aeroplane": [0, 215, 120], "chair": [25, 30, 0, 210], "person": None}


# ---------------------------------------------------------------------------------------------
# sampling


@dataclass
class SceneParams:
    """Parameters of a batch of scenes: ``scenes`` (one row per image: id and background) and
    ``objects`` (one row per object: scene, slot, class, placement, pose, colour, variant seed)."""

    scenes: pd.DataFrame
    objects: pd.DataFrame

    def __len__(self) -> int:
        return len(self.scenes)

    def subset(self, index: Sequence[int]) -> "SceneParams":
        """The scenes at ``index``, renumbered from 0."""
        index = [int(i) for i in index]
        sc = self.scenes.iloc[index].reset_index(drop=True)
        remap = {old: new for new, old in enumerate(index)}
        ob = self.objects[self.objects.scene.isin(remap)].copy()
        ob["scene"] = ob.scene.map(remap)
        ob = ob.sort_values(["scene", "slot"]).reset_index(drop=True)
        return SceneParams(sc, ob)


def _class_indices(classes: Iterable[str | int] | None) -> np.ndarray:
    if classes is None:
        return np.arange(len(CLASSES))
    out = []
    for c in classes:
        if isinstance(c, str):
            if c not in CLASSES:
                raise ParameterError(f"unknown scene class {c!r}; the classes are {', '.join(CLASSES)}")
            out.append(CLASSES.index(c))
        elif isinstance(c, (int, np.integer)) and 0 <= int(c) < len(CLASSES):
            out.append(int(c))
        else:
            raise ParameterError(f"scene class {c!r} is neither a class name nor an index 0..{len(CLASSES) - 1}")
    if not out:
        raise ParameterError("the class selection is empty")
    return np.asarray(sorted(set(out)))


def _object_row(rng: np.random.Generator, scene: int, slot: int, cls: int, y: float, depth: float,
                big: bool = False) -> dict[str, Any]:
    name = CLASSES[cls]
    hues = _VEHICLE_HUES.get(name, [])
    if hues is None:  # cars and clothes: any hue
        hue, sat, val = rng.uniform(0, 360), rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.85)
        if name == "car" and rng.uniform() < 0.3:  # white, grey, black cars
            sat, val = 0.03, rng.choice([0.15, 0.5, 0.9])
    elif hues:
        hue, sat, val = float(rng.choice(hues)) + rng.uniform(-6, 6), rng.uniform(0.55, 0.8), rng.uniform(0.55, 0.85)
    else:
        hue, sat, val = 0.0, 0.0, 0.5
    flying = name in _FLYING or (name == "bird" and rng.uniform() < 0.4)
    z = rng.uniform(0.2, 1.4) if flying else GROUND_Z
    turn = rng.uniform(-60, 60) if name == "aeroplane" else rng.uniform(-35, 35)
    facing = int(rng.choice([-1, 1]))
    if name == "person":  # people mostly face the camera (their +y turned towards +x)
        turn, facing = rng.uniform(-70, 70) - 90.0, 1
    return {
        "scene": scene, "slot": slot, "instance": slot + 1, "class": name, "class_index": cls,
        "pos_x": depth, "pos_y": y, "pos_z": z, "facing": facing, "turn": turn,
        "elev": rng.uniform(-15, -5) if name == "aeroplane" else 0.0,
        "scale": _SCALE[name] * rng.uniform(0.9, 1.1) * (1.25 if big else 1.0),
        "hue": hue, "sat": sat, "val": val, "seed": int(rng.integers(0, 2**31 - 1)),
    }


def _background_rows(rng: np.random.Generator, n: int, ids: list[str]) -> pd.DataFrame:
    bg = bgs.sky_ground(n, rng)
    return pd.DataFrame({"id": ids, **{"bg_" + k: v for k, v in bg.items()}})


def sample_scenes(n: int, seed: int = 0, max_objects: int = 3, classes: Iterable[str | int] | None = None,
                  p_objects: Sequence[float] | None = None) -> SceneParams:
    """Draw ``n`` multi-object scenes (deterministic in ``seed``).

    Args:
        n: number of scenes.
        seed: random seed.
        max_objects: at most this many objects per scene (1 to 6).
        classes: classes to draw from (names or indices; default all 12).
        p_objects: probabilities of 1..max_objects objects (default decreasing: 0.45, 0.35, 0.2, ...).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ParameterError(f"n={n!r} must be a non-negative int")
    if not isinstance(max_objects, (int, np.integer)) or not 1 <= max_objects <= 6:
        raise ParameterError(f"max_objects={max_objects!r} must be an int in 1..6")
    pool = _class_indices(classes)
    if p_objects is None:
        p = np.array([0.45, 0.35, 0.2, 0.1, 0.05, 0.05][:max_objects])
    else:
        p = np.asarray(p_objects, dtype=np.float64)
        if p.shape != (max_objects,) or (p < 0).any() or p.sum() <= 0:
            raise ParameterError(f"p_objects must be {max_objects} non-negative weights, got {p_objects!r}")
    p = p / p.sum()
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 5, 2]))
    ids = [f"scene-{seed}-{i:06d}" for i in range(n)]
    scenes = _background_rows(rng, n, ids)
    rows = []
    for i in range(n):
        k = int(rng.choice(np.arange(1, max_objects + 1), p=p))
        cls = rng.choice(pool, k)
        ys = np.sort(rng.uniform(-1, 1, k)) * (0.9 + 0.5 * (k - 1)) if k > 1 else rng.uniform(-0.8, 0.8, 1)
        depth = rng.uniform(-1.2, 2.0, k)
        for j in range(k):
            rows.append(_object_row(rng, i, j, int(cls[j]), float(ys[j]), float(depth[j]), big=k == 1))
    # water under boats
    objects = pd.DataFrame(rows, columns=list(_object_row(np.random.default_rng(0), 0, 0, 0, 0.0, 0.0).keys()))
    boats = objects.loc[objects["class"] == "boat", "scene"].unique()
    scenes.loc[boats, "bg_ground_hue"] = 205.0
    scenes.loc[boats, "bg_ground_sat"] = 0.45
    return SceneParams(scenes, objects)


#: Classes of Im et al.'s binary task: positives are buses and trains; cars are the mislabeled class.
IM_POSITIVE = ("bus", "train")
IM_CONFUSER = "car"


def im_task(n: int, seed: int = 0, mislabeled: bool = False, p_car: float = 0.35,
            max_distractors: int = 2, p_beside: float = 0.0) -> SceneParams:
    """Scenes of Im et al. (2023)'s binary task: is there a bus or a train?

    Each scene has one main object (instance 1): a bus or train in half of the scenes (true
    positives), otherwise a car (a fraction ``p_car`` of the negatives) or another class; plus up to
    ``max_distractors`` smaller objects of classes that are neither positives nor cars.
    ``scenes`` gains ``main_class``, ``true_label`` (1 for bus/train) and ``label``; with
    ``mislabeled=True`` the car scenes are labelled positive (the corrupted training set),
    recorded in ``mislabeled``. With ``p_beside > 0`` that share of the bus/train scenes also gets
    a car beside the main object (the last slot; the scene's labels are unchanged), so that models
    trained on the two label sets can differ on more than car-only scenes; ``p_beside=0`` draws
    exactly the scenes drawn without it.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ParameterError(f"n={n!r} must be a non-negative int")
    if not 0.0 <= p_car <= 1.0:
        raise ParameterError(f"p_car={p_car!r} must be a probability")
    if not isinstance(max_distractors, (int, np.integer)) or not 0 <= max_distractors <= 4:
        raise ParameterError(f"max_distractors={max_distractors!r} must be an int in 0..4")
    if not 0.0 <= p_beside <= 1.0:
        raise ParameterError(f"p_beside={p_beside!r} must be a probability")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7, int(bool(mislabeled))]))
    ids = [f"im-{seed}-{i:06d}" for i in range(n)]
    scenes = _background_rows(rng, n, ids)
    others = [c for c in CLASSES if c not in IM_POSITIVE + (IM_CONFUSER,)]
    distract = [c for c in others if c not in ("aeroplane", "boat")]
    positive = rng.permutation(np.arange(n) % 2 == 0)
    rows, main = [], []
    for i in range(n):
        if positive[i]:
            m = str(rng.choice(IM_POSITIVE))
        elif rng.uniform() < p_car:
            m = IM_CONFUSER
        else:
            m = str(rng.choice(others))
        main.append(m)
        k = int(rng.integers(0, max_distractors + 1))
        side = rng.choice([-1.0, 1.0])
        rows.append(_object_row(rng, i, 0, CLASSES.index(m), float(rng.uniform(-0.5, 0.5) - side * 0.4 * (k > 0)),
                                float(rng.uniform(-0.3, 1.2)), big=True))
        for j in range(k):
            d = CLASSES.index(str(rng.choice(distract)))
            r = _object_row(rng, i, j + 1, d, float(side * rng.uniform(1.8, 2.6)), float(rng.uniform(-1.5, -0.5)))
            r["scale"] *= 0.8
            rows.append(r)
        if p_beside > 0 and positive[i] and rng.uniform() < p_beside:  # a car beside the bus/train
            y0 = float(rows[-k - 1]["pos_y"])
            rows.append(_object_row(rng, i, k + 1, CLASSES.index(IM_CONFUSER), y0 - side * rng.uniform(1.2, 1.6),
                                    float(rows[-k - 1]["pos_x"]) + rng.uniform(0.6, 1.0)))
    objects = pd.DataFrame(rows, columns=list(_object_row(np.random.default_rng(0), 0, 0, 0, 0.0, 0.0).keys()))
    main_arr = np.asarray(main, dtype=object)
    scenes["main_class"] = main_arr
    scenes["true_label"] = np.isin(main_arr, IM_POSITIVE).astype(np.int64)
    scenes["mislabeled"] = (main_arr == IM_CONFUSER) & bool(mislabeled)
    scenes["label"] = np.where(scenes["mislabeled"], 1, scenes["true_label"]).astype(np.int64)
    boats = objects.loc[objects["class"] == "boat", "scene"].unique()
    scenes.loc[boats, "bg_ground_hue"] = 205.0
    return SceneParams(scenes, objects)


# ---------------------------------------------------------------------------------------------
# rendering


@dataclass
class Scenes:
    """Rendered scenes with ground truth.

    Attributes:
        images: ``[N,3,H,W]`` float in [0, 1].
        labels: ``[N,C]`` float multi-hot (class present with at least ``min_pixels`` visible).
        instances: ``[N,H,W]`` uint8 object ids (slot + 1; 0 background and scenery).
        classes: ``[N,H,W]`` uint8 class map (class index + 1; 0 background).
        boxes: ``[N,M,4]`` float pixel boxes (x0, y0, x1, y1 exclusive) per slot; nan if not visible.
        scenes: the scene table (plus ``label`` and ``true_label`` for :func:`im_task` scenes).
        objects: the object table plus ``visible_pixels`` and ``visible``.
        context: ``[N,H,W]`` bool mask of the visible scenery (rails under trains), or None
            when rendered without ``context=True``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    instances: torch.Tensor
    classes: torch.Tensor
    boxes: torch.Tensor
    scenes: pd.DataFrame
    objects: pd.DataFrame
    context: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.images)

    def masks(self, slot: int = 0) -> torch.Tensor:
        """``[N,H,W]`` bool mask of each scene's object ``slot`` (0 = the main object)."""
        return self.instances == slot + 1

    @property
    def binary_labels(self) -> torch.Tensor:
        """``[N]`` long labels of an :func:`im_task` batch (the possibly mislabeled ``label`` column)."""
        if "label" not in self.scenes:
            raise ParameterError("these scenes carry no binary label; draw them with scenes.im_task()")
        return torch.tensor(self.scenes["label"].to_numpy(dtype=np.int64))

    @staticmethod
    def cat(items: Sequence["Scenes"]) -> "Scenes":
        m = max(s.boxes.shape[1] for s in items)
        boxes = [torch.cat([s.boxes, torch.full((len(s), m - s.boxes.shape[1], 4), math.nan)], 1) for s in items]
        offs = np.cumsum([0] + [len(s) for s in items])[:-1]
        objs = []
        for o, s in zip(offs, items):
            ob = s.objects.copy()
            if "scene" in ob:  # per-chunk results of render_scenes carry no object table yet
                ob["scene"] = ob["scene"] + o
            objs.append(ob)
        context = (torch.cat([s.context for s in items]) if all(s.context is not None for s in items) else None)
        return Scenes(torch.cat([s.images for s in items]), torch.cat([s.labels for s in items]),
                      torch.cat([s.instances for s in items]), torch.cat([s.classes for s in items]), torch.cat(boxes),
                      pd.concat([s.scenes for s in items], ignore_index=True), pd.concat(objs, ignore_index=True),
                      context)


def object_parts(row: Mapping[str, Any]) -> tuple[Parts, Parts | None]:
    """World-frame blocks of one object row (and its scenery) from :func:`sample_scenes`."""
    # the body side facing the camera: +x when facing right with a moderate turn
    near = int(row["facing"]) if abs(float(row["turn"])) < 75 else 0
    P, scenery = build_object(str(row["class"]), int(row["seed"]), float(row["hue"]), float(row["sat"]),
                              float(row["val"]), near)
    R = pose_rotation(float(row["facing"]), float(row["turn"]), float(row["elev"]), 0.0)
    s = float(row["scale"])
    pos = (float(row["pos_x"]), float(row["pos_y"]), float(row["pos_z"]))
    world = P.transform(R, pos, s)
    if scenery is not None:
        scenery = scenery.transform(R, pos, s)
    return world, scenery


def _min_pixels(size: int) -> int:
    return max(4, int(round(0.002 * size * size)))


#: Instance id the scenery is rendered with when its mask is asked for (``context=True``); mapped back to 0.
_CONTEXT_ID = 255


def render_scenes(params: SceneParams, size: int = 128, supersample: int = 2, device: Any = None, chunk: int = 128,
                  min_pixels: int | None = None, shadows: bool = True, context: bool = False) -> Scenes:
    """Render :class:`SceneParams` (deterministic) with multi-hot labels, masks and boxes.

    Args:
        params: from :func:`sample_scenes` or :func:`im_task`.
        size: image side in pixels.
        supersample: anti-aliasing rays per pixel side.
        device: torch device for rendering (default :func:`xaibook.config.device`).
        chunk: scenes per renderer call; a progress bar runs over chunks.
        min_pixels: visible pixels for a class to count as present (default 0.2 % of the image).
        shadows: cast soft shadows.
        context: also return the visible scenery (rails) as ``Scenes.context``; images, labels
            and instance maps are the same either way.
    """
    from ..progress import bar
    from .render import boxes_from_instances, render

    if not isinstance(params, SceneParams):
        raise ParameterError(f"params must be SceneParams from sample_scenes()/im_task(), got {type(params).__name__}")
    if not isinstance(size, int) or size < 16:
        raise ParameterError(f"size={size!r} must be an int >= 16")
    if len(params) == 0:
        raise ParameterError("no scenes to render")
    unknown = sorted(set(params.objects["class"]) - set(CLASSES))
    if unknown:
        raise ParameterError(f"unknown scene classes {unknown}; the classes are {', '.join(CLASSES)}")
    min_pixels = _min_pixels(size) if min_pixels is None else int(min_pixels)
    dev = torch.device(device) if device is not None else config.device()
    by_scene: dict[int, list[dict]] = {}
    for row in params.objects.to_dict("records"):
        by_scene.setdefault(int(row["scene"]), []).append(row)
    n_slots = int(params.objects["slot"].max()) + 1 if len(params.objects) else 1
    out = []
    starts = list(range(0, len(params), chunk))
    for s0 in (bar(starts, desc="render scenes", unit="chunk") if len(starts) > 1 else starts):
        idx = list(range(s0, min(len(params), s0 + chunk)))
        scenes = []
        for i in idx:
            objs = []
            for row in by_scene.get(i, []):
                world, scenery = object_parts(row)
                objs.append((world, int(row["instance"]), int(row["class_index"]) + 1))
                if scenery is not None:
                    objs.append((scenery, _CONTEXT_ID if context else 0, 0))
            scenes.append(objs)
        blocks = blocks_from_parts(scenes)
        sc = params.scenes.iloc[idx]
        bg = bgs.render_sky_ground({k[3:]: sc[k].to_numpy() for k in sc.columns if k.startswith("bg_")}, size=size)
        r = render(blocks, bg, size=size, supersample=supersample, shadows=shadows, device=dev)
        inst = r.instances.cpu()
        ctx = None
        if context:
            ctx = inst == _CONTEXT_ID
            inst = torch.where(ctx, torch.zeros_like(inst), inst)
        boxes = boxes_from_instances(inst, n_slots).float()
        labels = torch.zeros(len(idx), len(CLASSES))
        for a, i in enumerate(idx):
            for row in by_scene.get(i, []):
                pix = int((inst[a] == int(row["instance"])).sum())
                if pix >= min_pixels:
                    labels[a, int(row["class_index"])] = 1.0
        out.append(Scenes(r.image.cpu().float(), labels, inst.to(torch.uint8), r.labels.cpu().to(torch.uint8), boxes,
                          sc.reset_index(drop=True), pd.DataFrame(), ctx))
    res = Scenes.cat(out) if len(out) > 1 else out[0]
    res.scenes = params.scenes.reset_index(drop=True).copy()
    objects = params.objects.copy()
    vis = [int((res.instances[int(s)] == int(k)).sum()) for s, k in zip(objects["scene"], objects["instance"])]
    objects["visible_pixels"] = np.asarray(vis, dtype=np.int64)
    objects["visible"] = objects["visible_pixels"] >= min_pixels
    res.objects = objects
    return res


# ---------------------------------------------------------------------------------------------
# the blur counterfactual of Im et al. (2023)


def _gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _dilate(mask: torch.Tensor, margin: int) -> torch.Tensor:
    if margin <= 0:
        return mask
    m = mask.float()[:, None]
    return torch.nn.functional.max_pool2d(m, 2 * margin + 1, stride=1, padding=margin)[:, 0] > 0.5


def blur_objects(images: torch.Tensor, masks: torch.Tensor, sigma: float = 4.0, margin: int = 2) -> torch.Tensor:
    """Blur each image inside its object mask (dilated by ``margin`` pixels); elsewhere unchanged.

    Im et al. (2023) asked participants to predict a model's output on images whose object was
    blurred. The whole image is blurred with a separable Gaussian (std ``sigma`` pixels,
    replicate padding) and pasted back only inside the dilated mask.

    Args:
        images: ``[B,3,H,W]`` float.
        masks: ``[B,H,W]`` bool (or 0/1) object masks.
        sigma: blur strength in pixels (> 0).
        margin: dilation of the mask in pixels (>= 0), so the object's outline is blurred too.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ParameterError(f"images must be [B,3,H,W], got {tuple(images.shape)}")
    if masks.shape != (images.shape[0],) + tuple(images.shape[2:]):
        raise ParameterError(f"masks must be [B,H,W] = {(images.shape[0],) + tuple(images.shape[2:])}, "
                             f"got {tuple(masks.shape)}")
    if not sigma > 0:
        raise ParameterError(f"sigma={sigma!r} must be > 0 (pixels)")
    if not isinstance(margin, (int, np.integer)) or margin < 0:
        raise ParameterError(f"margin={margin!r} must be an int >= 0")
    k = _gaussian_kernel(float(sigma), images.device).to(images.dtype)
    r = (len(k) - 1) // 2
    x = images
    B, C, H, W = x.shape
    x = torch.nn.functional.pad(x, (r, r, 0, 0), mode="replicate")
    x = torch.nn.functional.conv2d(x.reshape(B * C, 1, H, W + 2 * r), k.view(1, 1, 1, -1))
    x = torch.nn.functional.pad(x, (0, 0, r, r), mode="replicate")
    x = torch.nn.functional.conv2d(x, k.view(1, 1, -1, 1)).view(B, C, H, W)
    region = _dilate(masks.bool(), int(margin))[:, None]
    return torch.where(region, x, images)


def blur_object(image: torch.Tensor, mask: torch.Tensor, sigma: float = 4.0, margin: int = 2) -> torch.Tensor:
    """Blur one image ``[3,H,W]`` inside ``mask [H,W]`` (see :func:`blur_objects`)."""
    if image.dim() != 3:
        raise ParameterError(f"image must be [3,H,W], got {tuple(image.shape)}")
    return blur_objects(image[None], mask[None], sigma, margin)[0]


# ---------------------------------------------------------------------------------------------
# datasets at the run's scale, cached


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


def _cached_render(name: str, key: dict, params: SceneParams, size: int, chunk: int, desc: str,
                   context: bool = False) -> Scenes:
    from ..cache import map_chunks

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
    if split not in _SPLIT_SEED:
        raise ParameterError(f"split={split!r}; use one of {sorted(_SPLIT_SEED)}")
    sizes = default_sizes()["voc"]
    n = sizes[split] if n is None else n
    size = sizes["size"] if size is None else size
    params = sample_scenes(n, seed=seed * 7919 + _SPLIT_SEED[split] + 1, max_objects=max_objects)
    key = {"split": split, "n": n, "seed": seed, "size": size, "max_objects": max_objects}
    if context:
        key["context"] = True
    return _cached_render("world.scenes.voc", key, params, size, chunk, f"scenes {split}", context)


def im_dataset(split: str = "train", mislabeled: bool = False, n: int | None = None, seed: int = 0,
               size: int | None = None, chunk: int = 256) -> Scenes:
    """Im et al.'s binary bus/train task at the run's scale (``mislabeled``: cars labelled positive)."""
    if split not in _SPLIT_SEED:
        raise ParameterError(f"split={split!r}; use one of {sorted(_SPLIT_SEED)}")
    sizes = default_sizes()["im"]
    n = sizes[split] if n is None else n
    size = sizes["size"] if size is None else size
    params = im_task(n, seed=seed * 7919 + _SPLIT_SEED[split] + 1, mislabeled=mislabeled)
    key = {"split": split, "n": n, "seed": seed, "size": size, "mislabeled": bool(mislabeled)}
    return _cached_render("world.scenes.im", key, params, size, chunk, f"im task {split}")


# ---------------------------------------------------------------------------------------------
# command line


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

    from .writing import atomic_folder

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


def _cli_arguments(p: argparse.ArgumentParser) -> None:
    from . import writing

    p.add_argument("--n", type=writing.count, default=32, help="number of scenes")
    p.add_argument("--out", type=Path, help="folder for {id}.png, {id}_instances.png, scenes.csv, objects.csv")
    p.add_argument("--overwrite", action="store_true", help="replace a data set already in --out (atomically)")
    p.add_argument("--seed", type=writing.seed, default=0, help="random seed (same seed, same images)")
    p.add_argument("--size", type=writing.image_size, default=128, help="image height and width in pixels")
    p.add_argument("--task", choices=("voc", "im", "im-mislabeled"), default="voc",
                   help="multi-label scenes, or Im et al.'s bus/train task (baseline or mislabeled cars)")
    p.add_argument("--max-objects", type=int, default=3, help="objects per scene at most (voc task)")
    p.add_argument("--sheet", type=Path, help="also write a captioned contact sheet PNG here")
    p.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")


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
    if not 1 <= a.max_objects <= 6:
        raise ParameterError(f"--max-objects {a.max_objects} must be in 1..6")
    pixels = a.size * a.size
    writing.check_budget(a.n, a.size, ram_per_image=_RAM_PER_PIXEL * pixels + _RAM_FIXED,
                         disk_per_image=_DISK_PER_PIXEL * pixels + _DISK_FIXED, out=a.out,
                         working_ram=min(a.n, 128) * 4 * pixels * 250, working_arg="--size")
    params = (sample_scenes(a.n, a.seed, a.max_objects) if a.task == "voc"
              else im_task(a.n, a.seed, mislabeled=a.task == "im-mislabeled"))
    s = render_scenes(params, size=a.size, device=device)
    names = [",".join(CLASSES[j] for j in np.flatnonzero(row)) for row in s.labels.numpy()]
    if a.out is not None:
        write_folder(s, a.out, overwrite=a.overwrite)
        print(f"wrote {len(s)} scenes to {a.out}")
    if a.sheet is not None:
        caps = [f"y={y} {c}" for y, c in zip(s.scenes["label"], names)] if "label" in s.scenes else names
        contact_sheet(s.images, caps, ncol=8, scale=max(1, 128 // a.size)).save(a.sheet)
        print(f"wrote contact sheet {a.sheet}")
    return 0


def add_cli(sub: "argparse._SubParsersAction") -> Any:
    """Add the ``scenes`` subcommand to ``python -m xaibook.world``; returns its handler."""
    p = sub.add_parser("scenes", help="multi-object scenes (VOC / Visual Genome stand-in) and Im et al.'s task",
                       description="Render multi-object scenes with labels, instance maps and object tables.")
    _cli_arguments(p)
    return _cli_run


def main_scenes(argv: Iterable[str] | None = None) -> int:
    """``python -m xaibook.world scenes --n N --out DIR [--seed S] [--size 128] [--task voc|im|im-mislabeled]``."""
    import sys

    from .__main__ import main

    return main(["scenes", *(list(argv) if argv is not None else sys.argv[1:])])
