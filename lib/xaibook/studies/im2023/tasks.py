"""Im et al. 2023, steps 3-5 and 7: explanations, the two tasks' items, and what the maps show.

* :func:`explain`: SmoothGrad, Grad-CAM on the last convolution, and the oracle: each object's
  mask weighted by the drop of the model's evidence when that object alone is blurred;
* :func:`calibration` and :func:`flip_table`: the blur strength per model that flips about half
  of the outputs, and the flips per object class (task 2's ground truth);
* :func:`selection_items` (task 1) and :func:`counterfactual_items` (task 2);
* :func:`mask_mass`: the share of each map on the car in car-only images, per model and method.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ... import cache, runs
from ...cache import digest
from ...errors import ParameterError
from ...metrics.relevance import relevance_mass
from ...models.paired import Pair, weights_digest
from ...world.scenes import blur_objects
from . import data as task
from .pipeline import METHODS, Plan, margins, plan, sizes, task2_pair
from .published import STUDY

MODELS = ("baseline", "mislabeled")
#: Objects the counterfactual task blurs: the positives and the confuser (others never flip a clean model).
BLUR_CLASSES = ("bus", "train", "car")
MIN_SHARE = 0.01  # an object must cover 1 % of the image to be blurred or weighted


def _members(pair: Pair) -> dict:
    return {"baseline": pair.first, "mislabeled": pair.second}


# ------------------------------------------------------------------------------------- blurring
def candidates(data: task.TaskData, classes=BLUR_CLASSES) -> pd.DataFrame:
    """Objects large enough to blur: one row per (scene, instance, class)."""
    side = data.images.shape[-1]
    o = data.objects
    keep = o["class"].isin(classes) & (o["pixels"] >= MIN_SHARE * side * side)
    return o[keep].reset_index(drop=True)


def blurred(data: task.TaskData, objs: pd.DataFrame, sigma: float) -> torch.Tensor:
    """``[K,3,S,S]`` float images, each with one object of ``objs`` blurred (sigma in pixels)."""
    sc = torch.as_tensor(objs["scene"].to_numpy(np.int64).copy())
    masks = data.instances[sc] == torch.as_tensor(objs["instance"].to_numpy(np.int64).copy()).view(-1, 1, 1)
    return blur_objects(data.float_images(sc), masks, sigma=float(sigma), margin=1)


def object_effects(model: torch.nn.Module, data: task.TaskData, objs: pd.DataFrame, sigma: float) -> pd.DataFrame:
    """``objs`` plus the model's evidence before/after blurring each object, its drop and whether the output flips."""
    before = margins(model, data.images[torch.as_tensor(objs["scene"].to_numpy(np.int64).copy())]) if len(objs) else torch.zeros(0)
    after = margins(model, blurred(data, objs, sigma)) if len(objs) else torch.zeros(0)
    out = objs.copy()
    out["before"], out["after"] = before.numpy(), after.numpy()
    out["drop"] = out["before"] - out["after"]
    out["flip"] = (out["before"] > 0) != (out["after"] > 0)
    out["sigma"] = float(sigma)
    return out


def calibration(pair: Pair, test: task.TaskData, p: Plan | None = None) -> pd.DataFrame:
    """Flip rate of each model at each blur strength of the plan; ``chosen`` marks the one nearest 0.5."""
    p = p or plan()
    objs = candidates(test)
    key = {"models": [weights_digest(m) for m in _members(pair).values()], "test": digest(test.images),
           "sigmas": list(p.blur_sigmas)}

    def compute() -> pd.DataFrame:
        rows = []
        for name, m in _members(pair).items():
            for s in p.blur_sigmas:
                e = object_effects(m, test, objs, s)
                rows.append({"model": name, "sigma": float(s), "flip_rate": float(e["flip"].mean()), "objects": len(e)})
        t = pd.DataFrame(rows)
        t["chosen"] = False
        for name, g in t.groupby("model"):
            t.loc[(g["flip_rate"] - 0.5).abs().idxmin(), "chosen"] = True
        return t

    return runs.timed(STUDY, "5 blur calibration", key, lambda: cache.cached("im2023.calibration", key, compute,
                                                                              fmt="pkl"))


def sigma_of(cal: pd.DataFrame, model: str) -> float:
    """The calibrated blur strength of ``model`` (``baseline`` or ``mislabeled``)."""
    return float(cal.loc[cal["chosen"] & (cal["model"] == model), "sigma"].iloc[0])


