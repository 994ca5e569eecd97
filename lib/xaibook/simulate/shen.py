"""Shen & Huang 2020 as a simulated evaluation: which of five labels did the AI (wrongly) predict? (Method, Step 3)

A trial shows a misclassified image with its true label and five options (the wrong prediction
and four random distractors, :func:`xaibook.studies.shen2020.answer_options`); in the Int
condition also the saliency maps of the wrong prediction (EP, Grad-CAM, SmoothGrad, gradient,
:func:`xaibook.studies.shen2020.explain_trials`). The agent scores each option and picks the
best. Besides No-Int and Int (all maps) each map is a condition of its own, to rank the maps.

The trials are misclassified images of a fresh zoo test pool (another seed than the chapter's,
minus any image of the chapter's pool), explained by the chapter's own functions on the
chapter's classifier with fewer EP iterations (the table says how many). Per option the agent
sees how the image (frozen features) and the true label's typical look (:func:`.observe.prototypes`
of the zoo's training images) compare with the option's typical look, and, by condition, how far
each map's weighted colour lies from the option's colour (where the map points, does it look like
the option?). Test trials are grouped by the ground-truth error category C1-C5.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .. import config
from ..errors import ParameterError
from .agents import Task
from .observe import map_channels, pooled, prototypes

STUDY = "shen2020"
MAPS = {"EP": "ep", "Grad-CAM": "gradcam", "SmoothGrad": "smoothgrad", "Gradient": "gradient"}
CONDITIONS = ("No-Int", "Int") + tuple(MAPS)
REFERENCE = "No-Int"
"""The condition the others are compared with (no maps, the study's control)."""
SIZES = dict(smoke=dict(train=24, test=24, pool=480, sizes=(8, 24), seeds=(0, 1), ep_iterations=5),
             default=dict(train=80, test=48, pool=1280, sizes=(20, 40, 80), seeds=(0, 1, 2), ep_iterations=20),
             paper=dict(train=1000, test=250, pool=16000, sizes=(4, 16, 64, 100, 1000), seeds=(0, 1, 2),
                        ep_iterations=300))
POOL_SEED_OFFSET = 1000


def sizes() -> dict:
    """The simulation's sizes at the current scale."""
    return dict(SIZES[config.scale().name])


def human() -> pd.DataFrame:
    """Tables 1-2: people's accuracy per experiment, condition and error category (Overall as ``all``)."""
    from ..studies.shen2020 import published_accuracy

    t = published_accuracy()
    return pd.DataFrame({"question": "which option did the AI predict?", "condition": t["condition"].to_numpy(),
                         "group": t["category"].replace({"Overall": "all"}).to_numpy(),
                         "population": "experiment " + t["experiment"].astype(str).to_numpy(),
                         "accuracy": t["accuracy"].to_numpy(dtype=float), "n": t["n_images"].to_numpy(),
                         "source": "published: Shen & Huang 2020, " + t["source"].astype(str).to_numpy()})


CELLS = 3


def _option_features(img, truth, options, colours) -> np.ndarray:
    """``[N, 5, D]``: per option, how the image and the true label's look compare with the option's look (cosine
    and per-cell absolute difference; the image part first), and how far each map's weighted colour
    (``colours`` ``[N, G, 3]``, one per map panel) lies from the option's mean colour."""
    n, k, _ = options.shape
    cos = lambda a, b: (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-8)  # noqa: E731
    parts = [cos(img[:, None], options)[..., None], np.abs(img[:, None] - options),
             cos(truth[:, None], options)[..., None], np.abs(truth[:, None] - options)]
    if colours is not None:
        opt_colour = options.reshape(n, k, 3, -1).mean(-1)
        parts.append(np.abs(colours[:, None] - opt_colour[:, :, None]).reshape(n, k, -1))
    return np.concatenate(parts, axis=-1).astype(np.float32)


def simulate(backend: str = "inprocess", workers: int = 2, address: str | None = None) -> tuple[list[Task], None]:
    """The task at the current scale (one classifier, as in the study: no base-model population)."""
    from ..studies import shen2020 as sh
    from ..studies.shen2020 import data
    from ..world import zoo

    s = sizes()
    p = sh.plan()
    if p.source != "zoo":
        raise ParameterError(f"the simulation needs fresh images and class looks from the world; source {p.source!r} "
                             "is not the offline zoo (unset XAIBOOK_DATA's imagenet to run it offline)")
    clf = sh.classifier(p)
    chapter = sh.labelled_images(clf, p)
    q = dataclasses.replace(p, seed=p.seed + POOL_SEED_OFFSET, pool_images=s["pool"],
                            ep_iterations=min(p.ep_iterations, s["ep_iterations"]))
    fresh = data.side(q.source).labelled(clf, q)
    wrong = sh.misclassified_pool(clf, fresh, dataclasses.replace(q, exp1_images=0, exp2_images=0))
    wrong = wrong[~wrong["source_id"].isin(set(chapter.table["source_id"]))].reset_index(drop=True)
    n = s["train"] + s["test"]
    if len(wrong) < n:
        raise ParameterError(f"the fresh pool has {len(wrong)} misclassified images, the simulation needs {n}; "
                             f"raise pool in xaibook.simulate.shen.SIZES (now {s['pool']})")
    rng = np.random.default_rng([q.seed, 20])
    trials = wrong.iloc[np.sort(rng.choice(len(wrong), n, replace=False))].reset_index(drop=True)
    trials = trials.assign(experiment=2, group="both")
    trials.insert(0, "trial_id", [f"sim-{i:04d}" for i in range(n)])
    expl = sh.explain_trials.__wrapped__(clf, fresh, trials, dataclasses.replace(q, gallery_trials=1))
    opts = sh.answer_options(clf, trials, data.side(q.source).families(clf), q)
    opts = opts[opts["variant"] == "random"].set_index("trial_id").loc[trials["trial_id"]]
    train_imgs = zoo.zoo_dataset("train", n=p.train_images, size=p.image_size, seed=p.seed)
    protos = prototypes(train_imgs.images, train_imgs.labels.numpy(), len(clf.categories), CELLS)
    images = fresh.load(trials["pool_index"].to_numpy())
    img = pooled(images, CELLS)
    truth_proto = protos[trials["label"].to_numpy()]
    option_protos = protos[np.array(opts["options"].tolist())]
    colours = {m: np.stack([map_channels(getattr(expl, a)[:, j:j + 1].float(), images)[:, -3:]  # EP: one per area
                            for j in range(getattr(expl, a).shape[1])], axis=1) for m, a in MAPS.items()}
    obs = {"No-Int": _option_features(img, truth_proto, option_protos, None),
           "Int": _option_features(img, truth_proto, option_protos, np.concatenate([colours[m] for m in MAPS], 1)),
           **{m: _option_features(img, truth_proto, option_protos, colours[m]) for m in MAPS}}
    y = (opts["answer_position"].to_numpy() - 1).astype(np.int64)
    tr, te = slice(0, s["train"]), slice(s["train"], n)
    t = trials.iloc[te]
    meta = pd.DataFrame({"stimulus": t["trial_id"].to_numpy(), "group": t["category"].astype(str).to_numpy(),
                         "truth": t["true_label"].to_numpy(), "prediction": t["ai_label"].to_numpy(),
                         "ai_correct": False, "confidence": t["confidence"].to_numpy(dtype=float)})
    return [Task(STUDY, "which option did the AI predict?", ("option 1", "option 2", "option 3", "option 4", "option 5"),
                 CONDITIONS, {c: o[tr] for c, o in obs.items()}, y[tr], {c: o[te] for c, o in obs.items()}, y[te],
                 meta, n_features=1 + img.shape[1],
                 data=(f"simulated: agents on fresh misclassified {data.side(q.source).provenance(clf)} images "
                       f"(EP {q.ep_iterations} iterations)"),
                 notes=[f"{n} fresh misclassified trials ({s['train']} to train on, {s['test']} held out); none is "
                        "in the chapter's pool"])], None
