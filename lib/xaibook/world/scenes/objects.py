"""The scene classes and their block-built objects (local frame: x depth, y forward, z up,
bottom at z = 0); the animals reuse the zoo's body plans."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ...errors import ParameterError
from .. import backgrounds as bgs
from ..blocks import Parts, rx
from ..zoo import BASE_PLAN, build_creature

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

