"""Ground-truth feature importance of a Two4Two classifier (Sixt et al. 2022, Sec. 3, Tables 1 and 3).

Two4Two can change one data-generating factor while holding all the others fixed. For each
factor, every scene is copied with only that factor resampled
(:func:`xaibook.world.two4two.intervene`), both versions are rendered and classified, and
three numbers summarise how the logit responds:

* ``prediction_flip``: the percentage of scenes whose predicted class (sign of the logit) changes;
* ``median_logit_change``: the median of ``|logit(intervened) - logit(original)|`` (the paper's
  caption says "Mean Logit Change" but defines it as the median);
* ``r2``: the coefficient of determination of an ordinary least-squares fit (with intercept)
  of the logit change on the factor change: how much of the logit change is explained
  *linearly*, i.e. how directed the factor's influence is.

The legs' position is resampled from its *marginal* over both classes (Peeky's U[0, 0.52] or
Stretchy's U[0.48, 1], each with probability 1/2), so that the new legs may belong to the other
class; every other factor comes from :func:`xaibook.world.two4two.intervene`. Resampling the legs
within the scene's own class could flip at most the few scenes near 0.5 (about 8 % for a perfect
legs classifier), far below the paper's 41.7 %, which a marginal draw explains (about 50 % for a
perfect legs classifier); ``legs="within_class"`` offers the other reading.

Work is batched, each chunk of scenes is cached under a fingerprint of the model's weights
(:func:`model_fingerprint`), so an interrupted run resumes, and a progress bar runs per factor.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .. import cache
from ..errors import ParameterError
from ..models.inference import model_device, predict
from . import two4two
from .two4two import FACTORS, Two4TwoParams

PAPER_NAMES: dict[str, str] = {
    "arm_position": "Legs' Position",
    "obj_color": "Color",
    "spherical": "Shape",
    "bg_color": "Background",
    "obj_rotation_yaw": "Rotation Yaw",
    "bending": "Bending",
    "obj_rotation_pitch": "Rotation Pitch",
    "obj_rotation_roll": "Rotation Roll",
    "position_x": "Position X",
    "position_y": "Position Y",
}
"""The paper's names of the factors (Tables 1, 3, 6 and 7), keyed by Two4Two field name."""

METRICS = ("prediction_flip", "median_logit_change", "r2")

ImagesFn = Callable[[Sequence[Two4TwoParams]], Tensor]


def render_images(size: int = 64, supersample: int = 2, device: torch.device | str | None = None) -> ImagesFn:
    """A function that renders scenes to ``[B,3,size,size]`` images in [0, 1] on the CPU (the default
    ``images_fn``); rendering runs on ``device`` (default ``config.device()``)."""

    def images_fn(params: Sequence[Two4TwoParams]) -> Tensor:
        return two4two.render_params(params, size=size, supersample=supersample, device=device).image.cpu()

    images_fn.cache_params = {"render": "two4two.render_params", "size": size, "supersample": supersample}
    return images_fn


def scenes_fingerprint(params: Sequence[Two4TwoParams]) -> str:
    """A short content hash of a list of scenes (ids and every parameter), for cache keys."""
    h = hashlib.sha256()
    for p in params:
        h.update(repr((p.id, p.obj_name, p.fliplr, p.labeling_error, *p.factors())).encode())
    return f"{len(params)}:{h.hexdigest()[:20]}"


def model_fingerprint(model: nn.Module) -> str:
    """A short content hash of a model's class, parameters and buffers (a cache key for its results)."""
    h = hashlib.sha256(type(model).__qualname__.encode())
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def predict_logits(model: nn.Module, images: Tensor, batch_size: int = 64) -> Tensor:
    """Logits ``[N]`` of a binary classifier (``model(x)`` returns ``[B]`` or ``[B,1]``), batched, in eval
    mode, where the model is (:func:`xaibook.models.inference.predict`)."""
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise ParameterError(f"images must have shape [N,3,H,W], got {tuple(getattr(images, 'shape', ()))}")
    if len(images) == 0:
        return torch.zeros(0)
    y = predict(model, images, batch_size=batch_size, device=model_device(model))
    if y.dim() == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dim() != 1:
        raise ParameterError(f"a binary classifier must return [B] logits, got shape {tuple(y.shape)}; "
                             "wrap a two-class model so that it returns logit(Stretchy) - logit(Peaky)")
    return y


