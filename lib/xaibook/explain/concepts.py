"""Concepts by matrix factorisation of an intermediate layer (Sixt et al. 2022, Sec. 4; after Zhang et al. 2021).

Zhang et al. (2021) factorise a layer's activations with non-negative matrix factorisation
(NMF): every spatial position of every image is a row, the channels are the columns, and
each factor is a *concept*, a direction in channel space with a spatial map of where it is
present. NMF needs non-negative activations (after a ReLU). The invertible network of Sixt et
al. has none: its activations are signed, so the authors "used matrix factorization instead
of NMF" on an 8x8 layer, with 10 components, and kept the five whose scores correlated most
with the logit (r between 0.21 and 0.34).

Which factorisation, and why. The paper does not name it. Here it is **PCA computed by a
truncated SVD** of the centred ``[N*h*w, C]`` activation matrix (``method="pca"``): it is the
best rank-k least-squares approximation of signed data (Eckart-Young), it is deterministic
and needs no tuning, and its components are ordered by the variance they explain. Signs are
arbitrary in any signed factorisation; each component is oriented so that its largest
excursion is positive, so "the concept is present" means "its score is high".
``method="ica"`` (scikit-learn's FastICA on the same matrix) is offered for comparison: it
seeks statistically independent rather than uncorrelated directions, closer in spirit to
NMF's parts, but depends on a random start.

Presentation (Zhang et al. 2021; Sixt et al. 2022, Fig. 1c): an image's concept strength is
the spatial mean of its score map (what is correlated with the logit), the exemplars of a
concept are the images with the highest peak score, and the concept's region is the
upsampled score map, highlighted on the image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pandas as pd
import torch
from torch import Tensor, nn

from ..errors import ParameterError
from ..models.inference import model_device, predict
from .inputs import resolve_layer

METHODS = ("pca", "ica")


@dataclass
class Concepts:
    """A factorisation of ``[N, C, h, w]`` activations into ``K`` concepts.

    Attributes:
        components: ``[K, C]`` concept directions in channel space (unit norm for PCA).
        mean: ``[C]`` the channel mean removed before factorising.
        scores: ``[N, K, h, w]`` where and how strongly each concept is present.
        explained_variance_ratio: ``[K]`` share of the activations' variance each component explains
            (for ICA: of its least-squares reconstruction).
        method: ``"pca"`` or ``"ica"``.
    """

    components: Tensor
    mean: Tensor
    scores: Tensor
    explained_variance_ratio: Tensor
    method: str

    @property
    def n_components(self) -> int:
        return self.components.shape[0]

    def strength(self) -> Tensor:
        """``[N, K]`` image-level concept strength: the spatial mean of each score map."""
        return self.scores.mean((2, 3))

    def reconstruct(self) -> Tensor:
        """``[N, C, h, w]`` activations rebuilt from the concepts (mean + scores x components)."""
        n, k, h, w = self.scores.shape
        flat = self.scores.permute(0, 2, 3, 1).reshape(-1, k) @ self.components + self.mean
        return flat.reshape(n, h, w, -1).permute(0, 3, 1, 2)


def layer_activations(model: nn.Module, layer: str | nn.Module, images: Tensor, batch_size: int = 64) -> Tensor:
    """The output ``[N, C, h, w]`` of ``layer`` (a dotted module name or the module) for ``images``,
    computed where the model is (:func:`xaibook.models.inference.predict`).

    A module that returns a tuple (e.g. a flow layer returning ``(x, logdet)``) contributes its
    first tensor.
    """
    module = resolve_layer(model, layer)
    acts = predict(model, images, output="features", layer=module, batch_size=batch_size, device=model_device(model))
    if acts.dim() != 4:
        raise ParameterError(f"layer {layer!r} does not output a [B,C,h,w] feature map (got {tuple(acts.shape[1:])} "
                             "per image)")
    return acts


def factorize(activations: Tensor, n_components: int = 10, method: str = "pca", seed: int = 0) -> Concepts:
    """Factorise ``[N, C, h, w]`` activations into ``n_components`` concepts (see the module docstring).

    Rows of the factorised matrix are the ``N*h*w`` spatial positions, columns the ``C`` channels.
    """
    if method not in METHODS:
        raise ParameterError(f"method={method!r}; use one of {METHODS} (NMF does not apply to signed activations)")
    if activations.dim() != 4:
        raise ParameterError(f"activations must be [N,C,h,w], got {tuple(activations.shape)}")
    n, c, h, w = activations.shape
    if not 1 <= n_components <= min(c, n * h * w):
        raise ParameterError(f"n_components must lie in [1, {min(c, n * h * w)}] for activations "
                             f"{tuple(activations.shape)}, got {n_components}")
    x = activations.permute(0, 2, 3, 1).reshape(-1, c).double()
    mean = x.mean(0)
    xc = x - mean
    total = float((xc ** 2).sum())
    if method == "pca":
        _, s, vh = torch.linalg.svd(xc, full_matrices=False)
        comps = vh[:n_components]
        scores = xc @ comps.T
        evr = (s[:n_components] ** 2) / max(total, 1e-30)
    else:
        from sklearn.decomposition import FastICA

        ica = FastICA(n_components=n_components, random_state=seed, whiten="unit-variance", max_iter=1000)
        sc = ica.fit_transform(xc.numpy())
        scores = torch.from_numpy(sc)
        comps = torch.from_numpy(ica.mixing_.T.copy())  # xc ~ scores @ mixing.T
        evr = torch.tensor([float(((scores[:, [k]] @ comps[[k]]) ** 2).sum()) / max(total, 1e-30)
                            for k in range(n_components)], dtype=torch.float64)
    # orient: the largest excursion of each component's scores is positive
    flip = torch.where(scores.amax(0) >= -scores.amin(0), 1.0, -1.0).to(scores.dtype)
    scores, comps = scores * flip, comps * flip[:, None]
    return Concepts(components=comps.float(), mean=mean.float(),
                    scores=scores.float().reshape(n, h, w, n_components).permute(0, 3, 1, 2).contiguous(),
                    explained_variance_ratio=evr.float(), method=method)


def pearson_r(x: Tensor, y: Tensor) -> Tensor:
    """Pearson correlation of each column of ``x [N, K]`` with ``y [N]`` (0 for a constant column)."""
    x = x.double() - x.double().mean(0)
    y = y.double().flatten() - y.double().mean()
    den = x.norm(dim=0) * y.norm()
    return torch.where(den > 0, (x.T @ y) / den.clamp_min(1e-300), torch.zeros_like(den)).float()


def rank_by_logit(concepts: Concepts, logits: Tensor, keep: int = 5) -> pd.DataFrame:
    """The ``keep`` concepts whose image-level strength correlates most (by |r|) with the logit.

    Returns one row per kept concept, best first: ``component`` (index into the factorisation),
    ``r`` (Pearson, signed: positive = more Stretchy), ``abs_r``, ``explained_variance``.
    """
    logits = torch.as_tensor(logits).flatten()
    if len(logits) != concepts.scores.shape[0]:
        raise ParameterError(f"need one logit per image: {len(logits)} logits for {concepts.scores.shape[0]} images")
    if not 1 <= keep <= concepts.n_components:
        raise ParameterError(f"keep must lie in [1, {concepts.n_components}], got {keep}")
    r = pearson_r(concepts.strength(), logits)
    order = torch.argsort(-r.abs(), stable=True)[:keep]
    return pd.DataFrame({"component": order.numpy(), "r": r[order].numpy(), "abs_r": r[order].abs().numpy(),
                         "explained_variance": concepts.explained_variance_ratio[order].numpy()})


def exemplars(concepts: Concepts, component: int, k: int = 5, exclude: Sequence[int] = ()) -> Tensor:
    """Indices ``[k]`` of the images where ``component`` peaks highest (its exemplars), best first."""
    if not 0 <= component < concepts.n_components:
        raise ParameterError(f"component must lie in [0, {concepts.n_components}), got {component}")
    peak = concepts.scores[:, component].amax((1, 2)).clone()
    if len(exclude):
        peak[torch.as_tensor(list(exclude), dtype=torch.long)] = -float("inf")
    return torch.argsort(-peak, stable=True)[:k]


def region_maps(concepts: Concepts, component: int, indices: Tensor, size: int) -> Tensor:
    """``[k, 1, size, size]`` maps in [0, 1] of where ``component`` is present in the given images:
    the score map upsampled bilinearly, negative scores clipped to 0, divided by the image's peak."""
    maps = concepts.scores[indices, component][:, None].clamp_min(0)
    maps = nn.functional.interpolate(maps, size=(size, size), mode="bilinear", align_corners=False)
    return maps / maps.amax((2, 3), keepdim=True).clamp_min(1e-12)


