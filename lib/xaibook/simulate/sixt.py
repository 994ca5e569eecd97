"""Sixt et al. 2022 as a simulated evaluation: is an attribute relevant to the model? (Sec. 3-5)

Participants judged, for one model, which attributes of Two4Two's animals it relies on, from
the baseline grid, the INN's counterfactuals or concepts (Table 2). An agent can only learn
that question across models (Chen et al. 2022, Sec. 5), so the world trains a population of
base models (a job map, :mod:`.jobs`): each on a Two4Two set drawn from one shared unbiased
pool, in which each of Color, Shape, Background and Posture is, at random, made predictive of
the class (the answer key: the attribute is relevant when its training data were biased; the
legs always define the class). Per base model and condition the agent sees:

* ``Baseline``: the probe images in the five logit columns of the study's grid
  (:func:`xaibook.studies.sixt2022.pipeline.baseline_grid`), each column's mean pooled image;
* ``Counterfactual``: start images moved to each column's centre logit, what changed per
  column (pooled). The study's INN is one model trained for hours; here the counterfactuals are
  gradient steps in pixel space on each small base model (a stand-in, said in every table);
* ``Concepts``: :func:`xaibook.explain.concepts.discover_concepts` on a middle layer, the
  kept concepts' exemplar panels (pooled).

A job trains one base model and returns its observations, so the job map's results are small.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import config
from .agents import Task
from .observe import pooled

STUDY = "sixt2022"
CONDITIONS = ("Baseline", "Counterfactual", "Concepts")
ATTRIBUTES = {"Color": "obj_color", "Shape": "spherical", "Background": "bg_color", "Posture": "bending"}
"""The attributes a base model's data may be biased on (Table 2's names) and their Two4Two factors."""
ANSWERS = ("irrelevant", "relevant")
JOB = "simulate.sixt2022.base_model"
CELLS = 3
SIZES = dict(
    smoke=dict(models=12, test_models=4, pool=384, n_train=256, epochs=2, size=32, probe=64, grid_rows=3,
               cf_rows=3, cf_steps=5, strength=0.9, sizes=(4, 8), seeds=(0, 1)),
    default=dict(models=24, test_models=8, pool=1500, n_train=600, epochs=4, size=32, probe=160, grid_rows=8,
                 cf_rows=6, cf_steps=15, strength=0.9, sizes=(6, 11, 16), seeds=(0, 1, 2)),
    paper=dict(models=400, test_models=100, pool=20000, n_train=4000, epochs=6, size=64, probe=500, grid_rows=10,
               cf_rows=10, cf_steps=50, strength=0.9, sizes=(4, 16, 64, 100, 300), seeds=(0, 1, 2)),
)
"""Base models and their sizes per scale (two dozen at default: fixed costs dominate there, so 24 models cost
about what 20 do; hundreds at paper; Issue 16)."""
POOL_SEED, PROBE_SEED = 101, 102


def sizes() -> dict:
    """The simulation's sizes at the current scale."""
    return dict(SIZES[config.scale().name])


def jobs(s: dict | None = None) -> list[dict]:
    """One job (a plain dict: its cache key) per base model; the biased attributes drawn per model."""
    s = s or sizes()
    rng = np.random.default_rng([STUDY.__len__(), 16])
    out = []
    for m in range(s["models"]):
        biased = rng.random(len(ATTRIBUTES)) < 0.5
        out.append({"model": m, "biased": [bool(b) for b in biased], "seed": m, "pool": s["pool"],
                    "n_train": s["n_train"], "epochs": s["epochs"], "size": s["size"], "probe": s["probe"],
                    "grid_rows": s["grid_rows"], "cf_rows": s["cf_rows"], "cf_steps": s["cf_steps"],
                    "strength": s["strength"]})
    return out


