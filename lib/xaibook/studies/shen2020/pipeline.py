"""Shen & Huang 2020: the computational side of the study (Method, Steps 1-3), one function per step.

1. :func:`classifier`: the classifier (zoo with error causes offline, ResNet-50 on ImageNet val);
2. :func:`misclassified_pool`: every image it got wrong, with the ground-truth error cause
   (:mod:`.categories`); :func:`sample_experiments`: experiment 1 (Int / No-Int split) and
   experiment 2 (within-subject), seeded, without replacement;
3. :func:`explain_trials` (:mod:`.explanations`), :func:`answer_options` (:mod:`.task`) and the
   screens (:mod:`.screens`).

Every expensive step is cached and timed (:func:`xaibook.runs.timed`); the sizes come from
:func:`plan`. :func:`run_pipeline` runs them all at the current scale.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import pandas as pd

from ... import config, runs
from ...cache import digest
from ...data import published
from ...data.sources import Classifier
from ...errors import ParameterError
from . import data
from .data import KNOB_OF, STUDY, Labelled

#: The paper's panel titles (Step 2) and the areas the released code passes (0.2, 0.35, 0.45).
PAPER_AREAS = tuple(published.load("shen2020_design").query("quantity == 'extremal_perturbation_area'")["value"]
                    .astype(float).div(100))
CODE_AREAS = tuple(published.load("shen2020_code").query("quantity == 'ep_area_code'")["value"].astype(float))
#: TorchRay's extremal-perturbation defaults at 224 px (the released code kept them).
TORCHRAY_EP = {"iterations": 800, "step": 7, "sigma": 21.0}


def _step(step: str, key: Callable[..., dict]):
    """Time a pipeline step (:func:`xaibook.runs.step`); ``key(*args)`` gives the sizes it uses."""
    return runs.step(STUDY, step, key)


def timings(reset: bool = False) -> pd.DataFrame:
    """The pipeline's steps in the order they ran: cold-cache time and this process's time (s)."""
    return runs.timings(STUDY, reset=reset)


@dataclass(frozen=True)
class Plan(runs.Plan):
    """Sizes of one run, chosen by the scale (``XAIBOOK_SCALE``) and the data side.

    ``paper`` is the study's size (200 + 200 images, ResNet-50) and meant for a GPU; ``default``
    fits a 2-core CPU (a small VGG on 48-px zoo images, 24 + 24 images); ``smoke`` only checks
    that everything runs. Extremal perturbation keeps TorchRay's mask cells (7 px per 224 px)
    and runs its 800-iteration schedule compressed into ``ep_iterations`` steps
    (:func:`xaibook.explain.extremal.compressed_schedule`); the chapter prints the areas
    reached beside the targets.
    """

    PAPER: ClassVar[dict[str, Any]] = {
        "arch": "ResNet-50 (released code; the paper: 'an image classifier', "
                f"{published.ref('shen2020_design', 'value', experiment='all', quantity='classifier_top1_accuracy').value:g}"
                " % top-1)",
        "image_size": 224, "pool_images": "ImageNet val (50,000)", "exp1_images": 200, "exp2_images": 200,
        "ep_iterations": TORCHRAY_EP["iterations"], "ep_step": f"{TORCHRAY_EP['step']} (at 224 px)",
        "ep_sigma": f"{TORCHRAY_EP['sigma']:g} (at 224 px)", "smoothgrad_samples": "50 (SmoothGrad's default)",
        "source": "imagenet"}

    scale: str
    source: str
    arch: str
    image_size: int
    train_images: int
    epochs: int
    pool_images: int
    exp1_images: int
    exp2_images: int
    ep_iterations: int
    ep_step: int
    ep_sigma: float
    ep_batch: int
    smoothgrad_samples: int
    gallery_trials: int
    seed: int = 0

    def describe(self) -> str:
        what = (f"torchvision ResNet-50 on {self.pool_images} ImageNet val images" if data.side(self.source).pretrained else
                f"{self.arch} trained here on {self.train_images} zoo images of {self.image_size} px "
                f"({self.epochs} epochs{config.precision_note()}), {self.pool_images} test images with error causes")
        return (f"scale {self.scale}: {what}; experiment 1 {self.exp1_images} images, experiment 2 "
                f"{self.exp2_images}; EP {self.ep_iterations} iterations with {self.ep_step}-px cells")


def data_source() -> str:
    """``"imagenet"`` when ``<XAIBOOK_DATA>/imagenet`` exists, else ``"zoo"`` (the offline stand-in)."""
    return "imagenet" if data.side("imagenet").available() else "zoo"


def plan(source: str | None = None) -> Plan:
    """The run's :class:`Plan` at the current scale (``source`` default: :func:`data_source`)."""
    s = config.scale()
    source = source or data_source()
    real = data.side(source).pretrained
    exp = s.pick(8, 24, 200)
    size = 224 if real else s.pick(32, 48, 96)
    step = max(2, round(TORCHRAY_EP["step"] * size / 224))  # TorchRay's 7-px cells per 224 px
    return Plan(
        scale=s.name, source=source,
        arch="resnet50" if real or s.name == "paper" else "small_vgg",
        image_size=size,
        train_images=0 if real else s.pick(192, 1920, 24000),
        epochs=0 if real else s.pick(1, 8, 12),
        pool_images=s.pick(64, 1000, 5000) if real else s.pick(160, 960, 4000),
        exp1_images=s.pick(4, 40, 200) if real else exp, exp2_images=s.pick(4, 40, 200) if real else exp,
        ep_iterations=s.pick(5, 100, 300),
        ep_step=TORCHRAY_EP["step"] if real else step,
        ep_sigma=TORCHRAY_EP["sigma"] if real else 3.0 * step,
        ep_batch=s.pick(8, 32, 48),
        smoothgrad_samples=s.pick(4, 16, 50),
        gallery_trials=s.pick(2, 4, 6),
    )