def highlight(images: Tensor, maps: Tensor, threshold: float = 0.5, dim: float = 0.3) -> Tensor:
    """Images ``[k,3,H,W]`` with the concept region (``maps >= threshold``) at full brightness and
    the rest dimmed to ``dim`` of its brightness, as in Zhang et al.'s exemplar panels."""
    if images.dtype == torch.uint8:
        images = images.float() / 255
    soft = ((maps - threshold) / 0.1).clamp(0, 1)  # a soft edge over 0.1 of the map's range
    return images * (dim + (1 - dim) * soft)


@dataclass
class ConceptExplanation:
    """What participants of the concepts condition saw, with the numbers behind it.

    Attributes:
        concepts: the factorisation of the layer's activations.
        selected: :func:`rank_by_logit` table (the kept concepts, best first).
        exemplar_indices: ``[keep, n_exemplars]`` image indices.
        panels: ``[keep, n_exemplars, 3, H, W]`` exemplar images with the region highlighted.
        maps: ``[keep, n_exemplars, 1, H, W]`` the region maps.
    """

    concepts: Concepts
    selected: pd.DataFrame
    exemplar_indices: Tensor
    panels: Tensor
    maps: Tensor


def discover_concepts(model: nn.Module, layer: str | nn.Module, images: Tensor, logits: Tensor | None = None, *,
                      n_components: int = 10, keep: int = 5, n_exemplars: int = 5, method: str = "pca",
                      batch_size: int = 64, seed: int = 0) -> ConceptExplanation:
    """Concepts of ``model`` at ``layer`` on ``images`` (Sixt et al. 2022, Sec. 4, "Automatically-discovered
    Concepts"): factorise, keep the ``keep`` components most correlated with the logit, and show
    ``n_exemplars`` exemplars of each with the concept's region highlighted.

    Args:
        model: binary classifier returning ``[B]`` logits on ``[B,3,H,W]`` images in [0, 1].
        layer: the layer to factorise (the paper: an 8x8 affine coupling layer of the INN).
        images: the images to factorise over (uint8 or float in [0, 1]).
        logits: the model's logits on ``images`` (computed if omitted).
        n_components: components of the factorisation (paper: 10).
        keep: components shown (paper: 5).
        n_exemplars: exemplars per component (paper: 5).
        method: ``"pca"`` (default) or ``"ica"``.
    """
    acts = layer_activations(model, layer, images, batch_size=batch_size)
    if logits is None:
        logits = predict(model, images, batch_size=batch_size, device=model_device(model))
        if logits[0].numel() != 1:
            raise ParameterError(f"model must return one logit per image ([B] or [B,1]), got {tuple(logits.shape)}; "
                                 "pass logits= explicitly")
        logits = logits.flatten()
    concepts = factorize(acts, n_components=n_components, method=method, seed=seed)
    selected = rank_by_logit(concepts, logits, keep=keep)
    size = images.shape[-1]
    idx, panels, maps = [], [], []
    for comp in selected["component"]:
        ex = exemplars(concepts, int(comp), n_exemplars)
        m = region_maps(concepts, int(comp), ex, size)
        idx.append(ex)
        maps.append(m)
        panels.append(highlight(images[ex], m))
    return ConceptExplanation(concepts=concepts, selected=selected, exemplar_indices=torch.stack(idx),
                              panels=torch.stack(panels), maps=torch.stack(maps))