def flip_table(pair: Pair, test: task.TaskData, p: Plan | None = None) -> pd.DataFrame:
    """Task 2's ground truth at the calibrated strengths: per model and object class, items and flip rate.

    ``context`` tells a car alone (``car alone``) from a car beside a bus or train (``car beside``).
    """
    p = p or plan()
    cal = calibration(pair, test, p)
    objs = candidates(test)
    rows = []
    for name, m in _members(pair).items():
        e = object_effects(m, test, objs, sigma_of(cal, name))
        pos = test.scenes["positive"].to_numpy(bool)[e["scene"].to_numpy()]
        e["context"] = np.where(e["class"] != "car", e["class"], np.where(pos, "car beside", "car alone"))
        g = e.groupby("context")["flip"].agg(["size", "mean"]).reset_index()
        g.columns = ["object", "items", "flip_rate"]
        g.insert(0, "model", name)
        g["sigma"] = sigma_of(cal, name)
        rows.append(g)
    return pd.concat(rows, ignore_index=True)


# ---------------------------------------------------------------------------------- explanations
def explain(model: torch.nn.Module, data: task.TaskData, index, method: str, p: Plan, sigma: float) -> torch.Tensor:
    """``[B,1,S,S]`` maps of the "bus or train" logit for images ``index`` (cached by model and images).

    SmoothGrad: ``p.smoothgrad_samples`` noisy copies at noise ``p.smoothgrad_noise`` (absolute
    gradient, max over colours), divided by its maximum. Grad-CAM: the model's last convolution's
    ReLU, divided by its maximum. Oracle: every object covering 1 % of the image, weighted by the
    drop of the evidence when it alone is blurred at ``sigma`` (the task's own counterfactual) as a
    share of the evidence behind the model's answer (``drop / before``): positive where the object
    carries the answer, 1 where blurring it flips the answer, negative where it works against the
    answer (clipped to [-1, 1]), smoothed by ``p.oracle_blur``. SmoothGrad and Grad-CAM explain the
    "bus or train" logit whatever the answer; the oracle explains the answer.
    """
    from ... import explain as ex

    if method not in METHODS:
        raise ParameterError(f"method={method!r}; use one of {METHODS}")
    index = np.array(index, dtype=np.int64)
    key = {"model": weights_digest(model), "images": digest(data.images[torch.as_tensor(index)]), "method": method,
           "samples": p.smoothgrad_samples, "noise": p.smoothgrad_noise, "sigma": float(sigma), "blur": p.oracle_blur,
           "oracle": "answer", "target": "margin"}

    def compute() -> torch.Tensor:
        from ...explain.inputs import resolve_layer
        from ...models.margin import Margin

        x = data.float_images(index)
        t = torch.ones(len(index), dtype=torch.long)  # class 1 of Margin: the evidence for "bus or train"
        if method == "SmoothGrad":
            return ex.smoothgrad(Margin(model), x, t, n_samples=p.smoothgrad_samples, noise=p.smoothgrad_noise,
                                 normalize="max", batch_size=128).cpu()
        if method == "GradCAM":
            return ex.gradcam(Margin(model), x, t, layer=resolve_layer(model, model.gradcam_layer),
                              normalize="max").cpu()
        objs = data.objects[data.objects["scene"].isin(index)]
        side = data.images.shape[-1]
        objs = objs[objs["pixels"] >= MIN_SHARE * side * side].reset_index(drop=True)
        eff = object_effects(model, data, objs, sigma)
        k = max(1, int(eff.groupby("scene").size().max()) if len(eff) else 1)
        masks = torch.zeros(len(index), k, side, side)
        weights = torch.zeros(len(index), k)
        pos = {int(s): i for i, s in enumerate(index)}
        slot: dict[int, int] = {}
        for r in eff.itertuples():
            i = pos[int(r.scene)]
            j = slot.get(i, 0)
            slot[i] = j + 1
            masks[i, j] = (data.instances[int(r.scene)] == int(r.instance)).float()
            weights[i, j] = float(r.drop)
        answer = torch.ones(len(index))  # the evidence behind each image's answer (signed)
        for r in eff.itertuples():
            b = float(r.before)
            answer[pos[int(r.scene)]] = b if abs(b) > 1e-6 else 1e-6
        maps = ex.oracle(None, x, t, masks=masks, weights=weights, blur=p.oracle_blur, normalize=None).cpu()
        return (maps / answer.view(-1, 1, 1, 1)).clamp(-1, 1)

    return cache.cached("im2023.maps", key, compute)


# ----------------------------------------------------------------------------------------- tasks
def selection_items(pairs: list[Pair], train: task.TaskData, p: Plan | None = None) -> pd.DataFrame:
    """Task 1: per pair, ``p.selection_images`` training images shown for both models (one row per image).

    Preferred images: those both models answer alike (so predictions alone cannot answer), half
    of them with a car (car-only or beside a bus/train) where possible. ``answerable`` marks the
    items on whose images the two models' outputs differ somewhere. Pair 0 is the practice item.
    """
    p = p or plan()
    return runs.timed(STUDY, "4 selection items", sizes(p), lambda: _selection_items(pairs, train, p))


