"""Speed of the explanation methods (issue 4), ratios measured side by side in one run.

1. For each method, maps per second on one batch and the ratio to the bare throughput of the
   same model measured in the same run: forward + backward to the input (``floor``, the
   least a gradient method can cost; also shown: forward + backward with weight gradients,
   a training step). Goal: >= 0.7 of the floor for gradient and Grad-CAM.
2. Extremal Perturbation with Nguyen et al.'s four areas: the batched implementation
   (all images x areas in one optimisation) against TorchRay's ``extremal_perturbation``
   called image by image, same model, same images, same iterations; prints the throughput
   ratio, the final rewards side by side and the mask IoU. Goal on one H100: >= 20x at
   800 iterations and 224 px (TorchRay: about 22 s per image there).

The model is a torchvision ResNet-34 with random weights inside ``Normalized`` (speed does
not depend on the weights). Defaults follow the device: on CUDA batch 64 at 224 px and EP
at 224 px / 800 iterations; on a CPU a small configuration that runs in minutes (printed).

    python benchmarks/explain.py [--device cuda] [--size 224] [--batch 64] [--ep-iters 800]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torchvision.models import resnet34

from xaibook import config
from xaibook.explain import extremal_perturbation, gradcam, gradient, lrp, oracle, smoothgrad
from xaibook.explain.extremal import gaussian_blur
from xaibook.models.wrappers import Normalized

AREAS = (0.025, 0.05, 0.1, 0.2)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def once(fn, device) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def paired(fn, floor, device, repeats: int) -> tuple[float, float]:
    """Median time of ``fn`` and median of the per-round ratio ``time(floor) / time(fn)``.

    ``fn`` and ``floor`` alternate round by round (after a warm-up of each), so that the
    ratio compares runs made under the same machine load.
    """
    fn()
    floor()
    times, ratios = [], []
    for _ in range(repeats):
        a = once(floor, device)
        b = once(fn, device)
        times.append(b)
        ratios.append(a / b)
    return statistics.median(times), statistics.median(ratios)


def smooth_images(n: int, size: int, device, seed: int = 0) -> torch.Tensor:
    """Random images with some spatial structure (blurred noise), in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    x = gaussian_blur(torch.rand(n, 3, size, size, generator=g), size / 32, padding="replicate")
    x = (x - x.amin(dim=(1, 2, 3), keepdim=True)) / (x.amax(dim=(1, 2, 3), keepdim=True) - x.amin(dim=(1, 2, 3), keepdim=True))
    return x.to(device)


def floor_input(model, x, t):
    xg = x.detach().requires_grad_(True)
    torch.autograd.grad(model(xg).gather(1, t[:, None]).sum(), xg)


def floor_train(model, x, t):
    model.zero_grad(set_to_none=True)
    model(x).gather(1, t[:, None]).sum().backward()


def iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of the masks binarised at 0.5; NaN where both are empty (not yet converged)."""
    a, b = a > 0.5, b > 0.5
    union = (a | b).sum((-1, -2)).float()
    return torch.where(union > 0, (a & b).sum((-1, -2)).float() / union.clamp(min=1), torch.nan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="torch device (default: config.device())")
    parser.add_argument("--size", type=int, default=None, help="image side for the map benchmarks")
    parser.add_argument("--batch", type=int, default=None, help="batch for the map benchmarks")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoothgrad-samples", type=int, default=None)
    parser.add_argument("--ep-size", type=int, default=None)
    parser.add_argument("--ep-iters", type=int, default=None)
    parser.add_argument("--ep-images", type=int, default=None, help="images for the batched EP")
    parser.add_argument("--ep-torchray-images", type=int, default=None, help="images for TorchRay (per-image calls)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--skip-ep", action="store_true")
    args = parser.parse_args()

    device = torch.device(args.device) if args.device else config.device()
    gpu = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    size = args.size or (224 if gpu else 64)
    batch = args.batch or (64 if gpu else 16)
    n_sg = args.smoothgrad_samples or (50 if gpu else 8)
    ep_size = args.ep_size or (224 if gpu else 64)
    ep_iters = args.ep_iters or (800 if gpu else 100)
    ep_images = args.ep_images or (64 if gpu else 4)
    tr_images = min(args.ep_torchray_images or (2 if gpu else 4), ep_images)

    torch.manual_seed(0)
    model = Normalized(resnet34(num_classes=1000)).to(device).eval()
    name = torch.cuda.get_device_name(device) if gpu else f"CPU, {torch.get_num_threads()} torch threads"
    print(f"device: {device} ({name}); torch {torch.__version__}; model: ResNet-34 (random weights), fp32")
    if gpu:
        print(f"TF32 matmul: {torch.backends.cuda.matmul.allow_tf32}, cuDNN TF32: {torch.backends.cudnn.allow_tf32}")

    # ---------------------------------------------------------------- maps per second
    x = smooth_images(batch, size, device)
    with torch.no_grad():
        t = model(x).argmax(1)
    masks = (torch.rand(batch, 2, size, size, device=device) > 0.7)
    print(f"\n== maps per second: batch {batch} at {size} px, median of {args.repeats} runs ==")
    floor = lambda: floor_input(model, x, t)  # noqa: E731
    base_s, _ = paired(floor, floor, device, args.repeats)
    train_s, train_ratio = paired(lambda: floor_train(model, x, t), floor, device, args.repeats)
    print(f"{'floor: forward + backward to the input':46s} {batch / base_s:9.1f} img/s")
    print(f"{'forward + backward with weight gradients':46s} {batch / train_s:9.1f} img/s   {train_ratio:6.2f} x floor")
    methods = [
        ("gradient", lambda: gradient(model, x, t), 1),
        ("gradient (Shen & Huang: pool 4, min-max)", lambda: gradient(model, x, t, pool=4, normalize="minmax"), 1),
        (f"smoothgrad ({n_sg} samples)", lambda: smoothgrad(model, x, t, n_samples=n_sg, batch_size=batch), n_sg),
        ("gradcam (net.layer4)", lambda: gradcam(model, x, t, layer="net.layer4"), 1),
        ("lrp alpha2-beta1 (resnet canonizer)", lambda: lrp(model, x, t, canonizer="resnet"), 1),
        ("oracle (2 masks, blur 0.05)", lambda: oracle(model, x, t, masks=masks, blur=0.05), 1),
    ]
    for label, fn, passes in methods:
        seconds, ratio = paired(fn, floor, device, args.repeats)
        note = f"   (per noisy copy: {ratio * passes:.2f} x floor)" if passes > 1 else ""
        print(f"{label:46s} {batch / seconds:9.1f} maps/s  {ratio:6.2f} x floor{note}")
    for p in model.parameters():
        p.grad = None

    if args.skip_ep:
        return
    # ---------------------------------------------------------------- extremal perturbation
    from torchray.attribution.extremal_perturbation import extremal_perturbation as torchray_ep

    xe = smooth_images(ep_images, ep_size, device, seed=1)
    with torch.no_grad():
        te = model(xe).argmax(1)
    print(f"\n== Extremal Perturbation: areas {AREAS}, blur, {ep_iters} iterations, {ep_size} px ==")
    print(f"ours: {ep_images} images x {len(AREAS)} areas in one batch; TorchRay: first {tr_images} images, one call each")
    sync(device)
    start = time.perf_counter()
    _, details = extremal_perturbation(model, xe, te, areas=AREAS, max_iter=ep_iters, smooth=0.0,
                                       combine=None, return_details=True)
    sync(device)
    ours_s = (time.perf_counter() - start) / ep_images
    ref_masks, ref_rewards = [], []
    start = time.perf_counter()
    for i in range(tr_images):
        m, hist = torchray_ep(model, xe[i:i + 1], int(te[i]), areas=list(AREAS), max_iter=ep_iters)
        ref_masks.append(m[:, 0])
        ref_rewards.append(hist[:, 0, -1])
    sync(device)
    tr_s = (time.perf_counter() - start) / tr_images
    for p in model.parameters():  # TorchRay switches parameter gradients off
        p.requires_grad_(True)
    ref_masks = torch.stack(ref_masks)
    ref_rewards = torch.stack(ref_rewards)
    print(f"time per image: ours {ours_s:.2f} s, TorchRay {tr_s:.2f} s -> throughput ratio {tr_s / ours_s:.1f} x")
    overlap = iou(details["masks"][:tr_images].cpu(), ref_masks.cpu())
    diff = (details["masks"][:tr_images].cpu() - ref_masks.cpu()).abs()
    print(f"mask IoU ours vs TorchRay (threshold 0.5): mean {overlap.nanmean():.3f}, min {overlap.nan_to_num(1.0).min():.3f}"
          f" ({int(overlap.isnan().sum())} mask pairs both empty); mean |difference| {diff.mean():.4f}, max {diff.max():.3f}")
    print("final reward (target logit of the preserved image), ours | TorchRay, per area " + " ".join(f"{a:g}" for a in AREAS))
    for i in range(tr_images):
        ours_r = " ".join(f"{v:8.3f}" for v in details["reward"][i].tolist())
        ref_r = " ".join(f"{v:8.3f}" for v in ref_rewards[i].tolist())
        print(f"  image {i}: {ours_r} | {ref_r}   IoU {' '.join(f'{v:.2f}' for v in overlap[i].tolist())}")


if __name__ == "__main__":
    main()
