"""Speed of the explanation methods (issue 4), ratios measured side by side in one run.

1. For each method, maps per second on one batch and the ratio to the bare throughput of the
   same model measured in the same run: forward + backward to the input (``floor``, the
   least a gradient method can cost; also shown: forward + backward with weight gradients,
   a training step). Goal (issue 17): >= 0.8 of the floor for gradient and Grad-CAM, and for
   SmoothGrad per noisy copy (its floor is the floor times its samples).
2. Extremal Perturbation with Nguyen et al.'s four areas: the batched implementation
   (all images x areas in one optimisation) against TorchRay's ``extremal_perturbation``
   called image by image, same model, same images, same iterations; prints the throughput
   ratio, the final rewards side by side and the mask IoU. Goal on one H100 (issue 17): >= 40x
   at 800 iterations and 224 px (TorchRay: about 22 s per image there), IoU >= 0.8.

The model is a torchvision ResNet-34 with random weights inside ``Normalized`` (speed does
not depend on the weights). Defaults follow the device: on CUDA batch 64 at 224 px and EP
at 224 px / 800 iterations; on a CPU a small configuration that runs in minutes (printed).

    python benchmarks/explain.py [--device cuda] [--size 224] [--batch 64] [--ep-iters 800]
"""
from __future__ import annotations

import argparse
import statistics
import time
import traceback
from typing import Callable

import torch
from torchvision import models as tv_models

from xaibook import config
from xaibook.explain import extremal_perturbation, gradcam, gradient, lrp, oracle, smoothgrad
from xaibook.models.wrappers import Autocast
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


def make_model(device: torch.device, arch: str = "resnet34", seed: int = 0) -> torch.nn.Module:
    """A torchvision ``arch`` with random weights (speed does not depend on them) inside ``Normalized``."""
    torch.manual_seed(seed)
    return Normalized(getattr(tv_models, arch)(num_classes=1000)).to(device).eval()


def map_rates(model, x: torch.Tensor, t: torch.Tensor, masks: torch.Tensor, n_sg: int, repeats: int,
              log: Callable[[str], None] = print, on_result: Callable[[dict], None] | None = None) -> dict:
    """Maps per second of each method on the batch ``x`` and its ratio to the floor measured alongside.

    ``ratio`` is time(floor) / time(method) for one batch (the median of rounds alternating
    with the floor); SmoothGrad makes ``n_sg`` passes, so its goal is on ``per_pass_ratio``
    = ratio x passes (the floor times its samples).
    """
    device = x.device
    batch = x.shape[0]
    floor = lambda: floor_input(model, x, t)  # noqa: E731
    base_s, _ = paired(floor, floor, device, repeats)
    train_s, train_ratio = paired(lambda: floor_train(model, x, t), floor, device, repeats)
    out = {"batch": batch, "size": int(x.shape[-1]), "repeats": repeats, "floor_images_per_s": batch / base_s,
           "train_images_per_s": batch / train_s, "train_ratio": train_ratio, "methods": {}}
    log(f"{'floor: forward + backward to the input':46s} {batch / base_s:9.1f} img/s")
    log(f"{'forward + backward with weight gradients':46s} {batch / train_s:9.1f} img/s   {train_ratio:6.2f} x floor")
    methods = [
        ("gradient", "gradient", lambda: gradient(model, x, t), 1),
        ("gradient_pool4_minmax", "gradient (Shen & Huang: pool 4, min-max)",
         lambda: gradient(model, x, t, pool=4, normalize="minmax"), 1),
        ("smoothgrad", f"smoothgrad ({n_sg} samples)", lambda: smoothgrad(model, x, t, n_samples=n_sg, batch_size=batch), n_sg),
        ("gradcam", "gradcam (net.layer4)", lambda: gradcam(model, x, t, layer="net.layer4"), 1),
        ("lrp", "lrp alpha2-beta1 (resnet canonizer)", lambda: lrp(model, x, t, canonizer="resnet"), 1),
        ("oracle", "oracle (2 masks, blur 0.05)", lambda: oracle(model, x, t, masks=masks, blur=0.05), 1),
    ]
    for key, label, fn, passes in methods:
        try:
            seconds, ratio = paired(fn, floor, device, repeats)
        except Exception as exc:  # noqa: BLE001 - one failing method must not hide the others' numbers
            out["methods"][key] = {"error": traceback.format_exc(limit=6)}
            log(f"{label:46s} failed: {type(exc).__name__}: {exc}")
        else:
            out["methods"][key] = {"maps_per_s": batch / seconds, "ratio": ratio, "passes": passes,
                                   "per_pass_ratio": ratio * passes}
            note = f"   (per noisy copy: {ratio * passes:.2f} x floor)" if passes > 1 else ""
            log(f"{label:46s} {batch / seconds:9.1f} maps/s  {ratio:6.2f} x floor{note}")
        if on_result:
            on_result(out)
    for p in model.parameters():
        p.grad = None
    return out


