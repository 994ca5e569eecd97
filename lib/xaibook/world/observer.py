"""An observer network that reads every Two4Two factor off an image (Sixt et al. 2022, Sec. 5.3, App. A.3).

To measure what a counterfactual interpolation changes, the paper trained a MobileNetV2
(Sandler et al. 2018) on a completely *unbiased* Two4Two data set to regress every factor
from the image (test MSE per factor: Table 7), then ran it along the interpolations (Figure 5
and 6) and reported, per factor, the mean over interpolations of the largest minus the
smallest predicted value (Table 6).

Units. The observer predicts each factor rescaled to [0, 1] over the support of the study's
sampler (:data:`NORM_RANGES`): legs' position, colour, shape and background keep their own
units (they already live in [0, 1]); bending, rotations and positions are divided by the
width of their sampled range. Errors (:func:`test_error`) and changes
(:func:`interpolation_changes`) are in these units.
"""
from __future__ import annotations

import copy
import math
import time
from typing import Callable, Sequence

import pandas as pd
import torch
from torch import Tensor, nn

from .. import cache, config
from ..errors import ParameterError
from ..models.wrappers import Normalized
from . import two4two
from .importance import PAPER_NAMES, model_fingerprint, render_cached
from .two4two import FACTORS, Two4TwoParams

NORM_RANGES: dict[str, tuple[float, float]] = {
    "arm_position": (0.0, 1.0),
    "spherical": (0.0, 1.0),
    "obj_color": (0.0, 1.0),
    "bg_color": (0.0, 1.0),
    "bending": (-math.pi / 10, math.pi / 10),
    "obj_rotation_yaw": (-math.pi, 0.0),
    "obj_rotation_pitch": (-math.pi / 6, math.pi / 6),
    "obj_rotation_roll": (-math.pi / 4, math.pi / 4),
    "position_x": (-0.8, 0.0),
    "position_y": (-0.8, 0.0),
}
"""Support of each factor under the study's (``"released"``) unbiased sampler; the observer's
outputs are the factors rescaled from these ranges to [0, 1]."""

_MEAN = (0.5, 0.5, 0.5)
_STD = (0.25, 0.25, 0.25)


def normalize_factors(values: Tensor, factors: Sequence[str] = FACTORS) -> Tensor:
    """Rescale a ``[N, F]`` table of factor values to the observer's [0, 1] units."""
    lo = torch.tensor([NORM_RANGES[f][0] for f in factors], dtype=values.dtype)
    hi = torch.tensor([NORM_RANGES[f][1] for f in factors], dtype=values.dtype)
    return (values - lo) / (hi - lo)


def denormalize_factors(values: Tensor, factors: Sequence[str] = FACTORS) -> Tensor:
    """Inverse of :func:`normalize_factors`."""
    lo = torch.tensor([NORM_RANGES[f][0] for f in factors], dtype=values.dtype)
    hi = torch.tensor([NORM_RANGES[f][1] for f in factors], dtype=values.dtype)
    return values * (hi - lo) + lo


def build_observer(width_mult: float = 1.0, n_outputs: int = len(FACTORS)) -> nn.Module:
    """A randomly initialised torchvision MobileNetV2 regressing ``n_outputs`` values, taking [0, 1] images."""
    from torchvision.models import mobilenet_v2

    if not 0 < width_mult <= 2:
        raise ParameterError(f"width_mult must lie in (0, 2], got {width_mult}")
    net = mobilenet_v2(weights=None, num_classes=n_outputs, width_mult=width_mult, dropout=0.0)
    return Normalized(net, _MEAN, _STD)


