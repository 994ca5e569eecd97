"""Alqaraawi et al. 2020: example images, LRP maps and what the maps show (Sec. 3.1.2, 3.2.1, 5.1.1).

* :func:`examples`: for every task image, 12 training images (6 TP, 3 FN, 3 FP) chosen nearest by
  cosine in fc7 (the paper), at random, or spread by k-centre; :func:`selection_comparison` sets
  them side by side (distance to the task image, coverage of the test cases of each outcome);
* :func:`lrp_maps`: signed LRP alpha2-beta1 maps from the class logit, zennit's VGG canonizer;
* :func:`relevance_measurements`: positive relevance per outcome, its share inside the object's
  mask and on the rails, the ground truth for the paper's two readings of its maps.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ... import cache, runs
from ...errors import ParameterError
from ...explain import example_selection as sel
from ...metrics.relevance import relevance_mass
from .data import Split
from .pipeline import ERROR_OUTCOMES, EXAMPLE_COUNTS, Plan, class_index, model_key
from .published import STUDY

STRATEGIES = ("nearest", "random", "k-centre")


def _bank_candidates(p: Plan, data: dict[str, Split], out: dict, thr: np.ndarray, cls: str) -> dict[str, np.ndarray]:
    c = class_index(p, cls)
    lab = data["train"].labels[:, c].numpy() > 0
    pred = out["train"]["logits"][:, c].numpy() >= thr[c]
    return {"TP": np.flatnonzero(lab & pred), "FN": np.flatnonzero(lab & ~pred), "FP": np.flatnonzero(~lab & pred)}


def examples(p: Plan, data: dict[str, Split], out: dict, thr: np.ndarray, tasks: pd.DataFrame,
             strategy: str = "nearest", counts: dict[str, int] | None = None) -> pd.DataFrame:
    """Step 5 (Sec. 3.2.1): per task image, training examples of each outcome for its class.

    ``strategy``: ``"nearest"`` (cosine in fc7, the paper), ``"random"`` (seeded) or ``"k-centre"``
    (spread over the candidates, starting from the nearest). Returns one row per example: ``task``
    (row of ``tasks``), ``task_class``, ``outcome``, ``bank`` (training image), ``distance`` (cosine,
    to the task image). Raises :class:`ParameterError` with the counts found when a class has too
    few training images of an outcome.
    """
    from ...explain.neighbours import examples_by_outcome

    if strategy not in STRATEGIES:
        raise ParameterError(f"strategy={strategy!r}; use one of {STRATEGIES}")
    counts = dict(counts or EXAMPLE_COUNTS)
    bank = out["train"]["features"]
    queries = out["test"]["features"][torch.tensor(tasks["image"].tolist(), dtype=torch.long)]
    rows = []
    for cls in tasks["task_class"].unique():
        cand = _bank_candidates(p, data, out, thr, cls)
        short = {o: len(cand[o]) for o, k in counts.items() if len(cand[o]) < k}
        if short:
            raise ParameterError(f"class {cls!r}: the training split has too few example candidates "
                                 f"({', '.join(f'{len(cand[o])} {o}' for o in counts)}; need "
                                 f"{', '.join(f'{k} {o}' for o, k in counts.items())}); use a larger n_train")
        for t in np.flatnonzero(tasks["task_class"].to_numpy() == cls):
            q = queries[t:t + 1]
            if strategy == "nearest":
                ex = examples_by_outcome(q, bank, data["train"].labels > 0,
                                         out["train"]["logits"] >= torch.as_tensor(thr, dtype=torch.float32),
                                         class_index(p, cls), counts=counts, metric="cosine", backend="torch",
                                         exclude_self=False)
                chosen = {o: ex.indices[o][0].numpy() for o in counts}
            elif strategy == "random":
                chosen = sel.random_examples(cand, counts, seed=p.seed * 1000 + int(t))
            else:
                chosen = sel.k_centre_examples(q[0], bank, cand, counts)
            for o in counts:
                idx = np.asarray(chosen[o])
                d = sel.cosine_distances(q, bank[torch.as_tensor(idx)])[0]
                for i, dd in zip(idx, d):
                    rows.append({"task": int(t), "task_class": cls, "outcome": o, "bank": int(i), "distance": float(dd)})
    return pd.DataFrame(rows)


def selection_comparison(p: Plan, out: dict, table: pd.DataFrame, tasks: pd.DataFrame,
                         chosen: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per strategy and outcome: mean distance of the examples to their task image, and coverage,
    the mean distance from each test image of that class and outcome to the nearest example of the
    same outcome shown with a task (lower: every case has a similar example)."""
    bank, test = out["train"]["features"], out["test"]["features"]
    t = table[table["split"] == "test"]
    rows = []
    for strategy, ex in chosen.items():
        for o in ERROR_OUTCOMES:
            cover = []
            for task, g in ex[ex["outcome"] == o].groupby("task"):
                cls = tasks.loc[task, "task_class"]
                targets = t[(t["class"] == cls) & (t["outcome"] == o)]["image"].to_numpy()
                if len(targets):
                    cover.append(sel.coverage(bank[torch.tensor(g["bank"].tolist(), dtype=torch.long)],
                                              test[torch.tensor(targets.tolist(), dtype=torch.long)]).mean())
            sub = ex[ex["outcome"] == o]
            rows.append({"strategy": strategy, "outcome": o, "distance to task": sub["distance"].mean(),
                         "coverage distance": float(np.mean(cover)) if cover else float("nan"),
                         "distinct examples": sub["bank"].nunique()})
    return pd.DataFrame(rows)


