"""Block geometry shared by the procedural worlds: rotations, part lists and their packing for the renderer.

The zoo (:mod:`xaibook.world.zoo`) and the scenes (:mod:`xaibook.world.scenes`) both build
objects from rounded boxes: a :class:`Parts` list per object in its body frame, posed with
:func:`pose_rotation` (made of :func:`rx`, :func:`ry`, :func:`rz`) and packed into one
renderer batch by :func:`blocks_from_parts` (:class:`xaibook.world.render.Blocks`).
Axes follow the renderer: +X the camera axis, +Y image right, +Z image up.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

#: Part labels written to the label map (index = label value).
PART_LABELS: tuple[str, ...] = ("background", "body", "head", "leg", "tail", "neck", "appendage", "occluder")
#: Part label of each block role (the ``role`` argument of :meth:`Parts.add`).
ROLE_LABEL: dict[str, int] = {
    "body": 1, "head": 2, "snout": 2, "eye": 2, "trunk": 2, "leg": 3, "tail": 4, "tailfin": 4,
    "neck": 5, "ear": 6, "antenna": 6, "wing": 6, "fin": 6, "occluder": 7,
}


def rx(a: float) -> np.ndarray:
    """Rotation by ``a`` radians about +X (the camera axis: in-plane for the viewer)."""
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


def ry(a: float) -> np.ndarray:
    """Rotation by ``a`` radians about +Y (image right)."""
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float64)


def rz(a: float) -> np.ndarray:
    """Rotation by ``a`` radians about +Z (image up, the vertical)."""
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float64)


class Parts:
    """A growing list of blocks of one object (numpy, world or body frame).

    Each block has a centre, half extents, a rounding fraction in [0, 1] (of the smallest half
    extent), a rotation (world from block), an RGB albedo and a role (body, head, leg, ...).
    """

    def __init__(self) -> None:
        self.center: list[np.ndarray] = []
        self.half: list[np.ndarray] = []
        self.round: list[float] = []
        self.rot: list[np.ndarray] = []
        self.color: list[np.ndarray] = []
        self.role: list[str] = []

    def add(self, center: Sequence[float], half: Sequence[float], rot: np.ndarray | None = None,
            color: Sequence[float] = (0.5, 0.5, 0.5), role: str = "body", roundness: float = 0.3) -> None:
        self.center.append(np.asarray(center, dtype=np.float64))
        self.half.append(np.maximum(np.asarray(half, dtype=np.float64), 1e-3))
        self.rot.append(np.eye(3) if rot is None else np.asarray(rot, dtype=np.float64))
        self.color.append(np.clip(np.asarray(color, dtype=np.float64), 0, 1))
        self.role.append(role)
        self.round.append(float(np.clip(roundness, 0, 1)))

    def __len__(self) -> int:
        return len(self.center)

    def corners(self) -> np.ndarray:
        """All box corners ``[8n, 3]`` (for extents and centring)."""
        signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
        out = [c + (r @ (signs * h).T).T for c, h, r in zip(self.center, self.half, self.rot)]
        return np.concatenate(out, 0) if out else np.zeros((0, 3))

    def transform(self, rot: np.ndarray, shift: Sequence[float], scale: float = 1.0) -> "Parts":
        """A copy with every block mapped by ``x -> scale * rot @ x + shift``."""
        out = Parts()
        shift = np.asarray(shift, dtype=np.float64)
        for c, h, q, col, role, rd in zip(self.center, self.half, self.rot, self.color, self.role, self.round):
            out.add(scale * rot @ c + shift, scale * h, rot @ q, col, role, rd)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """Stacked arrays: center, half, radius, rotation, color, label (part labels)."""
        half = np.stack(self.half) if self.half else np.zeros((0, 3))
        return {
            "center": np.stack(self.center) if self.center else np.zeros((0, 3)),
            "half": half,
            "radius": np.asarray(self.round) * (half.min(-1) if len(half) else np.zeros(0)) * 0.98,
            "rotation": np.stack(self.rot) if self.rot else np.zeros((0, 3, 3)),
            "color": np.stack(self.color) if self.color else np.zeros((0, 3)),
            "label": np.asarray([ROLE_LABEL[r] for r in self.role], dtype=np.int64),
        }


def blocks_from_parts(scenes: Sequence[Sequence[tuple[Parts, int, Sequence[int] | None]]]) -> "Any":
    """Pack per-scene object lists into a renderer :class:`~xaibook.world.render.Blocks` batch.

    Args:
        scenes: for each scene, a list of ``(parts, instance_id, labels)``; ``labels`` overrides the
            part labels of that object's blocks (one value or one per block), None keeps them.
    """
    from .render import Blocks

    B = len(scenes)
    per = []
    for objs in scenes:
        arrs = []
        for parts, inst, labels in objs:
            a = parts.arrays()
            if labels is not None:
                a["label"] = np.broadcast_to(np.asarray(labels, dtype=np.int64), a["label"].shape).copy()
            a["instance"] = np.full(len(parts), inst, dtype=np.int64)
            arrs.append(a)
        per.append({k: np.concatenate([a[k] for a in arrs], 0) for k in arrs[0]} if arrs else None)
    K = max([len(p["center"]) for p in per if p is not None] + [1])
    out = Blocks.empty(B, K)
    for i, p in enumerate(per):
        if p is None:
            continue
        n = len(p["center"])
        out.center[i, :n] = torch.from_numpy(p["center"]).float()
        out.half[i, :n] = torch.from_numpy(p["half"]).float()
        out.radius[i, :n] = torch.from_numpy(p["radius"]).float()
        out.rotation[i, :n] = torch.from_numpy(p["rotation"]).float()
        out.color[i, :n] = torch.from_numpy(p["color"]).float()
        out.label[i, :n] = torch.from_numpy(p["label"])
        out.instance[i, :n] = torch.from_numpy(p["instance"])
        out.valid[i, :n] = True
    # the renderer requires radius <= min(half) after the float cast
    out.radius = torch.minimum(out.radius, out.half.amin(-1))
    return out


def pose_rotation(facing: float, turn: float, elev: float, tilt: float) -> np.ndarray:
    """World-from-body rotation: turn about the vertical (facing +1 right, -1 left), elevation
    about the image horizontal (positive shows the back), in-plane tilt. Angles in degrees."""
    yaw = math.radians(turn) + (0.0 if facing > 0 else math.pi)
    return rx(math.radians(tilt)) @ ry(math.radians(elev)) @ rz(yaw)