def _selection_items(pairs: list[Pair], train: task.TaskData, p: Plan) -> pd.DataFrame:
    rng = np.random.default_rng(p.seed + 101)
    cars = np.zeros(len(train), bool)
    cars[[int(s) for s in train.objects.loc[train.objects["class"] == p.confuser, "scene"].unique()]] = True
    rows = []
    for i, pr in enumerate(pairs):
        a = (margins(pr.first, train.images) > 0).numpy()
        b = (margins(pr.second, train.images) > 0).numpy()
        same = a == b
        want_car = p.selection_images // 2
        pick = list(rng.permutation(np.flatnonzero(same & cars))[:want_car])
        rest = rng.permutation(np.flatnonzero(same & ~np.isin(np.arange(len(train)), pick)))
        pick += list(rest[:p.selection_images - len(pick)])
        if len(pick) < p.selection_images:  # too few agreements: fill with disagreements
            more = rng.permutation(np.flatnonzero(~same))
            pick += list(more[:p.selection_images - len(pick)])
        swap = bool(rng.integers(2))  # model A is the mislabeled one when swapped
        for j, k in enumerate(pick):
            rows.append({"pair": i, "phase": "training" if i == 0 else "test", "position": j, "image": int(k),
                         "car": bool(cars[k]), "pred_baseline": int(a[k]), "pred_mislabeled": int(b[k]),
                         "mislabeled_is": "Model B" if not swap else "Model A"})
    t = pd.DataFrame(rows)
    t["answerable"] = (t["pred_baseline"] != t["pred_mislabeled"]).groupby(t["pair"]).transform("any").astype(bool)
    return t


def counterfactual_items(pair: Pair, test: task.TaskData, p: Plan | None = None) -> pd.DataFrame:
    """Task 2: per model, ``training_examples`` practice and ``counterfactual_items`` test items.

    Each item is one candidate object blurred at the model's calibrated strength; the answer is
    the model's output on the blurred image (``after > 0``).
    """
    p = p or plan()
    cal = calibration(pair, test, p)
    objs = candidates(test)
    n = p.training_examples + p.counterfactual_items
    if len(objs) < n:
        raise ParameterError(f"only {len(objs)} objects to blur among the {len(test)} test images, but {n} items are "
                             "needed; raise test_images or lower counterfactual_items")
    rng = np.random.default_rng(p.seed + 202)
    out = []
    for name, m in _members(pair).items():
        pick = objs.iloc[np.sort(rng.choice(len(objs), n, replace=False))].reset_index(drop=True)
        e = object_effects(m, test, pick, sigma_of(cal, name))
        e["model"] = name
        e["phase"] = ["training"] * p.training_examples + ["test"] * p.counterfactual_items
        e = pd.concat([e[e["phase"] == "training"], e[e["phase"] == "test"]], ignore_index=True)
        out.append(e)
    return pd.concat(out, ignore_index=True)


# ------------------------------------------------------------------------------------- step 7
def mask_mass(pairs: list[Pair], test: task.TaskData, p: Plan | None = None) -> pd.DataFrame:
    """Per pair, model and method: the mean share of the positive map on the car in car-only test images.

    The oracle of every pair blurs at the strengths calibrated for the task-2 pair (:func:`task2_pair`).

    A map with no positive value (e.g. Grad-CAM of a model whose evidence is all against "bus or
    train") puts nothing on the car: share 0, counted in ``empty``. ``level`` is the map's mean
    positive value on the car's pixels (SmoothGrad and Grad-CAM divided by their maximum, the
    oracle in its absolute units). ``area`` is the car's mean share of the image (where a map
    spread evenly would put its mass).
    Raises an error naming the knob when the test split has fewer car-only images than
    ``mask_mass_images``.
    """
    p = p or plan()
    return runs.timed(STUDY, "7 mask mass", {"pairs": len(pairs), **sizes(p)}, lambda: _mask_mass(pairs, test, p))


def _mask_mass(pairs: list[Pair], test: task.TaskData, p: Plan) -> pd.DataFrame:
    idx = task.require_only(test, p.confuser, p.mask_mass_images,
                            "test_images or p_car (the share of car scenes among the negatives)")[:p.mask_mass_images]
    masks = torch.stack([test.mask(int(i), p.confuser) for i in idx])
    rows = []
    cal = calibration(task2_pair(pairs), test, p) if pairs else None
    for i, pr in enumerate(pairs):
        for name, m in _members(pr).items():
            for method in METHODS:
                maps = explain(m, test, idx, method, p, sigma_of(cal, name))
                r = relevance_mass(maps, masks)
                level = (maps[:, 0].clamp(min=0) * masks).flatten(1).sum(1) / masks.flatten(1).sum(1).clamp(min=1)
                rows.append({"pair": i, "model": name, "method": method,
                             "on_car": float(r["inside"].fillna(0.0).mean()), "empty": float(r["inside"].isna().mean()),
                             "level": float(level.mean()), "area": float(r["area"].mean()), "images": len(idx)})
    return pd.DataFrame(rows)
