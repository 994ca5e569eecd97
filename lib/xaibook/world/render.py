"""A batched renderer of rounded boxes with complete ground truth (issue 3; Sixt et al. 2022, Sec. 3).

Every scene of the procedural world is a set of *blocks*: boxes with rounded corners whose
roundness runs from a sharp cube (``radius = 0``) to a sphere-like blob (``radius = min(half)``),
the shape family of Two4Two's ``spherical`` factor. :func:`render` draws a whole batch of
scenes in one call with plain torch tensor operations (CPU or CUDA):

1. *Visibility.* Each block is projected to the screen; only the rays inside its projected
   window are intersected with it, analytically (a slab test against the enclosing box, then
   the corner sphere and the three edge cylinders of the octant where the ray enters). Depth
   and block index are packed into one integer key and a scatter-min gives the nearest surface
   of every ray (a z-buffer). Blocks are grouped by window size, so small blocks cost little.
2. *Shading.* Only rays that hit something are shaded: Two4Two's elliptical area light
   (integrated over sample points once per light; per pixel a quadratic in the normal, the
   second-order spherical-harmonic form of diffuse irradiance) with its inverse-square
   fall-off, ambient light, and background light bounced onto faces turned away from the
   camera. The background plane gets the exact area-light irradiance on a coarse grid (its
   fall-off gradient) and soft shadows of the blocks (each approximated by a sphere, penumbra
   from the light's angular size); blocks can also shade each other (``Light.block_shadows``).
3. *Look.* Supersamples are averaged in linear light (a box filter, anti-aliasing), then a
   Filmic-like tone curve fitted to the reference renders turns linear colours into the
   original's pastel, washed-out look.
4. *Ground truth.* Part labels, instance ids and depth come from one ray per pixel centre
   (the centre subsample for odd supersampling, an extra pass otherwise; the original masks are a single sample per pixel centre, nearest surface wins).

Camera (Two4Two's convention, ``../shared/notes/two4two.md`` item 1): at ``(9, 0, 0)`` looking
along ``-X``; image right is ``+Y``, image up is ``+Z``; a 50 mm lens on a 36 mm sensor.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields, replace
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .. import config
from ..errors import ParameterError

CAMERA_X = 9.0
"""The camera sits at ``(CAMERA_X, 0, 0)`` and looks along ``-X``."""
FOCAL_MM = 50.0
SENSOR_MM = 36.0
BACKGROUND_X = -10.4
"""Default background plane ``X = BACKGROUND_X``: Two4Two puts a 20 x 20 plane 10 units behind
the animal's back (about ``-10.4``); it fills the view."""

_SLOT_BITS = 12
_KEY_SLOTS = 1 << _SLOT_BITS  # blocks per scene that the packed z-buffer key can tell apart
_DEPTH_SCALE = float(2**22)  # depth quantisation of the key (about 2.4e-7 world units)
_NO_HIT = torch.iinfo(torch.int64).max


def focal_px(size: int) -> float:
    """Focal length in pixels for a square image of ``size`` pixels (Blender's defaults)."""
    return size * FOCAL_MM / SENSOR_MM


