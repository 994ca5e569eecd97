"""float32 against bfloat16 autocast on this CPU (issue 17): the book's two largest CPU costs at 64 px.

Side by side in one run, interleaved, with the thread count the book uses (``config.threads()``):

* a ResNet-18 training step (batch 64, 48 classes), as the zoo classifiers train
  (:func:`xaibook.models.train.train`), float32 against bf16 autocast on channels-last tensors;
* Extremal Perturbation on 8 images x 4 areas (Nguyen et al.'s areas, 64 px, 40 iterations of the
  compressed schedule), plain against :func:`xaibook.models.wrappers.cpu_autocast`, with the mask
  IoU at 0.5 and the mean areas reached of the two.

``config.autocast_dtype`` turns bf16 on only where the CPU has it natively (AMX or AVX512-BF16);
elsewhere this script reports that and measures bf16 anyway (emulated, expect it slower).

    python benchmarks/cpu_precision.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

os.environ.setdefault("XAIBOOK_PROGRESS", "0")

import torch
import torchvision

from xaibook import config
from xaibook.explain.extremal import NGUYEN_AREAS, compressed_schedule, extremal_perturbation
from xaibook.models.wrappers import Autocast, Normalized


def _train_step(bf16: bool):
    torch.manual_seed(0)
    m = torchvision.models.resnet18(num_classes=48)
    x, y = torch.rand(64, 3, 64, 64), torch.randint(0, 48, (64,))
    if bf16:
        m, x = m.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def _seconds(fn, n: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--iterations", type=int, default=40)
    a = ap.parse_args(argv)
    threads = config.configure_threads()
    print(f"threads {threads}; native bf16 on this CPU: {config.cpu_has_bf16()}; "
          f"autocast the book uses here: {config.autocast_dtype(torch.device('cpu'))}")

    train = {"fp32": [], "bf16": []}
    for _ in range(a.repeats):
        for kind in train:
            train[kind].append(_seconds(_train_step(kind == "bf16"), a.steps))
    f, b = statistics.median(train["fp32"]), statistics.median(train["bf16"])
    print(f"ResNet-18 training step, batch 64 at 64 px: fp32 {f * 1e3:.0f} ms, bf16+channels-last {b * 1e3:.0f} ms, "
          f"speed-up {f / b:.2f}x")

    torch.manual_seed(0)
    net = Normalized(torchvision.models.resnet18(num_classes=48)).eval()
    x, t = torch.rand(8, 3, 64, 64), torch.randint(0, 48, (8,))
    fast = Autocast(copy.deepcopy(net).to(memory_format=torch.channels_last), torch.bfloat16, channels_last=True)
    kw = dict(areas=NGUYEN_AREAS, max_iter=a.iterations, step=2, sigma=6.0, smooth=0.09, jitter=True, combine=None,
              return_details=True, **compressed_schedule(a.iterations, 800))
    ep = {"fp32": [], "bf16": []}
    out = {}
    for _ in range(a.repeats):
        for kind, model in (("fp32", net), ("bf16", fast)):
            s = time.perf_counter()
            out[kind] = extremal_perturbation(model, x, t, **kw)
            ep[kind].append(time.perf_counter() - s)
    (m32, d32), (m16, d16) = out["fp32"], out["bf16"]
    inter = ((m32 > 0.5) & (m16 > 0.5)).sum((-1, -2)).float()
    union = ((m32 > 0.5) | (m16 > 0.5)).sum((-1, -2)).float().clamp(min=1)
    f, b = statistics.median(ep["fp32"]), statistics.median(ep["bf16"])
    print(f"Extremal Perturbation, 8 images x 4 areas x {a.iterations} iterations at 64 px: fp32 {f:.1f} s, "
          f"bf16 {b:.1f} s, speed-up {f / b:.2f}x; mask IoU at 0.5 {float((inter / union).mean()):.3f}")
    print("  mean area reached, fp32: " + " / ".join(f"{v:.3f}" for v in m32.mean((0, 2, 3)).tolist())
          + "; bf16: " + " / ".join(f"{v:.3f}" for v in m16.mean((0, 2, 3)).tolist())
          + " (targets " + " / ".join(f"{v:.3f}" for v in NGUYEN_AREAS) + ")")


if __name__ == "__main__":
    main()
