"""Scaling of the simulated participants' base models (issue 16): jobs per second on 1 and 2 local Ray
workers, the measured time and memory per job, and the time a ``paper`` run would take on N GPUs.

The jobs are the Sixt base models of :mod:`xaibook.simulate.sixt` (train a small CNN on a biased
Two4Two set, then its baseline grid, counterfactuals and concepts) at the sizes of ``--scale``.
Each measurement uses a fresh artifact cache, so every job is computed; the shared scenes are
rendered (and cached) before the clock starts, and each run first warms its process or Ray workers (imports)
on jobs of another cache. The projection scales the measured seconds per job by the work a
paper job does (training images x epochs x pixels) and divides by N; it assumes one job per GPU
runs no slower than one job per CPU core here, so it is an upper bound where a GPU is faster.

    python benchmarks/simulate_scaling.py [--scale smoke] [--jobs 8] [--gpus 1 2 4 8]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def _measure(backend: str, workers: int, s: dict, root: str) -> tuple[float, list]:
    from xaibook.simulate import jobs, sixt

    # warm the process or the workers (imports, scenes) on jobs of a throwaway cache
    os.environ["XAIBOOK_CACHE"] = os.path.join(root, f"warm-{backend}-{workers}")
    sixt.run_jobs(backend=backend, workers=workers, s=dict(s, models=workers, n_train=s["n_train"] + 1))
    os.environ["XAIBOOK_CACHE"] = os.path.join(root, f"{backend}-{workers}")
    sixt.scenes(s["pool"], sixt.POOL_SEED, s["size"])
    sixt.scenes(s["probe"], sixt.PROBE_SEED, s["size"])
    timings: list = []
    t0 = time.perf_counter()
    sixt.run_jobs(backend=backend, workers=workers, s=s, timings=timings)
    wall = time.perf_counter() - t0
    if backend == "ray":
        jobs.shutdown()
    return wall, timings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="smoke", choices=("smoke", "default", "paper"))
    ap.add_argument("--jobs", type=int, default=8, help="base models per measurement")
    ap.add_argument("--gpus", type=int, nargs="+", default=[1, 2, 4, 8])
    args = ap.parse_args(argv)
    if args.jobs < 2:
        print("error: --jobs must be at least 2", file=sys.stderr)
        return 2
    os.environ["XAIBOOK_SCALE"] = args.scale
    os.environ.setdefault("XAIBOOK_PROGRESS", "0")
    from xaibook.simulate import sixt

    s = dict(sixt.SIZES[args.scale], models=args.jobs)
    paper = sixt.SIZES["paper"]
    print(f"Sixt base models at scale {args.scale}: {args.jobs} jobs, {s['n_train']} training images x "
          f"{s['epochs']} epochs at {s['size']} px each; CPUs visible: {os.cpu_count()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="simulate-scaling-") as root:
        for backend, workers in (("inprocess", 1), ("ray", 1), ("ray", 2)):
            wall, timings = _measure(backend, workers, s, root)
            per_job = sum(t["seconds"] for t in timings) / len(timings)
            rss = max(t["rss_bytes"] for t in timings) / 2 ** 20
            rows.append((backend, workers, wall, per_job, rss))
            print(f"{backend:9s} workers={workers}: {args.jobs / wall:6.3f} jobs/s  ({wall:6.1f} s wall; "
                  f"{per_job:5.2f} s per job; peak RSS of a job's process {rss:6.0f} MiB)")
    base = rows[1][2]
    print(f"speed-up of 2 Ray workers over 1: {base / rows[2][2]:.2f}x")
    work = lambda d: d["n_train"] * d["epochs"] * d["size"] ** 2  # noqa: E731
    per_job_paper = min(r[3] for r in rows) * work(paper) / work(s)
    print(f"paper: {paper['models']} base models of {paper['n_train']} images x {paper['epochs']} epochs at "
          f"{paper['size']} px; measured seconds per job scaled by the work ratio {work(paper) / work(s):.0f}: "
          f"{per_job_paper:.0f} s per job")
    for n in args.gpus:
        print(f"  projected paper time on {n} GPU(s), one job per GPU: {paper['models'] * per_job_paper / n / 3600:.2f} h")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