# --------------------------------------------------------------------------------------
# 1. the classifier


@_step("1 classifier", lambda p: {"source": p.source, "arch": p.arch, "size": p.image_size, "n": p.train_images,
                                  "epochs": p.epochs, "seed": p.seed})
def classifier(p: Plan) -> Classifier:
    """Step 1: ImageNet: torchvision's ResNet-50 (the released code; the paper says 78.67 % top-1,
    torchvision documents 76.13 %). Offline: a classifier trained here on the zoo with the error
    causes in its training data (:data:`.data.TRAIN_KNOBS`), cached and resumable."""
    return data.side(p.source).classifier(p)


# --------------------------------------------------------------------------------------
# 2. the misclassified pool and the two experiments


@_step("2 misclassified pool", lambda clf, p: {"model": clf.key, "n": p.pool_images, "size": p.image_size,
                                               "seed": p.seed})
def labelled_images(clf: Classifier, p: Plan) -> Labelled:
    """Step 2a: every pool image with the classifier's top-1 label (cached)."""
    return data.side(p.source).labelled(clf, p)


def misclassified_pool(clf: Classifier, labelled: Labelled, p: Plan) -> pd.DataFrame:
    """Step 2b: all misclassified images, each with its error category (:func:`.categories.ground_truth`).

    Raises :class:`ParameterError` when fewer than ``exp1_images + exp2_images`` images are
    misclassified, naming how many were found and what to change (nothing is silently shrunk).
    """
    from .categories import ground_truth

    wrong = labelled.table[~labelled.table["correct"]].reset_index(drop=True)
    need = p.exp1_images + p.exp2_images
    if len(wrong) < need:
        raise ParameterError(
            f"the classifier misclassified {len(wrong)} of {len(labelled.table)} pool images, but experiments 1 "
            f"and 2 need {need} different ones ({p.exp1_images} + {p.exp2_images}); raise pool_images "
            f"(now {p.pool_images}), lower exp1_images/exp2_images, or raise the error-cause knobs "
            f"(shen2020.data.TEST_KNOBS: {', '.join(f'{c}: {k}' for c, k in KNOB_OF.items())})")
    cats = ground_truth(clf, labelled, wrong["pool_index"].to_numpy(), data.side(p.source).families(clf))
    out = wrong.merge(cats, on="pool_index", how="left")
    out["true_label"] = [clf.categories[i] for i in out["label"]]
    out["ai_label"] = [clf.categories[i] for i in out["prediction"]]
    out.attrs.update(pool=len(labelled.table), accuracy=labelled.accuracy)
    return out


