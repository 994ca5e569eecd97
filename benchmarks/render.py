"""Render speed of xaibook.world (issue 3): images per second, shaded and anti-aliased, 128x128.

Measures in one run, on the CPU (and on CUDA when present):

* ``render()`` on batches of Two4Two scenes (8 rounded blocks, 2x2 supersampling, soft
  shadows, area-light shading, tone curve, labels/instances/depth);
* a naive baseline implemented here: a plain sphere tracer that traces every block over the
  whole supersampled image separately (64 steps of the rounded-box distance), keeps the
  nearest hit, takes normals by central differences and shades with a Lambert key light;
* the end-to-end data set writer (render + PNG image + PNG mask), the chapters' path;

and prints the speed-up over the baseline and the time per image beside the original
Blender generator's 2.6 s per image + mask on this project's 2-core CPU.

    python benchmarks/render.py [--n 256] [--batch 64] [--threads 2] [--baseline-n 2]
"""
from __future__ import annotations

import argparse
import math
import tempfile
import time

import torch

from xaibook.world import colors, two4two
from xaibook.world.render import CAMERA_X, Blocks, filmic, focal_px, render

ORIGINAL_S_PER_IMAGE = 2.6  # Blender/Cycles, 128 samples, image + mask, 2-core CPU (reference README)


def naive_sphere_tracer(blocks: Blocks, background: torch.Tensor, size: int = 128, supersample: int = 2,
                        steps: int = 64) -> torch.Tensor:
    """Per-object baseline: for each scene, for each block, sphere-trace the whole image."""
    res = size * supersample
    f = focal_px(res)
    idx = torch.arange(res, dtype=torch.float32) + 0.5 - res / 2
    d = torch.stack(torch.broadcast_tensors(-torch.ones(res, res), idx[None, :] / f, -idx[:, None] / f), -1)
    d = d / d.norm(dim=-1, keepdim=True)
    o = torch.tensor([CAMERA_X, 0.0, 0.0])
    light = torch.tensor([1.0, 1.0, 1.0]) / math.sqrt(3)
    images = []
    for b in range(blocks.batch):
        best = torch.full((res, res), math.inf)
        color = background[b].expand(res, res, 3).clone() * 8.0
        for k in range(blocks.slots):
            if not blocks.valid[b, k]:
                continue
            R, c = blocks.rotation[b, k], blocks.center[b, k]
            r = blocks.radius[b, k]
            inner = blocks.half[b, k] - r

            def sdf(p):
                q = (p - c) @ R
                a = q.abs() - inner
                return a.clamp_min(0).norm(dim=-1) + a.amax(-1).clamp_max(0) - r

            t = torch.zeros(res, res)
            for _ in range(steps):
                t = t + sdf(o + t[..., None] * d)
            p = o + t[..., None] * d
            hit = (sdf(p).abs() < 1e-3) & (t < best)
            eps = 1e-3
            n = torch.stack([sdf(p + eps * e) - sdf(p - eps * e) for e in torch.eye(3)], -1)
            n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-9)
            shade = 12.0 * (n @ light).clamp_min(0) + 0.4
            color = torch.where(hit[..., None], blocks.color[b, k] * shade[..., None], color)
            best = torch.where(hit, t, best)
        img = filmic(color.permute(2, 0, 1))
        images.append(torch.nn.functional.avg_pool2d(img[None], supersample)[0])
    return torch.stack(images)


def time_it(fn, repeat: int = 3) -> tuple[float, float]:
    """Best wall-clock time of ``repeat`` runs after a warm-up, and the process CPU time of that run
    (on a shared machine the CPU time shows the cost without other people's load)."""
    fn()  # warm up (caches, allocator, CUDA kernels)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    best = (math.inf, math.inf)
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    return best


def scenes(n: int, seed: int = 0) -> tuple[Blocks, torch.Tensor]:
    """``n`` Two4Two scenes (blocks and background colours) on the CPU."""
    params = two4two.sample(n, seed=seed)
    return two4two.blocks_from_params(params), colors.background_rgb(torch.tensor([p.bg_color for p in params]))


