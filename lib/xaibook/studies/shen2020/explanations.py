"""Shen & Huang 2020: the five maps of the wrong prediction (Method, Step 2).

For every image shown with explanations (experiment 1's Int group, all of experiment 2) and
for the wrongly predicted class: extremal perturbation with TorchRay's contrastive reward at the
paper's areas 20/40/50 % (one mask per area, blur perturbation, no final smoothing; TorchRay's
800-iteration schedule, compressed into the plan's iterations below ``paper``), Grad-CAM
on the last block (ReLU, bilinear resize, min-max), SmoothGrad (what the paper names) and the
plain gradient the released code computed (|max| over channels, 4x4 average pooling, min-max).
The maps are computed on the tensor the model classified; the released script explained a
min-max-rescaled copy of the image instead. For a gallery of trials, EP also runs at the
released code's areas 0.2/0.35/0.45, so the chapter can show what the panel titles hide.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ... import ledger
from ...cache import map_chunks
from ...data import published
from ...data.sources import Classifier
from .data import STUDY, Labelled
from .pipeline import CODE_AREAS, PAPER_AREAS, TORCHRAY_EP, Plan, _step, trial_key

METHODS = ("EP", "GradCAM", "SmoothGrad", "Gradient")


@dataclass
class Explanations:
    """Maps for the explained trials (``trial_ids``, in order), each ``[N,k,S,S]`` float16 in [0, 1]:
    ``ep`` (k = 3 paper areas), ``gradcam``, ``smoothgrad``, ``gradient`` (k = 1); ``reached``
    ``[N,3]`` the EP masks' mean values (the areas reached). ``gallery_ids`` and ``ep_code`` /
    ``reached_code`` hold EP at the released code's areas for the gallery trials."""

    trial_ids: list
    ep: "object"
    gradcam: "object"
    smoothgrad: "object"
    gradient: "object"
    reached: np.ndarray
    gallery_ids: list
    ep_code: "object"
    reached_code: np.ndarray

    def index(self, trial_id: str) -> int:
        return self.trial_ids.index(trial_id)