def ours_ep(model, xe: torch.Tensor, te: torch.Tensor, iters: int, batch_size: int = 64) -> tuple[float, dict]:
    """Seconds per image of the batched Extremal Perturbation (all images x AREAS) and its details."""
    device = xe.device
    sync(device)
    start = time.perf_counter()
    _, details = extremal_perturbation(model, xe, te, areas=AREAS, max_iter=iters, smooth=0.0, combine=None,
                                       return_details=True, batch_size=batch_size)
    sync(device)
    seconds = (time.perf_counter() - start) / xe.shape[0]
    return seconds, {k: v.float().cpu() if torch.is_tensor(v) else v for k, v in details.items()}


def torchray_ep(model, xe: torch.Tensor, te: torch.Tensor, iters: int) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Seconds per image of TorchRay's ``extremal_perturbation`` called image by image; masks
    ``[n,A,H,W]`` and final rewards ``[n,A]`` (``hist[:, 0, -1]``)."""
    from torchray.attribution.extremal_perturbation import extremal_perturbation as reference

    device = xe.device
    masks, rewards = [], []
    sync(device)
    start = time.perf_counter()
    for i in range(xe.shape[0]):
        m, hist = reference(model, xe[i:i + 1], int(te[i]), areas=list(AREAS), max_iter=iters)
        masks.append(m[:, 0])
        rewards.append(hist[:, 0, -1])
    sync(device)
    seconds = (time.perf_counter() - start) / xe.shape[0]
    for p in model.parameters():  # TorchRay switches parameter gradients off
        p.requires_grad_(True)
    return seconds, torch.stack(masks).float().cpu(), torch.stack(rewards).float().cpu()


def compare_masks(masks: torch.Tensor, rewards: torch.Tensor, ref_masks: torch.Tensor,
                  ref_rewards: torch.Tensor) -> dict:
    """Mask IoU (threshold 0.5) and rewards of ``masks`` against ``ref_masks``, pair by pair."""
    overlap = iou(masks, ref_masks)
    diff = (masks - ref_masks).abs()
    delta = rewards - ref_rewards
    return {"iou_mean": float(overlap.nanmean()), "iou_min": float(overlap.nan_to_num(1.0).min()),
            "pairs_both_empty": int(overlap.isnan().sum()), "iou": overlap.tolist(),
            "abs_diff_mean": float(diff.mean()), "abs_diff_max": float(diff.max()),
            "reward": rewards.tolist(), "reward_ref": ref_rewards.tolist(),
            "reward_mean": float(rewards.mean()), "reward_ref_mean": float(ref_rewards.mean()),
            "reward_delta_mean": float(delta.mean()), "reward_delta_min": float(delta.min())}


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

    model = make_model(device)
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
    map_rates(model, x, t, masks, n_sg, args.repeats)

    if args.skip_ep:
        return
    # ---------------------------------------------------------------- extremal perturbation
    xe = smooth_images(ep_images, ep_size, device, seed=1)
    with torch.no_grad():
        te = model(xe).argmax(1)
    print(f"\n== Extremal Perturbation: areas {AREAS}, blur, {ep_iters} iterations, {ep_size} px ==")
    print(f"ours: {ep_images} images x {len(AREAS)} areas in one batch; TorchRay: first {tr_images} images, one call each")
    ours_s, details = ours_ep(model, xe, te, ep_iters)
    tr_s, ref_masks, ref_rewards = torchray_ep(model, xe[:tr_images], te[:tr_images], ep_iters)
    c = compare_masks(details["masks"][:tr_images], details["reward"][:tr_images], ref_masks, ref_rewards)
    print(f"time per image: ours {ours_s:.2f} s, TorchRay {tr_s:.2f} s -> throughput ratio {tr_s / ours_s:.1f} x")
    print(f"mask IoU ours vs TorchRay (threshold 0.5): mean {c['iou_mean']:.3f}, min {c['iou_min']:.3f}"
          f" ({c['pairs_both_empty']} mask pairs both empty); mean |difference| {c['abs_diff_mean']:.4f}, "
          f"max {c['abs_diff_max']:.3f}")
    print("final reward (target logit of the preserved image), ours | TorchRay, per area " + " ".join(f"{a:g}" for a in AREAS))
    for i in range(tr_images):
        ours_r = " ".join(f"{v:8.3f}" for v in c["reward"][i])
        ref_r = " ".join(f"{v:8.3f}" for v in c["reward_ref"][i])
        print(f"  image {i}: {ours_r} | {ref_r}   IoU {' '.join(f'{v:.2f}' for v in c['iou'][i])}")


if __name__ == "__main__":
    main()
