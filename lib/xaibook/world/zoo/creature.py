"""One creature's blocks: a body plan built into parts, posed and scaled into the world frame.

Also the occluder block of the C1 knob (Shen & Huang 2020, "Categorizing Error Cases").
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ...errors import ParameterError
from .. import backgrounds as bgs
from ..blocks import Parts, pose_rotation, rx, ry
from ..render import CAMERA_X, FOCAL_MM, SENSOR_MM
from .species import _FAMILIES, _SPECIES, FAMILIES, _jitter, morph_plan


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

