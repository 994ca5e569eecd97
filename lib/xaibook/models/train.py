"""One supervised training loop for every classifier in the book, cached and resumable.

:func:`train` fits a model on in-memory tensors (``images [N,3,H,W]`` float in [0, 1] or
uint8, ``targets``) or on any torch ``Dataset`` of ``(image, target)`` pairs, for three
tasks: ``"single"`` (cross-entropy over class indices), ``"multi"`` (per-class sigmoid and
binary cross-entropy over multi-hot targets, e.g. PASCAL VOC) and ``"regression"`` (mean
squared error, e.g. the Sixt et al. 2022 observer). It uses ``config.device()``, mixed
precision (``config.autocast_dtype``: on CUDA bfloat16 where supported, else float16 with loss
scaling; on CPUs with native bfloat16, bfloat16 autocast on channels-last tensors), AdamW or SGD
with a cosine schedule, optional flip / shift / colour augmentation, and a progress bar per
epoch. With ``checkpoint=`` it writes the full training state atomically after every epoch
and resumes from the last finished epoch; each epoch's shuffling, augmentation and dropout
are seeded by ``(seed, epoch)``, so a resumed run reproduces an uninterrupted one.

:func:`train_cached` keys the trained weights by name and parameters in
:mod:`xaibook.cache`: a rerun loads them; an interrupted training resumes.
:func:`accuracy` scores outputs; batched inference is :func:`xaibook.models.inference.predict`
(``train.predict`` remains as a thin alias).
"""
from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import config
from ..errors import ParameterError
from ..progress import bar

TASKS = ("single", "multi", "regression")