def sample_experiments(pool: pd.DataFrame, p: Plan) -> pd.DataFrame:
    """Step 2c: experiment 1 (``exp1_images``, split at random between Int and No-Int) and
    experiment 2 (``exp2_images`` other images, each shown in both conditions), one seeded draw
    without replacement. (The released code drew 500 indices with replacement and used the
    first 200; :func:`released_draw` shows what that does.)

    One row per image: ``trial_id``, ``experiment``, ``group`` (``Int``/``No-Int`` in experiment
    1, ``both`` in experiment 2) and the pool row's columns.
    """
    need = p.exp1_images + p.exp2_images
    if len(pool) < need:
        raise ParameterError(f"{len(pool)} misclassified images for {need} trials; see misclassified_pool")
    if p.exp1_images % 2:
        raise ParameterError(f"exp1_images={p.exp1_images} must be even (split evenly between Int and No-Int)")
    rng = np.random.default_rng([p.seed, 2020])
    pick = rng.choice(len(pool), need, replace=False)
    e1, e2 = pick[:p.exp1_images], pick[p.exp1_images:]
    groups = np.array(["Int", "No-Int"]).repeat(p.exp1_images // 2)[rng.permutation(p.exp1_images)]
    t1 = pool.iloc[e1].assign(experiment=1, group=groups)
    t2 = pool.iloc[e2].assign(experiment=2, group="both")
    t = pd.concat([t1, t2], ignore_index=True)
    t.insert(0, "trial_id", [f"e{e}-{i:03d}" for e, i in zip(t["experiment"], t.groupby("experiment").cumcount())])
    return t


def released_draw(n_pool: int, draws: int | None = None, used: int | None = None, seed: int | None = None) -> dict:
    """The released code's sampling quirk replayed on a pool of ``n_pool`` misclassified images:
    ``draws`` indices with replacement under ``seed`` (500, 1234 in the code), the first ``used``
    (200) explained. Returns how many of those are repeats."""
    code = published.load("shen2020_code").set_index("quantity")["value"]
    draws = int(code["indices_drawn"]) if draws is None else draws
    used = int(code["indices_used"]) if used is None else used
    seed = int(code["sampling_seed"]) if seed is None else seed
    idx = np.random.RandomState(seed).randint(0, n_pool, draws)[:used]
    return {"pool": n_pool, "drawn": draws, "used": used, "distinct": int(len(set(idx.tolist()))),
            "repeats": int(used - len(set(idx.tolist())))}


def trial_key(trials: pd.DataFrame) -> str:
    """A digest of the trials (their pool rows and experiments), for cache keys."""
    return digest(trials[["trial_id", "pool_index", "prediction", "group"]].to_numpy().tolist())


# --------------------------------------------------------------------------------------
# the whole pipeline


def stimuli_dir(p: Plan):
    """Where :func:`run_pipeline` writes the screens: ``<XAIBOOK_CACHE>/shen2020-stimuli/<scale>-<source>``."""
    return config.cache_root() / f"{STUDY}-stimuli" / f"{p.scale}-{p.source}"


def run_pipeline() -> pd.DataFrame:
    """Every ``lib`` step of chapter 2 at ``config.scale()``, through the cache; records the
    pipeline's ledger claims, writes the study's ledger CSV and returns :func:`timings`."""
    from ... import ledger
    from . import categories, explanations, screens, task

    p = plan()
    clf = classifier(p)
    lab = labelled_images(clf, p)
    pool = misclassified_pool(clf, lab, p)
    trials = sample_experiments(pool, p)
    categories.record_shares(categories.shares(trials), data=data.side(p.source).provenance(clf))
    categories.record_accuracy(lab, data=data.side(p.source).provenance(clf))
    expl = explanations.explain_trials(clf, lab, trials, p)
    explanations.record_areas(explanations.reached_areas(expl), data=data.side(p.source).provenance(clf))
    opts = task.answer_options(clf, trials, data.side(p.source).families(clf), p)
    guess = task.guessability(clf, trials, opts)
    task.record_guessability(guess, data=data.side(p.source).provenance(clf))
    runs.timed(STUDY, "6 screens", {"trials": trial_key(trials)},
               lambda: screens.write_manifest(stimuli_dir(p), clf, lab, trials, expl, opts))
    ledger.write(STUDY)
    return timings()