def scenes(n: int, seed: int, size: int) -> tuple[list, Any]:
    """``(params, uint8 images)`` of ``n`` unbiased Two4Two scenes (rendered once, cached)."""
    from ..world import two4two
    from ..world.importance import render_cached

    params = two4two.sample(n, sampler="unbiased", seed=seed)
    return params, render_cached(params, size=size, supersample=1, desc=f"two4two {n} scenes")


def _attribute_classes(params) -> np.ndarray:
    """``[N, 4]``: each attribute's value on the Stretchy side (colour, shape, background above 0.5; bending > 0)."""
    v = np.array([[getattr(p, f) for f in ATTRIBUTES.values()] for p in params])
    return v > np.array([0.5, 0.5, 0.5, 0.0])


def training_set(params, biased, n: int, strength: float, seed: int) -> np.ndarray:
    """``n`` pool positions: each biased attribute agrees with the class on ``strength`` of them."""
    y = np.array([p.obj_name == "stretchy" for p in params])
    agree = _attribute_classes(params) == y[:, None]
    w = np.ones(len(params))
    for j, b in enumerate(biased):
        if b:
            w *= np.where(agree[:, j], strength, 1 - strength)
    rng = np.random.default_rng([seed, 17])
    return np.sort(rng.choice(len(params), size=min(n, len(params)), replace=False, p=w / w.sum()))


class _Logit(torch.nn.Module):
    """A two-class net as the study's one-logit model (Stretchy minus Peeky)."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out[:, 1] - out[:, 0]


def _counterfactuals(model, x, targets, steps: int):
    """Each start image moved by gradient steps in pixel space towards each target logit: ``[R,T,3,H,W]``."""
    out = []
    for t in targets:
        d = torch.zeros_like(x, requires_grad=True)
        opt = torch.optim.Adam([d], lr=0.05)
        for _ in range(steps):
            opt.zero_grad()
            loss = ((model((x + d).clamp(0, 1)) - float(t)) ** 2).mean() + 1e-3 * d.pow(2).mean()
            loss.backward()
            opt.step()
        out.append((x + d.detach()).clamp(0, 1))
    return torch.stack(out, 1)


def base_model(job: dict) -> dict:
    """One job: train a base model on its biased set, then its three screens as observations."""
    from ..explain.concepts import discover_concepts
    from ..models import classifiers, train
    from ..models.inference import predict
    from ..studies.sixt2022.pipeline import baseline_grid, column_targets

    torch.manual_seed(job["seed"])
    params, images = scenes(job["pool"], POOL_SEED, job["size"])
    idx = training_set(params, job["biased"], job["n_train"], job["strength"], job["seed"])
    y = torch.tensor([int(params[i].obj_name == "stretchy") for i in idx])
    net = classifiers.small_vgg(2, widths=(8, 16, 32), convs_per_block=1)
    net, _ = train.train(net, (images[torch.as_tensor(idx)], y), epochs=job["epochs"], batch_size=32, lr=3e-3,
                         device=torch.device("cpu"), amp=False, seed=job["seed"], desc="base model")
    model = _Logit(net).eval()
    probe_params, probe = scenes(job["probe"], PROBE_SEED, job["size"])
    x = probe.float() / 255
    logits = predict(model, x, batch_size=64, device=torch.device("cpu")).flatten()
    truth = torch.tensor([p.obj_name == "stretchy" for p in probe_params])
    grid = baseline_grid(logits.numpy(), rows=job["grid_rows"], seed=job["seed"])
    base = np.stack([pooled(x[torch.tensor(grid[grid["column"] == c]["index"].to_numpy())], CELLS).mean(0)
                     if (grid["column"] == c).any() else np.zeros(3 * CELLS * CELLS, np.float32) for c in range(5)])
    base = (base - base.mean(0, keepdims=True)).ravel()
    start = x[: job["cf_rows"]]
    cf = _counterfactuals(model, start, column_targets(logits.numpy()), job["cf_steps"])
    change = np.stack([pooled(cf[:, c] - start, CELLS).mean(0) for c in range(cf.shape[1])]).ravel()
    layer = [n for n, m in model.named_modules() if isinstance(m, torch.nn.ReLU)][1]
    ce = discover_concepts(model, layer, x, logits, n_components=6, keep=3, n_exemplars=4, seed=job["seed"])
    concepts = np.stack([pooled(ce.panels[k], CELLS).mean(0) for k in range(ce.panels.shape[0])]).ravel()
    return {"biased": job["biased"], "accuracy": float(((logits > 0) == truth).float().mean()),
            "Baseline": base.astype(np.float32), "Counterfactual": change.astype(np.float32),
            "Concepts": concepts.astype(np.float32)}


def run_jobs(backend: str = "inprocess", workers: int = 2, address: str | None = None,
             timings: list | None = None, s: dict | None = None) -> list[dict]:
    """Every base model's job through :func:`xaibook.simulate.jobs.map_jobs` (the shared scenes rendered first)."""
    from .jobs import map_jobs

    s = s or sizes()
    scenes(s["pool"], POOL_SEED, s["size"])
    scenes(s["probe"], PROBE_SEED, s["size"])
    return map_jobs(JOB, base_model, jobs(s), backend=backend, workers=workers, address=address,
                    desc="Sixt base models", timings=timings)