@dataclass
class Blocks:
    """A batch of ``B`` scenes with up to ``K`` blocks each (padded; ``valid`` marks real blocks).

    Attributes:
        center: ``[B,K,3]`` block centres in world coordinates.
        half: ``[B,K,3]`` half extents of the box (the rounded block fits inside this box).
        radius: ``[B,K]`` corner rounding radius; 0 is a sharp box, ``min(half)`` a sphere-like blob.
        rotation: ``[B,K,3,3]`` world-from-block rotation matrices.
        color: ``[B,K,3]`` linear RGB albedo in [0, 1].
        label: ``[B,K]`` long, the part label written to the label map (0 is background).
        instance: ``[B,K]`` long, the object id written to the instance map (0 is background).
        valid: ``[B,K]`` bool.
    """

    center: Tensor
    half: Tensor
    radius: Tensor
    rotation: Tensor
    color: Tensor
    label: Tensor
    instance: Tensor
    valid: Tensor

    @property
    def batch(self) -> int:
        return self.center.shape[0]

    @property
    def slots(self) -> int:
        return self.center.shape[1]

    def to(self, device: torch.device | str) -> "Blocks":
        """The same blocks on ``device``."""
        return Blocks(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def __getitem__(self, index) -> "Blocks":
        """Select scenes (an int, slice, index tensor or boolean mask over the batch)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return Blocks(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def cat(items: Sequence["Blocks"]) -> "Blocks":
        """Concatenate batches along the batch axis, padding ``K`` with invalid blocks."""
        items = list(items)
        if not items:
            raise ParameterError("Blocks.cat needs at least one Blocks batch")
        k = max(b.slots for b in items)
        out = {}
        for f in fields(Blocks):
            parts = []
            for b in items:
                t = getattr(b, f.name)
                pad = k - t.shape[1]
                if pad:
                    fill = torch.zeros((t.shape[0], pad) + tuple(t.shape[2:]), dtype=t.dtype, device=t.device)
                    if f.name == "rotation":
                        fill[:] = torch.eye(3, dtype=t.dtype, device=t.device)
                    t = torch.cat([t, fill], 1)
                parts.append(t)
            out[f.name] = torch.cat(parts, 0)
        return Blocks(**out)

    @staticmethod
    def empty(batch: int, slots: int, device: torch.device | str = "cpu") -> "Blocks":
        """``batch`` scenes of ``slots`` invalid blocks (fill them in place)."""
        z = lambda *s, dt=torch.float32: torch.zeros((batch, slots) + s, dtype=dt, device=device)  # noqa: E731
        rot = torch.eye(3, device=device).expand(batch, slots, 3, 3).clone()
        return Blocks(z(3), z(3), z(), rot, z(3), z(dt=torch.long), z(dt=torch.long), z(dt=torch.bool))

    def check(self) -> None:
        """Raise :class:`ParameterError` when shapes or values are inconsistent."""
        b, k = self.center.shape[:2]
        want = {"center": (b, k, 3), "half": (b, k, 3), "radius": (b, k), "rotation": (b, k, 3, 3),
                "color": (b, k, 3), "label": (b, k), "instance": (b, k), "valid": (b, k)}
        for name, shape in want.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise ParameterError(f"Blocks.{name} has shape {got}; expected {shape} (B={b} scenes, K={k} blocks)")
        if k > _KEY_SLOTS:
            raise ParameterError(f"Blocks has K={k} blocks per scene; the renderer supports at most {_KEY_SLOTS}")
        if self.valid.dtype != torch.bool:
            raise ParameterError(f"Blocks.valid must be a bool tensor, got {self.valid.dtype}")
        v = self.valid
        if v.any():
            if (self.half[v] <= 0).any():
                raise ParameterError("Blocks.half must be positive for valid blocks")
            if (self.radius[v] < 0).any() or (self.radius[v] > self.half[v].amin(-1) + 1e-5).any():
                raise ParameterError("Blocks.radius must lie in [0, min(half)] for valid blocks")


@dataclass(frozen=True)
class Light:
    """Lighting and look of a render; the defaults are Two4Two's scene (notes item 11).

    The key light is an elliptical area light (``size`` units, centred at ``position``,
    Blender XYZ Euler ``rotation``; it emits along its local ``-Z``), integrated over
    ``samples x samples`` points. Its ``strength`` and the tone curve were calibrated once on
    the background and block pixels of the reference renders (``../shared/reference``): with
    them a front face of the animal gets an irradiance of about 12 and the background about
    5-12 (the original's fall-off gradient from the top right to the bottom left).

    Attributes:
        position, size, rotation: the area light (Two4Two: ``(10,10,10)``, 20 x 15, ``(pi/4, pi/4, pi/2)``).
        strength: radiance scale of the key light.
        ambient: uniform sky irradiance (Blender's grey world).
        bounce: light bounced off the background onto surfaces that face away from the camera,
            times the background albedo (colour bleeding).
        shadow: strength of the cast soft shadows in [0, 1].
        block_shadows: also cast shadows of blocks onto other blocks (per shaded sample; about a
            third of the render time for a small visual effect under this large light, so off by
            default; shadows on the background are always cast when ``render(shadows=True)``).
        exposure: a multiplier on linear radiance before the tone curve.
        filmic: apply the Filmic-like tone curve (else clamp and sRGB-encode linear colour).
        samples: points per axis used to integrate the area light.
    """

    position: tuple[float, float, float] = (10.0, 10.0, 10.0)
    size: tuple[float, float] = (20.0, 15.0)
    rotation: tuple[float, float, float] = (math.pi / 4, math.pi / 4, math.pi / 2)
    strength: float = 32.8
    ambient: float = 0.4
    bounce: float = 1.5
    shadow: float = 0.8
    block_shadows: bool = False
    exposure: float = 1.0
    filmic: bool = True
    samples: int = 8


@dataclass
class Rendered:
    """The output of :func:`render`.

    Attributes:
        image: ``[B,3,H,W]`` float in [0, 1], shaded and anti-aliased (display-encoded).
        labels: ``[B,H,W]`` long, part label of the nearest surface at each pixel centre.
        instances: ``[B,H,W]`` long, object id at each pixel centre (0 background).
        depth: ``[B,H,W]`` float, camera-axis distance of the nearest surface (inf for background).
    """

    image: Tensor
    labels: Tensor
    instances: Tensor
    depth: Tensor


# --------------------------------------------------------------------------------------------
# geometry


def _ray_grid(res: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Image-plane coordinates ``u`` (right, +Y) and ``v`` (up, +Z) of pixel centres at ``res``.

    A ray through pixel ``(col, row)`` has direction ``(-1, u[col], v[row])`` from the camera,
    so its parameter ``t`` is the camera-axis depth.
    """
    f = focal_px(res)
    idx = torch.arange(res, device=device, dtype=torch.float32) + 0.5 - res / 2
    return idx / f, -idx / f


def _slab(o: Tensor, d: Tensor, outer: Tensor) -> tuple[Tensor, Tensor]:
    """Entry parameter ``t`` of rays into boxes of half extent ``outer`` and whether they enter
    (block frame; broadcast over leading axes; ``o``, ``d``, ``outer`` ``[...,3]``)."""
    inv = 1.0 / d
    mid = -o * inv
    span = inv.abs() * outer
    t_near = (mid - span).amax(-1)
    t_far = (mid + span).amin(-1)
    return t_near, (t_near <= t_far) & (t_near > 0)


def _round_entry(o: Tensor, d: Tensor, t_near: Tensor, inner: Tensor, r: Tensor) -> Tensor:
    """First hit ``t`` (inf on a miss) of rays that enter the enclosing box of a rounded box at
    ``t_near`` (all ``[M,...]``; ``inner = half - r`` is the flat part's half extent).

    If the entry point lies on a flat face it is the hit. Otherwise the ray entered in a corner
    region: mirror into the octant of the entry point and intersect the corner sphere and the
    three edge cylinders that meet there (quadratics in ``t``); the nearest valid root wins.
    """
    p = o + t_near.unsqueeze(-1) * d
    face = ((p.abs() - inner) > 1e-6).sum(-1) <= 1
    s = torch.where(p >= 0, 1.0, -1.0)
    oc = o * s - inner
    ds = d * s
    dd = ds * ds
    od = oc * ds
    oo = oc * oc
    rr = r * r
    inf = torch.full_like(t_near, math.inf)
    a = dd.sum(-1)
    b = od.sum(-1)
    h = b * b - a * (oo.sum(-1) - rr)
    best = torch.where(h >= 0, (-b - h.clamp_min(0).sqrt()) / a, inf)
    for i, j, k in ((0, 1, 2), (1, 0, 2), (2, 0, 1)):  # cylinder along axis i
        a = dd[..., j] + dd[..., k]
        b = od[..., j] + od[..., k]
        h = b * b - a * (oo[..., j] + oo[..., k] - rr)
        te = (-b - h.clamp_min(0).sqrt()) / a.clamp_min(1e-20)
        ok = (h >= 0) & ((o[..., i] + te * d[..., i]).abs() <= inner[..., i]) & (te < best)
        best = torch.where(ok, te, best)
    best = torch.where(best > 0, best, inf)
    return torch.where(face, t_near, best)


def _intersect(o: Tensor, d: Tensor, inner: Tensor, r: Tensor) -> Tensor:
    """Ray parameter ``t`` of the first hit of rays ``o + t d`` with rounded boxes (inf on a miss).

    Everything is in the block frame, broadcast over leading axes: ``o``, ``d`` ``[...,3]``,
    ``inner`` ``[...,3]`` the half extent of the flat part (``half - radius``), ``r`` ``[...]``.
    """
    o, d, inner = torch.broadcast_tensors(o, d, inner)
    r = r.expand(o.shape[:-1])
    t_near, enter = _slab(o, d, inner + r.unsqueeze(-1))
    t = torch.full_like(t_near, math.inf)
    t[enter] = _round_entry(o[enter], d[enter], t_near[enter], inner[enter], r[enter])
    return t


def _normal(p: Tensor, inner: Tensor) -> Tensor:
    """Outward unit normal of a rounded box (block frame) at surface point ``p``."""
    n = torch.sign(p) * (p.abs() - inner).clamp_min(0)
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _windows(blocks: Blocks, res: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Screen windows covering each valid block at ``res``: ``(b, k, x0y0 [N,2], extent [N])``.

    The window is the screen bounding box of the block's 8 box corners (a convex hull's
    projection is the hull of the projected corners), one pixel of margin on each side.
    """
    v = blocks.valid & ((blocks.center[..., 0] + blocks.half.norm(dim=-1)) < CAMERA_X - 1e-3)
    bi, ki = v.nonzero(as_tuple=True)
    c = blocks.center[bi, ki]
    h = blocks.half[bi, ki]
    R = blocks.rotation[bi, ki]
    signs = torch.tensor([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)],
                         dtype=c.dtype, device=c.device)
    corners = c[:, None, :] + torch.einsum("nij,nmj->nmi", R, signs[None] * h[:, None, :])
    depth = (CAMERA_X - corners[..., 0]).clamp_min(1e-3)
    f = focal_px(res)
    col = res / 2 + f * corners[..., 1] / depth - 0.5
    row = res / 2 - f * corners[..., 2] / depth - 0.5
    x0 = col.amin(1).floor() - 1
    y0 = row.amin(1).floor() - 1
    x1 = col.amax(1).ceil() + 1
    y1 = row.amax(1).ceil() + 1
    extent = torch.maximum(x1 - x0, y1 - y0) + 1
    return bi, ki, torch.stack([x0, y0], -1).long(), extent.long()


def _zbuffer(blocks: Blocks, res: int, max_rays: int) -> Tensor:
    """Packed nearest-hit keys ``[B, res*res]`` (int64: quantised depth, then the block index
    in the low bits; ``_NO_HIT`` where no block is hit)."""
    B = blocks.batch
    device = blocks.center.device
    keys = torch.full((B * res * res,), _NO_HIT, dtype=torch.int64, device=device)
    bi, ki, xy0, extent = _windows(blocks, res)
    if len(bi) == 0:
        return keys.view(B, res * res)
    size = ((extent + 7) // 8 * 8).clamp(max=res)  # window sides rounded up to 8 pixels
    f = focal_px(res)
    cam = torch.tensor([CAMERA_X, 0.0, 0.0], device=device)
    for w in torch.unique(size).tolist():
        sel = (size == w).nonzero(as_tuple=True)[0]
        step = max(1, max_rays // (w * w))
        ar = torch.arange(w, device=device)
        for s0 in range(0, len(sel), step):
            idx = sel[s0:s0 + step]
            b, k = bi[idx], ki[idx]
            Rt = blocks.rotation[b, k].transpose(1, 2)  # block from world
            r = blocks.radius[b, k]
            inner = blocks.half[b, k] - r[:, None]
            o = torch.einsum("nij,nj->ni", Rt, cam - blocks.center[b, k])  # [n,3]
            cols = xy0[idx, 0, None] + ar  # [n,w]
            rows = xy0[idx, 1, None] + ar
            u = (cols.float() + 0.5 - res / 2) / f
            v = (res / 2 - rows.float() - 0.5) / f
            # the block-frame direction of the ray through (u, v) is Rt @ (-1, u, v)
            d = (u[:, None, :, None] * Rt[:, None, None, :, 1] + v[:, :, None, None] * Rt[:, None, None, :, 2]
                 - Rt[:, None, None, :, 0])  # [n,rows,cols,3]
            outer = (inner + r[:, None])[:, None, None, :]
            t_near, enter = _slab(o[:, None, None, :], d, outer)
            inside = ((cols >= 0) & (cols < res))[:, None, :] & ((rows >= 0) & (rows < res))[:, :, None]
            n_i, row_i, col_i = (enter & inside).nonzero(as_tuple=True)
            if len(n_i) == 0:
                continue
            t = _round_entry(o[n_i], d[n_i, row_i, col_i], t_near[n_i, row_i, col_i], inner[n_i], r[n_i])
            hit = torch.isfinite(t)
            n_i, t = n_i[hit], t[hit]
            key = ((t * _DEPTH_SCALE).long() << _SLOT_BITS) | k[n_i]
            flat = b[n_i] * (res * res) + rows[n_i, row_i[hit]] * res + cols[n_i, col_i[hit]]
            keys.scatter_reduce_(0, flat, key, reduce="amin")
    return keys.view(B, res * res)


def _decode(keys: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(k, t)`` (block index, depth) of packed z-buffer keys that are hits."""
    return keys & (_KEY_SLOTS - 1), (keys >> _SLOT_BITS).float() / _DEPTH_SCALE


def _tan_radius(light: Light) -> float:
    """Tangent of the light's angular radius seen from the origin (sets the penumbra)."""
    return 0.5 * sum(light.size) / 2 / math.sqrt(sum(x * x for x in light.position))


def _cover(w: Tensor, L: Tensor, rho: Tensor, tan_r: float) -> Tensor:
    """Fraction of the light covered by spheres at offsets ``w [...,3]`` (radius ``rho``) seen
    along light directions ``L``: a sphere at distance ``t`` covers ``min(rho, p)^2 / p^2`` of a
    light disc of radius ``p = t tan_r``, faded out as it moves off the shadow ray."""
    tc = (w * L).sum(-1)
    dist = (w.square().sum(-1) - tc.square()).clamp_min(0).sqrt()
    pen = tc.clamp_min(1e-4) * tan_r
    lo = (pen - rho).abs()
    x = ((dist - lo) / (pen + rho - lo).clamp_min(1e-6)).clamp(0, 1)
    return (torch.minimum(rho, pen) / pen).square() * (1 - x * x * (3 - 2 * x)) * (tc > 0)


def _occlusion(points: Tensor, b: Tensor, blocks: Blocks, light: Light) -> Tensor:
    """Visible fraction of the key light at ``points [N,3]`` of scenes ``b [N]``, every block an
    occluding sphere of its mean half extent (soft shadows on the background)."""
    if len(points) == 0:
        return points.new_ones(0)
    lp = torch.tensor(light.position, device=points.device, dtype=points.dtype)
    L = lp - points
    L = (L / L.norm(dim=-1, keepdim=True))[:, None, :]
    occ = _cover(blocks.center[b] - points[:, None, :], L, blocks.half[b].mean(-1), _tan_radius(light))
    occ = occ * blocks.valid[b]
    return (1 - light.shadow * occ.clamp(0, 1)).prod(-1)


def _block_shadows(points: Tensor, b: Tensor, k: Tensor, blocks: Blocks, light: Light) -> Tensor:
    """Like :func:`_occlusion` for points on block ``k``, testing only the blocks that can shade
    block ``k`` at all (a conservative test on bounding spheres) and never block ``k`` itself."""
    tan_r = _tan_radius(light)
    c = blocks.center
    bound = blocks.half.norm(dim=-1)  # [B,K]
    rho = blocks.half.mean(-1)
    lp = torch.tensor(light.position, device=c.device, dtype=c.dtype)
    L = lp - c
    L = L / L.norm(dim=-1, keepdim=True)
    w = c[:, None, :, :] - c[:, :, None, :]  # [B, receiver, occluder, 3]
    tc = (w * L[:, :, None, :]).sum(-1)
    dist = (w.square().sum(-1) - tc.square()).clamp_min(0).sqrt()
    reach = bound[:, :, None]
    K = c.shape[1]
    cand = ((tc + reach + rho[:, None, :] > 0)
            & (dist - reach < (tc + reach).clamp_min(0) * tan_r + rho[:, None, :] + 0.1 * (1 + reach))
            & blocks.valid[:, None, :] & blocks.valid[:, :, None]
            & ~torch.eye(K, dtype=torch.bool, device=c.device))
    jmax = int(cand.sum(-1).max()) if cand.numel() else 0
    if jmax == 0:
        return points.new_ones(len(points))
    order = torch.sort(cand.to(torch.int8), dim=-1, descending=True, stable=True).indices[..., :jmax]  # [B,K,J]
    live = cand.gather(-1, order)
    j = order[b, k]  # [N,J]
    bj = b[:, None].expand_as(j)
    Lp = lp - points
    Lp = (Lp / Lp.norm(dim=-1, keepdim=True))[:, None, :]
    occ = _cover(c[bj, j] - points[:, None, :], Lp, rho[bj, j], tan_r) * live[b, k]
    return (1 - light.shadow * occ.clamp(0, 1)).prod(-1)


@functools.lru_cache(maxsize=32)
def _light_samples(light: Light) -> tuple[np.ndarray, np.ndarray, float]:
    """Points on the elliptical area light ``[M,3]``, its emission normal and the area per point."""
    n = light.samples
    g = (np.arange(n) + 0.5) / n * 2 - 1
    u, v = np.meshgrid(g, g)
    inside = u**2 + v**2 <= 1
    local = np.stack([u[inside] * light.size[0] / 2, v[inside] * light.size[1] / 2, np.zeros(inside.sum())], -1)
    rx, ry, rz = light.rotation
    cx, sx, cy, sy, cz, sz = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry), math.cos(rz), math.sin(rz)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    R = Rz @ Ry @ Rx  # Blender's XYZ Euler
    pts = local @ R.T + np.asarray(light.position)
    area = math.pi * light.size[0] * light.size[1] / 4 / len(pts)
    return pts, R @ np.array([0.0, 0.0, -1.0]), area


def _area_irradiance(points: Tensor, normals: Tensor, light: Light) -> Tensor:
    """Exact (sampled) irradiance ``[N]`` of the area light at ``points`` with ``normals`` (no shadows)."""
    s, emit, area = _light_samples(light)
    s = torch.as_tensor(s, dtype=points.dtype, device=points.device)
    emit = torch.as_tensor(emit, dtype=points.dtype, device=points.device)
    d = s[None] - points[:, None]  # [N,M,3]
    d2 = d.square().sum(-1)
    ln = d / d2.sqrt().unsqueeze(-1)
    cos_e = (-(ln * emit).sum(-1)).clamp_min(0)
    cos_r = (ln * normals[:, None]).sum(-1).clamp_min(0)
    return light.strength * area * (cos_e * cos_r / d2).sum(-1)


@functools.lru_cache(maxsize=32)
def _irradiance_quadratic(light: Light) -> np.ndarray:
    """Coefficients ``[10]`` of a quadratic in the normal fitted to the irradiance at the origin.

    Irradiance from a large light is smooth in the normal (a second-order spherical-harmonic
    expansion captures it, Ramamoorthi & Hanrahan 2001), so shading a pixel costs ten
    multiply-adds instead of a sum over the light's samples.
    """
    k = np.arange(600) + 0.5
    z = 1 - 2 * k / 600
    phi = math.pi * (1 + 5**0.5) * k
    n = np.stack([np.sqrt(1 - z * z) * np.cos(phi), np.sqrt(1 - z * z) * np.sin(phi), z], -1)
    e = _area_irradiance(torch.zeros(len(n), 3, dtype=torch.float64), torch.as_tensor(n), light).numpy()
    return np.linalg.lstsq(_quad_features(torch.as_tensor(n)).numpy(), e, rcond=None)[0]


def _quad_features(n: Tensor) -> Tensor:
    x, y, z = n.unbind(-1)
    return torch.stack([torch.ones_like(x), x, y, z, x * x, y * y, z * z, x * y, x * z, y * z], -1)


def _key_irradiance(points: Tensor, normals: Tensor, light: Light) -> Tensor:
    """Key-light irradiance at surface points: the origin's quadratic-in-normal fit times the
    inverse-square change of distance to the light's centre."""
    coef = torch.as_tensor(_irradiance_quadratic(light), dtype=points.dtype, device=points.device)
    e = (_quad_features(normals) * coef).sum(-1).clamp_min(0)
    lp = torch.tensor(light.position, dtype=points.dtype, device=points.device)
    return e * (lp.square().sum() / (lp - points).square().sum(-1))


_TONE_MAX = 1.036
_TONE_POWER = 0.805


def filmic(x: Tensor) -> Tensor:
    """A Filmic-like view transform: linear radiance to display values in [0, 1], per channel.

    ``y = 1.036 / (1 + x^-0.805)``: a logistic curve in log exposure, fitted once to the
    background pixels of the reference renders (Blender's Filmic view transform; RMS error
    about 0.011 over 4,300 pixels) in the radiance units of :class:`Light`. It compresses
    highlights, so saturated albedos look pastel and washed out (notes item 11).
    """
    return (_TONE_MAX / (1 + x.clamp_min(1e-6) ** -_TONE_POWER)).clamp(0, 1)


def _srgb(x: Tensor) -> Tensor:
    x = (x / 12.0).clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


# --------------------------------------------------------------------------------------------
# render


def _pixel_sums(hit: Tensor, pixel: Tensor, values: Tensor, B: int, size: int, ss: int, scatter: bool) -> Tensor:
    """Sum ``values [N,C]`` of the hit subsamples ``hit`` (flat supersampled index) into their
    output pixels ``pixel``: ``[B*size*size, C]``. ``scatter`` adds in place (serial, hence
    deterministic, on the CPU); otherwise subsamples are written densely and reduced, which
    stays deterministic on CUDA where a scatter-add would use order-dependent atomics."""
    C = values.shape[1]
    if scatter:
        return torch.zeros(B * size * size, C, device=values.device).index_add_(0, pixel, values)
    dense = torch.zeros(B * size * ss * size * ss, C, device=values.device)
    dense[hit] = values
    return dense.view(B * size, ss, size * ss * C).sum(1).view(B * size * size, ss, C).sum(1)


def render(blocks: Blocks, background: Tensor, size: int = 128, supersample: int = 2,
           light: Light | None = None, shadows: bool = True, device: torch.device | None = None,
           background_x: float | Tensor = BACKGROUND_X, max_rays: int | None = None) -> Rendered:
    """Render a batch of block scenes (see the module docstring for the method).

    Args:
        blocks: the scenes (:class:`Blocks`, ``B`` scenes of up to ``K`` blocks).
        background: ``[B,3]`` linear RGB albedo of the background plane, or ``[B,3,h,w]`` an
            albedo image (resized to the render resolution).
        size: output height and width in pixels (128 as in Two4Two).
        supersample: ``s x s`` rays per pixel for the anti-aliased image (1 = aliased).
        light: lighting and look (:class:`Light`; default: Two4Two's area light, Filmic-like curve).
        shadows: cast soft shadows of blocks onto the background and onto other blocks.
        device: where to compute; default :func:`xaibook.config.device`.
        background_x: the background plane ``X = background_x`` (a float or ``[B]``); Two4Two
            puts it 10 units behind the animal, closer planes show contact shadows.
        max_rays: rays per intersection chunk (bounds memory, roughly 300 bytes per ray;
            default 2**20 on the CPU, 2**24 on CUDA).

    Returns:
        :class:`Rendered` with the image, part labels, instance ids and depth at ``size``.
    """
    if not isinstance(blocks, Blocks):
        raise ParameterError(f"render() takes a Blocks batch, got {type(blocks).__name__}")
    if not isinstance(size, int) or size < 8:
        raise ParameterError(f"size must be an int >= 8, got {size!r}")
    if not isinstance(supersample, int) or supersample < 1:
        raise ParameterError(f"supersample must be an int >= 1, got {supersample!r}")
    blocks.check()
    light = light or Light()
    device = torch.device(device) if device is not None else config.device()
    if max_rays is None:
        max_rays = 1 << 20 if device.type == "cpu" else 1 << 24
    blocks = blocks.to(device)
    blocks = replace(blocks, center=blocks.center.float(), half=blocks.half.float(), radius=blocks.radius.float(),
                     rotation=blocks.rotation.float(), color=blocks.color.float())
    B = blocks.batch
    background = torch.as_tensor(background, dtype=torch.float32, device=device)
    if background.dim() == 2 and background.shape == (B, 3):
        bg_mean = background
        bg_albedo = background[:, :, None, None]
    elif background.dim() == 4 and background.shape[:2] == (B, 3):
        bg_mean = background.mean((2, 3))
        bg_albedo = background
    else:
        raise ParameterError(f"background must be [B,3] or [B,3,h,w] with B={B}; got {tuple(background.shape)}")
    plane = torch.as_tensor(background_x, dtype=torch.float32, device=device).expand(B)
    if (plane >= CAMERA_X - 1).any():
        raise ParameterError(f"background_x must lie behind the scene, below {CAMERA_X - 1}")

    ss = supersample
    res = size * ss
    # 1. visibility at the supersampled resolution (and at pixel centres for the ground truth)
    keys = _zbuffer(blocks, res, max_rays)
    if ss % 2 == 1:
        c = ss // 2
        centre_keys = keys.view(B, size, ss, size, ss)[:, :, c, :, c].reshape(B, size * size)
    else:
        centre_keys = _zbuffer(blocks, size, max_rays)

    # 2. shading in linear light. The background's irradiance is smooth: a coarse grid,
    # upsampled to the output resolution (sampling it per subsample would change nothing).
    low = 12
    ul, vl = _ray_grid(low, device)
    depth = (CAMERA_X - plane)[:, None, None]
    pts = torch.stack([plane[:, None, None].expand(B, low, low), depth * ul[None, None, :].expand(B, low, low),
                       depth * vl[None, :, None].expand(B, low, low)], -1).reshape(-1, 3)
    e_bg = _area_irradiance(pts, torch.tensor([1.0, 0.0, 0.0], device=device).expand_as(pts), light)
    if shadows:
        e_bg = e_bg * _occlusion(pts, torch.arange(B, device=device).repeat_interleave(low * low), blocks, light)
    e_bg = torch.nn.functional.interpolate((e_bg + light.ambient).view(B, 1, low, low), size=(size, size),
                                           mode="bilinear", align_corners=False)
    if bg_albedo.shape[-2:] != (1, 1) and bg_albedo.shape[-2:] != (size, size):
        bg_albedo = torch.nn.functional.interpolate(bg_albedo, size=(size, size), mode="bilinear", align_corners=False)
    background_radiance = bg_albedo * e_bg  # [B,3,size,size]
    # objects: only the subsamples that hit a block, then a box filter over each pixel
    flat_keys = keys.view(-1)
    hit = (flat_keys != _NO_HIT).nonzero().squeeze(1)
    accum = torch.zeros(B * size * size, 4, device=device)
    if len(hit):
        bh = hit // (res * res)
        ph = hit % (res * res)
        row, col = ph // res, ph % res
        kh, th = _decode(flat_keys[hit])
        u, v = _ray_grid(res, device)
        dirs = torch.stack([-torch.ones_like(th), u[col], v[row]], -1)
        p = torch.tensor([CAMERA_X, 0.0, 0.0], device=device) + th[:, None] * dirs
        R = blocks.rotation[bh, kh]
        inner = blocks.half[bh, kh] - blocks.radius[bh, kh][:, None]
        q = torch.einsum("nji,nj->ni", R, p - blocks.center[bh, kh])
        n = torch.einsum("nij,nj->ni", R, _normal(q, inner))
        e = _key_irradiance(p, n, light)
        if shadows and light.block_shadows:
            e = e * _block_shadows(p, bh, kh, blocks, light)
        fill = light.ambient + light.bounce * bg_mean[bh] * ((1 - n[:, :1]) / 2)
        shaded = torch.cat([blocks.color[bh, kh] * (e[:, None] + fill), torch.ones_like(e)[:, None]], 1)
        pixel = bh * (size * size) + (row // ss) * size + col // ss
        accum = _pixel_sums(hit, pixel, shaded, B, size, ss, scatter=device.type == "cpu")
    accum = accum.view(B, size, size, 4).permute(0, 3, 1, 2) / (ss * ss)
    radiance = accum[:, :3] + background_radiance * (1 - accum[:, 3:])
    image = filmic(radiance * light.exposure) if light.filmic else _srgb(radiance * light.exposure)

    # 3. ground truth at pixel centres
    centre_keys = centre_keys.reshape(-1)
    chit = centre_keys != _NO_HIT
    ck, ct = _decode(torch.where(chit, centre_keys, torch.zeros_like(centre_keys)))
    bidx = torch.arange(B, device=device).repeat_interleave(size * size)
    labels = torch.where(chit, blocks.label[bidx, ck], 0).view(B, size, size)
    instances = torch.where(chit, blocks.instance[bidx, ck], 0).view(B, size, size)
    ct = torch.where(chit, ct, math.inf).view(B, size, size)
    return Rendered(image=image.contiguous(), labels=labels, instances=instances, depth=ct)


def boxes_from_instances(instances: Tensor, n_objects: int) -> Tensor:
    """Pixel bounding boxes ``[B, n_objects, 4]`` (``x0, y0, x1, y1``) of instance ids ``1..n``.

    ``x1, y1`` are exclusive (one past the last pixel), so the box contains every pixel of the
    mask; objects absent from an image get ``nan``.
    """
    if instances.dim() != 3:
        raise ParameterError(f"instances must be [B,H,W], got {tuple(instances.shape)}")
    B, H, W = instances.shape
    ids = torch.arange(1, n_objects + 1, device=instances.device)
    m = instances[:, None, :, :] == ids[None, :, None, None]  # [B,n,H,W]
    rows = m.any(-1)
    cols = m.any(-2)
    ar_h = torch.arange(H, device=instances.device, dtype=torch.float32)
    ar_w = torch.arange(W, device=instances.device, dtype=torch.float32)
    inf = math.inf
    y0 = torch.where(rows, ar_h, inf).amin(-1)
    y1 = torch.where(rows, ar_h, -inf).amax(-1) + 1
    x0 = torch.where(cols, ar_w, inf).amin(-1)
    x1 = torch.where(cols, ar_w, -inf).amax(-1) + 1
    box = torch.stack([x0, y0, x1, y1], -1)
    present = rows.any(-1)
    return torch.where(present[..., None], box, torch.full_like(box, math.nan))