def r_squared(x: np.ndarray, y: np.ndarray) -> float:
    """R^2 of the OLS fit ``y ~ a + b x`` (0 when x or y is constant)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    xc, yc = x - x.mean(), y - y.mean()
    b = (xc @ yc) / (xc @ xc)
    resid = yc - b * xc
    return float(1.0 - (resid @ resid) / (yc @ yc))


@dataclass
class Importance:
    """Result of :func:`ground_truth_importance`.

    Attributes:
        table: one row per factor: ``factor`` (Two4Two name), ``name`` (the paper's),
            ``prediction_flip`` (%), ``median_logit_change``, ``r2``, ``n``, ``seed``.
        samples: one row per scene and factor: ``factor``, ``id``, ``delta_factor``,
            ``logit_before``, ``logit_after``, ``delta_logit``, ``flipped``.
    """

    table: pd.DataFrame
    samples: pd.DataFrame


def summarize(samples: pd.DataFrame) -> pd.DataFrame:
    """Per factor: % of flipped predictions, median |delta logit| and R^2 of delta logit on delta factor."""
    rows = []
    for factor, g in samples.groupby("factor", sort=False):
        rows.append({"factor": factor, "name": PAPER_NAMES.get(factor, factor),
                     "prediction_flip": 100.0 * float(g["flipped"].mean()),
                     "median_logit_change": float(np.median(np.abs(g["delta_logit"]))),
                     "r2": r_squared(g["delta_factor"].to_numpy(), g["delta_logit"].to_numpy()),
                     "n": len(g)})
    return pd.DataFrame(rows)


LEGS_MODES = ("marginal", "within_class")


def resample(params: Sequence[Two4TwoParams], factor: str, seed: int = 0, distributions: str = "released",
             legs: str = "marginal") -> list[Two4TwoParams]:
    """Copies of ``params`` with only ``factor`` resampled (see the module docstring for the legs)."""
    if legs not in LEGS_MODES:
        raise ParameterError(f"legs={legs!r}; use one of {LEGS_MODES}")
    if factor != "arm_position" or legs == "within_class":
        return two4two.intervene(params, factor, seed=seed, distributions=distributions)
    params = list(params)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 4243]))
    other = rng.random(len(params)) < 0.5
    u = rng.uniform(0.0, 0.52, len(params))
    arm = np.where(other, 1.0 - u, u)
    return [p.replace(id=p.id + "_arm_position", original_id=p.id, arm_position=float(a)) for p, a in zip(params, arm)]


def ground_truth_importance(model: nn.Module, params: Sequence[Two4TwoParams],
                            factors: Sequence[str] = FACTORS, *, images_fn: ImagesFn | None = None,
                            seed: int = 0, batch_size: int = 64, distributions: str = "released",
                            legs: str = "marginal", base_logits: Tensor | None = None, use_cache: bool = True,
                            progress: bool = True) -> Importance:
    """Measure how much each factor drives ``model`` (Sixt et al. 2022, Sec. 3, Tables 1 and 3).

    Args:
        model: binary classifier taking ``[B,3,H,W]`` images in [0, 1] and returning ``[B]``
            logits (> 0 Stretchy).
        params: the scenes to intervene on (the paper used test scenes of the biased sampler).
        factors: Two4Two factor names to resample, one at a time.
        images_fn: renders scenes to images the model accepts; default :func:`render_images`
            at 64 px. A custom function is cached only if it carries a ``cache_params`` dict.
        seed: seed of the intervention sampler (the same seed resamples the same values).
        batch_size: scenes rendered and classified per chunk (the cache's unit of resumption).
        distributions: ``"released"`` or ``"paper"`` ranges for the resampled values.
        legs: ``"marginal"`` (default: legs drawn over both classes' ranges) or ``"within_class"``.
        base_logits: the model's logits on the unmodified scenes, if already known.
        use_cache: cache chunk results under the model's weights fingerprint.
        progress: show a progress bar over the chunks of each factor.

    Returns:
        :class:`Importance` with the per-factor table (in ``factors`` order) and per-scene samples.
    """
    params = list(params)
    if len(params) < 3:
        raise ParameterError(f"need at least 3 scenes to fit R^2, got {len(params)}")
    factors = list(factors)
    for f in factors:
        if f not in FACTORS:
            raise ParameterError(f"factor={f!r} is unknown; use Two4Two factor names: {', '.join(FACTORS)}")
    images_fn = images_fn if images_fn is not None else render_images()
    fn_key = getattr(images_fn, "cache_params", None)
    caching = use_cache and fn_key is not None
    if legs not in LEGS_MODES:
        raise ParameterError(f"legs={legs!r}; use one of {LEGS_MODES}")
    key = {"model": model_fingerprint(model) if caching else None, "images_fn": fn_key, "seed": int(seed),
           "distributions": distributions, "legs": legs,
           "scenes": scenes_fingerprint(params)}

    def logits_of(chunk: Sequence[Two4TwoParams]) -> Tensor:
        return predict_logits(model, images_fn(list(chunk)), batch_size=batch_size)

    def run(name: str, items: Sequence[Two4TwoParams], desc: str) -> Tensor:
        if caching:
            chunks = cache.map_chunks(name, key, items, logits_of, chunk_size=batch_size, desc=desc)
        else:
            from ..progress import bar

            starts = range(0, len(items), batch_size)
            it = bar(starts, desc=desc, total=len(starts)) if progress else starts
            chunks = [logits_of(items[s:s + batch_size]) for s in it]
        return torch.cat(chunks)

    if base_logits is None:
        before = run("two4two_importance_base", params, "importance: originals")
    else:
        before = torch.as_tensor(base_logits, dtype=torch.float32).flatten()
        if len(before) != len(params):
            raise ParameterError(f"base_logits has {len(before)} values for {len(params)} scenes")
    frames = []
    for f in factors:
        changed = resample(params, f, seed=seed, distributions=distributions, legs=legs)
        after = run(f"two4two_importance_{f}", changed, f"importance: {f}")
        df = pd.DataFrame({
            "factor": f, "id": [p.id for p in params],
            "delta_factor": [getattr(c, f) - getattr(p, f) for p, c in zip(params, changed)],
            "logit_before": before.numpy(), "logit_after": after.numpy()})
        df["delta_logit"] = df["logit_after"] - df["logit_before"]
        df["flipped"] = (df["logit_before"] > 0) != (df["logit_after"] > 0)
        frames.append(df)
    samples = pd.concat(frames, ignore_index=True)
    table = summarize(samples)
    table["seed"] = int(seed)
    return Importance(table=table, samples=samples)


def ranking_agrees(table: pd.DataFrame, metric: str = "median_logit_change",
                   order: Sequence[Sequence[str]] = (("arm_position",), ("obj_color",), ("spherical",)),
                   unbiased: Sequence[str] = ("bg_color", "obj_rotation_yaw", "bending", "obj_rotation_pitch",
                                              "obj_rotation_roll", "position_x", "position_y")) -> dict:
    """Check the paper's ranking legs > colour > shape > every unbiased factor on one metric.

    Returns a dict with ``agrees`` (bool), ``ranking`` (factors sorted by the metric, descending)
    and ``violations`` (pairs ``(a, b)`` where the paper has a > b but ``table`` has a <= b).
    """
    if metric not in METRICS:
        raise ParameterError(f"metric={metric!r}; use one of {METRICS}")
    value = dict(zip(table["factor"], table[metric]))
    chain = [f for group in order for f in group if f in value]
    rest = [f for f in unbiased if f in value]
    violations = []
    for i, a in enumerate(chain):
        for b in chain[i + 1:] + rest:
            if not value[a] > value[b]:
                violations.append((a, b))
    ranking = sorted(value, key=lambda f: -value[f])
    return {"agrees": not violations, "ranking": ranking, "violations": violations, "metric": metric}


def render_cached(params: Sequence[Two4TwoParams], size: int = 64, supersample: int = 2, chunk_size: int = 128,
                  desc: str = "two4two render") -> Tensor:
    """Render scenes to a ``[N,3,size,size]`` uint8 tensor, cached chunk by chunk (an interrupted run resumes).

    uint8 is what the original data set stores (PNG files); divide by 255 for model input.
    """
    params = list(params)
    if not params:
        raise ParameterError("render_cached needs at least one scene")
    fn = render_images(size=size, supersample=supersample)
    key = {"images_fn": fn.cache_params, "scenes": scenes_fingerprint(params)}

    def chunk(ps: Sequence[Two4TwoParams]) -> Tensor:
        return (fn(list(ps)).clamp(0, 1) * 255 + 0.5).to(torch.uint8)

    return torch.cat(cache.map_chunks("two4two_images", key, params, chunk, chunk_size=chunk_size, desc=desc))
