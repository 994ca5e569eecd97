"""OpenMP's wait policy and thread binding on an idle and on a loaded CPU (issues 11 and 17).

Runs the same ResNet-18 training step at 64 px in fresh processes under three settings:
libgomp's default (spinning, unbound), ``OMP_WAIT_POLICY=PASSIVE``, and ``PASSIVE`` with each
thread bound to its own CPU (``OMP_PROC_BIND=true``, ``OMP_PLACES=threads``), first on the idle
machine, then while ``yes`` keeps one core busy (started and stopped here by its own PID),
interleaved. It prints the median and the slowest step of each run, and the ratios of medians.
``xaibook.config.configure_openmp`` picks ``PASSIVE`` with binding for the loaded case only.

With ``--precision bf16`` the step runs as the book trains on CPUs with native bf16 (autocast,
channels-last). Unbound on the loaded machine, oneDNN's spinning barrier can make such steps
flip from about 0.7 s to about 9.8 s when both threads land on one CPU (8 of 11 runs of a
6-step AdamW loop on 2026-11-27; none of this script's runs that day): the slowest step shows it.

    python benchmarks/openmp_wait.py [--repeats 3] [--steps 8] [--precision fp32|bf16]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

STEP = r"""
import sys, time, torch, torchvision
torch.set_num_threads(int(sys.argv[1])); torch.manual_seed(0)
bf16 = sys.argv[3] == "bf16"
m = torchvision.models.resnet18(num_classes=48)
x, y = torch.randn(64, 3, 64, 64), torch.randint(0, 48, (64,))
if bf16:
    m = m.to(memory_format=torch.channels_last); x = x.contiguous(memory_format=torch.channels_last)
opt = torch.optim.SGD(m.parameters(), lr=0.01)
def step():
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = torch.nn.functional.cross_entropy(m(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
step()
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); step(); print((time.perf_counter() - t) * 1000)
"""

SETTINGS = {"default": {}, "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
            "PASSIVE+bind": {"OMP_WAIT_POLICY": "PASSIVE", "OMP_PROC_BIND": "true", "OMP_PLACES": "threads"}}


def _run(setting: str, threads: int, steps: int, precision: str) -> list[float]:
    """ms of each step in a fresh process."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "OMP_PROC_BIND", "OMP_PLACES", "GOMP_CPU_AFFINITY")}
    env.update(SETTINGS[setting])
    out = subprocess.run([sys.executable, "-c", STEP, str(threads), str(steps), precision], env=env,
                         capture_output=True, text=True, check=True)
    return [float(v) for v in out.stdout.split()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    a = ap.parse_args()
    threads = len(os.sched_getaffinity(0))
    res: dict[tuple[str, str], list[list[float]]] = {}
    for load in ("idle", "one core busy"):
        yes = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) if load != "idle" else None
        try:
            for _ in range(a.repeats):
                for setting in SETTINGS:
                    res.setdefault((load, setting), []).append(_run(setting, threads, a.steps, a.precision))
        finally:
            if yes is not None:
                yes.kill()
                yes.wait()
    print(f"ResNet-18 training step ({a.precision}), batch 64 at 64 px, {threads} torch threads, "
          f"{a.repeats} runs of {a.steps} steps")
    med = {k: statistics.median(t for run in v for t in run) for k, v in res.items()}
    for (load, setting), v in res.items():
        runs = ", ".join(f"{statistics.median(r):.0f}/{max(r):.0f}" for r in v)
        print(f"  {load:14s} {setting:13s} median {med[(load, setting)]:7.0f} ms/step   runs (median/slowest): {runs}")
    for load in ("idle", "one core busy"):
        for setting in ("PASSIVE", "PASSIVE+bind"):
            r = med[(load, "default")] / med[(load, setting)]
            print(f"  {load}: default / {setting} = {r:.2f} (above 1: {setting} is faster)")


if __name__ == "__main__":
    main()
