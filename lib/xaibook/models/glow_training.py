"""Training the invertible classifier of :mod:`xaibook.models.glow` (Sixt et al. 2022, Sec. 4 and App. A.2).

Training (:func:`train_glow_classifier`) minimises the flow's negative log-likelihood in bits
per dimension plus ``bce_weight`` times a binary cross-entropy with label noise (paper Eq. 1),
resumable from per-epoch checkpoints; :func:`trained_glow_classifier` caches the trained model;
the sizes and optimiser settings of each run scale are in :func:`default_settings`.
"""
from __future__ import annotations

import copy
import math
import time
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .. import config
from ..errors import ParameterError
from .glow import N_BINS, GlowClassifier


def default_settings(scale: "config.Scale | str | None" = None) -> dict:
    """Model and training sizes per run scale (``config.scale().pick``).

    ``model["image_size"]`` is the side at which the Two4Two images must be rendered for this
    scale. The loss is ``nll_bits_per_dim + bce_weight * bce`` (see :func:`train_glow_classifier`).

    Choices, measured on 64 px Two4Two renders of the biased sampler (6,000 training and 1,000
    test images, 5 epochs, one seed; test accuracy and test NLL in bits/dim):

    * ``pooled_classifier`` on level 4 of 5: 85.7 % / 3.37; a position-specific weight on the
      same level 82.0 % / 3.31, on level 3 84.1 % / 3.26. Eight epochs instead of five: 87.3 %.
    * ``min_scale=0.5``: without a floor the trained flow learned coupling scales down to
      0.001; its float32 reconstruction of test images erred by up to 0.27 and moved latents
      decoded to NaN. With a floor of 0.3 or 0.5: error about 1e-6, similar likelihood and
      accuracy.
    * ``classifier_norm=1``: with a free norm the classifier's weight shrank to |w| = 0.07, so a
      counterfactual step of 4 logits moved ``z`` by a distance of about 50 (the prior is
      N(0, I)) and decoded to noise; a unit-norm weight keeps the steps short and the
      counterfactuals image-like.
    * ``bce_weight=1`` (BCE in nats next to the NLL in bits/dim): 3 gave a worse likelihood and
      no better accuracy, 0.1 a better likelihood and 2-3 points less accuracy. In summed nats
      this loss is ``NLL + D ln2 * BCE`` (8,517 x BCE at 64 px). If the released code's weight
      1e-4 multiplies an NLL summed in nats (our reading of it), its BCE counts 10,000 times:
      the same order.

    These comparisons come from exploratory runs, with a constant learning rate after the warm-up.

    * ``schedule="cosine"``, ``lr=2e-3``, 10 epochs at ``default`` (issue 17): with the rate
      constant to the last step (``lr=1e-3``, 8 epochs), the ``default`` build measured 78.9 % test
      accuracy with training seed 0 and 88.3 % with seed 1 (NLL 2.99 bits/dim): the last batches
      leave the classifier wherever they pushed it. A half cosine to zero ends training smoothly.
      Measured with ``benchmarks/sixt_inn_seeds.py`` (one thread, 2-core CPU under load), training
      seeds 0 / 1, 8 epochs: 87.7 / 88.0 % at ``lr=1e-3`` (NLL 3.26 / 3.22), 87.6 / 87.5 % at
      ``lr=2e-3`` (NLL 2.92 / 2.91); 10 epochs at ``lr=2e-3``: 89.8 / 91.6 % (NLL 2.81 / 2.79),
      about 490 s of one CPU per run with the test set scored after every epoch (8 epochs: 341 s).
      At the ``smoke`` scale the warm-up spans all of training, so the schedule changes nothing.

    ``python benchmarks/sixt_inn_seeds.py --seeds 0 1`` measures the spread over training seeds
    (test accuracy after every epoch); ``--set KEY=VALUE`` tries other settings.
    """
    sc = _as_scale(scale)
    common = dict(pooled_classifier=True, classifier_norm=1.0, min_scale=0.5)
    optim = dict(schedule="cosine", warmup_steps=100, clip_norm=50.0)
    return sc.pick(
        smoke=dict(model=dict(image_size=32, levels=3, steps_per_level=2, hidden=16, classifier_level=2, **common),
                   epochs=2, batch_size=32, lr=2e-3, bce_weight=1.0, label_noise=0.1, **optim),
        default=dict(model=dict(image_size=64, levels=5, steps_per_level=[2, 4, 4, 4, 2], hidden=32,
                                classifier_level=4, **common),
                     epochs=10, batch_size=32, lr=2e-3, bce_weight=1.0, label_noise=0.1, **optim),
        paper=dict(model=dict(image_size=128, levels=6, steps_per_level=[4, 8, 12, 12, 8, 4],
                              hidden=[64, 128, 256, 256, 256, 256], classifier_level=5, **common),
                   epochs=20, batch_size=64, lr=1e-3, bce_weight=1.0, label_noise=0.1, **optim),
    )