def train_observer(images: Tensor, factors: Tensor, *, epochs: int = 10, batch_size: int = 64, lr: float = 2e-3,
                   width_mult: float = 1.0, seed: int = 0, model: nn.Module | None = None,
                   device: torch.device | str | None = None, progress: bool = True, resume: dict | None = None,
                   on_epoch: Callable[[dict], None] | None = None) -> tuple[nn.Module, dict]:
    """Train an observer by MSE on ``images`` (``[N,3,H,W]``, uint8 or float in [0, 1]) and
    ``factors`` (``[N, F]`` in observer units, see :func:`normalize_factors`).

    Adam with a one-cycle learning-rate schedule (peak ``lr``); returns the model (eval mode, on
    CPU) and a history with the mean training loss per epoch and the seconds taken.
    ``on_epoch(checkpoint)`` is called after every epoch; passing that checkpoint as ``resume``
    continues the same run after its last finished epoch.
    """
    from ..progress import bar

    if images.dim() != 4 or factors.dim() != 2 or len(images) != len(factors):
        raise ParameterError(f"need images [N,3,H,W] and factors [N,F] with the same N; got "
                             f"{tuple(images.shape)} and {tuple(factors.shape)}")
    if epochs < 1 or batch_size < 1:
        raise ParameterError(f"epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    config.seed_everything(seed)
    device = torch.device(device) if device is not None else config.device()
    model = model if model is not None else build_observer(width_mult, factors.shape[1])
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(images) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    history: dict = {"loss": [], "seconds": 0.0}
    start = 0
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
        opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        gen.set_state(resume["rng"])
        history = {"loss": list(resume["history"]["loss"]), "seconds": resume["history"]["seconds"]}
        start = int(resume["epoch"])
    t0 = time.time() - history["seconds"]
    epochs_it = range(start, epochs)
    if progress:
        epochs_it = bar(epochs_it, desc="observer training", total=epochs - start)
    for epoch in epochs_it:
        order = torch.randperm(len(images), generator=gen)
        total, count = 0.0, 0
        for s in range(0, len(images), batch_size):
            idx = order[s:s + batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            x = _as_float(images[idx]).to(device)
            y = factors[idx].to(device).float()
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        history["loss"].append(total / max(count, 1))
        history["seconds"] = time.time() - t0
        if on_epoch is not None:
            on_epoch({"state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
                      "optimizer": copy.deepcopy(opt.state_dict()), "scheduler": copy.deepcopy(sched.state_dict()),
                      "rng": gen.get_state(), "history": copy.deepcopy(history), "epoch": epoch + 1})
    history["seconds"] = time.time() - t0
    return model.cpu().eval(), history


def _as_float(images: Tensor) -> Tensor:
    return images.float() / 255 if images.dtype == torch.uint8 else images.float()


@torch.no_grad()
def measure_factors(observer: nn.Module, images: Tensor, batch_size: int = 128, units: str = "normalized",
                    factors: Sequence[str] = FACTORS) -> Tensor:
    """The observer's reading of every factor: ``[N, F]`` for ``images`` ``[N,3,H,W]`` (or ``[B,T,F]``
    for a ``[B,T,3,H,W]`` batch of interpolations).

    Args:
        units: ``"normalized"`` (each factor on [0, 1] over its sampled range, the observer's own
            output) or ``"raw"`` (the factor's units: radians, world units, colour scalars).
    """
    if units not in ("normalized", "raw"):
        raise ParameterError(f"units={units!r}; use 'normalized' or 'raw'")
    lead = images.shape[:-3]
    if images.dim() not in (4, 5) or images.shape[-3] != 3:
        raise ParameterError(f"images must be [N,3,H,W] or [B,T,3,H,W], got {tuple(images.shape)}")
    flat = images.reshape(-1, *images.shape[-3:])
    observer.eval()
    device = next(observer.parameters()).device
    out = torch.cat([observer(_as_float(flat[s:s + batch_size]).to(device)).cpu()
                     for s in range(0, len(flat), batch_size)])
    if units == "raw":
        out = denormalize_factors(out, factors)
    return out.reshape(*lead, out.shape[-1])


def test_error(observer: nn.Module, images: Tensor, params: Sequence[Two4TwoParams]) -> pd.DataFrame:
    """Per-factor test MSE (observer units) and the MSE of always predicting the mean, as in Table 7."""
    truth = normalize_factors(torch.tensor([p.factors() for p in params], dtype=torch.float32))
    pred = measure_factors(observer, images)
    mse = ((pred - truth) ** 2).mean(0)
    baseline = truth.var(0, unbiased=False)
    return pd.DataFrame({"factor": list(FACTORS), "name": [PAPER_NAMES[f] for f in FACTORS],
                         "test_mse": mse.numpy(), "mse_predicting_mean": baseline.numpy(),
                         "r2": (1 - mse / baseline).numpy()})


def interpolation_changes(readings: Tensor, factors: Sequence[str] = FACTORS) -> pd.DataFrame:
    """Table 6: per factor, the largest minus the smallest observer reading along each interpolation,
    averaged over interpolations (with its standard deviation).

    Args:
        readings: ``[B, T, F]`` observer readings (:func:`measure_factors` on ``[B,T,3,H,W]``).
    """
    if readings.dim() != 3 or readings.shape[-1] != len(factors):
        raise ParameterError(f"readings must be [B,T,{len(factors)}], got {tuple(readings.shape)}")
    span = (readings.amax(1) - readings.amin(1)).numpy()
    return pd.DataFrame({"factor": list(factors), "name": [PAPER_NAMES[f] for f in factors],
                         "mean_maximal_change": span.mean(0), "std": span.std(0, ddof=1) if len(span) > 1 else 0.0,
                         "n": len(span)})


def _data_params(n_train: int, n_test: int, seed: int) -> tuple[list, list]:
    return (two4two.sample(n_train, sampler="unbiased", seed=10_000 + seed),
            two4two.sample(n_test, sampler="unbiased", seed=20_000 + seed))


def observer_data(n_train: int, n_test: int, *, size: int = 64, supersample: int = 2,
                  seed: int = 0) -> tuple[list, Tensor, list, Tensor]:
    """The observer's unbiased Two4Two training and test sets, rendered (cached):
    ``(train params, train images uint8, test params, test images uint8)``."""
    train_p, test_p = _data_params(n_train, n_test, seed)
    x_train = render_cached(train_p, size=size, supersample=supersample, desc="observer data (train)")
    x_test = render_cached(test_p, size=size, supersample=supersample, desc="observer data (test)")
    return train_p, x_train, test_p, x_test


def trained_observer(n_train: int, n_test: int, *, size: int = 64, supersample: int = 2, epochs: int = 10,
                     batch_size: int = 64, lr: float = 2e-3, width_mult: float = 1.0, seed: int = 0,
                     progress: bool = True,
                     on_epoch: Callable[[int, dict], None] | None = None) -> tuple[nn.Module, dict]:
    """Render an unbiased Two4Two set (:func:`observer_data`), train the observer on it and measure its
    test error (cached).

    Training saves a checkpoint after every epoch, so an interrupted run resumes there.
    ``on_epoch(epoch, history)`` is the pause hook: called after each epoch once its checkpoint is
    stored; an exception raised there stops training, and the next call resumes from that checkpoint
    with the result of one uninterrupted run.
    Returns ``(observer, info)`` with ``info["history"]``, ``info["test_error"]`` (a DataFrame like
    Table 7), ``info["n_train"]``, ``info["n_test"]``, ``info["n_parameters"]`` and
    ``info["seconds"]`` (training time when it was computed).
    """
    settings = {"n_train": int(n_train), "n_test": int(n_test), "size": size, "supersample": supersample,
                "epochs": epochs, "batch_size": batch_size, "lr": lr, "width_mult": width_mult, "seed": seed}

    store = cache.default_cache()
    ckpt_name = "two4two_observer_checkpoint"

    def checkpoint(ckpt: dict) -> None:
        store.save(ckpt_name, settings, ckpt, seconds=ckpt["history"]["seconds"])
        if on_epoch is not None:
            on_epoch(int(ckpt["epoch"]), ckpt["history"])

    def compute() -> dict:
        train_p, x_train, test_p, x_test = observer_data(n_train, n_test, size=size, supersample=supersample,
                                                         seed=seed)
        y_train = normalize_factors(torch.tensor([p.factors() for p in train_p], dtype=torch.float32))
        resume = store.load(ckpt_name, settings) if store.has(ckpt_name, settings) else None
        model, history = train_observer(x_train, y_train, epochs=epochs, batch_size=batch_size, lr=lr,
                                        width_mult=width_mult, seed=seed, progress=progress, resume=resume,
                                        on_epoch=checkpoint)
        err = test_error(model, x_test, test_p)
        return {"state_dict": model.state_dict(), "history": history, "test_error": err,
                "n_parameters": sum(p.numel() for p in model.parameters())}

    stored = store.get_or_compute("two4two_observer", settings, compute)
    ckpt = store.path(ckpt_name, settings)
    ckpt.unlink(missing_ok=True)
    (ckpt.parent / (ckpt.name.split(".")[0] + ".json")).unlink(missing_ok=True)
    model = build_observer(width_mult)
    model.load_state_dict(stored["state_dict"])
    model.to(config.device()).eval()
    info = {k: v for k, v in stored.items() if k != "state_dict"}
    info.update(n_train=n_train, n_test=n_test, seconds=stored["history"]["seconds"],
                fingerprint=model_fingerprint(model))
    return model, info
