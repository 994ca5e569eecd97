"""Nguyen et al. 2021, step 5: the four explanations of every trial image and the screens people saw
(Sec. 2.3, A11, A13): GradCAM, extremal perturbation (EP), salient-object maps (SOD) and the
three nearest training images of the predicted class (3-NN), written as one stimulus set."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ... import config, runs
from ...cache import digest
from ...data import sources
from ...data.sources import Classifier, Pool
from ...errors import DataFormatError, ParameterError
from .pipeline import MAP_METHODS, STUDY, TORCHRAY_EP, Plan, TrialSet, _step, ep_schedule


@dataclass
class Explanations:
    """The four explanations of every image of a :class:`TrialSet`.

    ``maps``: ``GradCAM``, ``EP`` (the sum of the four area masks) and ``SOD``, each
    ``[N,1,S,S]``; ``neighbours``: per image the (up to) 3 nearest training images of the
    predicted class, ``neighbour_ids`` and ``neighbour_distances`` ``[N,3]`` (inf: none found).
    """

    maps: dict
    neighbours: list
    neighbour_ids: list
    neighbour_distances: np.ndarray
    notes: list[str] = field(default_factory=list)


def _poolnet_weights() -> Path | None:
    """A PoolNet checkpoint at ``<XAIBOOK_DATA>/poolnet/*.pth`` (exactly one), else None."""
    folder = config.data_root() / "poolnet"
    found = sorted(folder.glob("*.pth")) if folder.is_dir() else []
    if len(found) > 1:
        raise DataFormatError(f"{folder} holds several checkpoints ({', '.join(f.name for f in found)}); keep one")
    return found[0] if found else None


def _features_and_predictions(model, layer: str, images) -> tuple["torch.Tensor", np.ndarray]:
    """Flattened ``layer`` activations and top-1 labels of ``images`` (the 3-NN bank, Sec. 2.3),
    by :func:`xaibook.models.inference.predict` at the bank's batch size of 64."""
    from ...models.inference import model_device, predict

    device = model_device(model)
    feats = predict(model, images, output="features", layer=layer, batch_size=64, device=device).flatten(1)
    logits = predict(model, images, output="logits", batch_size=64, device=device)
    return feats, logits.argmax(1).numpy()


def _three_nn(clf: Classifier, trials: TrialSet, pool: Pool, p: Plan) -> tuple[list, list, np.ndarray, list[str]]:
    import torch

    from ...cache import cached
    from ...explain.neighbours import nearest_neighbours
    from ...progress import bar

    src = sources.get(clf.source, STUDY)
    bank = src.bank(clf, pool, set(trials.table["pool_index"]), per_class=p.nn_bank_per_class,
                    train_images=p.train_images, image_size=p.image_size, seed=p.seed)
    notes = [bank.note]
    k = 3
    min_distance = src.near_duplicate_distance
    n = len(trials)
    nbs: list = [[] for _ in range(n)]
    nb_ids: list = [[] for _ in range(n)]
    dists = np.full((n, k), np.inf)
    preds = trials.table["prediction"].to_numpy()
    relaxed = 0
    for cls in bar(sorted(set(preds.tolist())), desc=f"3-NN ({trials.dataset})", unit="class"):
        ids, imgs = bank.images(int(cls))
        rows = np.flatnonzero(preds == cls)
        if len(ids) == 0:
            continue
        key = {"model": clf.key, "layer": clf.gradcam_layer, "class": int(cls), "bank": digest(ids)}
        fb = cached("nguyen2021.bank-features", key,
                    lambda: dict(zip(("features", "predictions"),
                                     _features_and_predictions(clf.model, clf.gradcam_layer, imgs))))
        q = trials.images[torch.as_tensor(rows)]
        tgt = torch.full((len(rows),), int(cls), dtype=torch.long)
        labels = np.full(len(ids), int(cls))
        idx, dist = nearest_neighbours(clf.model, q, tgt, bank_features=fb["features"], bank_labels=labels,
                                       bank_predictions=np.asarray(fb["predictions"]), layer=clf.gradcam_layer, k=k,
                                       restrict="target", require_agreement=True, min_distance=min_distance)
        if (idx < 0).any():  # too few training images the model agrees on: fill from the others
            idx2, dist2 = nearest_neighbours(clf.model, q, tgt, bank_features=fb["features"], bank_labels=labels,
                                             layer=clf.gradcam_layer, k=k, restrict="target",
                                             require_agreement=False, min_distance=min_distance)
            for r in range(len(rows)):
                have = [j for j in idx[r].tolist() if j >= 0]
                if len(have) < k:
                    relaxed += 1
                    extra = [(j, d) for j, d in zip(idx2[r].tolist(), dist2[r].tolist()) if j >= 0 and j not in have]
                    for j, d in extra[:k - len(have)]:
                        pos = len(have)
                        idx[r, pos], dist[r, pos] = j, d
                        have.append(j)
        for r, row in enumerate(rows):
            sel = [j for j in idx[r].tolist() if j >= 0]
            nbs[row] = [imgs[j].float() / (255.0 if imgs.dtype == torch.uint8 else 1.0) for j in sel]
            nb_ids[row] = [str(ids[j]) for j in sel]
            dists[row, :len(sel)] = dist[r, :len(sel)].numpy()
    if relaxed:
        notes.append(f"{relaxed} image(s) had fewer than 3 training images the model also assigns to the class; "
                     "their 3-NN panel is filled with the nearest other training images of the class")
    missing = sum(1 for x in nbs if not x)
    if missing:
        notes.append(f"{missing} image(s) have no training image of the predicted class in the bank")
    return nbs, nb_ids, dists, notes


def ep_area_table(areas, side: int, step: int, sigma: float) -> pd.DataFrame:
    """EP's mask areas, reached and targeted, both as % of the image, one row per image.

    TorchRay's area constraint counts the mask's margin of ``sigma`` pixels around the image,
    so a target area ``a`` preserved inside the image covers ``a * (margin mask size) / (image
    size)`` of the image; a converged mask reaches about that (more for masks the smoothness
    cannot make that small).
    """
    from ...explain.extremal import NGUYEN_AREAS, SmoothMaskUpsampler

    a = np.asarray(areas.numpy() if hasattr(areas, "numpy") else areas, dtype=float).reshape(-1, len(NGUYEN_AREAS))
    up = SmoothMaskUpsampler((side, side), step, sigma)
    scale = up.numel_out / (side * side)
    cols = {}
    for j, t in enumerate(NGUYEN_AREAS):
        cols[f"target {100 * t:g} %"] = np.full(len(a), 100 * t * scale)
        cols[f"reached {100 * t:g} %"] = 100 * a[:, j]
    return pd.DataFrame(cols).round(1)


def ep_area_summary(areas: Mapping[str, Any], side: int, step: int, sigma: float) -> pd.DataFrame:
    """Reached against target for each of EP's four areas, over every image of ``areas`` (dataset ->
    ``[N, 4]`` mask areas as fractions of the image, :attr:`MapSet.ep_areas`).

    In the paper's unit (Sec. 2.3 via TorchRay: % of the mask with its margin, where a mask
    that keeps the margin at zero covers ``area * side**2 / (mask with margin)``): ``target (%)``,
    the mean ``reached (%)``, the smallest and largest mask, ``relative error`` of the mean
    and the share of masks within 20 % of the target.
    """
    import torch

    from ...explain.extremal import NGUYEN_AREAS, SmoothMaskUpsampler

    parts = [torch.as_tensor(a, dtype=torch.float64).reshape(-1, len(NGUYEN_AREAS)) for a in areas.values()
             if a is not None]  # None: a dataset without images at this scale
    a = torch.cat(parts).numpy() if parts else np.zeros((0, len(NGUYEN_AREAS)))
    to_full = 100 * side * side / SmoothMaskUpsampler((side, side), step, sigma).numel_out
    rows = []
    for j, target in enumerate(NGUYEN_AREAS):
        got = a[:, j] * to_full
        t = 100 * target
        rows.append({"target (%)": t, "reached (%)": got.mean() if len(got) else np.nan,
                     "smallest (%)": got.min() if len(got) else np.nan,
                     "largest (%)": got.max() if len(got) else np.nan,
                     "relative error": got.mean() / t - 1 if len(got) else np.nan,
                     "masks within 20 %": np.mean(np.abs(got / t - 1) <= 0.2) if len(got) else np.nan,
                     "masks": len(got)})
    return pd.DataFrame(rows).round(3)


class MapSet(dict):
    """Maps by method name; ``ep_areas`` ``[N, 4]``: the area each EP mask reached (fractions)."""

    ep_areas = None


EP_CACHE = f"{STUDY}.extremal"


def _map_key(clf: Classifier, trials: TrialSet) -> tuple[dict, "torch.Tensor"]:
    """The cache key shared by every map of ``trials`` (weights, images, targets) and the targets."""
    import torch

    targets = torch.as_tensor(np.array(trials.table["prediction"], dtype=np.int64))
    return {"model": clf.key, "images": digest(trials.images), "targets": digest(targets)}, targets


def _ep_job(clf: Classifier, trials: TrialSet, p: Plan, key: dict, targets) -> tuple[dict, Any]:
    """EP's cache key and its per-chunk computation (Sec. 2.3: four areas, blur, summed)."""
    import torch

    from ...explain.extremal import NGUYEN_AREAS, extremal_perturbation
    from ...models.wrappers import cpu_autocast

    schedule = ep_schedule(p)
    ep_key = {**key, "areas": list(NGUYEN_AREAS), "iterations": p.ep_iterations, "step": p.ep_step,
              "sigma": p.ep_sigma, "smooth": 0.09, "schedule": schedule, **config.precision_key()}
    model = cpu_autocast(clf.model)  # a bf16 copy on CPUs with native bf16, else clf.model

    def ep_chunk(rows):
        r = torch.as_tensor(list(rows))
        m, d = extremal_perturbation(model, trials.images[r], targets[r], areas=NGUYEN_AREAS,
                                     max_iter=p.ep_iterations, step=p.ep_step, sigma=p.ep_sigma, smooth=0.09,
                                     perturbation="blur", jitter=True, combine="sum", return_details=True,
                                     **schedule)
        return {"maps": m.cpu(), "areas": d["masks"].mean(dim=(2, 3)).cpu()}

    return ep_key, ep_chunk


@_step("5 explanations", lambda clf, trials, p, part, parts: {
    "model": clf.key, "trials": digest(trials.table["trial_id"].to_numpy()), "ep": [p.ep_iterations, p.ep_step],
    "part": [part, parts]})
def explain_ep_part(clf: Classifier, trials: TrialSet, p: Plan, part: int, parts: int) -> str:
    """Compute and cache EP's maps for one of ``parts`` consecutive shares of the images' chunks,
    so that the slowest step can be spread over several chapter cells; :func:`explain_maps`
    then loads those chunks (the same cache entries as its resumable loop). Returns a note."""
    from ...cache import default_cache

    if not 0 <= part < parts:
        raise ParameterError(f"part must be in 0..{parts - 1}, got {part}")
    n = len(trials)
    starts = list(range(0, n, p.ep_batch))
    mine = [s for i, s in enumerate(starts) if i * parts // len(starts) == part]
    if not mine:
        return f"EP ({trials.dataset}): part {part + 1} of {parts} holds no image"
    key, targets = _map_key(clf, trials)
    ep_key, ep_chunk = _ep_job(clf, trials, p, key, targets)
    rows = list(range(n))
    for s in mine:  # the chunk entries of xaibook.cache.map_chunks, so explain_maps finds them
        e = min(n, s + p.ep_batch)
        default_cache().get_or_compute(EP_CACHE, {"_parent": ep_key, "_chunk": [s, e], "_n": n},
                                       lambda s=s, e=e: ep_chunk(rows[s:e]), "pt")
    done = min(n, mine[-1] + p.ep_batch) - mine[0]
    return f"EP ({trials.dataset}, {p.ep_iterations} iterations): images {mine[0] + 1}-{mine[0] + done} of {n} done"


@_step("5 explanations", lambda clf, trials, p, methods=MAP_METHODS: {
    "model": clf.key, "trials": digest(trials.table["trial_id"].to_numpy()), "methods": list(methods),
    "ep": [p.ep_iterations, p.ep_step, p.ep_sigma]})
def explain_maps(clf: Classifier, trials: TrialSet, p: Plan, methods: Sequence[str] = MAP_METHODS) -> MapSet:
    """The heatmaps of every trial image for the AI's top-1 label (Sec. 2.3), ``[N,1,S,S]`` each.

    * ``GradCAM`` on ``layer4``, resized, divided by its max.
    * ``EP``: areas 2.5/5/10/20 %, blur, smoothing 0.09, jitter, ``p.ep_iterations`` iterations
      (TorchRay's 800 in the paper), the four masks summed; cell size and upsampler sigma scaled from
      TorchRay's 7 and 21 px at 224 px. Cached chunk by chunk (resumable).
    * ``SOD``: PoolNet when ``<XAIBOOK_DATA>/poolnet/<checkpoint>.pth`` exists, else the
      minimum-barrier salient-object map (offline and classifier-agnostic, like PoolNet).
    """
    import torch

    from ...cache import cached, map_chunks
    from ...explain.gradcam import gradcam
    from ...explain.salient_object import salient_object

    unknown = [m for m in methods if m not in MAP_METHODS]
    if unknown:
        raise ParameterError(f"unknown map method(s) {unknown}; use {MAP_METHODS}")
    n = len(trials)
    side = trials.images.shape[-1]
    key, targets = _map_key(clf, trials)
    maps = MapSet()
    if n == 0:
        return MapSet({m: torch.zeros(0, 1, side, side) for m in methods})
    if "GradCAM" in methods:
        maps["GradCAM"] = cached("nguyen2021.gradcam", key, lambda: torch.cat([
            gradcam(clf.model, trials.images[s:s + 32], targets[s:s + 32], layer=clf.gradcam_layer,
                    normalize="max").cpu() for s in range(0, n, 32)]))
    if "EP" in methods:
        ep_key, ep_chunk = _ep_job(clf, trials, p, key, targets)
        parts = map_chunks(EP_CACHE, ep_key, list(range(n)), ep_chunk, chunk_size=p.ep_batch,
                           desc=f"EP ({trials.dataset}, {p.ep_iterations} iterations)")
        maps["EP"] = torch.cat([c["maps"] for c in parts])
        maps.ep_areas = torch.cat([c["areas"] for c in parts])
    if "SOD" in methods:
        weights = _poolnet_weights()
        sod_method = "poolnet" if weights is not None else "minimum_barrier"
        maps["SOD"] = cached("nguyen2021.sod", {"images": key["images"], "method": sod_method, "weights": str(weights)},
                             lambda: salient_object(None, trials.images, method=sod_method, weights=weights).cpu())
    return maps


def explain_trials(clf: Classifier, trials: TrialSet, pool: Pool, p: Plan) -> Explanations:
    """Step 5: GradCAM, EP, SOD (:func:`explain_maps`) and 3-NN for every trial image.

    3-NN (Sec. 2.3): the 3 training images of the predicted class nearest to the image in
    ``layer4`` space (L2), among those the model also assigns to the class; on ImageNet,
    neighbours closer than 100 are dropped as near-duplicates (the authors' code).
    """
    maps = explain_maps(clf, trials, p)
    side = trials.images.shape[-1]
    notes = [f"EP: {p.ep_iterations} iterations (paper: {TORCHRAY_EP['iterations']}), mask cells of {p.ep_step} px at {side} px"
             + (", the model in bfloat16 autocast (this CPU computes bf16 natively; masks in float32)"
                if config.precision_key() else "")]
    if len(trials):
        table = ep_area_table(maps.ep_areas, side, p.ep_step, p.ep_sigma).mean()
        reached = ", ".join(f"{v:.1f}" for v in table[table.index.str.startswith("reached")])
        target = ", ".join(f"{v:.1f}" for v in table[table.index.str.startswith("target")])
        notes.append(f"EP mask area in % of the image, mean reached: {reached} (targets: {target})")
    weights = _poolnet_weights()
    notes.append("SOD: PoolNet from " + str(weights) if weights is not None else
                 "SOD: minimum-barrier salient-object map (no PoolNet checkpoint in <XAIBOOK_DATA>/poolnet)")
    nbs, nb_ids, dists, nn_notes = runs.timed(
        STUDY, "5 explanations", {"model": clf.key, "trials": digest(trials.table["trial_id"].to_numpy()),
                                  "bank": p.nn_bank_per_class}, lambda: _three_nn(clf, trials, pool, p))
    return Explanations(maps, nbs, nb_ids, dists, notes + nn_notes)


@_step("5 stimuli", lambda sets, out=None, display_size=224: {
    "trials": [digest(t.table["trial_id"].to_numpy()) for t, _ in sets.values()], "size": display_size})
def export_stimuli(sets: Mapping[str, tuple[TrialSet, Explanations]], out: Path | str | None = None,
                   display_size: int = 224) -> Path:
    """Step 5b: every trial screen of every condition as an image file plus ONE manifest CSV.

    ``sets`` maps a dataset to its ``(TrialSet, Explanations)``. Without ``out`` the set is
    written into the cache (content-keyed, atomic). Returns the path of ``manifest.csv``;
    columns: :data:`xaibook.stimuli.export.MANIFEST_COLUMNS`.
    """
    import torch

    from ...cache import cached
    from ...stimuli import write_stimulus_set
    from ...stimuli.manifest import FORMAT_VERSION

    table = pd.concat([t.table for t, _ in sets.values()], ignore_index=True)
    images = torch.cat([t.images for t, _ in sets.values()])
    maps = {m: torch.cat([e.maps[m] for _, e in sets.values()]) for m in MAP_METHODS}
    nbs = [nb for _, e in sets.values() for nb in e.neighbours]
    conditions = ("Confidence", "GradCAM", "EP", "SOD", "3-NN") if all(nbs) else ("Confidence", "GradCAM", "EP", "SOD")

    def write(folder: Path) -> None:
        write_stimulus_set(folder, table, images, maps=maps, neighbours=nbs, conditions=conditions,
                           display_size=display_size)

    if out is not None:
        write(Path(out))
        return Path(out) / "manifest.csv"
    key = {"format": FORMAT_VERSION, "table": digest(table.astype(str).to_numpy()), "images": digest(images),
           "maps": [digest(maps[m]) for m in MAP_METHODS], "size": display_size, "conditions": list(conditions),
           "neighbours": digest(np.asarray([",".join(x) for _, e in sets.values() for x in e.neighbour_ids],
                                            dtype=object))}
    return cached("nguyen2021.stimuli", key, write, fmt="dir") / "manifest.csv"


def trial_manifest(out: Path | str) -> Path:
    """Write the chapter's screens (both experiments, every image, the five conditions; the study
    has a test phase only) into the folder ``out`` with :func:`export_stimuli` (which writes the
    generic manifest, :func:`xaibook.stimuli.write_manifest`) and return the manifest CSV's path.

    Runs (or reads from the cache) steps 1-5 of the pipeline at ``config.scale()``."""
    from .human import DATASETS
    from .pipeline import adversarial_set, classifier, image_pool, plan, select_natural, trial_set

    p = plan()
    clf = classifier(p)
    sets = {}
    for d in DATASETS:
        pool = image_pool(clf, d, p)
        natural = select_natural(pool, p.per_bin, p.seed)
        trials = trial_set(clf, pool, natural, adversarial_set(clf, pool, natural, p))
        sets[d] = (trials, explain_trials(clf, trials, pool, p))
    return export_stimuli(sets, out=out)
