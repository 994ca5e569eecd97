"""Paired training: two models that differ only in the labels they were trained on.

Im et al. (2023, Method Summary) compare a model trained on a correctly labelled set with one
trained on a mislabeled copy of it. For the comparison to isolate the labels, both models share
the architecture, the initial weights, the seed and the batch order: the same images in the
same order, shuffled by the same seed with the same batch size, so that each step of one run
sees the same images as the same step of the other (:func:`xaibook.models.train.train` draws
each epoch's order from ``(seed, epoch)`` and the number of images).

    >>> (a, hist_a), (b, hist_b) = train_pair(net, copy.deepcopy(net), (x, y_clean), (x, y_noisy),
    ...                                       epochs=4, seed=3)
    >>> pair = train_pair_cached("im2023.pair", {"seed": 3}, build, lambda: x, lambda: y_clean,
    ...                          lambda: y_noisy, epochs=4, seed=3)

Pairs whose initial weights or batch order would differ are refused with a
:class:`~xaibook.errors.ParameterError` naming what differs.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import pandas as pd
import torch
from torch import nn

from ..cache import digest
from ..errors import ParameterError

__all__ = ["Pair", "check_pair", "train_pair", "train_pair_cached", "weights_digest"]


@dataclass
class Pair:
    """Two models trained alike on two label sets: ``first`` and ``second`` with their histories.

    ``init`` is the digest of the shared initial weights, ``order`` the digest of what fixes the
    shared batch order (image digest, number of images, batch size, epochs, seed).
    """

    first: nn.Module
    second: nn.Module
    history_first: pd.DataFrame
    history_second: pd.DataFrame
    init: str
    order: str


def weights_digest(model: nn.Module) -> str:
    """A digest of a model's parameters and buffers (names, dtypes, shapes and every value's bytes)."""
    state = model.state_dict()
    return digest(list(state), *(v.detach().cpu() for v in state.values()))


def _first_difference(a: nn.Module, b: nn.Module) -> str | None:
    sa, sb = a.state_dict(), b.state_dict()
    if list(sa) != list(sb) or any(sa[k].shape != sb[k].shape for k in sa):
        extra = sorted(set(sa) ^ set(sb))
        where = f" (e.g. {extra[0]!r})" if extra else ""
        return f"architectures differ{where}: the two models must be built by the same function"
    for k in sa:
        if not torch.equal(sa[k].detach().cpu(), sb[k].detach().cpu()):
            return (f"initial weights differ (first at {k!r}): build the second model as copy.deepcopy of the "
                    "first, or seed both builds alike")
    return None


def _as_pair_data(data: Any, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data)):
        raise ParameterError(f"{side} must be (images, labels) tensors, got {type(data).__name__}")
    x, y = data
    if x.dim() != 4 or len(x) != len(y) or len(x) == 0:
        raise ParameterError(f"{side}: images must be a non-empty [N,3,H,W] tensor with one label each, got "
                             f"{tuple(x.shape)} images and {len(y)} labels")
    return x, y


def check_pair(first: nn.Module, second: nn.Module, data_first: Any, data_second: Any,
               seeds: tuple[int, int], batch_sizes: tuple[int, int] = (1, 1)) -> None:
    """Refuse a pair that would differ in more than its labels (:class:`ParameterError` naming what).

    Checked: the architecture and initial weights, and what fixes the batch order: the same
    images in the same order (values compared), the same seed and the same batch size.
    """
    problem = _first_difference(first, second)
    if problem:
        raise ParameterError(f"paired training refused: {problem}")
    xa, ya = _as_pair_data(data_first, "data_first")
    xb, yb = _as_pair_data(data_second, "data_second")
    if xa.shape != xb.shape:
        raise ParameterError(f"paired training refused: batch order differs: {len(xa)} images of shape "
                             f"{tuple(xa.shape[1:])} vs {len(xb)} of {tuple(xb.shape[1:])}; both models must see "
                             "the same images, only the labels may differ")
    if not torch.equal(xa, xb):
        i = int((xa != xb).flatten(1).any(1).nonzero()[0])
        raise ParameterError(f"paired training refused: batch order differs: the training images differ (first at "
                             f"index {i}); pass the same images in the same order, only the labels may differ")
    if int(seeds[0]) != int(seeds[1]):
        raise ParameterError(f"paired training refused: batch order differs: seeds {seeds[0]} and {seeds[1]} (each "
                             "epoch's shuffling is drawn from the seed); give both models one seed")
    if int(batch_sizes[0]) != int(batch_sizes[1]):
        raise ParameterError(f"paired training refused: batch order differs: batch sizes {batch_sizes[0]} and "
                             f"{batch_sizes[1]}; give both models one batch_size")


def _order_digest(images: torch.Tensor, seed: int, kwargs: Mapping[str, Any]) -> str:
    return digest({"images": digest(images), "n": len(images), "batch_size": kwargs.get("batch_size", 128),
                   "epochs": kwargs.get("epochs", 10), "seed": int(seed)})


def train_pair(first: nn.Module, second: nn.Module, data_first: Any, data_second: Any, *, seed: int = 0,
               seed_second: int | None = None, batch_size_second: int | None = None,
               **train_kwargs: Any) -> Pair:
    """Train ``first`` on ``data_first`` and ``second`` on ``data_second`` with one seed and batch order.

    ``data_*`` are ``(images, labels)`` tensors with identical images. ``seed_second`` and
    ``batch_size_second`` exist to be refused when they differ from ``seed`` and ``batch_size``
    (e.g. a caller's configuration that drifted); ``train_kwargs`` go to
    :func:`xaibook.models.train.train` for both models.
    """
    from .train import train

    bad = set(train_kwargs) & {"seed", "checkpoint"}
    if bad:
        raise ParameterError(f"train_pair sets {sorted(bad)} itself")
    bs = train_kwargs.get("batch_size", 128)
    check_pair(first, second, data_first, data_second,
               (seed, seed if seed_second is None else seed_second),
               (bs, bs if batch_size_second is None else batch_size_second))
    init = weights_digest(first)
    m1, h1 = train(first, data_first, seed=seed, **train_kwargs)
    m2, h2 = train(second, data_second, seed=seed, **train_kwargs)
    return Pair(m1, m2, h1, h2, init, _order_digest(data_first[0], seed, train_kwargs))


def train_pair_cached(name: str, params: Mapping[str, Any], build_fn: Callable[[], nn.Module],
                      images_fn: Callable[[], torch.Tensor], labels_first_fn: Callable[[], torch.Tensor],
                      labels_second_fn: Callable[[], torch.Tensor], *, seed: int = 0,
                      **train_kwargs: Any) -> Pair:
    """:func:`train_pair` through the artifact cache: a rerun loads both models, an interrupted run resumes.

    ``build_fn`` is called once after seeding with ``seed``; the second model is a copy of the
    first, so the initial weights are shared by construction. The two sides are cached under
    ``name`` with ``params`` plus ``side`` (``"first"``/``"second"``) and the initial weights'
    digest; ``images_fn`` and the label functions run only when a side must be trained.
    """
    from .. import config
    from .train import train_cached

    bad = set(train_kwargs) & {"seed", "checkpoint", "val"}
    if bad:
        raise ParameterError(f"train_pair_cached sets {sorted(bad)} itself")
    config.seed_everything(int(seed))
    initial = build_fn()
    init = weights_digest(initial)
    data: dict[str, Any] = {}

    def images() -> torch.Tensor:
        if "x" not in data:
            data["x"] = images_fn()
        return data["x"]

    out = []
    for side, labels_fn in (("first", labels_first_fn), ("second", labels_second_fn)):
        model, history = train_cached(name, {**dict(params), "side": side, "init": init},
                                      lambda: copy.deepcopy(initial), lambda fn=labels_fn: (images(), fn()),
                                      seed=seed, **train_kwargs)
        out.append((model, history))
    order = digest({"params": dict(params), "seed": int(seed), "batch_size": train_kwargs.get("batch_size", 128),
                    "epochs": train_kwargs.get("epochs", 10)})
    return Pair(out[0][0], out[1][0], out[0][1], out[1][1], init, order)
