"""Two4Two: Peeky and Stretchy, the synthetic animals of Sixt et al. (2022), on the block renderer.

Each animal has eight blocks, four for the spine and four for the legs; one leg pair is fixed,
the other moves along the spine (``arm_position``: Peeky inward, Stretchy outward), Sec. 3.
Every factor of the paper's Table 5 is a field of :class:`Two4TwoParams`; :func:`sample`
draws the study's biased data set or an unbiased one, :func:`intervene` resamples one factor
and keeps the rest, :func:`blocks_from_params` builds the geometry with the original
generator's conventions (``../shared/notes/two4two.md``), :func:`render_params` renders
images and the 9-label masks, and :func:`write_dataset` / :func:`read_dataset` /
:class:`Two4TwoDataset` use the original on-disk layout (``parameters.jsonl``, ``{id}.png``,
``{id}_mask.png``).

Distributions. The released study code draws ``obj_rotation_yaw`` from U[-pi, 0] and both
positions from U[-0.8, 0] (scipy's ``uniform(loc, scale)`` read as ``uniform(low, high)``);
the paper's Table 5 lists position [-0.8, 0] but yaw [0, 2 pi]. ``distributions="released"``
reproduces the code, ``"paper"`` draws what was evidently intended (yaw U[-pi, pi], positions
U[-0.8, 0.8], background U[0.05, 0.95]). **The book uses "released"**: it is the data the
study's model was trained on and its participants saw.
"""
from __future__ import annotations

import dataclasses
import json
import math
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from .. import config
from ..errors import DataFormatError, DataNotFoundError, ParameterError
from . import colors
from .render import Blocks, Light, Rendered, render

OBJ_NAMES = ("peaky", "stretchy")
LABELS = ("background", "arm_left_top", "arm_left_bottom", "spine_left", "spine_left_center",
          "spine_right_center", "spine_right", "arm_right_top", "arm_right_bottom")
"""Mask labels 0-8 (notes item 2); the ``arm_right_*`` pair is the moving one."""

RANGES: dict[str, tuple[float, float]] = {
    "arm_position": (0.0, 1.0),
    "spherical": (0.0, 1.0),
    "obj_color": (0.0, 1.0),
    "bg_color": (0.0, 1.0),
    "bending": (-math.pi / 8, math.pi / 8),
    "obj_rotation_yaw": (-math.pi, math.pi),
    "obj_rotation_pitch": (-math.pi / 3, math.pi / 3),
    "obj_rotation_roll": (-math.pi / 3, math.pi / 3),
    "position_x": (-3.0, 3.0),
    "position_y": (-3.0, 3.0),
}
"""Valid ranges of the continuous factors. The paper gives background [0.05, 0.95]; the study
code draws U[0, 1], so [0, 1] is accepted."""

FACTORS = tuple(RANGES)
"""The continuous factors, in the order of :meth:`Two4TwoParams.factors`."""

SAMPLERS = ("biased", "unbiased")
DISTRIBUTIONS = ("released", "paper")

# Rounded-box stand-in for the original's bevelled, subdivided cubes (notes item 4): half
# extent and corner radius at spherical = 0, .25, .5, .75, 1. Start values from the notes,
# refitted (coordinate search of mask IoU) on the 16 ``fixed`` reference renders; on the 16
# held-out ``sampled_default`` renders mean per-block IoU went from 0.966 to 0.981.
_SPH_KNOTS = (0.0, 0.25, 0.5, 0.75, 1.0)
_HALF = (0.3859, 0.3943, 0.4023, 0.4152, 0.4277)
_RADIUS = (0.109, 0.180, 0.255, 0.339, 0.433)
_SKIN = 0.85  # centre-bone weight on the inner corners of the two centre spine blocks


