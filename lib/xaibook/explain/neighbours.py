"""Nearest training examples as explanations.

* Nguyen et al. (2021), Sec. 2.3 "3-NN": for an image ``x`` with predicted label ``y``,
  show the three training images of class ``y`` nearest to ``x`` in the feature space of
  ResNet-34 ``layer4`` (512x7x7 flattened), L2 distance; only training images that the
  model also predicts as ``y`` are searched and neighbours closer than 100 are dropped as
  near-duplicates (public code).
* Alqaraawi et al. (2020), Sec. 3.2.1: for each task image, 12 training examples nearest
  in cosine distance in the embedding of the penultimate layer, chosen by outcome for the
  class: 6 true positives, 3 false negatives and 3 false positives
  (:func:`examples_by_outcome`).

Search uses faiss (its GPU index when ``faiss.get_num_gpus() > 0``) or torch
(``backend="torch"``, on the features' device); both return the same neighbours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
from torch import nn

from ..errors import ParameterError
from ..progress import bar
from .inputs import check_batch, resolve_layer

METRICS = ("l2", "cosine")
BACKENDS = ("faiss", "torch")


# ----------------------------------------------------------------------------- features

def layer_features(model: nn.Module, images: torch.Tensor, layer: str | nn.Module = "net.layer4",
                   batch_size: int = 128, desc: str = "features") -> torch.Tensor:
    """Activations of ``layer`` for each image, flattened: ``[B, D]`` float32 on the CPU.

    The model runs in eval mode without gradients; ``layer`` is a dotted module name
    (``"net.layer4"`` for a :class:`~xaibook.models.wrappers.Normalized` ResNet).
    """
    images, _ = check_batch(model, images, None)
    module = resolve_layer(model, layer)
    captured: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(
        (out[0] if isinstance(out, (tuple, list)) else out).detach().flatten(1).float().cpu()))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in bar(range(0, images.shape[0], batch_size), desc=desc):
                model(images[start:start + batch_size])
    finally:
        handle.remove()
        model.train(was_training)
    return torch.cat(captured)


def _predict(model: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for start in range(0, images.shape[0], batch_size):
                out.append(model(images[start:start + batch_size]).argmax(dim=1).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


def _as_float_matrix(x, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[0] == 0:
        raise ParameterError(f"{name} must be a non-empty [N, D] array of features, got {getattr(x, 'shape', type(x))}")
    x = x.float()
    if not torch.isfinite(x).all():
        raise ParameterError(f"{name} contains NaN or infinite values")
    return x


def _as_long_vector(x, n: int, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dim() != 1 or t.shape[0] != n:
        raise ParameterError(f"{name} must have shape [{n}], got {tuple(t.shape)}")
    if t.is_floating_point():
        raise ParameterError(f"{name} must hold integer class indices, got dtype {t.dtype}")
    return t.long().cpu()


# ----------------------------------------------------------------------------- search core

def _prepare(x: torch.Tensor, metric: str) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=1) if metric == "cosine" else x


def _search_faiss(queries: torch.Tensor, base: torch.Tensor, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    q = np.ascontiguousarray(queries.cpu().numpy(), dtype=np.float32)
    b = np.ascontiguousarray(base.cpu().numpy(), dtype=np.float32)
    index = faiss.IndexFlatIP(b.shape[1]) if metric == "cosine" else faiss.IndexFlatL2(b.shape[1])
    if faiss.get_num_gpus() > 0 and hasattr(faiss, "StandardGpuResources"):  # pragma: no cover - GPU only
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    index.add(b)
    dist, idx = index.search(q, k)
    if metric == "cosine":
        dist = 1.0 - dist
    else:
        dist = np.sqrt(np.clip(dist, 0, None))
    return dist.astype(np.float64), idx.astype(np.int64)


def _search_torch(queries: torch.Tensor, base: torch.Tensor, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    if metric == "cosine":
        d = 1.0 - queries @ base.T
    else:
        d = torch.cdist(queries, base)
    dist, idx = torch.topk(d, k, dim=1, largest=False, sorted=True)
    return dist.double().cpu().numpy(), idx.cpu().numpy()


def _search_groups(queries: torch.Tensor, bank: torch.Tensor, candidates: list[np.ndarray], groups: list[np.ndarray],
                   k: int, metric: str, min_distance: float | None, backend: str) -> tuple[torch.Tensor, torch.Tensor]:
    """For each group of query rows, the k nearest among its candidate bank rows.

    Neighbours at a distance below ``min_distance`` are dropped; missing neighbours are
    returned as index -1 and distance inf.
    """
    search = _search_faiss if backend == "faiss" else _search_torch
    device = queries.device
    out_idx = np.full((queries.shape[0], k), -1, dtype=np.int64)
    out_dist = np.full((queries.shape[0], k), np.inf, dtype=np.float64)
    for rows, cand in zip(groups, candidates):
        if len(rows) == 0 or len(cand) == 0:
            continue
        q = queries[torch.as_tensor(rows, device=device)]
        b = bank[torch.as_tensor(cand, device=bank.device)].to(device)
        want = min(len(cand), k if min_distance is None else k + 16)
        while True:
            dist, idx = search(q, b, want, metric)
            keep = np.ones_like(dist, dtype=bool) if min_distance is None else dist >= min_distance
            enough = keep.sum(axis=1) >= k
            if enough.all() or want >= len(cand):
                break
            want = min(len(cand), want * 2)
        for r, row in enumerate(rows):
            sel = np.flatnonzero(keep[r])[:k]
            out_idx[row, :len(sel)] = cand[idx[r, sel]]
            out_dist[row, :len(sel)] = dist[r, sel]
    return torch.from_numpy(out_idx), torch.from_numpy(out_dist).float()


def _check_common(k: int, metric: str, backend: str, min_distance) -> None:
    if int(k) != k or k < 1:
        raise ParameterError(f"k must be a positive integer, got {k!r}")
    if metric not in METRICS:
        raise ParameterError(f"metric must be one of {METRICS}, got {metric!r}")
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if min_distance is not None and not np.isfinite(min_distance):
        raise ParameterError(f"min_distance must be a finite number or None, got {min_distance!r}")


# ----------------------------------------------------------------------------- 3-NN

def nearest_neighbours(model: nn.Module, images: torch.Tensor, targets: torch.Tensor | None = None,
                       bank_images: torch.Tensor | None = None, bank_features=None, bank_labels=None,
                       layer: str | nn.Module = "net.layer4", k: int = 3, metric: str = "l2",
                       restrict: str = "predicted", require_agreement: bool = True,
                       min_distance: float | None = None, bank_predictions=None,
                       backend: str = "faiss", batch_size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest bank (training) images of each query's class, in a layer's feature space.

    Args:
        model: the classifier; features are the flattened activations of ``layer``.
        images: ``[B,3,H,W]`` query images in [0, 1].
        targets: ``[B]`` classes; used when ``restrict="target"`` (optional otherwise).
        bank_images: ``[N,3,H,W]`` training images, or ``bank_features`` ``[N, D]`` computed
            beforehand with :func:`layer_features` on the same layer.
        bank_labels: ``[N]`` true classes of the bank.
        layer: dotted module name (Nguyen et al.: ``"net.layer4"`` of ResNet-34).
        k: neighbours per query (3).
        metric: ``"l2"`` (Nguyen et al.) or ``"cosine"`` (1 - cosine similarity).
        restrict: which class to search: ``"predicted"`` (the model's top-1 label for the
            query, Nguyen et al.), ``"target"`` (``targets``) or ``"none"`` (the whole bank).
        require_agreement: only bank images that the model also predicts as their true class
            (needs ``bank_predictions`` or ``bank_images``).
        min_distance: drop neighbours closer than this as near-duplicates (Nguyen et al.: 100
            in L2 on ResNet-34 ``layer4`` of 224-px ImageNet images; ``None`` keeps all).
        bank_predictions: ``[N]`` the model's top-1 labels on the bank (computed from
            ``bank_images`` when omitted).
        backend: ``"faiss"`` (GPU index when available) or ``"torch"``.

    Returns:
        ``(indices, distances)``: ``[B, k]`` long indices into the bank and ``[B, k]`` float
        distances, nearest first; index -1 and distance inf where fewer than ``k`` bank
        images qualify.
    """
    _check_common(k, metric, backend, min_distance)
    if restrict not in ("predicted", "target", "none"):
        raise ParameterError(f"restrict must be 'predicted', 'target' or 'none', got {restrict!r}")
    images, targets = check_batch(model, images, targets)
    if restrict == "target" and targets is None:
        raise ParameterError("targets is required with restrict='target'")
    if (bank_images is None) == (bank_features is None):
        raise ParameterError("pass exactly one of bank_images [N,3,H,W] or bank_features [N,D]")
    if bank_features is None:
        bank_images, _ = check_batch(model, bank_images, None)
        bank_features = layer_features(model, bank_images, layer, batch_size, desc="bank features")
    bank = _as_float_matrix(bank_features, "bank_features")
    n = bank.shape[0]
    queries = layer_features(model, images, layer, batch_size, desc="query features")
    if queries.shape[1] != bank.shape[1]:
        raise ParameterError(f"bank_features has dimension {bank.shape[1]} but layer {layer!r} gives {queries.shape[1]}; "
                             "compute the bank features on the same layer and image size")
    if restrict == "none" and not require_agreement:
        labels = None
    else:
        if bank_labels is None:
            raise ParameterError("bank_labels [N] is required to restrict the search to a class")
        labels = _as_long_vector(bank_labels, n, "bank_labels")
    eligible = np.ones(n, dtype=bool)
    if require_agreement:
        if bank_predictions is None:
            if bank_images is None:
                raise ParameterError("bank_predictions [N] is required with bank_features and require_agreement=True "
                                     "(the model's top-1 labels on the bank images)")
            bank_predictions = _predict(model, bank_images, batch_size)
        preds = _as_long_vector(bank_predictions, n, "bank_predictions")
        eligible &= (preds == labels).numpy()

    if restrict == "none":
        groups = [np.arange(images.shape[0])]
        candidates = [np.flatnonzero(eligible)]
    else:
        cls = (_predict(model, images, batch_size) if restrict == "predicted" else targets.cpu()).numpy()
        lab = labels.numpy()
        classes = np.unique(cls)
        groups = [np.flatnonzero(cls == c) for c in classes]
        candidates = [np.flatnonzero(eligible & (lab == c)) for c in classes]
    device = bank.device if backend == "faiss" else images.device
    q = _prepare(queries.to(device), metric)
    b = _prepare(bank.to(device), metric)
    return _search_groups(q, b, candidates, groups, int(k), metric, min_distance, backend)


