"""OpenMP's wait policy on an idle and on a loaded CPU (issue 11): ResNet-18 training steps at 64 px.

Runs the same step in fresh processes with libgomp's default (spinning) and with
``OMP_WAIT_POLICY=PASSIVE``, first on the idle machine, then while ``yes`` keeps one core busy
(started and stopped here by its own PID), interleaved, and prints ms per step and the ratios.
``xaibook.config.configure_openmp`` picks PASSIVE only for the loaded case.

    python benchmarks/openmp_wait.py [--repeats 3] [--steps 8]
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
m = torchvision.models.resnet18(num_classes=48)
x, y = torch.randn(64, 3, 64, 64), torch.randint(0, 48, (64,))
opt = torch.optim.SGD(m.parameters(), lr=0.01)
def step():
    loss = torch.nn.functional.cross_entropy(m(x), y); opt.zero_grad(); loss.backward(); opt.step()
step(); t = time.perf_counter()
for _ in range(int(sys.argv[2])): step()
print((time.perf_counter() - t) / int(sys.argv[2]) * 1000)
"""


def _run(policy: str | None, threads: int, steps: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run([sys.executable, "-c", STEP, str(threads), str(steps)], env=env, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=8)
    a = ap.parse_args()
    threads = len(os.sched_getaffinity(0))
    res: dict[tuple[str, str], list[float]] = {}
    for load in ("idle", "one core busy"):
        yes = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) if load != "idle" else None
        try:
            for _ in range(a.repeats):
                for policy in ("default", "PASSIVE"):
                    res.setdefault((load, policy), []).append(_run(None if policy == "default" else policy,
                                                                   threads, a.steps))
        finally:
            if yes is not None:
                yes.kill()
                yes.wait()
    print(f"ResNet-18 training step, batch 64 at 64 px, {threads} torch threads, median of {a.repeats} runs")
    for (load, policy), v in res.items():
        print(f"  {load:14s} {policy:8s} {statistics.median(v):7.0f} ms/step   runs: {', '.join(f'{x:.0f}' for x in v)}")
    for load in ("idle", "one core busy"):
        r = statistics.median(res[(load, "default")]) / statistics.median(res[(load, "PASSIVE")])
        print(f"  {load}: default / PASSIVE = {r:.2f} (above 1: passive waiting is faster)")


if __name__ == "__main__":
    main()