@dataclass
class Two4TwoParams:
    """One Two4Two scene (paper Table 5; field names as in the original ``parameters.jsonl``).

    Attributes:
        obj_name: ``"peaky"`` or ``"stretchy"``.
        arm_position: legs' position in [0, 1] (Peeky <= 0.52, Stretchy >= 0.48 in the study).
        spherical: block shape, 0 cube ... 1 sphere-like.
        obj_color, bg_color: colour scalars in [0, 1] (coolwarm map: 0 blue, 1 red).
        bending: spine bending in radians; positive values raise the middle.
        obj_rotation_yaw: in-plane rotation (about the camera axis).
        obj_rotation_pitch, obj_rotation_roll: out-of-plane rotations.
        position_x, position_y: translation to the right and up (world units).
        fliplr: mirror image and mask left to right after rendering.
        labeling_error: the recorded label is the other class.
        id: file stem of the image and mask.
    """

    obj_name: str
    arm_position: float
    spherical: float
    obj_color: float
    bg_color: float
    bending: float = 0.0
    obj_rotation_yaw: float = 0.0
    obj_rotation_pitch: float = 0.0
    obj_rotation_roll: float = 0.0
    position_x: float = 0.0
    position_y: float = 0.0
    fliplr: bool = False
    labeling_error: bool = False
    id: str = ""
    original_id: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ParameterError` naming the first field that is wrong."""
        if not isinstance(self.obj_name, str) or self.obj_name not in OBJ_NAMES:
            raise ParameterError(f"obj_name={self.obj_name!r} is unknown; Two4Two has {' and '.join(OBJ_NAMES)}")
        for name, (lo, hi) in RANGES.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
                raise ParameterError(f"{name} must be a number, got {type(v).__name__} {v!r}")
            v = float(v)
            if not (lo - 1e-9 <= v <= hi + 1e-9):  # NaN fails too
                raise ParameterError(f"{name}={v} is outside its valid range [{lo:.4g}, {hi:.4g}]")
            setattr(self, name, v)
        for name in ("fliplr", "labeling_error"):
            v = getattr(self, name)
            if not isinstance(v, (bool, np.bool_)):
                raise ParameterError(f"{name} must be a bool, got {type(v).__name__} {v!r}")
            setattr(self, name, bool(v))
        if not isinstance(self.id, str):
            raise ParameterError(f"id must be a string, got {type(self.id).__name__}")
        if any(c in self.id for c in "/\\") or self.id in (".", ".."):
            raise ParameterError(f"id={self.id!r} cannot be a file name; use letters, digits, '-' and '_'")

    @property
    def label(self) -> str:
        """The recorded class: ``obj_name``, or the other class under a labeling error."""
        if self.labeling_error:
            return OBJ_NAMES[1 - OBJ_NAMES.index(self.obj_name)]
        return self.obj_name

    @property
    def target(self) -> int:
        """The recorded class as an index (0 Peeky, 1 Stretchy)."""
        return OBJ_NAMES.index(self.label)

    def factors(self) -> list[float]:
        """The continuous factors in :data:`FACTORS` order."""
        return [getattr(self, f) for f in FACTORS]

    def replace(self, **changes: Any) -> "Two4TwoParams":
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_record(self, size: int = 128) -> dict[str, Any]:
        """The ``parameters.jsonl`` record in the original generator's field order."""
        return {
            "obj_name": self.obj_name,
            "labeling_error": self.labeling_error,
            "spherical": self.spherical,
            "bending": self.bending,
            "obj_rotation_roll": self.obj_rotation_roll,
            "obj_rotation_pitch": self.obj_rotation_pitch,
            "obj_rotation_yaw": self.obj_rotation_yaw,
            "fliplr": self.fliplr,
            "position_x": self.position_x,
            "position_y": self.position_y,
            "arm_position": self.arm_position,
            "obj_color": self.obj_color,
            "obj_color_rgba": [float(x) for x in colors.coolwarm_rgba(self.obj_color)],
            "bg_color": self.bg_color,
            "bg_color_rgba": [float(x) for x in colors.coolwarm_rgba(self.bg_color)],
            "resolution": [size, size],
            "id": self.id,
            "original_id": self.original_id,
            "label": self.label,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Two4TwoParams":
        """Parse a record of ``parameters.jsonl`` (extra fields such as ``obj_color_rgba`` or
        ``_attributes_status`` are ignored; a contradictory ``label`` is an error)."""
        if not isinstance(record, dict):
            raise DataFormatError(f"a parameters.jsonl line must be a JSON object, got {type(record).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        required = {"obj_name", "arm_position", "spherical", "obj_color", "bg_color"}
        missing = sorted(required - set(record))
        if missing:
            raise DataFormatError(f"record {record.get('id', '?')!r} lacks {', '.join(missing)}")
        kwargs = {k: v for k, v in record.items() if k in names}
        if kwargs.get("id") is None:
            kwargs["id"] = ""
        params = cls(**kwargs)
        if "label" in record and record["label"] != params.label:
            raise DataFormatError(f"record {params.id!r}: label {record['label']!r} contradicts obj_name "
                                  f"{params.obj_name!r} with labeling_error={params.labeling_error}")
        return params


# --------------------------------------------------------------------------------------------
# sampling (paper Sec. 3, Table 5, Fig. 3)


def _truncnorm(rng: np.random.Generator, n: int, std: float, bound: float) -> np.ndarray:
    """Normal(0, std) truncated to [-bound, bound], by inverse CDF."""
    from scipy.stats import truncnorm

    u = rng.random(n)
    return truncnorm.ppf(u, -bound / std, bound / std, loc=0.0, scale=std)


def _beta(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.beta(0.3, 0.3, n)


def _arm(rng: np.random.Generator, stretchy: np.ndarray) -> np.ndarray:
    """Legs' position: Peeky U[0, 0.52], Stretchy U[0.48, 1]."""
    u = rng.uniform(0.0, 0.52, len(stretchy))
    return np.where(stretchy, 1.0 - u, u)


def _biased_color(rng: np.random.Generator, arm: np.ndarray, stretchy: np.ndarray) -> np.ndarray:
    """Study's colour bias: predictive where the legs are ambiguous, nearly uniform at extremes."""
    own = np.where(stretchy, 1.0 - arm, arm)  # the arm value seen from the animal's own side
    hi = np.clip(0.25 + 2.5 * (0.5 - own), 0.0, 1.0)
    v = rng.uniform(0.0, 1.0, len(arm)) * hi
    v = np.where(stretchy, 1.0 - v, v)
    fresh = rng.random(len(arm)) < 0.15
    return np.where(fresh, rng.uniform(0.0, 1.0, len(arm)), v)


def _biased_shape(rng: np.random.Generator, arm: np.ndarray) -> np.ndarray:
    """Study's shape bias: cubic for inward legs, round for outward, never predictive alone."""
    s = _beta(rng, len(arm))  # Beta(0.3, 0.3) is symmetric: folding = restricting
    s = np.where(arm < 0.45, np.minimum(s, 1 - s), s)
    s = np.where(arm > 0.55, np.maximum(s, 1 - s), s)
    fresh = rng.random(len(arm)) < 0.33
    return np.where(fresh, _beta(rng, len(arm)), s)


def _draw(rng: np.random.Generator, factor: str, n: int, stretchy: np.ndarray, distributions: str) -> np.ndarray:
    """Unbiased draws of one factor (the marginals of Table 5 without class dependence)."""
    released = distributions == "released"
    if factor == "arm_position":
        return _arm(rng, stretchy)
    if factor == "spherical":
        return _beta(rng, n)
    if factor == "obj_color":
        return rng.uniform(0.0, 1.0, n)
    if factor == "bg_color":
        return rng.uniform(0.0, 1.0, n) if released else rng.uniform(0.05, 0.95, n)
    if factor == "bending":
        return _truncnorm(rng, n, math.pi / 20, math.pi / 10)
    if factor == "obj_rotation_pitch":
        return _truncnorm(rng, n, math.pi / 8, math.pi / 6)
    if factor == "obj_rotation_roll":
        return _truncnorm(rng, n, 0.03 * math.pi / 4, math.pi / 4)
    if factor == "obj_rotation_yaw":
        return rng.uniform(-math.pi, 0.0, n) if released else rng.uniform(-math.pi, math.pi, n)
    if factor in ("position_x", "position_y"):
        return rng.uniform(-0.8, 0.0, n) if released else rng.uniform(-0.8, 0.8, n)
    raise ParameterError(f"factor={factor!r} is unknown; use one of {', '.join(FACTORS)}")


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ParameterError(f"{name}={value!r} is unknown; use one of {', '.join(choices)}")


def _ids(rng: np.random.Generator, n: int) -> list[str]:
    """Deterministic UUID4-style ids from the generator (the original uses random UUID4s)."""
    return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]


def sample(n: int, sampler: str = "biased", seed: int = 0, distributions: str = "released") -> list[Two4TwoParams]:
    """Draw ``n`` scenes.

    Args:
        n: number of scenes.
        sampler: ``"biased"`` (the study's data: colour predictive where the legs are
            ambiguous, shape biased but not predictive) or ``"unbiased"`` (every factor
            independent of the class except the legs, which define it: colour U[0, 1], shape
            Beta(0.3, 0.3), the marginals of the biased set without the dependence).
        seed: the same seed gives the same scenes and ids.
        distributions: ``"released"`` (the study code's yaw and position ranges; the book's
            default) or ``"paper"`` (the intended ranges); see the module docstring.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ParameterError(f"n must be a non-negative int, got {n!r}")
    _check_choice("sampler", sampler, SAMPLERS)
    _check_choice("distributions", distributions, DISTRIBUTIONS)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 242]))
    stretchy = rng.random(n) < 0.5
    values = {"arm_position": _arm(rng, stretchy)}
    if sampler == "biased":
        values["obj_color"] = _biased_color(rng, values["arm_position"], stretchy)
        values["spherical"] = _biased_shape(rng, values["arm_position"])
    for f in FACTORS:
        if f not in values:
            values[f] = _draw(rng, f, n, stretchy, distributions)
    ids = _ids(rng, n)
    return [Two4TwoParams(obj_name=OBJ_NAMES[int(stretchy[i])], id=ids[i],
                          **{f: float(values[f][i]) for f in FACTORS}) for i in range(n)]


def intervene(params: Sequence[Two4TwoParams], factor: str | Sequence[str], seed: int = 0,
              distributions: str = "released") -> list[Two4TwoParams]:
    """Resample ``factor`` (or several factors together) of every scene, keeping the rest.

    The new values come from the unbiased marginal of each factor (Table 5); the legs'
    position is redrawn within the scene's class. Ids get the suffix ``_{factor}``.
    """
    factors = [factor] if isinstance(factor, str) else list(factor)
    if not factors:
        raise ParameterError("intervene needs at least one factor")
    for f in factors:
        _check_choice("factor", f, FACTORS)
    _check_choice("distributions", distributions, DISTRIBUTIONS)
    params = list(params)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 4242]))
    stretchy = np.array([p.obj_name == "stretchy" for p in params], dtype=bool)
    new = {f: _draw(rng, f, len(params), stretchy, distributions) for f in factors}
    suffix = "_" + "+".join(factors)
    return [p.replace(id=p.id + suffix, original_id=p.id, **{f: float(new[f][i]) for f in factors})
            for i, p in enumerate(params)]


# --------------------------------------------------------------------------------------------
# geometry (notes items 3-9)


def _rot(axis: int, angle: Tensor) -> Tensor:
    """Right-handed rotation matrices ``[N,3,3]`` about a world axis."""
    c, s = torch.cos(angle), torch.sin(angle)
    o, z = torch.ones_like(c), torch.zeros_like(c)
    rows = {0: [[o, z, z], [z, c, -s], [z, s, c]],
            1: [[c, z, s], [z, o, z], [-s, z, c]],
            2: [[c, -s, z], [s, c, z], [z, z, o]]}[axis]
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


def _turn(points: Tensor, R: Tensor, pivot: Tensor) -> Tensor:
    """Rotate ``points [N,...,3]`` by ``R [N,3,3]`` about ``pivot [N,3]``."""
    shape = (points.shape[0],) + (1,) * (points.dim() - 2) + (3,)
    p = pivot.reshape(shape)
    flat = (points - p).reshape(points.shape[0], -1, 3)
    return (flat @ R.transpose(1, 2)).reshape(points.shape) + p


def _midpoint(corners: Tensor) -> Tensor:
    flat = corners.reshape(corners.shape[0], -1, 3)
    return (flat.amin(1) + flat.amax(1)) / 2


def _centre(corners: Tensor) -> Tensor:
    """The original's centre(): move by MINUS HALF the bounding-box midpoint (notes item 6)."""
    return corners - _midpoint(corners)[:, None, None, :] / 2


_CORNER_SIGNS = torch.tensor([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=torch.float64)


def _as_table(params: Sequence[Two4TwoParams]) -> dict[str, Tensor]:
    params = list(params)
    if not params:
        raise ParameterError("need at least one Two4TwoParams")
    for p in params:
        if not isinstance(p, Two4TwoParams):
            raise ParameterError(f"expected Two4TwoParams, got {type(p).__name__}")
        p.validate()
    t = {f: torch.tensor([getattr(p, f) for p in params], dtype=torch.float64) for f in FACTORS}
    t["fliplr"] = torch.tensor([p.fliplr for p in params])
    return t


def block_corners(params: Sequence[Two4TwoParams]) -> Tensor:
    """World coordinates ``[N,8,8,3]`` of the 8 raw cube corners of each block (mask label order).

    Build, centre, bend (skinning the two centre spine blocks), centre, roll, pitch, yaw
    (each about the current bounding-box midpoint, Blender's sign convention), centre,
    translate: items 3 and 5-9 of ``../shared/notes/two4two.md``. ``fliplr`` is not applied
    (it mirrors the rendered image).
    """
    t = _as_table(params)
    n = len(t["spherical"])
    side = 0.8 + 0.1 * t["spherical"]
    reach = 1.5 + t["arm_position"]
    centres = torch.zeros(n, 8, 3, dtype=torch.float64)
    fixed = [(-1.5, 1.0), (-1.5, -1.0), (-1.0, 0.0), (0.0, 0.0), (1.0, 0.0), (2.0, 0.0)]
    for i, (y, z) in enumerate(fixed):
        centres[:, i, 1], centres[:, i, 2] = y, z
    centres[:, 6, 1], centres[:, 6, 2] = reach, 1.0
    centres[:, 7, 1], centres[:, 7, 2] = reach, -1.0
    corners = centres[:, :, None, :] + (side / 2)[:, None, None, None] * _CORNER_SIGNS
    corners = _centre(corners)
    # Bones move with the blocks when the object is centred: pivots in the centred frame.
    shift = corners[:, 3].mean(1) - centres[:, 3]
    pivot = lambda y: torch.tensor([0.0, y, 0.0], dtype=torch.float64) + shift  # noqa: E731
    b = t["bending"]
    # right side bends down by b/2 at the middle joint and by b more at the right centre block
    right_c = lambda x: _turn(x, _rot(0, -b / 2), pivot(0.5))  # noqa: E731
    right_o = lambda x: right_c(_turn(x, _rot(0, -b), pivot(1.0)))  # noqa: E731
    left_c = lambda x: _turn(x, _rot(0, b / 2), pivot(0.5))  # noqa: E731
    left_o = lambda x: left_c(_turn(x, _rot(0, b), pivot(0.0)))  # noqa: E731
    bent = torch.empty_like(corners)
    bent[:, 0:3] = left_o(corners[:, 0:3])
    bent[:, 5:8] = right_o(corners[:, 5:8])
    for i, centre_bone, outer_bone in ((3, left_c, left_o), (4, right_c, right_o)):
        x = corners[:, i]
        y_mid = x[..., 1].mean(-1, keepdim=True)
        inner = (x[..., 1] > y_mid) if i == 3 else (x[..., 1] < y_mid)
        w = torch.where(inner, _SKIN, 1 - _SKIN)[..., None]
        bent[:, i] = w * centre_bone(x) + (1 - w) * outer_bone(x)
    corners = _centre(bent)
    # Blender turns by -value in the right-handed sense; roll about Y, pitch about Z, yaw about X
    for axis, name in ((1, "obj_rotation_roll"), (2, "obj_rotation_pitch"), (0, "obj_rotation_yaw")):
        corners = _turn(corners, _rot(axis, -t[name]), _midpoint(corners))
    corners = _centre(corners)
    move = torch.stack([torch.zeros(n, dtype=torch.float64), t["position_x"], t["position_y"]], -1)
    return corners + move[:, None, None, :]


def _interp(x: Tensor, ys: Sequence[float]) -> Tensor:
    xs = torch.tensor(_SPH_KNOTS, dtype=x.dtype)
    y = torch.tensor(ys, dtype=x.dtype)
    i = (torch.searchsorted(xs, x.contiguous(), right=True) - 1).clamp(0, len(xs) - 2)
    w = (x - xs[i]) / (xs[i + 1] - xs[i])
    return y[i] * (1 - w) + y[i + 1] * w


def blocks_from_params(params: Sequence[Two4TwoParams], device: torch.device | str | None = None,
                       compress_color: bool = False) -> Blocks:
    """The 8 rounded blocks of each scene (labels 1-8 as in the masks, instance 1).

    A block's box is the least-squares affine fit to its 8 deformed cube corners (exact for
    rigid blocks; the skinned centre blocks are slightly sheared), split into rotation and
    stretch; the rounding (half extent and radius as functions of ``spherical``) is applied
    to the deformed box, as the original rounds before posing and skins the rounded mesh.
    ``compress_color`` applies the study code's colour compression (see :mod:`.colors`).
    """
    params = list(params)
    corners = block_corners(params)
    t = _as_table(params)
    n = corners.shape[0]
    side = 0.8 + 0.1 * t["spherical"]
    half = _interp(t["spherical"], _HALF)
    radius = _interp(t["spherical"], _RADIUS)
    centre = corners.mean(2)
    M = torch.einsum("nkci,cj->nkij", corners - centre[:, :, None], _CORNER_SIGNS) / (4 * side)[:, None, None, None]
    U, S, Vh = torch.linalg.svd(M)
    R = U @ Vh
    stretch = torch.diagonal(Vh.transpose(-1, -2) @ torch.diag_embed(S) @ Vh, dim1=-2, dim2=-1)
    h = half[:, None, None] * stretch
    r = torch.minimum(radius[:, None] * stretch.mean(-1), h.amin(-1))
    color = colors.object_rgb(t["obj_color"], compress_warm=compress_color)
    return Blocks(
        center=centre.float(), half=h.float(), radius=r.float(), rotation=R.float(),
        color=color[:, None, :].expand(n, 8, 3).float().contiguous(),
        label=torch.arange(1, 9).expand(n, 8).contiguous(),
        instance=torch.ones(n, 8, dtype=torch.long),
        valid=torch.ones(n, 8, dtype=torch.bool),
    ).to(device if device is not None else "cpu")


def render_params(params: Sequence[Two4TwoParams], size: int = 128, supersample: int = 2,
                  device: torch.device | str | None = None, light: Light | None = None,
                  compress_color: bool = False) -> Rendered:
    """Render scenes: images ``[N,3,size,size]`` and 9-label masks ``[N,size,size]``.

    The background plane sits 10 units behind the animal's back as in the original scene;
    ``fliplr`` mirrors image and mask columns after rendering (notes item 10).
    """
    params = list(params)
    device = torch.device(device) if device is not None else config.device()
    corners = block_corners(params)
    blocks = blocks_from_params(params, device=device, compress_color=compress_color)
    bg = colors.background_rgb(torch.tensor([p.bg_color for p in params], dtype=torch.float64)).to(device)
    plane = (corners[..., 0].reshape(len(params), -1).amin(1) - 10.0).float().to(device)
    out = render(blocks, bg, size=size, supersample=supersample, light=light, device=device, background_x=plane)
    flip = torch.tensor([p.fliplr for p in params], device=device)
    if flip.any():
        out.image[flip] = out.image[flip].flip(-1)
        out.labels[flip] = out.labels[flip].flip(-1)
        out.instances[flip] = out.instances[flip].flip(-1)
        out.depth[flip] = out.depth[flip].flip(-1)
    return out


# --------------------------------------------------------------------------------------------
# on-disk layout (notes item 12)


def to_uint8(image: Tensor) -> np.ndarray:
    """``[3,H,W]`` float image in [0, 1] to ``[H,W,3]`` uint8 (round to nearest)."""
    return (image.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


#: The file that marks a Two4Two data set folder.
MARKERS = ("parameters.jsonl",)


def write_dataset(params: Sequence[Two4TwoParams], out: str | Path, size: int = 128, supersample: int = 2,
                  batch: int = 64, device: torch.device | str | None = None, progress: bool = True,
                  overwrite: bool = False) -> Path:
    """Render scenes into ``out`` in the original layout; returns the folder.

    Writes ``parameters.jsonl`` (one record per scene, original field order), ``{id}.png``
    (RGB) and ``{id}_mask.png`` (uint8 labels 0-8). Same parameters, same bytes. The folder
    is written beside ``out`` and renamed into place when complete, so an interrupted run
    leaves nothing (or the previous data set) behind; an existing data set is replaced only
    with ``overwrite``.
    """
    from PIL import Image

    from ..progress import bar
    from .writing import atomic_folder

    params = list(params)
    ids = [p.id for p in params]
    if not params:
        raise ParameterError("params is empty: nothing to write")
    if any(not i for i in ids):
        raise ParameterError("every scene needs a non-empty id to name its files")
    if len(set(ids)) != len(ids):
        raise ParameterError("scene ids must be unique within a data set")
    for name, value, least in (("size", size, 8), ("supersample", supersample, 1), ("batch", batch, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ParameterError(f"{name}={value!r} must be an int >= {least}")
    with atomic_folder(out, MARKERS, overwrite) as tmp:
        starts = range(0, len(params), batch)
        for s in (bar(starts, desc="two4two render", total=len(starts)) if progress else starts):
            chunk = params[s:s + batch]
            r = render_params(chunk, size=size, supersample=supersample, device=device)
            masks = r.labels.to(torch.uint8).cpu().numpy()
            for i, p in enumerate(chunk):
                Image.fromarray(to_uint8(r.image[i]), "RGB").save(tmp / f"{p.id}.png", optimize=False)
                Image.fromarray(masks[i], "L").save(tmp / f"{p.id}_mask.png", optimize=False)
        with open(tmp / "parameters.jsonl", "w") as fh:
            for p in params:
                fh.write(json.dumps(p.to_record(size)) + "\n")
    return Path(out)


def _read_records(path: str | Path) -> tuple[Path, list[tuple[Two4TwoParams, dict[str, Any]]]]:
    """The ``parameters.jsonl`` file (of a folder or given directly) and its parsed records."""
    path = Path(path)
    if path.is_dir():
        path = path / "parameters.jsonl"
    if not path.is_file():
        raise DataNotFoundError(f"{path} does not exist; a Two4Two data set holds a parameters.jsonl "
                                "(write one with: python -m xaibook.world two4two --n N --out DIR)")
    rows = []
    try:
        with open(path, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataFormatError(f"{path}:{i} is not valid JSON ({e.msg}); a parameters.jsonl holds "
                                          "one JSON object per line") from None
                try:
                    rows.append((Two4TwoParams.from_record(record), record))
                except (ParameterError, DataFormatError, TypeError) as e:
                    raise DataFormatError(f"{path}:{i}: {e}") from None
    except UnicodeDecodeError:
        raise DataFormatError(f"{path} is not a text file (not UTF-8); a parameters.jsonl holds one JSON "
                              "object per line") from None
    if not rows:
        raise DataFormatError(f"{path} holds no scenes; a parameters.jsonl holds one JSON object per line")
    return path, rows


def read_params(path: str | Path) -> list[Two4TwoParams]:
    """Scenes of a ``parameters.jsonl`` file (or of the folder that holds one)."""
    return [p for p, _ in _read_records(path)[1]]


read_dataset = read_params


class Two4TwoDataset(torch.utils.data.Dataset):
    """A torch ``Dataset`` over a folder in the original layout.

    Items are ``(image, target)``: ``image`` ``[3,H,W]`` float in [0, 1], ``target`` the recorded
    class (0 Peeky, 1 Stretchy). With ``masks=True`` items are ``(image, target, mask)``.
    ``factors()`` gives the ``[N, len(FACTORS)]`` factor table for regression targets.
    Every image (and mask) must exist and have the ``resolution`` recorded in
    ``parameters.jsonl``; a missing, unreadable or wrongly sized file is an error naming it.
    """

    def __init__(self, root: str | Path, masks: bool = False, transform=None):
        self.root = Path(root)
        path, rows = _read_records(self.root)
        self.params = [p for p, _ in rows]
        self.masks = masks
        self.transform = transform
        sizes = {tuple(r["resolution"]) for _, r in rows if isinstance(r.get("resolution"), list)}
        if len(sizes) > 1:
            raise DataFormatError(f"{path} mixes resolutions {sorted(sizes)}; a data set has one image size "
                                  "(re-render it into a new folder)")
        self.resolution: tuple[int, int] | None = sizes.pop() if sizes else None
        suffixes = ("", "_mask") if masks else ("",)
        for p in self.params:
            for suffix in suffixes:
                if not (self.root / f"{p.id}{suffix}.png").is_file():
                    raise DataNotFoundError(f"{self.root} lists {p.id!r} in parameters.jsonl but has no "
                                            f"{p.id}{suffix}.png; re-render the data set")
        if self.params:
            self._open(f"{self.params[0].id}.png", "RGB")

    def _open(self, name: str, mode: str) -> np.ndarray:
        """Pixels of ``name`` in ``mode``, checked against the recorded resolution."""
        from PIL import Image, UnidentifiedImageError

        file = self.root / name
        try:
            with Image.open(file) as im:
                im.load()
                arr = np.asarray(im.convert(mode))
        except FileNotFoundError:
            raise DataNotFoundError(f"{file} is missing; re-render the data set") from None
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
            raise DataFormatError(f"{file} is not a readable PNG ({e}); re-render the data set") from None
        if self.resolution is None:
            self.resolution = (arr.shape[1], arr.shape[0])
        if (arr.shape[1], arr.shape[0]) != tuple(self.resolution):
            raise DataFormatError(f"{file} is {arr.shape[1]}x{arr.shape[0]} px but parameters.jsonl records "
                                  f"{self.resolution[0]}x{self.resolution[1]}; the folder mixes two renders, "
                                  "re-render it into a new folder")
        return arr

    def __len__(self) -> int:
        return len(self.params)

    def __getitem__(self, i: int):
        p = self.params[i]
        img = self._open(f"{p.id}.png", "RGB")
        image = torch.from_numpy(img.copy()).permute(2, 0, 1).float() / 255
        if self.transform is not None:
            image = self.transform(image)
        if not self.masks:
            return image, p.target
        mask = torch.from_numpy(self._open(f"{p.id}_mask.png", "L").astype(np.int64))
        return image, p.target, mask

    def targets(self) -> Tensor:
        return torch.tensor([p.target for p in self.params])

    def factors(self) -> Tensor:
        return torch.tensor([p.factors() for p in self.params], dtype=torch.float32)