@dataclass(frozen=True)
class Augment:
    """Batch augmentation applied on the device during training.

    Attributes:
        flip: random horizontal flips.
        shift: random translation by up to this many pixels (reflect-padded).
        brightness: multiply each image by ``1 + U(-b, b)``.
        contrast: scale each image's deviation from its mean by ``1 + U(-c, c)``.
    """

    flip: bool = False
    shift: int = 0
    brightness: float = 0.0
    contrast: float = 0.0

    @staticmethod
    def coerce(value: "Augment | Mapping[str, Any] | None") -> "Augment":
        if value is None:
            return Augment()
        if isinstance(value, Augment):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"flip", "shift", "brightness", "contrast"}
            if unknown:
                raise ParameterError(f"augment has unknown options {sorted(unknown)}; use flip, shift, brightness, contrast")
            return Augment(**value)
        raise ParameterError(f"augment must be an Augment, a dict or None, got {type(value).__name__}")

    def apply(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        b = x.shape[0]
        dev = x.device

        def rand(*shape: int) -> torch.Tensor:
            return torch.rand(*shape, generator=gen).to(dev)

        if self.flip:
            flip = rand(b) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        if self.shift > 0:
            s = self.shift
            pad = F.pad(x, (s, s, s, s), mode="reflect")
            dx = torch.randint(0, 2 * s + 1, (b,), generator=gen).to(dev)
            dy = torch.randint(0, 2 * s + 1, (b,), generator=gen).to(dev)
            h, w = x.shape[-2:]
            rows = (dy.view(-1, 1) + torch.arange(h, device=dev).view(1, -1))  # [B,H]
            cols = (dx.view(-1, 1) + torch.arange(w, device=dev).view(1, -1))  # [B,W]
            idx_b = torch.arange(b, device=dev).view(-1, 1, 1)
            x = pad.permute(0, 2, 3, 1)[idx_b, rows.view(b, h, 1), cols.view(b, 1, w)].permute(0, 3, 1, 2)
        if self.brightness > 0:
            x = x * (1 + (rand(b) * 2 - 1) * self.brightness).view(-1, 1, 1, 1)
        if self.contrast > 0:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = mean + (x - mean) * (1 + (rand(b) * 2 - 1) * self.contrast).view(-1, 1, 1, 1)
        return x.clamp(0, 1).contiguous()


# ---------------------------------------------------------------------------------------------
# data


def _as_images(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def _tensors(data: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(images, targets)`` when ``data`` is in memory, else ``None`` (a Dataset)."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        x, y = data
    elif hasattr(data, "images") and hasattr(data, "labels") and isinstance(getattr(data, "images"), torch.Tensor):
        x, y = data.images, data.labels
    elif isinstance(data, torch.utils.data.Dataset):
        return None
    else:
        raise ParameterError(
            "data must be (images, targets) tensors, an object with .images and .labels, or a torch Dataset "
            f"of (image, target) pairs; got {type(data).__name__}"
        )
    if x.dim() != 4 or x.shape[1] != 3:
        raise ParameterError(f"images must be [N,3,H,W], got {tuple(x.shape)}")
    if len(x) != len(y):
        raise ParameterError(f"images ({len(x)}) and targets ({len(y)}) differ in length")
    if len(x) == 0:
        raise ParameterError("the training data is empty")
    return x, y


def _to_device_if_it_fits(data: Any, device: torch.device) -> Any:
    """Move in-memory training data to the GPU once when it takes under a third of the free memory."""
    tens = _tensors(data)
    if tens is None or device.type != "cuda":
        return data
    x, y = tens
    free, _ = torch.cuda.mem_get_info(device)
    if x.element_size() * x.numel() + y.element_size() * y.numel() < free / 3:
        return x.to(device), y.to(device)
    return data


def _batches(data: Any, batch_size: int, shuffle: bool, gen: torch.Generator | None, device: torch.device,
             num_workers: int = 0) -> tuple[Iterator[tuple[torch.Tensor, torch.Tensor]], int]:
    tens = _tensors(data)
    if tens is not None:
        x, y = tens
        n = len(x)
        order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
        nb = math.ceil(n / batch_size)

        def it() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            for i in range(nb):
                idx = order[i * batch_size:(i + 1) * batch_size]
                if x.device != idx.device:
                    idx_x = idx.to(x.device)
                else:
                    idx_x = idx
                yield (_as_images(x[idx_x].to(device, non_blocking=True)),
                       y[idx_x.to(y.device)].to(device, non_blocking=True))
        return it(), nb
    # the same seeded order as in-memory data; the loader's own seed draw must not move the
    # global RNG (dropout), so its iterator is created inside fork_rng
    order = torch.randperm(len(data), generator=gen) if shuffle else torch.arange(len(data))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, sampler=order.tolist(),
                                         num_workers=num_workers, pin_memory=device.type == "cuda")

    def it2() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        with torch.random.fork_rng(devices=[]):
            batches = iter(loader)
        for xb, yb in batches:
            yield _as_images(xb.to(device, non_blocking=True)), torch.as_tensor(yb).to(device, non_blocking=True)
    return it2(), len(loader)


# ---------------------------------------------------------------------------------------------
# loss and metrics


def _loss(task: str, logits: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    logits = logits.float()
    if task == "single":
        return F.cross_entropy(logits, y.long(), label_smoothing=label_smoothing)
    if task == "multi":
        return F.binary_cross_entropy_with_logits(logits, y.float())
    return F.mse_loss(logits, y.float().view_as(logits))


def _correct(task: str, logits: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
    if task == "single":
        return float((logits.argmax(1) == y.long()).sum()), len(y)
    if task == "multi":
        return float(((logits > 0) == (y > 0.5)).sum()), y.numel()
    return float("nan"), 1


def accuracy(outputs: torch.Tensor, targets: torch.Tensor, k: int = 1, threshold: float = 0.0) -> float:
    """Top-``k`` accuracy for class-index targets ``[N]``; for multi-hot targets ``[N, C]`` the
    fraction of correct per-class decisions at ``outputs > threshold`` (0 for logits).
    """
    outputs = torch.as_tensor(outputs).detach().cpu()
    targets = torch.as_tensor(targets).detach().cpu()
    if len(outputs) != len(targets):
        raise ParameterError(f"outputs ({len(outputs)}) and targets ({len(targets)}) differ in length")
    if len(outputs) == 0:
        raise ParameterError("accuracy of an empty set is undefined")
    if targets.dim() == 2:
        if targets.shape != outputs.shape:
            raise ParameterError(f"multi-hot targets {tuple(targets.shape)} must match outputs {tuple(outputs.shape)}")
        return float(((outputs > threshold) == (targets > 0.5)).float().mean())
    if outputs.dim() != 2:
        raise ParameterError(f"outputs must be [N, C] scores, got {tuple(outputs.shape)}")
    if not 1 <= k <= outputs.shape[1]:
        raise ParameterError(f"k={k} must be in 1..{outputs.shape[1]}")
    topk = outputs.topk(k, dim=1).indices
    return float((topk == targets.long().view(-1, 1)).any(1).float().mean())


# ---------------------------------------------------------------------------------------------
# the loop


def _amp(device: torch.device, amp: bool) -> tuple[bool, torch.dtype | None]:
    dtype = config.autocast_dtype(device) if amp else None
    return dtype is not None, dtype


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pt")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _evaluate(model: nn.Module, data: Any, task: str, batch_size: int, device: torch.device,
              use_amp: bool, amp_dtype: torch.dtype | None, num_workers: int) -> tuple[float, float]:
    model.eval()
    total, correct, count, n = 0.0, 0.0, 0, 0
    batches, _ = _batches(data, batch_size, False, None, device, num_workers)
    with torch.no_grad():
        for xb, yb in batches:
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                logits = model(xb)
            total += float(_loss(task, logits, yb)) * len(xb)
            n += len(xb)
            c, m = _correct(task, logits.float(), yb)
            correct += c
            count += m
    return total / max(n, 1), (correct / count if task != "regression" else float("nan"))


def train(model: nn.Module, data: Any, *, task: str | None = None, epochs: int = 10, batch_size: int = 128,
          lr: float = 1e-3, weight_decay: float = 5e-4, optimizer: str = "adamw", momentum: float = 0.9,
          schedule: str = "cosine", warmup: float = 0.05, augment: Augment | Mapping[str, Any] | None = None,
          label_smoothing: float = 0.0, val: Any = None, device: Any = None, amp: bool = True, seed: int = 0,
          checkpoint: Path | str | None = None, num_workers: int = 0, desc: str = "train",
          on_epoch: Callable[[int, dict], None] | None = None) -> tuple[nn.Module, pd.DataFrame]:
    """Train ``model`` on ``data`` and return ``(model, history)``.

    Args:
        model: a classifier taking [0, 1] images (see :mod:`xaibook.models.classifiers`).
        data: ``(images, targets)`` tensors (images float in [0, 1] or uint8), an object with
            ``.images``/``.labels`` (e.g. a zoo split), or a Dataset of ``(image, target)``.
        task: ``"single"``, ``"multi"`` or ``"regression"`` (default: ``"multi"`` if
            ``model.multilabel`` is set, else ``"single"``).
        epochs, batch_size, lr, weight_decay: the usual.
        optimizer: ``"adamw"`` or ``"sgd"`` (with ``momentum``, Nesterov).
        schedule: ``"cosine"`` (per step, after a linear warm-up over ``warmup`` of the
            steps) or ``"constant"``.
        augment: :class:`Augment` or a dict of its fields.
        label_smoothing: for ``"single"``.
        val: validation data in the same forms as ``data`` (scored after each epoch).
        device: default ``config.device()``; amp: mixed precision where ``config.autocast_dtype`` allows it.
        seed: seeds initial shuffling, augmentation and dropout per epoch.
        checkpoint: a file for the training state after every epoch; if it exists the run
            resumes after its last finished epoch.
        on_epoch: called as ``on_epoch(epoch, record)`` after each epoch (and its checkpoint).

    Returns:
        the trained model (on ``device``, in eval mode) and a DataFrame with one row per
        epoch: ``epoch, loss, acc, val_loss, val_acc, lr, seconds``.
    """
    task = task or ("multi" if getattr(model, "multilabel", False) else "single")
    if task not in TASKS:
        raise ParameterError(f"task={task!r}; use one of {TASKS}")
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise ParameterError(f"epochs ({epochs}) and batch_size ({batch_size}) must be >= 1 and lr ({lr}) > 0")
    if optimizer not in ("adamw", "sgd") or schedule not in ("cosine", "constant"):
        raise ParameterError(f"optimizer={optimizer!r} (adamw|sgd), schedule={schedule!r} (cosine|constant)")
    aug = Augment.coerce(augment)
    device = torch.device(device) if device is not None else config.device()
    use_amp, amp_dtype = _amp(device, amp)
    model.to(device)
    channels_last = device.type == "cuda" or use_amp
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if device.type == "cuda":
        data = _to_device_if_it_fits(data, device)
        val = _to_device_if_it_fits(val, device) if val is not None else None

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.dim() <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    opt = (torch.optim.AdamW(groups, lr=lr) if optimizer == "adamw"
           else torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=True))
    _, steps_per_epoch = _batches(data, batch_size, False, None, torch.device("cpu"), 0)
    total_steps = max(1, epochs * steps_per_epoch)
    warm = int(warmup * total_steps) if schedule == "cosine" else 0

    def factor(step: int) -> float:
        if schedule == "constant":
            return 1.0
        if step < warm:
            return (step + 1) / warm
        t = (step - warm) / max(1, total_steps - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    history: list[dict] = []
    start = 0
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        history = list(state["history"])
        start = int(state["epoch"])

    for epoch in range(start, epochs):
        t0 = time.time()
        torch.manual_seed(seed * 100_003 + epoch)  # dropout etc.: reproducible per epoch
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        model.train()
        batches, nb = _batches(data, batch_size, True, gen, device, num_workers)
        loss_sum, n_seen, correct, count = 0.0, 0, 0.0, 0
        progress = bar(batches, desc=f"{desc} epoch {epoch + 1}/{epochs}", total=nb, leave=False)
        for xb, yb in progress:
            if aug != Augment():
                xb = aug.apply(xb, gen)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                logits = model(xb)
            loss = _loss(task, logits, yb, label_smoothing)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{desc}: the loss became {float(loss)} in epoch {epoch + 1}; lower lr={lr}")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            loss_sum += float(loss.detach()) * len(xb)
            n_seen += len(xb)
            c, m = _correct(task, logits.detach().float(), yb)
            correct += c
            count += m
            if hasattr(progress, "set_postfix"):
                progress.set_postfix(loss=f"{loss_sum / n_seen:.3f}")
        record = {"epoch": epoch + 1, "loss": loss_sum / max(n_seen, 1),
                  "acc": correct / count if task != "regression" else float("nan"),
                  "val_loss": float("nan"), "val_acc": float("nan"), "lr": opt.param_groups[0]["lr"]}
        if val is not None:
            record["val_loss"], record["val_acc"] = _evaluate(model, val, task, batch_size, device, use_amp,
                                                              amp_dtype, num_workers)
        record["seconds"] = time.time() - t0
        history.append(record)
        if ckpt is not None:
            _atomic_save({"epoch": epoch + 1, "model": model.state_dict(), "optimizer": opt.state_dict(),
                          "scheduler": sched.state_dict(), "scaler": scaler.state_dict() if scaler.is_enabled() else None,
                          "history": history}, ckpt)
        if on_epoch is not None:
            on_epoch(epoch + 1, record)
    if channels_last:  # hand back the layout a cached copy loads into, so both give the same bits
        model.to(memory_format=torch.contiguous_format)
    model.eval()
    return model, pd.DataFrame(history, columns=["epoch", "loss", "acc", "val_loss", "val_acc", "lr", "seconds"])


_NOT_KEYED = ("device", "desc", "on_epoch", "num_workers", "checkpoint", "val")


def train_cached(name: str, params: Mapping[str, Any], build_fn: Callable[[], nn.Module], data_fn: Callable[[], Any],
                 *, val_fn: Callable[[], Any] | None = None, **train_kwargs: Any) -> tuple[nn.Module, pd.DataFrame]:
    """Train once and cache the weights: a rerun loads them, an interrupted run resumes.

    Args:
        name: cache name (e.g. ``"nguyen2021.resnet-zoo"``).
        params: everything that defines the model and its data (architecture, data sizes,
            seeds...); together with the training arguments it keys the cache entry.
        build_fn: returns a fresh (untrained) model; called after ``config.seed_everything(seed)``.
        data_fn: returns the training data (any form :func:`train` accepts); only called
            when training is needed.
        val_fn: returns validation data (optional, only called when training).
        **train_kwargs: passed to :func:`train` (epochs, lr, augment, seed, device...).

    The entry holds the state dict and the history; the per-epoch checkpoint lives beside
    it (``<name>.checkpoint``) until training finishes.
    """
    from ..cache import default_cache

    bad = set(train_kwargs) & {"checkpoint", "val"}
    if bad:
        raise ParameterError(f"train_cached manages {sorted(bad)} itself; pass val_fn= for validation data")
    keyed = {k: (asdict(v) if isinstance(v, Augment) else v) for k, v in train_kwargs.items() if k not in _NOT_KEYED}
    device = torch.device(train_kwargs["device"]) if train_kwargs.get("device") is not None else config.device()
    if train_kwargs.get("amp", True):
        keyed.update(config.precision_key(device))
    key = {"params": dict(params), "train": keyed}
    cache = default_cache()
    config.seed_everything(int(train_kwargs.get("seed", 0)))
    model = build_fn()
    if cache.has(name, key):
        entry = cache.load(name, key)
        model.load_state_dict(entry["state_dict"])
        model.to(device).eval()
        return model, pd.DataFrame(entry["history"])
    ckpt = cache.path(f"{name}.checkpoint", key)
    val = val_fn() if val_fn is not None else None
    model, history = train(model, data_fn(), val=val, checkpoint=ckpt, **train_kwargs)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    cache.save(name, key, {"state_dict": state, "history": history.to_dict("records")})
    ckpt.unlink(missing_ok=True)
    return model, history


def predict(model: nn.Module, images: Any, batch_size: int = 256, output: str = "logits", device: Any = None,
            amp: bool = False, desc: str = "predict", num_workers: int = 0) -> torch.Tensor:
    """The former home of :func:`xaibook.models.inference.predict`, kept for old callers.

    ``output`` also accepts the old name ``"probs"`` for ``"probabilities"``; as before, the
    model is left in eval mode.
    """
    from .inference import predict as _predict

    out = _predict(model, images, output={"probs": "probabilities"}.get(output, output), batch_size=batch_size,
                   device=device, amp=amp, desc=desc, num_workers=num_workers)
    model.eval()
    return out