def explained(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials shown with maps: experiment 1's Int group and every image of experiment 2."""
    return trials[(trials["group"] != "No-Int")].reset_index(drop=True)


def gallery(trials: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` explained trials for the gallery, one per error category first (seeded by the order)."""
    t = explained(trials)
    first = t.drop_duplicates("category")
    rest = t.drop(first.index)
    return pd.concat([first, rest]).head(n).reset_index(drop=True)


def _ep(clf: Classifier, x, y, areas, p: Plan):
    from ...explain import extremal_perturbation
    from ...explain.extremal import compressed_schedule

    masks, details = extremal_perturbation(clf.model, x, y, areas=areas, reward="contrastive", combine=None,
                                           smooth=0.0, max_iter=p.ep_iterations, step=p.ep_step, sigma=p.ep_sigma,
                                           batch_size=p.ep_batch, return_details=True,
                                           **compressed_schedule(p.ep_iterations, TORCHRAY_EP["iterations"]))
    return masks.detach().cpu(), details["masks"].detach().flatten(2).mean(-1).cpu().numpy()


@_step("4 explanations", lambda clf, lab, trials, p: {"model": clf.key, "trials": trial_key(trials),
                                                      "iters": p.ep_iterations, "step": p.ep_step})
def explain_trials(clf: Classifier, labelled: Labelled, trials: pd.DataFrame, p: Plan) -> Explanations:
    """Step 4: the maps of every explained trial, cached chunk by chunk (resumable)."""
    import torch

    from ...explain import gradcam, gradient, smoothgrad

    t = explained(trials)
    key = {"model": clf.key, "trials": trial_key(t), "areas": PAPER_AREAS, "iters": p.ep_iterations, "schedule": 800,
           "step": p.ep_step, "sigma": p.ep_sigma, "sg": p.smoothgrad_samples, "seed": p.seed}

    def chunk(rows):
        r = list(rows)
        x = labelled.load(t["pool_index"].to_numpy()[r])
        y = torch.as_tensor(t["prediction"].to_numpy()[r], dtype=torch.long)
        ep, reached = _ep(clf, x, y, PAPER_AREAS, p)
        cam = gradcam(clf.model, x, y, layer=clf.gradcam_layer, normalize="minmax")
        sg = smoothgrad(clf.model, x, y, n_samples=p.smoothgrad_samples, noise=0.15, normalize="minmax",
                        batch_size=64, seed=p.seed)
        grad = gradient(clf.model, x, y, channels="absmax", pool=4, normalize="minmax")
        half = lambda m: m.detach().cpu().to(torch.float16)  # noqa: E731
        return {"ep": half(ep), "gradcam": half(cam), "smoothgrad": half(sg), "gradient": half(grad),
                "reached": reached}

    parts = map_chunks(f"{STUDY}.maps", key, list(range(len(t))), chunk, chunk_size=p.ep_batch,
                       desc="explain the wrong predictions")
    cat = lambda k: torch.cat([c[k] for c in parts])  # noqa: E731
    g = gallery(trials, p.gallery_trials)

    def code_chunk(rows):
        r = list(rows)
        x = labelled.load(g["pool_index"].to_numpy()[r])
        y = torch.as_tensor(g["prediction"].to_numpy()[r], dtype=torch.long)
        ep, reached = _ep(clf, x, y, CODE_AREAS, p)
        return {"ep": ep.to(torch.float16), "reached": reached}

    code = map_chunks(f"{STUDY}.maps-code", {**key, "trials": trial_key(g), "areas": CODE_AREAS},
                      list(range(len(g))), code_chunk, chunk_size=p.ep_batch, desc="EP at the code's areas")
    return Explanations(list(t["trial_id"]), cat("ep"), cat("gradcam"), cat("smoothgrad"), cat("gradient"),
                        np.concatenate([c["reached"] for c in parts]), list(g["trial_id"]),
                        torch.cat([c["ep"] for c in code]), np.concatenate([c["reached"] for c in code]))


def reached_areas(expl: Explanations) -> pd.DataFrame:
    """Requested and reached EP areas (%): the paper's areas on every explained trial, the code's
    on the gallery trials. Columns ``areas`` (paper / released code), ``requested``, ``panel``
    (the title participants saw), ``reached_mean``, ``reached_sd``, ``n``."""
    rows = []
    for which, areas, reached in [("paper", PAPER_AREAS, expl.reached), ("released code", CODE_AREAS,
                                                                        expl.reached_code)]:
        for j, (a, panel) in enumerate(zip(areas, PAPER_AREAS)):
            v = 100 * np.asarray(reached)[:, j]
            rows.append({"areas": which, "requested": 100 * a, "panel": f"{100 * panel:.0f} %",
                         "reached_mean": float(v.mean()) if len(v) else np.nan,
                         "reached_sd": float(v.std()) if len(v) else np.nan, "n": len(v)})
    return pd.DataFrame(rows)


def record_areas(table: pd.DataFrame, data: str) -> None:
    """Ledger: the mean area each EP panel preserved (%) against its title (20/40/50 %)."""
    for _, r in table.iterrows():
        tag = "paper" if r["areas"] == "paper" else "code"
        panel = float(r["panel"].rstrip(" %"))
        ledger.record(STUDY, f"ep_area.{tag}.{panel:.0f}",
                      f"EP mask area reached for the panel titled {r['panel']} "
                      f"(requested {r['requested']:.0f} %, {r['areas']}; mean over {r['n']} images, %)",
                      paper=published.ref("shen2020_design", "value", experiment="all",
                                          quantity="extremal_perturbation_area", value=panel),
                      ours=r["reached_mean"], data=data, tolerance=3.0,
                      reason=("the released code requests this smaller area" if tag == "code" and
                              r["requested"] != panel else "the masks stop short of their target area "
                              "(TorchRay's schedule compressed into fewer iterations below the paper scale)"))