# ----------------------------------------------------------------------------- Alqaraawi's examples

@dataclass
class OutcomeExamples:
    """Per outcome (``"TP"``, ``"FN"``, ``"FP"``) the ``[B, n]`` bank indices and distances."""

    indices: dict[str, torch.Tensor]
    distances: dict[str, torch.Tensor]

    def flat(self, row: int) -> list[tuple[str, int, float]]:
        """The examples of query ``row`` as (outcome, bank index, distance), outcome by outcome."""
        return [(o, int(i), float(d)) for o in self.indices
                for i, d in zip(self.indices[o][row].tolist(), self.distances[o][row].tolist()) if i >= 0]


def _membership(x, n: int, classes: np.ndarray, name: str) -> np.ndarray:
    """[N, len(classes)] bool: does bank item i carry class classes[j] (single- or multi-label)."""
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.ndim == 1:
        if a.shape[0] != n or np.issubdtype(a.dtype, np.floating):
            raise ParameterError(f"{name} must be [N]={n} integer classes or an [N, C] boolean multi-label matrix")
        return a[:, None] == classes[None, :]
    if a.ndim == 2 and a.shape[0] == n:
        if classes.max() >= a.shape[1]:
            raise ParameterError(f"{name} has {a.shape[1]} classes but class {classes.max()} was asked for")
        return a[:, classes].astype(bool)
    raise ParameterError(f"{name} must be [N]={n} integer classes or an [N, C] boolean multi-label matrix, got {a.shape}")