REFERENCE = "Baseline"
"""The condition the others are compared with (the study's control, Sec. 5)."""
HUMAN_NAMES = {"Baseline": "Baseline", "Counterfactual": "INN", "Concepts": "Concepts"}


def human() -> pd.DataFrame:
    """Table 2, study 2: people's accuracy per condition and attribute (the model they judged was the study's INN)."""
    from ..studies.sixt2022 import published_accuracy

    t = published_accuracy()
    t = t[(t["study"] == 2) & t["attribute"].isin(list(ATTRIBUTES)) & t["condition"].isin(list(HUMAN_NAMES.values()))]
    back = {v: k for k, v in HUMAN_NAMES.items()}
    return pd.DataFrame({"question": [f"is {a} relevant to the model?" for a in t["attribute"]],
                         "condition": t["condition"].map(back).to_numpy(), "population": "study 2",
                         "accuracy": t["value"].to_numpy() / 100, "n": t["n"].to_numpy(),
                         "source": "published: Sixt et al. 2022, Table 2"})


def simulate(backend: str = "inprocess", workers: int = 2, address: str | None = None) -> tuple[list[Task], None]:
    """The four tasks (:func:`tasks`) and no extra rows."""
    return tasks(backend=backend, workers=workers, address=address), None


def tasks(results: list[dict] | None = None, **kwargs) -> list[Task]:
    """One task per attribute: is it relevant to the model? Train on the first models, test on the last."""
    s = sizes()
    results = results if results is not None else run_jobs(**kwargs)
    n_test = s["test_models"]
    tr, te = results[:-n_test], results[-n_test:]
    acc = np.mean([r["accuracy"] for r in results])
    out = []
    for j, name in enumerate(ATTRIBUTES):
        y = lambda rs: np.array([int(r["biased"][j]) for r in rs])  # noqa: E731
        meta = pd.DataFrame({"stimulus": [f"base model {len(tr) + i}" for i in range(n_test)], "group": name,
                             "truth": [ANSWERS[v] for v in y(te)]})
        out.append(Task(STUDY, f"is {name} relevant to the model?", ANSWERS, CONDITIONS,
                        {c: np.stack([r[c] for r in tr]) for c in CONDITIONS}, y(tr),
                        {c: np.stack([r[c] for r in te]) for c in CONDITIONS}, y(te), meta, n_features=None,
                        data=(f"simulated: agents over {len(results)} small CNNs trained on biased Two4Two sets "
                              f"({s['size']} px; gradient counterfactuals stand in for the INN)"),
                        notes=[f"base models' mean probe accuracy {acc:.2f}; people judged one model (the study's "
                               "INN), agents judge many"]))
    return out
