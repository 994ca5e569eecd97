"""Choosing example images to show beside a task, and how well a choice covers the cases.

Alqaraawi et al. (2020, Sec. 3.2.1) showed, for every task image, the 12 training images
nearest to it in the penultimate layer (6 TP, 3 FN, 3 FP) and name the choice of examples as
an open question (Sec. 6). Beside the nearest examples
(:func:`xaibook.explain.neighbours.examples_by_outcome`) this module gives two alternatives,
drawn from the same candidates of each outcome:

* :func:`random_examples`: a seeded uniform draw;
* :func:`k_centre_examples`: greedy k-centre (farthest-point) selection in the embedding,
  which spreads the examples over the candidates (Gonzalez 1985);

and :func:`coverage`: for target points (e.g. the test images of each outcome), the distance to
the nearest chosen example of the same outcome; a low mean means every case has a similar
example among those shown.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from ..errors import ParameterError


def _unit(x) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x.detach().cpu() if hasattr(x, "detach") else x), dtype=torch.float64)
    if t.dim() != 2:
        raise ParameterError(f"features must be [N, D], got {tuple(t.shape)}")
    return torch.nn.functional.normalize(t, dim=1)


def cosine_distances(a, b) -> np.ndarray:
    """``[len(a), len(b)]`` cosine distances (1 - cosine similarity)."""
    ua, ub = _unit(a), _unit(b)
    if ua.shape[1] != ub.shape[1]:
        raise ParameterError(f"features of dimension {ua.shape[1]} and {ub.shape[1]} cannot be compared")
    return (1 - ua @ ub.T).clamp(min=0).numpy()


def _check(candidates: Mapping[str, np.ndarray], counts: Mapping[str, int]) -> None:
    for o, k in counts.items():
        have = len(candidates.get(o, ()))
        if have < k:
            raise ParameterError(f"{k} {o} examples requested but only {have} {o} candidates exist")


def random_examples(candidates: Mapping[str, np.ndarray], counts: Mapping[str, int],
                    seed: int = 0) -> dict[str, np.ndarray]:
    """Per outcome, ``counts[o]`` indices drawn uniformly without replacement from ``candidates[o]``."""
    _check(candidates, counts)
    rng = np.random.default_rng(seed)
    return {o: np.sort(rng.choice(np.asarray(candidates[o]), size=int(k), replace=False)) for o, k in counts.items()}


def k_centre(features, k: int, start: int = 0) -> np.ndarray:
    """Greedy k-centre: positions (into ``features``) of ``k`` points, each the farthest (cosine)
    from those already chosen, starting at position ``start``."""
    n = len(features)
    if not 0 < k <= n:
        raise ParameterError(f"k={k} must be in 1..{n} (the number of candidates)")
    d = cosine_distances(features, features)
    chosen = [int(start)]
    nearest = d[start].copy()
    while len(chosen) < k:
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, d[nxt])
    return np.asarray(chosen)


def k_centre_examples(query, bank_features, candidates: Mapping[str, np.ndarray],
                      counts: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Per outcome, ``counts[o]`` candidates spread by :func:`k_centre`, starting from the one
    nearest the ``query`` embedding ``[D]`` (so the set still contains a close example)."""
    _check(candidates, counts)
    bank = np.asarray(bank_features.detach().cpu() if hasattr(bank_features, "detach") else bank_features)
    q = np.asarray(query.detach().cpu() if hasattr(query, "detach") else query).reshape(1, -1)
    out = {}
    for o, k in counts.items():
        idx = np.asarray(candidates[o])
        start = int(np.argmin(cosine_distances(q, bank[idx])[0]))
        out[o] = idx[k_centre(bank[idx], int(k), start)]
    return out


def coverage(example_features, target_features) -> np.ndarray:
    """For each target, the cosine distance to its nearest example (``[len(targets)]``)."""
    if len(example_features) == 0:
        raise ParameterError("no examples to measure coverage with")
    if len(target_features) == 0:
        return np.zeros(0)
    return cosine_distances(target_features, example_features).min(1)