def images_per_second(blocks: Blocks, background: torch.Tensor, device: torch.device, batch: int,
                      size: int = 128, supersample: int = 2, repeat: int = 3) -> dict:
    """Images per second of ``render()`` on ``device``: every scene of ``blocks`` once per timed run,
    ``batch`` scenes per call (best wall time of ``repeat`` runs after a warm-up; shaded, soft
    shadows, ``supersample`` x ``supersample`` rays per pixel)."""
    blocks, background = blocks.to(device), background.to(device)
    n = blocks.batch

    def run():
        for s in range(0, n, batch):
            render(blocks[s:s + batch], background[s:s + batch], size=size, supersample=supersample, device=device)

    wall, cpu = time_it(run, repeat=repeat)
    return {"device": str(device), "images": n, "batch": batch, "size": size, "supersample": supersample,
            "repeat": repeat, "seconds": wall, "images_per_s": n / wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="scenes per timed render run")
    ap.add_argument("--batch", type=int, default=64, help="scenes per render() call on the CPU")
    ap.add_argument("--gpu-batch", type=int, default=2048, help="scenes per render() call on CUDA")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--baseline-n", type=int, default=2, help="scenes for the (slow) naive baseline")
    ap.add_argument("--write-n", type=int, default=256, help="scenes for the end-to-end data set writer")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, CUDA: {torch.cuda.is_available()}")

    params = two4two.sample(args.n, seed=0)
    cpu = torch.device("cpu")
    blocks = two4two.blocks_from_params(params)
    bg = colors.background_rgb(torch.tensor([p.bg_color for p in params]))

    def ours(device, batch):
        def run():
            for s in range(0, args.n, batch):
                render(blocks[s:s + batch], bg[s:s + batch], size=128, supersample=2, device=device)
        return run

    t_cpu, c_cpu = time_it(ours(cpu, args.batch), repeat=2)
    ips_cpu = args.n / t_cpu
    print(f"render() CPU: {ips_cpu:8.1f} images/s wall ({1000 * t_cpu / args.n:.2f} ms/image; "
          f"{1000 * c_cpu / args.n:.2f} CPU-ms/image; batch {args.batch})")

    nb = args.baseline_n
    t_base, c_base = time_it(lambda: naive_sphere_tracer(blocks[:nb], bg[:nb]), repeat=1)
    ips_base = nb / t_base
    print(f"naive per-block sphere tracer CPU: {ips_base:8.2f} images/s wall ({1000 * t_base / nb:.0f} ms/image; "
          f"{1000 * c_base / nb:.0f} CPU-ms/image)")
    print(f"speed-up of render() over the naive baseline, CPU: {ips_cpu / ips_base:.0f}x wall, "
          f"{(c_base / nb) / (c_cpu / args.n):.0f}x CPU time")
    print(f"original generator: {ORIGINAL_S_PER_IMAGE} s/image + mask; render() {1000 / ips_cpu:.2f} ms/image wall "
          f"-> {ORIGINAL_S_PER_IMAGE * ips_cpu:.0f}x faster (goal >= 100x)")

    with tempfile.TemporaryDirectory() as tmp:
        wp = two4two.sample(args.write_n, seed=1)
        start, cpu_start = time.perf_counter(), time.process_time()
        two4two.write_dataset(wp, tmp, batch=args.batch, device=cpu, progress=False)
        t_write, c_write = time.perf_counter() - start, time.process_time() - cpu_start
    ips_write = args.write_n / t_write
    print(f"write_dataset CPU (render + PNG image + PNG mask): {ips_write:.1f} images/s wall "
          f"({1000 * c_write / args.write_n:.1f} CPU-ms/image) "
          f"-> 3,000 images in {3000 / ips_write:.0f} s (goal < 180 s); "
          f"{ORIGINAL_S_PER_IMAGE * ips_write:.0f}x the original's speed")

    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        n = max(args.n, args.gpu_batch * 4)
        gblocks, gbg = scenes(n, seed=0)
        r = images_per_second(gblocks, gbg, gpu, args.gpu_batch)
        print(f"render() CUDA ({torch.cuda.get_device_name()}): {r['images_per_s']:8.0f} images/s "
              f"(batch {args.gpu_batch}; goal >= 10,000 on an H100)")
        nb = 16
        t_base_gpu, _ = time_it(lambda: naive_sphere_tracer(gblocks[:nb], gbg[:nb]), repeat=1)
        print(f"(the naive baseline is CPU-only here: {nb / t_base_gpu:.2f} images/s)")


if __name__ == "__main__":
    main()