def lrp_maps(model: torch.nn.Module, images: torch.Tensor, targets, batch: int = 32, desc: str = "LRP") -> torch.Tensor:
    """Signed LRP maps ``[B,1,H,W]`` (alpha2-beta1 on every layer, zennit's VGG canonizer, relevance
    starting from the target logit; Sec. 3.1.2) for uint8 ``images``."""
    from ...explain import lrp
    from ...models.inference import model_device
    from ...progress import bar

    dev = model_device(model)
    t = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    out = []
    starts = list(range(0, len(images), batch))
    for s in (bar(starts, desc=desc, unit="batch") if len(starts) > 1 else starts):
        x = images[s:s + batch].to(dev).float() / 255
        out.append(lrp(model, x, t[s:s + batch].to(dev), rule="alpha2beta1", canonizer="vgg").cpu())
    return torch.cat(out) if out else torch.zeros(0, 1, *images.shape[2:])


def cached_maps(p: Plan, data: dict[str, Split], model, split: str, index, targets, step: str) -> torch.Tensor:
    """:func:`lrp_maps` of images ``index`` of ``split`` for class indices ``targets`` (cached, timed)."""
    index, targets = np.asarray(index, dtype=np.int64), np.asarray(targets, dtype=np.int64)
    key = {**model_key(p, data), "split": split, "index": index.tolist(), "targets": targets.tolist()}
    return runs.timed(STUDY, step, key, lambda: cache.cached(
        "alqaraawi2020.lrp", key, lambda: lrp_maps(model, data[split].images[torch.as_tensor(index)], targets,
                                                  desc=step)))


def relevance_sample(p: Plan, table: pd.DataFrame, context_class: str | None) -> pd.DataFrame:
    """Test images whose maps are measured: up to ``p.relevance_per_outcome`` per class (the task
    classes and the class with a context region) and outcome, seeded."""
    rng = np.random.default_rng([p.seed, 7])
    t = table[table["split"] == "test"]
    rows = []
    for cls in list(p.task_classes) + ([context_class] if context_class else []):
        for o in ERROR_OUTCOMES:
            g = t[(t["class"] == cls) & (t["outcome"] == o)]
            k = min(len(g), p.relevance_per_outcome)
            rows.append(g.iloc[np.sort(rng.choice(len(g), k, replace=False))])
    return pd.concat(rows, ignore_index=True)[["class", "image", "outcome", "logit"]]


def relevance_measurements(p: Plan, data: dict[str, Split], sample: pd.DataFrame, maps: torch.Tensor) -> pd.DataFrame:
    """Step 7: per measured map, the positive relevance and where it lies (object, other objects, rails).

    ``inside_object``: share of the positive relevance on the class's own objects (TP, FN);
    ``on_other_objects``: on the other labelled objects (what an FP may have been mistaken for);
    ``on_context``: on the rails (scenes only), beside each region's share of the image area.
    """
    test = data["test"]
    idx = torch.tensor(sample["image"].tolist(), dtype=torch.long)
    cmap = test.class_map[idx]
    target = torch.as_tensor([class_index(p, c) + 1 for c in sample["class"]])[:, None, None]
    own = cmap == target
    other = (cmap > 0) & ~own
    a = relevance_mass(maps, own)
    b = relevance_mass(maps, other)
    out = sample.reset_index(drop=True).copy()
    out["positive"], out["negative"], out["positive_share"] = a["positive"], a["negative"], a["positive_share"]
    out["inside_object"], out["object_area"] = a["inside"], a["area"]
    out["on_other_objects"], out["other_area"] = b["inside"], b["area"]
    if test.context is not None:
        c = relevance_mass(maps, test.context[idx])
        out["on_context"], out["context_area"] = c["inside"], c["area"]
    return out


def relevance_summary(meas: pd.DataFrame) -> pd.DataFrame:
    """Medians per class and outcome of the measures of :func:`relevance_measurements`."""
    cols = [c for c in ("positive", "positive_share", "inside_object", "object_area", "on_other_objects", "other_area",
                        "on_context", "context_area") if c in meas]
    g = meas.groupby(["class", "outcome"], sort=False)
    s = g[cols].median()
    s.insert(0, "images", g.size())
    return s.reset_index()


def readings(meas: pd.DataFrame, task_classes, context_class: str | None) -> dict[str, float]:
    """The paper's two readings as numbers: FN/TP ratios of the median positive relevance and of the
    median share of red (positive over absolute relevance, what a map scaled to its own maximum
    shows), task classes pooled; and for the context class's TP maps the median share on the rails over the
    median share of the image the rails cover (> 1: the rails draw more evidence than their area)."""
    m = meas[meas["class"].isin(list(task_classes))]
    med = m.groupby("outcome")["positive"].median()
    share = m.groupby("outcome")["positive_share"].median()
    out = {"fn_tp_positive_ratio": float(med.get("FN", np.nan) / med.get("TP", np.nan)) if "TP" in med else np.nan,
           "fn_tp_share_ratio": float(share.get("FN", np.nan) / share.get("TP", np.nan)) if "TP" in share else np.nan}
    if context_class and "on_context" in meas:
        tp = meas[(meas["class"] == context_class) & (meas["outcome"] == "TP")]
        area = tp["context_area"].median()
        out["context_share"] = float(tp["on_context"].median())
        out["context_area"] = float(area)
        out["context_ratio"] = float(tp["on_context"].median() / area) if area > 0 else float("nan")
    return out
