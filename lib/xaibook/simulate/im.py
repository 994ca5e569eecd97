"""Im, Andreas & Zhou 2023 as a simulated evaluation: the model-selection and counterfactual tasks.

1. *Which model of a pair was trained on mislabeled data?* From both models' outputs (and, by
   condition, their maps) on a few training images (the chapter's selection task). The answer is
   only learnable across pairs, so the world trains many baseline/mislabeled pairs with the
   chapter's own function (:func:`xaibook.studies.im2023.model_pair`, one seed per pair) as a job
   map (:mod:`.jobs`; in-process by default, on Ray when asked).
2. *Does the model still say "bus or train" when this object is blurred?* From the image, the
   object, the model's output before (and, by condition, its map); every model of every pair.

Conditions (the summary's seven): no explanation, or SmoothGrad / Grad-CAM / the oracle map seen
in training only or in training and evaluation. "Training only" agents learn from observations
with the map and are scored on observations whose map channels hold the training mean (no map).
Items of held-out pairs are the test trials. Blur strength: the middle of the plan's strengths
(the chapter calibrates one pair; calibrating every pair would double the jobs).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .. import config
from .agents import Task
from .observe import map_channels, pooled

STUDY = "im2023"
METHODS = ("SmoothGrad", "GradCAM", "oracle")
ACCESS = ("training only", "training and evaluation")
CONDITIONS = ("none",) + tuple(f"{m} ({a})" for m in METHODS for a in ACCESS)
REFERENCE = "none"
"""The condition the others are compared with (no explanation, the summary's control)."""
JOB = "simulate.im2023.pair"
SIZES = dict(smoke=dict(pairs=4, test_pairs=2, items=4, objects=6, epochs=4, sizes=(4, 8), seeds=(0, 1)),
             default=dict(pairs=6, test_pairs=2, items=5, objects=10, epochs=1, sizes=(10, 20, 80),
                          seeds=(0, 1, 2)),
             paper=dict(pairs=200, test_pairs=50, items=10, objects=20, epochs=10, sizes=(16, 64, 256, 1500),
                        seeds=(0, 1, 2)))
"""Pairs and items per scale: at default 6 pairs (12 models) of one epoch, what the 6-minute budget for all
chapters' agents leaves (about 15 s per pair on the 2-core CPU); hundreds of models at paper (Issue 16)."""
PAIR_SEED_OFFSET = 100
"""Pair seeds start here, so the population shares no pair with the chapter's (seeds 0 .. pairs-1)."""


def sizes() -> dict:
    """The simulation's sizes at the current scale."""
    return dict(SIZES[config.scale().name])


def human() -> None:
    """No accuracies are public (the summary reports only that no explanation condition beat none)."""
    return None


def jobs(s: dict | None = None) -> list[dict]:
    """One job (its cache key) per pair."""
    s = s or sizes()
    return [{"seed": PAIR_SEED_OFFSET + i, "epochs": s["epochs"], "items": s["items"], "objects": s["objects"],
             "scale": config.scale().name} for i in range(s["pairs"])]


def _maps(model, data, index, p, sigma) -> dict:
    import torch

    from ..studies.im2023 import tasks

    x = data.images[torch.tensor(np.asarray(index, dtype=np.int64))]
    return {m: map_channels(tasks.explain(model, data, index, m, p, sigma).float().clamp(min=0), x) for m in METHODS}


def pair_job(job: dict) -> dict:
    """One job: train a baseline/mislabeled pair, then its selection items and counterfactual items."""
    import torch

    from ..studies import im2023 as im
    from ..studies.im2023 import tasks

    p = im.plan()
    p = dataclasses.replace(p, epochs=min(p.epochs, job["epochs"]))
    pair = im.model_pair(job["seed"], p.confuser, p)
    train, test = im.split("train", p), im.split("test", p)
    sigma = float(p.blur_sigmas[len(p.blur_sigmas) // 2])
    rng = np.random.default_rng([job["seed"], 23])
    # 1. selection: ``items`` sets of ``selection_images`` training images; model A is the mislabeled one when swapped
    k = p.selection_images
    idx = rng.choice(len(train), job["items"] * k, replace=False)
    members = {"baseline": pair.first, "mislabeled": pair.second}
    pred = {n: (im.margins(m, train.images[torch.as_tensor(idx)]) > 0).numpy().astype(np.float32)
            for n, m in members.items()}
    maps = {n: _maps(m, train, idx, p, sigma) for n, m in members.items()}
    img = pooled(train.images[torch.as_tensor(idx)])
    swap = rng.integers(0, 2, job["items"]).astype(bool)
    sel = {"y": swap.astype(np.int64), "base": [], **{m: [] for m in METHODS}}
    for i in range(job["items"]):
        r = slice(i * k, (i + 1) * k)
        a, b = ("mislabeled", "baseline") if swap[i] else ("baseline", "mislabeled")
        sel["base"].append(np.concatenate([img[r].mean(0), [pred[a][r].mean(), pred[b][r].mean(),
                                                            (pred[a][r] != pred[b][r]).mean()]]))
        for m in METHODS:
            ma, mb = maps[a][m][r], maps[b][m][r]
            sel[m].append(np.concatenate([ma.mean(0), mb.mean(0), np.abs(ma - mb).mean(0)]))
    # 2. counterfactual: ``objects`` blurred objects per model; the answer is the output after blurring
    objs = tasks.candidates(test)
    pick = objs.iloc[np.sort(rng.choice(len(objs), min(job["objects"], len(objs)), replace=False))].reset_index(drop=True)
    scenes = pick["scene"].to_numpy(np.int64)
    cf = {"y": [], "group": [], "base": [], **{m: [] for m in METHODS}}
    for name, m in members.items():
        e = tasks.object_effects(m, test, pick, sigma)
        mask = torch.stack([test.instances[s] == int(i) for s, i in zip(scenes, pick["instance"])]).float()[:, None]
        mp = _maps(m, test, scenes, p, sigma)
        pos = test.scenes["positive"].to_numpy(bool)[scenes]
        cf["y"].append((e["after"] > 0).to_numpy().astype(np.int64))
        cf["group"].append(np.where(pick["class"] != "car", pick["class"], np.where(pos, "car beside", "car alone")))
        cf["base"].append(np.concatenate([pooled(test.images[torch.as_tensor(scenes)]), pooled(mask),
                                          (e["before"] > 0).to_numpy(np.float32)[:, None],
                                          np.full((len(pick), 1), name == "mislabeled", np.float32)], axis=1))
        for meth in METHODS:
            raw = tasks.explain(m, test, scenes, meth, p, sigma).float().clamp(min=0)
            inside = (raw * mask).flatten(1).sum(1) / raw.flatten(1).sum(1).clamp(min=1e-8)
            cf[meth].append(np.concatenate([mp[meth], inside.numpy()[:, None]], axis=1))
    out = {"selection": {k_: np.asarray(v, dtype=np.float32) if k_ != "y" else v for k_, v in sel.items()},
           "counterfactual": {k_: np.concatenate(v) for k_, v in cf.items()},
           "accuracy": im.evaluate([pair], test, p.confuser).iloc[0].to_dict()}
    for m in ("base",) + METHODS:
        out["counterfactual"][m] = out["counterfactual"][m].astype(np.float32)
    return out


def run_jobs(backend: str = "inprocess", workers: int = 2, address: str | None = None,
             timings: list | None = None, s: dict | None = None) -> list[dict]:
    """Every pair's job through :func:`xaibook.simulate.jobs.map_jobs` (the chapter's splits rendered first)."""
    from ..studies import im2023 as im
    from .jobs import map_jobs

    p = im.plan()
    im.split("train", p), im.split("test", p)
    return map_jobs(JOB, pair_job, jobs(s), backend=backend, workers=workers, address=address,
                    desc="Im model pairs", timings=timings)


def _task(question, answers, part, results, n_test, n_features, meta_fn, data) -> Task:
    tr, te = results[:-n_test], results[-n_test:]
    stack = lambda rs, k: np.concatenate([np.atleast_2d(r[part][k]) for r in rs])  # noqa: E731
    ytr = np.concatenate([r[part]["y"] for r in tr]).astype(np.int64)
    yte = np.concatenate([r[part]["y"] for r in te]).astype(np.int64)
    train, test = {"none": stack(tr, "base")}, {"none": stack(te, "base")}
    for m in METHODS:
        full_tr = np.concatenate([stack(tr, "base"), stack(tr, m)], axis=1)
        full_te = np.concatenate([stack(te, "base"), stack(te, m)], axis=1)
        blind = full_te.copy()
        blind[:, train["none"].shape[1]:] = full_tr[:, train["none"].shape[1]:].mean(0)
        train[f"{m} (training only)"], test[f"{m} (training only)"] = full_tr, blind
        train[f"{m} (training and evaluation)"], test[f"{m} (training and evaluation)"] = full_tr, full_te
    return Task(STUDY, question, answers, CONDITIONS, train, ytr, test, yte, meta_fn(te), n_features, data)


def simulate(backend: str = "inprocess", workers: int = 2, address: str | None = None) -> tuple[list[Task], None]:
    """The two tasks over the pair population."""
    s = sizes()
    results = run_jobs(backend=backend, workers=workers, address=address)
    nt = s["test_pairs"]
    acc = pd.DataFrame([r["accuracy"] for r in results])
    data = (f"simulated: agents over {len(results)} baseline/mislabeled model pairs trained here on the offline "
            f"scenes ({s['epochs']} epochs each)")

    def sel_meta(rs):
        return pd.DataFrame({"stimulus": [f"pair {PAIR_SEED_OFFSET + len(results) - nt + i} item {j}"
                                          for i, r in enumerate(rs) for j in range(len(r["selection"]["y"]))],
                             "truth": [("Model B" if v else "Model A") for r in rs for v in r["selection"]["y"]]})

    def cf_meta(rs):
        return pd.DataFrame({"stimulus": [f"pair {PAIR_SEED_OFFSET + len(results) - nt + i} object {j}"
                                          for i, r in enumerate(rs) for j in range(len(r["counterfactual"]["y"]))],
                             "group": np.concatenate([r["counterfactual"]["group"] for r in rs])})

    n_img = 3 * 36
    t1 = _task("which model was trained on mislabeled data?", ("Model A", "Model B"), "selection", results, nt,
               n_img, sel_meta, data)
    t2 = _task("does the output stay 'bus or train' when the object is blurred?", ("no", "yes"), "counterfactual",
               results, nt, n_img, cf_meta, data)
    note = (f"pairs' mean clean test accuracy: baseline {acc['accuracy_baseline'].mean():.2f}, mislabeled "
            f"{acc['accuracy_mislabeled'].mean():.2f}; {nt} of {len(results)} pairs held out")
    t1.notes.append(note)
    t2.notes.append(note)
    return [t1, t2], None
