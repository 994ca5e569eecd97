"""Alqaraawi et al. 2020 as a simulated evaluation: will the network recognise the class in this image? (Sec. 3.2)

A task shows 12 training examples of the class (6 TP, 3 FN, 3 FP, nearest to the task image in
fc7, with their outcome labels), with or without their LRP maps and with or without their score
bars (the 2x2 design), then the task image alone; the answer is the network's decision (yes on
TP and FP, no on FN). The agent sees the task image (frozen features), which class is asked, and
per outcome the examples' mean pooled image and their similarity to the task image; plus, by
condition, the examples' mean LRP map (pooled, positive relevance, map-weighted colour) and their
mean scores (every class's sigmoid, the class's threshold).

The task images are fresh scenes (test split, another seed than the chapter's; none of the
chapter's images), every class with enough training examples of each outcome, outcomes drawn
3:2:2 as in the study; the examples, maps and scores come from the chapter's own functions on the
chapter's classifier (:func:`xaibook.studies.alqaraawi2020.pipeline.materials`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import config
from ..cache import cached, digest
from ..errors import ParameterError
from .agents import Task
from .observe import map_channels, pooled

STUDY = "alqaraawi2020"
CONDITIONS = ("neither", "maps only", "scores only", "maps and scores")
REFERENCE = "neither"
"""The condition the others are compared with (examples with outcome labels only, Sec. 3.3)."""
ANSWERS = ("no", "yes")
SIZES = dict(smoke=dict(train=28, test=21, pool=240, sizes=(8, 28), seeds=(0, 1)),
             default=dict(train=112, test=70, pool=900, sizes=(21, 56, 112), seeds=(0, 1, 2)),
             paper=dict(train=1000, test=250, pool=5000, sizes=(4, 16, 64, 100, 1000), seeds=(0, 1, 2)))
POOL_SEED_OFFSET = 1000
RATIO = {"TP": 3, "FN": 2, "FP": 2}


def sizes() -> dict:
    """The simulation's sizes at the current scale."""
    return dict(SIZES[config.scale().name])


def human() -> pd.DataFrame:
    """Sec. 4: people's accuracy with and without maps (each the marginal mean over the score factor) and per
    outcome (all participants)."""
    from ..studies.alqaraawi2020 import published_descriptives, published_outcomes

    q = "will the network recognise the class?"
    d = published_descriptives()
    d = d[(d["outcome"] == "forecast_accuracy") & (d["statistic"] == "mean")].set_index("level")
    rows = [{"question": q, "condition": c, "group": "all", "population": f"maps {lvl} (marginal over scores)",
             "accuracy": d.loc[lvl, "value"] / 100, "n": d.loc[lvl, "n"],
             "source": "published: Alqaraawi et al. 2020, Sec. 4.1"}
            for c, lvl in (("maps and scores", "shown"), ("maps only", "shown"), ("scores only", "omitted"),
                           ("neither", "omitted"))]
    o = published_outcomes()
    o = o[(o["quantity"] == "forecast_accuracy") & (o["saliency_maps"] == "all")]
    rows += [{"question": q, "condition": "all", "group": r.outcome_type, "population": "all 64 participants",
              "accuracy": r.percent / 100, "n": 64, "source": "published: Alqaraawi et al. 2020, Sec. 4.2"}
             for r in o.itertuples()]
    return pd.DataFrame(rows)


def _fresh(p, m, n: int):
    """Fresh test scenes, their logits and fc7 features."""
    import torch

    from ..models.inference import predict
    from ..studies.alqaraawi2020 import pipeline as pl
    from ..studies.alqaraawi2020.data import Split
    from ..world.scenes import voc_dataset

    if p.source != "scenes":
        raise ParameterError(f"the simulation needs fresh images from the world; source {p.source!r} has a fixed "
                             "test set (run it with the offline scenes)")
    s = voc_dataset("test", n=n, seed=p.seed + POOL_SEED_OFFSET, size=p.image_size, context=True)
    split = Split((s.images * 255).round().to(torch.uint8), s.labels.float(), s.classes, s.context, list(s.scenes["id"]))
    keep = np.flatnonzero(~np.isin(split.ids, list(m.data["test"].ids) + list(m.data["train"].ids)))
    split = split.subset(keep)
    key = {"model": pl.model_key(p, m.data), "images": digest(split.images)}
    out = cached("simulate.alqaraawi2020.scores", key, lambda: {
        "logits": predict(m.model, split.images, batch_size=64),
        "features": predict(m.model, split.images, output="features", layer=pl.feature_layer(p), batch_size=64)})
    return split, out