def _as_scale(scale: "config.Scale | str | None") -> "config.Scale":
    if scale is None:
        return config.scale()
    if isinstance(scale, config.Scale):
        return scale
    if isinstance(scale, str) and scale in config.SCALES:
        return config.Scale(scale)
    raise ParameterError(f"scale={scale!r}; use one of {', '.join(config.SCALES)} or a config.Scale")


def _as_float_images(images: Tensor) -> Tensor:
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    return images.float()


def _check_training_data(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise ParameterError(f"images must be a tensor [N,C,H,W] (float in [0,1] or uint8), got "
                             f"{tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__}")
    labels = torch.as_tensor(labels).long().flatten()
    if labels.shape[0] != images.shape[0]:
        raise ParameterError(f"labels has {labels.shape[0]} entries for {images.shape[0]} images")
    if ((labels != 0) & (labels != 1)).any():
        raise ParameterError("labels must be 0 (Peaky) or 1 (Stretchy)")
    if images.shape[-1] != images.shape[-2]:
        raise ParameterError(f"images must be square, got {images.shape[-2]}x{images.shape[-1]}")
    return images, labels


SCHEDULES = ("constant", "cosine")
"""Learning-rate schedules after the warm-up (:func:`learning_rate`)."""


def learning_rate(step: int, total_steps: int, lr: float, schedule: str = "constant", warmup_steps: int = 100) -> float:
    """The learning rate at optimisation step ``step`` (0-based) of ``total_steps``: a linear warm-up
    over ``warmup_steps``, then ``lr`` (``constant``) or a half cosine from ``lr`` to 0 (``cosine``)."""
    warm = min(1.0, (step + 1) / warmup_steps)
    if schedule == "constant" or total_steps <= warmup_steps:
        return lr * warm
    t = max(0, step - warmup_steps) / (total_steps - warmup_steps)
    return lr * warm * 0.5 * (1 + math.cos(math.pi * t))


def glow_loss(model: GlowClassifier, x: Tensor, y: Tensor, bce_weight: float, label_noise: float,
              dequantize: bool = True) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The training objective (paper Eq. 1): ``nll + bce_weight * bce``.

    ``nll`` is the negative log-likelihood in bits per dimension of ``x`` dequantised with
    uniform noise over its pixel bin; ``bce`` is the binary cross-entropy of the logit against
    targets ``y (1 - eps) + (1 - y) eps`` with ``eps = label_noise`` (the expected loss when
    each label is flipped with probability ``eps``). Returns ``(loss, nll, bce, logit)``.
    """
    if dequantize:
        x = x + (torch.rand_like(x) - 0.5) / N_BINS
    logit, log_density = model._logit_and_logdensity(x)
    nll = -model._bits_per_dim(log_density).mean()
    target = y.float() * (1 - 2 * label_noise) + label_noise
    bce = F.binary_cross_entropy_with_logits(logit, target)
    return nll + bce_weight * bce, nll, bce, logit


def train_glow_classifier(images: Tensor, labels: Tensor, *, epochs: int, batch_size: int, lr: float,
                          bce_weight: float, label_noise: float = 0.1, device: Any = None, seed: int = 0,
                          progress: bool = True, model_kwargs: dict | None = None,
                          val: tuple[Tensor, Tensor] | None = None, augment: bool = True,
                          resume: dict | None = None, on_epoch: Callable[[dict], None] | None = None,
                          until_epoch: int | None = None, schedule: str = "constant", warmup_steps: int = 100,
                          clip_norm: float = 50.0) -> tuple[GlowClassifier, dict]:
    """Train a :class:`GlowClassifier` on the flow likelihood plus a weighted BCE (App. A.2, Eq. 1).

    Args:
        images: ``[N,C,H,W]`` float in [0,1] or uint8; ``labels``: ``[N]`` 0 (Peaky) / 1 (Stretchy).
        epochs, batch_size, lr: Adam with a linear warm-up over the first ``warmup_steps`` steps,
            gradients clipped to norm ``clip_norm``; after the warm-up the learning rate stays at
            ``lr`` (``schedule="constant"``) or follows a half cosine from ``lr`` to 0 at the end of
            the last epoch (``schedule="cosine"``).
        bce_weight: weight of the classification loss next to the NLL in bits/dim.
        label_noise: probability of a flipped label, applied in expectation (soft targets).
        device: torch device (default ``config.device()``); ``seed`` seeds initialisation,
            shuffling and dequantisation noise.
        model_kwargs: arguments of :class:`GlowClassifier` (``image_size`` is taken from the images).
        val: optional ``(images, labels)`` scored after each epoch (``val_accuracy``, ``val_nll``).
        augment: mirror a random half of each batch left-right (Two4Two's ``fliplr``: a mirrored
            Peaky is still a Peaky), which halves the overfitting of the classifier.
        resume: a checkpoint as passed to ``on_epoch``; training continues after its epoch.
        on_epoch: called after every epoch with a checkpoint dict (``state_dict``, ``optimizer``,
            ``config``, ``history``, ``epoch``, ``rng``) for resumable training.
        until_epoch: stop after this epoch (the schedule still spans ``epochs``): a run stopped at
            ``until_epoch`` and resumed from its last checkpoint ends with the weights of one
            uninterrupted run.

    Returns the model (eval mode, on ``device``) and its history: per epoch ``nll`` (bits/dim),
    ``bce``, ``accuracy`` (training batches, noiseless labels), ``seconds`` and, with ``val``,
    ``val_accuracy`` and ``val_nll``.
    """
    images, labels = _check_training_data(images, labels)
    if epochs < 0 or batch_size < 1 or lr <= 0 or bce_weight < 0 or not 0 <= label_noise < 0.5:
        raise ParameterError(f"need epochs >= 0, batch_size >= 1, lr > 0, bce_weight >= 0, 0 <= label_noise < 0.5; "
                             f"got {epochs}, {batch_size}, {lr}, {bce_weight}, {label_noise}")
    if schedule not in SCHEDULES:
        raise ParameterError(f"schedule={schedule!r}; use one of {', '.join(SCHEDULES)}")
    if warmup_steps < 1 or not clip_norm > 0:
        raise ParameterError(f"need warmup_steps >= 1 and clip_norm > 0, got {warmup_steps}, {clip_norm}")
    if until_epoch is not None and not 1 <= until_epoch <= epochs:
        raise ParameterError(f"until_epoch={until_epoch} must lie in 1..epochs={epochs} (or None: train to the end)")
    dev = torch.device(device) if device is not None else config.device()
    kwargs = dict(model_kwargs or {})
    kwargs["image_size"] = images.shape[-1]
    kwargs["channels"] = images.shape[1]
    kwargs.setdefault("seed", seed)
    model = GlowClassifier(**kwargs).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list] = {"nll": [], "bce": [], "accuracy": [], "seconds": []}
    if val is not None:
        history.update(val_accuracy=[], val_nll=[])
    start_epoch = 0
    gen = torch.Generator().manual_seed(int(seed))
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
        opt.load_state_dict(resume["optimizer"])
        history = {k: list(v) for k, v in resume["history"].items()}
        start_epoch = int(resume["epoch"])
        gen.set_state(resume["rng"])
    n = images.shape[0]
    steps_per_epoch = math.ceil(n / batch_size)
    if resume is None and epochs > 0:
        torch.manual_seed(int(seed))
        init_idx = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed) + 1))[: max(batch_size, 256)]
        model.initialize(_as_float_images(images[init_idx]).to(dev))
    last = epochs if until_epoch is None else until_epoch
    total_steps = epochs * steps_per_epoch
    epoch_iter = range(start_epoch, last)
    if progress:
        from ..progress import bar

        epoch_iter = bar(epoch_iter, desc="Glow classifier (epochs)", total=max(last - start_epoch, 0))
    for epoch in epoch_iter:
        t0 = time.perf_counter()
        model.train()
        torch.manual_seed(int(seed) * 1000 + epoch)  # dequantisation noise
        order = torch.randperm(n, generator=gen)
        sums = np.zeros(3)
        for i in range(steps_per_epoch):
            step = epoch * steps_per_epoch + i
            for group in opt.param_groups:
                group["lr"] = learning_rate(step, total_steps, lr, schedule, warmup_steps)
            idx = order[i * batch_size:(i + 1) * batch_size]
            x = _as_float_images(images[idx])
            if augment:  # Two4Two's fliplr: a mirrored animal keeps its class
                flip = torch.rand(len(idx), generator=gen) < 0.5
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            x, y = x.to(dev), labels[idx].to(dev)
            loss, nll, bce, logit = glow_loss(model, x, y, bce_weight, label_noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            opt.step()
            k = len(idx)
            sums += [nll.item() * k, bce.item() * k, ((logit > 0).long() == y).sum().item()]
        history["nll"].append(sums[0] / n)
        history["bce"].append(sums[1] / n)
        history["accuracy"].append(sums[2] / n)
        if val is not None:
            acc, vnll = evaluate(model, val[0], val[1], batch_size=max(batch_size, 64))
            history["val_accuracy"].append(acc)
            history["val_nll"].append(vnll)
        history["seconds"].append(time.perf_counter() - t0)
        if on_epoch is not None:
            on_epoch({"state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
                      "optimizer": copy.deepcopy(opt.state_dict()), "config": model.config,
                      "history": copy.deepcopy(history),
                      "epoch": epoch + 1, "rng": gen.get_state()})
    model.eval()
    return model, history


@torch.no_grad()
def evaluate(model: GlowClassifier, images: Tensor, labels: Tensor, batch_size: int = 128) -> tuple[float, float]:
    """Accuracy (logit > 0 means label 1) and mean NLL in bits/dim of ``images`` (no noise)."""
    images, labels = _check_training_data(images, labels)
    was = model.training
    model.eval()
    dev = next(model.parameters()).device
    correct, nll = 0, 0.0
    for s in range(0, images.shape[0], batch_size):
        x = _as_float_images(images[s:s + batch_size]).to(dev)
        logit, logd = model._logit_and_logdensity(model._check(x))
        correct += ((logit > 0).long().cpu() == labels[s:s + batch_size]).sum().item()
        nll += -model._bits_per_dim(logd).sum().item()
    model.train(was)
    return correct / images.shape[0], nll / images.shape[0]


def _build(entry: dict) -> GlowClassifier:
    model = GlowClassifier(**entry["config"])
    model.load_state_dict(entry["state_dict"])
    return model.eval()


def trained_glow_classifier(dataset_params: dict, images_fn: Callable[[], tuple[Tensor, Tensor]], *,
                            scale: "config.Scale | str | None" = None,
                            on_epoch: Callable[[int, dict], None] | None = None) -> tuple[GlowClassifier, dict]:
    """The Glow classifier trained on a dataset, cached (``xaibook.cache``, fmt ``pt``).

    Args:
        dataset_params: a plain dict that identifies the training set (sampler, n, seed, size...);
            it keys the cache together with the scale's settings (:func:`default_settings`).
        images_fn: called only when the model must be trained; returns ``(images, labels)``,
            images ``[N,3,S,S]`` (float in [0,1] or uint8) at ``S = default_settings()["image_size"]``.
        scale: the run scale (default ``config.scale()``).
        on_epoch: the pause hook, ``on_epoch(epoch, history)``, called after each epoch once its
            checkpoint is stored; an exception raised there stops training, and the next call
            resumes from that checkpoint with the result of one uninterrupted run (a chapter
            spreads a long training over several cells this way).

    Training checkpoints after every epoch, so an interrupted run resumes at the last finished
    epoch. Returns the model (eval mode, on ``config.device()``) and its training history.
    The cache entries record the training seconds (``python -m xaibook.cache list``).
    """
    from ..cache import default_cache

    if not isinstance(dataset_params, dict):
        raise ParameterError(f"dataset_params must be a dict identifying the data, got {type(dataset_params).__name__}")
    settings = default_settings(scale)
    params = {"dataset": dataset_params, "settings": settings}
    cache = default_cache()
    name, ckpt_name = "glow_classifier", "glow_classifier_checkpoint"
    dev = config.device()
    if cache.has(name, params):
        entry = cache.load(name, params)
        return _build(entry).to(dev), entry["history"]
    images, labels = images_fn()
    images, labels = _check_training_data(torch.as_tensor(images), torch.as_tensor(labels))
    size = settings["model"]["image_size"]
    if images.shape[-1] != size:
        raise ParameterError(f"images_fn returned {images.shape[-1]}x{images.shape[-2]} images but the "
                             f"{_as_scale(scale).name} scale trains at {size}x{size}: render the dataset at "
                             f"default_settings()['model']['image_size'] = {size}")
    resume = cache.load(ckpt_name, params) if cache.has(ckpt_name, params) else None

    def checkpoint(ckpt: dict) -> None:
        cache.save(ckpt_name, params, ckpt, seconds=sum(ckpt["history"]["seconds"]))
        if on_epoch is not None:
            on_epoch(int(ckpt["epoch"]), ckpt["history"])

    model, history = train_glow_classifier(
        images, labels, epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"],
        bce_weight=settings["bce_weight"], label_noise=settings["label_noise"], device=dev, seed=0,
        model_kwargs={k: v for k, v in settings["model"].items() if k != "image_size"}, resume=resume,
        on_epoch=checkpoint, **{k: settings[k] for k in ("schedule", "warmup_steps", "clip_norm") if k in settings})
    entry = {"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "config": model.config, "history": history}
    cache.save(name, params, entry, seconds=sum(history["seconds"]))
    ckpt = cache.path(ckpt_name, params)
    ckpt.unlink(missing_ok=True)
    (ckpt.parent / (ckpt.name.split(".")[0] + ".json")).unlink(missing_ok=True)
    return model, history
