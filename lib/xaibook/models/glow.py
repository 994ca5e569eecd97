"""An invertible classifier of the Glow family (Sixt et al. 2022, Sec. 4 and App. A.2).

The network is a normalising flow (Kingma & Dhariwal 2018) with a linear classifier on an
intermediate latent, as in the study's model:

* a *flow step* is an activation normalisation (:class:`ActNorm`), an invertible 1x1
  convolution (:class:`InvConv1x1`, LU-parametrised) and an affine coupling layer
  (:class:`AffineCoupling`, scale through a sigmoid with a floor, for stability and
  well-conditioned inverses);
* a *level* squeezes the image (``[C,H,W] -> [4C,H/2,W/2]``, :class:`Squeeze`, which keeps all
  dimensions) and applies its flow steps; after every level but the last, half of the channels
  are *faded out*: they leave the network, are scored under a standard normal prior, and are
  kept in the :class:`Latent` so that the inverse is exact;
* the classifier reads the output of level ``classifier_level`` (1-based), before its fade-out:
  ``logit = w . z + b`` (the paper's ``f(x) = w^T phi(x) + b``). The levels after it (the paper's
  ``mu``) only serve the likelihood.

Training (:func:`xaibook.models.glow_training.train_glow_classifier`) minimises the flow's
negative log-likelihood in bits per dimension plus ``bce_weight`` times a binary cross-entropy
with label noise (paper Eq. 1). The paper's model had 7 levels of 32 steps and 261M parameters;
the sizes used here at each run scale are in :func:`xaibook.models.glow_training.default_settings`.

Conventions: images are ``[B, C, H, W]`` floats in [0, 1] (the project's convention); the flow
sees ``x - 0.5``. Likelihoods are of the 8-bit image: the density of ``x`` times the volume of
its quantisation bin (width ``1/255`` per pixel), reported in bits per dimension.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ParameterError

N_BINS = 255
"""Pixel values are multiples of ``1/255``; dequantisation noise spans one such bin."""

LOG2PI = math.log(2 * math.pi)


# ---------------------------------------------------------------------------------------------
# Layers. Each maps ``x -> (y, logdet)`` with ``logdet`` of shape [B] (natural log of |det J|)
# and has an exact ``inverse(y) -> x``.
# ---------------------------------------------------------------------------------------------
class ActNorm(nn.Module):
    """Per-channel affine map ``y = (x + bias) * exp(log_scale)`` (Glow, Sec. 3.1).

    Initialised from the first training batch so that its output has zero mean and unit
    variance per channel ("data-dependent initialisation"); until then it is the identity.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True)
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.initialized.fill_(True)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.training and not bool(self.initialized):
            self.initialize(x)
        log_scale = self.log_scale.to(x.dtype)
        y = (x + self.bias.to(x.dtype)) * torch.exp(log_scale)
        logdet = log_scale.sum() * (x.shape[2] * x.shape[3])
        return y, logdet.expand(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        return y * torch.exp(-self.log_scale.to(y.dtype)) - self.bias.to(y.dtype)


class InvConv1x1(nn.Module):
    """Invertible 1x1 convolution, ``W = P L (U + diag(s))`` (Glow, Sec. 3.2, LU form).

    ``P`` is a fixed permutation, ``L`` unit lower-triangular, ``U`` strictly upper-triangular;
    ``log|det W| = sum(log|s|)`` per pixel. Initialised from a random rotation.
    """

    def __init__(self, channels: int, generator: torch.Generator | None = None):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels, generator=generator, dtype=torch.float64))
        p, l, u = torch.linalg.lu(q)
        s = torch.diagonal(u)
        self.register_buffer("perm", p.float())
        self.register_buffer("sign_s", torch.sign(s).float())
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.register_buffer("eye", torch.eye(channels))
        self.lower = nn.Parameter(l.float())
        self.upper = nn.Parameter(torch.triu(u, 1).float())
        self.log_s = nn.Parameter(torch.log(torch.abs(s)).float())

    def weight(self) -> Tensor:
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.perm @ lower @ upper

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        w = self.weight().to(x.dtype)
        y = F.conv2d(x, w[:, :, None, None])
        logdet = self.log_s.to(x.dtype).sum() * (x.shape[2] * x.shape[3])
        return y, logdet.expand(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        w_inv = torch.linalg.inv(self.weight().double()).to(y.dtype)
        return F.conv2d(y, w_inv[:, :, None, None])


class AffineCoupling(nn.Module):
    """Affine coupling (RealNVP/Glow): the second half of the channels is shifted and scaled by
    functions of the first half, ``y_b = (x_b + t(x_a)) * s(x_a)`` with
    ``s = m + (1 - m) sigmoid(r(x_a) + 2)``.

    The sigmoid keeps every scale in (m, 1), which keeps training stable (Glow's released code
    uses ``m = 0``). A floor ``m = min_scale > 0`` bounds how much the inverse can amplify:
    without it a trained model learns scales near 0.001 on flat backgrounds, and float32
    reconstructions then err by up to 0.3 and moved latents decode to NaN. The last
    convolution of the coupling network starts at zero, so a fresh layer is ``y_b = s0 x_b``.
    """

    def __init__(self, channels: int, hidden: int, min_scale: float = 0.0):
        super().__init__()
        if not 0.0 <= min_scale < 1.0:
            raise ParameterError(f"min_scale={min_scale} must lie in [0, 1)")
        self.min_scale = float(min_scale)
        if channels < 2:
            raise ParameterError(f"AffineCoupling needs at least 2 channels, got {channels}")
        self.n_a = channels // 2
        n_b = channels - self.n_a
        self.net = nn.Sequential(
            nn.Conv2d(self.n_a, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 2 * n_b, 3, padding=1),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _shift_scale(self, x_a: Tensor) -> tuple[Tensor, Tensor]:
        h = x_a
        for layer in self.net:  # in the input's precision (float64 for exact inverses)
            if isinstance(layer, nn.Conv2d):
                h = F.conv2d(h, layer.weight.to(h.dtype), layer.bias.to(h.dtype), padding=layer.padding)
            else:
                h = layer(h)
        shift, raw = h[:, 0::2], h[:, 1::2]
        return shift, self.min_scale + (1.0 - self.min_scale) * torch.sigmoid(raw + 2.0)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x_a, x_b = x[:, : self.n_a], x[:, self.n_a:]
        shift, scale = self._shift_scale(x_a)
        y_b = (x_b + shift) * scale
        logdet = torch.log(scale).flatten(1).sum(1)
        return torch.cat([x_a, y_b], dim=1), logdet

    def inverse(self, y: Tensor) -> Tensor:
        y_a, y_b = y[:, : self.n_a], y[:, self.n_a:]
        shift, scale = self._shift_scale(y_a)
        return torch.cat([y_a, y_b / scale - shift], dim=1)


class Squeeze(nn.Module):
    """Space-to-depth, ``[B,C,H,W] -> [B,4C,H/2,W/2]``: a permutation, so ``logdet = 0``."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        b, c, h, w = x.shape
        y = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)
        return y, x.new_zeros(b)

    def inverse(self, y: Tensor) -> Tensor:
        b, c4, h, w = y.shape
        c = c4 // 4
        return y.reshape(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, 2 * h, 2 * w)


class FlowStep(nn.Module):
    """One Glow step: actnorm, invertible 1x1 convolution, affine coupling."""

    def __init__(self, channels: int, hidden: int, generator: torch.Generator | None = None,
                 min_scale: float = 0.0):
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.invconv = InvConv1x1(channels, generator)
        self.coupling = AffineCoupling(channels, hidden, min_scale)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x, ld1 = self.actnorm(x)
        x, ld2 = self.invconv(x)
        x, ld3 = self.coupling(x)
        return x, ld1 + ld2 + ld3

    def inverse(self, y: Tensor) -> Tensor:
        return self.actnorm.inverse(self.invconv.inverse(self.coupling.inverse(y)))


class Level(nn.Module):
    """A squeeze followed by ``steps`` flow steps (the fade-out is done by the model)."""

    def __init__(self, in_channels: int, steps: int, hidden: int, generator: torch.Generator | None = None,
                 min_scale: float = 0.0):
        super().__init__()
        self.squeeze = Squeeze()
        self.steps = nn.ModuleList(FlowStep(4 * in_channels, hidden, generator, min_scale)
                                   for _ in range(steps))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x, logdet = self.squeeze(x)
        for step in self.steps:
            x, ld = step(x)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, y: Tensor) -> Tensor:
        for step in reversed(self.steps):
            y = step.inverse(y)
        return self.squeeze.inverse(y)


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------
@dataclass
class Latent:
    """Everything needed to invert the classifier part of the flow exactly.

    Attributes:
        z: ``[B, C, h, w]`` the output of the classifier level (the paper's ``phi(x)``); the
            classifier is linear in it.
        faded: the channels faded out after each earlier level, ``faded[i]`` of shape
            ``[B, C_i, h_i, w_i]`` for level ``i + 1``.
    """

    z: Tensor
    faded: tuple[Tensor, ...]

    def __len__(self) -> int:
        return self.z.shape[0]

    def replace_z(self, z: Tensor) -> "Latent":
        """The same faded parts with a new classifier-level latent."""
        return Latent(z, self.faded)

    def repeat_interleave(self, repeats: int) -> "Latent":
        """Each image's latent repeated ``repeats`` times in a row (for interpolations)."""
        return Latent(self.z.repeat_interleave(repeats, 0), tuple(f.repeat_interleave(repeats, 0) for f in self.faded))

    def to(self, *args: Any, **kwargs: Any) -> "Latent":
        return Latent(self.z.to(*args, **kwargs), tuple(f.to(*args, **kwargs) for f in self.faded))


def _levels_for(image_size: int) -> int:
    return int(round(math.log2(image_size))) - 2


def _gaussian_logp(t: Tensor) -> Tensor:
    """Per-sample log-density of ``t`` under a standard normal (nats), shape [B]."""
    return -0.5 * (t.pow(2) + LOG2PI).flatten(1).sum(1)


class GlowClassifier(nn.Module):
    """A Glow-style invertible network with a linear classifier on an intermediate latent.

    Args:
        image_size: height = width of the input images (32, 64 or 128).
        channels: image channels (3).
        levels: number of levels (squeeze + steps); the image side must be divisible by
            ``2 ** levels``. Default: ``log2(image_size) - 2`` (the last level is 4x4... 8x8).
        steps_per_level: flow steps per level, one number or one per level.
        hidden: channels of the hidden layers of each coupling network, one number or one per
            level (deep levels are small, so they can afford wide couplings).
        classifier_level: the level (1-based) whose output feeds the linear classifier;
            default ``levels - 1`` (as in the paper, most layers lie before the classifier).
        pooled_classifier: share the classifier's weight across positions,
            ``w[c, i, j] = v[c] / (h w)`` (global average pooling, then a linear layer): still
            linear in ``z``, with far fewer weights, so it generalises from few images.
        classifier_norm: if set, ``w`` is rescaled to this Euclidean norm (a fixed-norm linear
            classifier). The logit's scale then has to come from spreading the classes along
            ``w`` in ``z``, so that a counterfactual step of ``d`` logits moves ``z`` by
            ``d / |w|``: a small distance in a latent space whose prior is N(0, I).
        min_scale: floor of the coupling scales (:class:`AffineCoupling`).
        seed: seeds the initial weights.

    ``forward(x)`` returns the logit ``[B]``: positive means Stretchy (label 1), negative Peaky.
    """

    def __init__(self, image_size: int = 64, channels: int = 3, levels: int | None = None,
                 steps_per_level: int | Sequence[int] = 4, hidden: int | Sequence[int] = 32,
                 classifier_level: int | None = None, pooled_classifier: bool = False,
                 classifier_norm: float | None = None, min_scale: float = 0.0, seed: int = 0):
        super().__init__()
        if image_size not in (8, 16, 32, 64, 128, 256):
            raise ParameterError(f"image_size={image_size}; use a power of two from 8 to 256 (the book: 32, 64, 128)")
        levels = _levels_for(image_size) if levels is None else int(levels)
        if levels < 1 or image_size % (2 ** levels) != 0:
            raise ParameterError(f"levels={levels} does not fit image_size={image_size}: the side must be divisible "
                                 f"by 2**levels; use at most {int(math.log2(image_size))} levels")
        steps = [int(steps_per_level)] * levels if isinstance(steps_per_level, (int, np.integer)) else \
            [int(s) for s in steps_per_level]
        if len(steps) != levels or min(steps) < 1:
            raise ParameterError(f"steps_per_level={steps_per_level!r}: give one positive number, or one per level "
                                 f"({levels} levels)")
        classifier_level = levels - 1 if classifier_level is None else int(classifier_level)
        classifier_level = max(classifier_level, 1)
        if not 1 <= classifier_level <= levels:
            raise ParameterError(f"classifier_level={classifier_level} must lie in 1..levels={levels} (1-based)")
        widths = [int(hidden)] * levels if isinstance(hidden, (int, np.integer)) else [int(h) for h in hidden]
        if len(widths) != levels or min(widths) < 1:
            raise ParameterError(f"hidden={hidden!r}: give one positive width, or one per level ({levels} levels)")
        self.config = dict(image_size=int(image_size), channels=int(channels), levels=levels,
                           steps_per_level=steps, hidden=widths, classifier_level=classifier_level,
                           pooled_classifier=bool(pooled_classifier),
                           classifier_norm=None if classifier_norm is None else float(classifier_norm),
                           min_scale=float(min_scale), seed=int(seed))
        if classifier_norm is not None and not classifier_norm > 0:
            raise ParameterError(f"classifier_norm={classifier_norm} must be positive (or None for a free norm)")
        with torch.random.fork_rng(devices=[]):  # same seed, same initial weights; global RNG untouched
            torch.manual_seed(int(seed))
            self._build(channels, image_size, steps, widths, classifier_level, bool(pooled_classifier),
                        float(min_scale), int(seed))
        self.n_dims = channels * image_size * image_size

    def _build(self, channels: int, image_size: int, steps: list[int], hidden: list[int], classifier_level: int,
               pooled: bool, min_scale: float, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.levels = nn.ModuleList()
        c, side = channels, image_size
        self._shapes: list[tuple[int, int, int]] = []  # the latent shape after each level, before fade-out
        for n_steps, width in zip(steps, hidden):
            self.levels.append(Level(c, n_steps, width, gen, min_scale))
            c, side = 4 * c, side // 2
            self._shapes.append((c, side, side))
            c = c - c // 2  # what stays after the fade-out
        zc, zh, zw = self._shapes[classifier_level - 1]
        shape = (zc, 1, 1) if pooled else (zc, zh, zw)
        self.classifier_weight = nn.Parameter(torch.randn(shape, generator=gen) / math.sqrt(zc * zh * zw))
        self.classifier_bias = nn.Parameter(torch.zeros(()))

    # -- pieces -----------------------------------------------------------------------------
    @property
    def classifier_level(self) -> int:
        return self.config["classifier_level"]

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """Shape ``(C, h, w)`` of the classifier-level latent ``z``."""
        return self._shapes[self.classifier_level - 1]

    @property
    def weight(self) -> Tensor:
        """The classifier's weight ``w`` shaped like ``z`` (``[C, h, w]``): ``logit = (w * z).sum() + b``."""
        w = self.classifier_weight
        if self.config["pooled_classifier"]:
            c, h, wd = self.latent_shape
            w = w.expand(c, h, wd) / (h * wd)
        if self.config["classifier_norm"] is not None:
            w = w * (self.config["classifier_norm"] / w.norm())
        return w

    @property
    def bias(self) -> Tensor:
        """The classifier's bias ``b`` (a scalar tensor)."""
        return self.classifier_bias

    def _check(self, x: Tensor) -> Tensor:
        s, c = self.config["image_size"], self.config["channels"]
        if not isinstance(x, Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != (c, s, s):
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ParameterError(f"GlowClassifier expects images [B,{c},{s},{s}] in [0,1]; got {shape}. "
                                 f"Render or resize the images to {s}x{s}.")
        if not x.is_floating_point():
            raise ParameterError(f"images must be float in [0,1], got dtype {x.dtype} (divide uint8 images by 255)")
        return x

    def _phi(self, x: Tensor) -> tuple[Latent, Tensor, Tensor]:
        """Levels 1..classifier_level: the latent, the log-determinant and the prior log-density of
        the parts faded out on the way (both [B], nats)."""
        h = x - 0.5
        logdet = x.new_zeros(x.shape[0])
        logp = x.new_zeros(x.shape[0])
        faded = []
        for i in range(self.classifier_level):
            if i > 0:
                keep = h.shape[1] - h.shape[1] // 2
                h, f = h[:, :keep], h[:, keep:]
                faded.append(f)
                logp = logp + _gaussian_logp(f)
            h, ld = self.levels[i](h)
            logdet = logdet + ld
        return Latent(h, tuple(faded)), logdet, logp

    def _mu(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """The levels after the classifier (the paper's ``mu``): log-det and log-prior [B], nats."""
        logdet = z.new_zeros(z.shape[0])
        logp = z.new_zeros(z.shape[0])
        h = z
        for i in range(self.classifier_level, len(self.levels)):
            keep = h.shape[1] - h.shape[1] // 2
            h, f = h[:, :keep], h[:, keep:]
            logp = logp + _gaussian_logp(f)
            h, ld = self.levels[i](h)
            logdet = logdet + ld
        return logdet, logp + _gaussian_logp(h)

    def _logit_and_logdensity(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The logit and the log-density of ``x`` (nats, continuous) in one pass."""
        lat, ld1, lp1 = self._phi(x)
        ld2, lp2 = self._mu(lat.z)
        return self.logit_from_latent(lat), ld1 + lp1 + ld2 + lp2

    def _code(self, x: Tensor) -> Tensor:
        """Every variable the flow maps ``x`` to (faded-out parts and the last level's output),
        flattened and concatenated, ``[B, C*H*W]``: the bijection whose Jacobian the
        log-likelihood uses (for tests)."""
        lat = self._phi(x)[0]
        parts = [f.flatten(1) for f in lat.faded]
        h = lat.z
        for i in range(self.classifier_level, len(self.levels)):
            keep = h.shape[1] - h.shape[1] // 2
            h, f = h[:, :keep], h[:, keep:]
            parts.append(f.flatten(1))
            h = self.levels[i](h)[0]
        return torch.cat(parts + [h.flatten(1)], dim=1)

    def _bits_per_dim(self, log_density: Tensor) -> Tensor:
        """Log-likelihood of the quantised image in bits per dimension (a negative number)."""
        return (log_density - self.n_dims * math.log(N_BINS)) / (self.n_dims * math.log(2))

    # -- public API -------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        """The logit ``[B]`` (> 0: Stretchy, label 1; < 0: Peaky, label 0)."""
        return self.logit_from_latent(self.encode(x))

    def encode(self, x: Tensor) -> Latent:
        """Images ``[B,C,H,W]`` in [0,1] -> :class:`Latent` (classifier-level ``z`` and faded parts)."""
        return self._phi(self._check(x))[0]

    def decode(self, latent: Latent) -> Tensor:
        """The exact inverse of :meth:`encode`. Not clamped: a latent moved far from the data
        may decode to pixels slightly outside [0, 1]."""
        if not isinstance(latent, Latent):
            raise ParameterError(f"decode expects a Latent from encode(), got {type(latent).__name__}")
        if tuple(latent.z.shape[1:]) != self.latent_shape or len(latent.faded) != self.classifier_level - 1:
            raise ParameterError(f"latent z has shape {tuple(latent.z.shape)} with {len(latent.faded)} faded parts; "
                                 f"this model expects [B,{','.join(map(str, self.latent_shape))}] and "
                                 f"{self.classifier_level - 1} (use this model's encode())")
        h = latent.z
        for i in reversed(range(self.classifier_level)):
            h = self.levels[i].inverse(h)
            if i > 0:
                h = torch.cat([h, latent.faded[i - 1]], dim=1)
        return h + 0.5

    def logit_from_latent(self, z: Latent | Tensor) -> Tensor:
        """``w . z + b`` for a :class:`Latent` or a classifier-level tensor ``[B,C,h,w]``."""
        t = z.z if isinstance(z, Latent) else z
        return (t * self.weight.to(t.dtype)).flatten(1).sum(1) + self.classifier_bias.to(t.dtype)

    def log_prob(self, x: Tensor) -> Tensor:
        """Log-likelihood ``[B]`` of each (8-bit) image in **bits per dimension** (negative; its
        negation is the usual "bits/dim" score). Uses the density at ``x`` without dequantisation
        noise, times the volume of the pixel's bin of width 1/255."""
        return self._bits_per_dim(self._logit_and_logdensity(self._check(x))[1])

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """Data-dependent initialisation of every actnorm layer from a batch ``x``."""
        was = self.training
        self.train()
        for m in self.modules():
            if isinstance(m, ActNorm):
                m.initialized.fill_(False)
        self._logit_and_logdensity(self._check(x))
        self.train(was)
