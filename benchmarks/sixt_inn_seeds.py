"""Stability of chapter 5's INN across training seeds (issue 17): test accuracy per seed and its spread.

Trains the Two4Two Glow classifier (:mod:`xaibook.models.glow`) of a run scale on the chapter's biased
training split, once per training seed (initialisation, shuffling, dequantisation noise; the data stay
the same), scores the test split after every epoch, and prints one line per seed and the spread. Goal at
``default``: every seed at least 88 % test accuracy, spread under 3 points.

    python benchmarks/sixt_inn_seeds.py [--scale default] [--seeds 0 1] [--set lr=2e-3 --set schedule=cosine]
                                        [--n-train 3000] [--json out.json]

``--set`` overrides one training setting of :func:`xaibook.models.glow_training.default_settings` (``epochs``,
``batch_size``, ``lr``, ``bce_weight``, ``label_noise``, ``schedule``, ``warmup_steps``, ``clip_norm``)
for exploration; ``--n-train`` trains on the first images of the split. Nothing is cached: every seed
is trained from scratch (the rendered images come from the artifact cache). Times depend on the machine
and its load (the CPU seconds less so); run it niced, one at a time, with ``XAIBOOK_THREADS`` fixed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

TRAINING_KEYS = ("epochs", "batch_size", "lr", "bce_weight", "label_noise", "schedule", "warmup_steps", "clip_norm")


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in TRAINING_KEYS:
            raise SystemExit(f"error: --set {pair!r}: use KEY=VALUE with KEY one of {', '.join(TRAINING_KEYS)}")
        out[key] = _value(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("smoke", "default", "paper"), default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args(argv)
    overrides = _overrides(args.set)
    if args.n_train is not None and args.n_train < 2:
        print("error: --n-train must be at least 2", file=sys.stderr)
        return 2
    os.environ["XAIBOOK_SCALE"] = args.scale

    from xaibook import config
    from xaibook.models.glow_training import default_settings, evaluate, train_glow_classifier
    from xaibook.studies import sixt2022

    config.configure_threads()
    settings = default_settings()
    training = {k: v for k, v in settings.items() if k != "model"}
    training.update(overrides)
    model_kwargs = {k: v for k, v in settings["model"].items() if k != "image_size"}
    _, train_x, train_y = sixt2022.dataset_images("train")
    _, test_x, test_y = sixt2022.dataset_images("test")
    if args.n_train is not None:
        train_x, train_y = train_x[: args.n_train], train_y[: args.n_train]
    print(f"scale {args.scale}: {len(train_x)} training / {len(test_x)} test images, settings {training}, "
          f"threads {config.threads()}", flush=True)
    results = []
    for seed in args.seeds:
        t0, c0 = time.perf_counter(), time.process_time()
        model, history = train_glow_classifier(train_x, train_y, seed=seed, device=config.device(), progress=False,
                                               model_kwargs=model_kwargs, val=(test_x, test_y), **training)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        acc, nll = evaluate(model, test_x, test_y)
        row = {"seed": seed, "test_accuracy": 100 * acc, "test_nll": nll,
               "train_accuracy_last_epoch": 100 * history["accuracy"][-1],
               "test_accuracy_per_epoch": [round(100 * a, 1) for a in history["val_accuracy"]],
               "seconds": seconds, "cpu_seconds": cpu}
        results.append(row)
        print(f"seed {seed}: test accuracy {row['test_accuracy']:.1f} %, NLL {nll:.3f} bits/dim, training accuracy "
              f"(last epoch) {row['train_accuracy_last_epoch']:.1f} %, {seconds:.0f} s wall, {cpu:.0f} s CPU; per epoch "
              f"{row['test_accuracy_per_epoch']}", flush=True)
    accs = [r["test_accuracy"] for r in results]
    summary = {"scale": args.scale, "settings": training, "n_train": len(train_x), "n_test": len(test_x),
               "runs": results, "min_accuracy": min(accs), "spread": max(accs) - min(accs)}
    print(f"min {summary['min_accuracy']:.1f} %, spread {summary['spread']:.1f} points over seeds {args.seeds}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