def _trials(p, m, fresh, out, n: int, train: int) -> pd.DataFrame:
    """``n`` (image, class) forecasts, outcomes 3:2:2, over the classes with enough examples of each outcome;
    the first ``train`` rows (3:2:2) are for training, the rest (3:2:2) for testing."""
    from ..metrics.average_precision import outcomes
    from ..studies.alqaraawi2020 import explanations as ex, pipeline as pl

    o = outcomes(out["logits"], fresh.labels, m.thresholds)
    classes = [c for c in pl.classes(p) if all(len(v) >= pl.EXAMPLE_COUNTS[k] for k, v in
                                                ex._bank_candidates(p, m.data, m.out, m.thresholds, c).items())]
    rows = pd.DataFrame({"image": np.repeat(np.arange(o.shape[0]), o.shape[1]),
                         "task_class": np.tile(np.asarray(pl.classes(p)), o.shape[0]), "outcome": o.ravel()})
    rows = rows[rows["task_class"].isin(classes) & rows["outcome"].isin(list(RATIO))]
    rng = np.random.default_rng([p.seed, 2020])
    picks = []
    for outcome, k in RATIO.items():
        cand = rows[rows["outcome"] == outcome]
        want = int(round(n * k / sum(RATIO.values())))
        if len(cand) < want:
            raise ParameterError(f"the fresh scenes hold {len(cand)} {outcome} forecasts, the simulation needs {want}; "
                                 f"raise pool in xaibook.simulate.alqaraawi.SIZES")
        picks.append(cand.iloc[np.sort(rng.choice(len(cand), want, replace=False))])
    picks = [x.sample(frac=1.0, random_state=p.seed) for x in picks]
    cut = [int(round(len(x) * train / n)) for x in picks]  # train and test both 3:2:2
    out = pd.concat([x.iloc[:c] for x, c in zip(picks, cut)] + [x.iloc[c:] for x, c in zip(picks, cut)],
                    ignore_index=True)
    out.attrs["n_train"] = sum(cut)
    return out


def simulate(backend: str = "inprocess", workers: int = 2, address: str | None = None) -> tuple[list[Task], None]:
    """The task at the current scale (one classifier, as in the study)."""
    import torch

    from ..studies.alqaraawi2020 import explanations as ex, pipeline as pl

    s = sizes()
    p = pl.plan()
    m = pl.materials(p)
    fresh, out = _fresh(p, m, s["pool"])
    n = s["train"] + s["test"]
    trials = _trials(p, m, fresh, out, n, s["train"])
    data2, out2 = {"train": m.data["train"], "test": fresh}, {"train": m.out["train"], "test": out}
    examples = ex.examples(p, data2, out2, m.thresholds, trials, "nearest")
    uniq = examples[["bank", "task_class"]].drop_duplicates().reset_index(drop=True)
    targets = [pl.class_index(p, c) for c in uniq["task_class"]]
    key = {"model": pl.model_key(p, m.data), "bank": uniq["bank"].tolist(), "targets": targets}
    maps = cached("simulate.alqaraawi2020.lrp", key,
                  lambda: ex.lrp_maps(m.model, m.data["train"].images[torch.tensor(uniq["bank"].to_numpy())],
                                      targets, desc="LRP of the examples"))
    bank_imgs = m.data["train"].images[torch.tensor(uniq["bank"].to_numpy())]
    ex_img, ex_map = pooled(bank_imgs), map_channels(maps, bank_imgs)
    pos = {(b, c): i for i, (b, c) in enumerate(zip(uniq["bank"], uniq["task_class"]))}
    examples["row"] = [pos[(b, c)] for b, c in zip(examples["bank"], examples["task_class"])]
    sig = torch.sigmoid(m.out["train"]["logits"]).numpy()
    thr = 1 / (1 + np.exp(-np.asarray(m.thresholds, dtype=np.float64)))
    img = pooled(fresh.images[torch.tensor(trials["image"].to_numpy())])
    n_cls = len(pl.classes(p))
    parts = {k: [] for k in ("base", "maps", "scores")}
    for t, r in trials.iterrows():
        e = examples[examples["task"] == t]
        c = pl.class_index(p, r["task_class"])
        onehot = np.eye(n_cls, dtype=np.float32)[c]
        base, mp, sc = [onehot], [], [thr[c:c + 1].astype(np.float32)]
        for o in RATIO:
            rows = e[e["outcome"] == o]
            base += [ex_img[rows["row"]].mean(0), [1 - rows["distance"].mean()]]
            mp.append(ex_map[rows["row"]].mean(0))
            sc += [sig[rows["bank"]].mean(0), [sig[rows["bank"], c].mean() - thr[c]]]
        for k, v in zip(parts, (base, mp, sc)):
            parts[k].append(np.concatenate([np.asarray(x, dtype=np.float32).ravel() for x in v]))
    base, mp, sc = (np.stack(parts[k]) for k in parts)
    screen = np.concatenate([img, base], axis=1)
    obs = {"neither": screen, "maps only": np.concatenate([screen, mp], 1),
           "scores only": np.concatenate([screen, sc], 1), "maps and scores": np.concatenate([screen, mp, sc], 1)}
    y = trials["outcome"].isin(["TP", "FP"]).to_numpy().astype(np.int64)
    n_train, n = trials.attrs["n_train"], len(trials)
    tr, te = slice(0, n_train), slice(n_train, n)
    t = trials.iloc[te]
    meta = pd.DataFrame({"stimulus": [f"scene {fresh.ids[i]} / {c}" for i, c in zip(t["image"], t["task_class"])],
                         "group": t["outcome"].to_numpy(), "truth": t["task_class"].to_numpy(),
                         "prediction": np.where(y[te] == 1, t["task_class"], "not " + t["task_class"]),
                         "ai_correct": (t["outcome"] == "TP").to_numpy()})
    return [Task(STUDY, "will the network recognise the class?", ANSWERS, CONDITIONS,
                 {c: o[tr] for c, o in obs.items()}, y[tr], {c: o[te] for c, o in obs.items()}, y[te], meta,
                 n_features=img.shape[1],
                 data=f"simulated: agents on fresh offline scenes, {p.short()}",
                 notes=[f"{n} fresh forecasts ({n_train} to train on, {n - n_train} held out), outcomes TP:FN:FP "
                        "= 3:2:2 as in the study; none of the chapter's images"])], None