def examples_by_outcome(query_features, bank_features, bank_labels, bank_predictions, classes,
                        counts: Mapping[str, int] | None = None, metric: str = "cosine",
                        backend: str = "faiss", exclude_self: bool = True) -> OutcomeExamples:
    """Alqaraawi et al. (2020), Sec. 3.2.1: nearest training examples of each outcome for a class.

    For each query (task image) and its class ``c``, the bank items nearest in ``metric``
    (cosine in the penultimate-layer embedding in the paper) among the true positives
    (labelled ``c`` and predicted ``c``), false negatives (labelled ``c``, not predicted
    ``c``) and false positives (predicted ``c``, not labelled ``c``).

    Args:
        query_features: ``[B, D]`` embeddings of the task images (:func:`layer_features`).
        bank_features: ``[N, D]`` embeddings of the training images.
        bank_labels, bank_predictions: ``[N]`` integer classes (single label) or ``[N, C]``
            boolean label sets (multi-label, as PASCAL VOC in the paper).
        classes: ``[B]`` the class each task image is about (or one int for all).
        counts: examples per outcome; default ``{"TP": 6, "FN": 3, "FP": 3}``.
        exclude_self: skip bank items at distance ~0 (the task image itself, if in the bank).
    """
    counts = dict(counts or {"TP": 6, "FN": 3, "FP": 3})
    if set(counts) - {"TP", "FN", "FP"} or any(int(v) != v or v < 0 for v in counts.values()):
        raise ParameterError(f"counts maps 'TP', 'FN', 'FP' to non-negative integers, got {counts!r}")
    _check_common(max(1, max(counts.values(), default=1)), metric, backend, None)
    q = _as_float_matrix(query_features, "query_features")
    b = _as_float_matrix(bank_features, "bank_features")
    if q.shape[1] != b.shape[1]:
        raise ParameterError(f"query_features has dimension {q.shape[1]} but bank_features has {b.shape[1]}")
    n, nq = b.shape[0], q.shape[0]
    cls = np.broadcast_to(np.asarray(classes.cpu() if isinstance(classes, torch.Tensor) else classes), (nq,)).astype(np.int64)
    uniq = np.unique(cls)
    is_label = _membership(bank_labels, n, uniq, "bank_labels")
    is_pred = _membership(bank_predictions, n, uniq, "bank_predictions")
    outcome = {"TP": is_label & is_pred, "FN": is_label & ~is_pred, "FP": ~is_label & is_pred}
    qp, bp = _prepare(q, metric), _prepare(b, metric)
    floor = 1e-6 if exclude_self else None
    indices, distances = {}, {}
    for name, want in counts.items():
        if want == 0:
            indices[name] = torch.empty(nq, 0, dtype=torch.long)
            distances[name] = torch.empty(nq, 0)
            continue
        groups = [np.flatnonzero(cls == c) for c in uniq]
        candidates = [np.flatnonzero(outcome[name][:, j]) for j in range(len(uniq))]
        indices[name], distances[name] = _search_groups(qp, bp, candidates, groups, int(want), metric, floor, backend)
    return OutcomeExamples(indices=indices, distances=distances)
