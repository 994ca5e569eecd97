"""Im et al. 2023: every design choice of the reconstruction, beside what the public text says.

Only the summary (``../shared/seeds/003``) and the workshop abstract are public, so each step of
the rebuilt study rests on a choice. :func:`choices_table` renders them as one table, "what the
paper says / what we chose / why", with the sizes of the run's plan filled in.
"""
from __future__ import annotations

import pandas as pd

from .pipeline import Plan, plan

#: (step, what the public text says, what we chose (may name plan fields in braces), why).
CHOICES: tuple[tuple[str, str, str, str], ...] = (
    ("data",
     "Visual Genome images turned into a binary task; positive class: buses and trains (Method Summary)",
     "the offline world's scenes (or Visual Genome when present): positive = a bus or a train is visible; "
     "{p_beside:.0%} of the bus/train scenes also hold a car",
     "no network in the book's build; the cars beside buses/trains let the two models differ on more than "
     "car-only images (blur the bus, and only the mislabeled model may still say 'bus or train')"),
    ("mislabeled set",
     "a mislabeled training set puts car images into the positive class (Method Summary)",
     "the same images; every car-only image (a car and no bus or train) labelled positive",
     "the reading that changes one label rule; the other reading (cars replacing buses/trains) would change the "
     "images too, and the pair would no longer differ in labels alone"),
    ("models",
     "two models, trained on the baseline and the mislabeled set (Method Summary); architecture not given",
     "{pairs} pairs of a VGG-style net (widths {widths}), each pair sharing initial weights, seed and batch "
     "order ({epochs} epochs)",
     "only the labels may differ within a pair; several pairs give a participant several selection items"),
    ("SmoothGrad",
     "SmoothGrad is one of the methods (Method Summary); settings not given",
     "{smoothgrad_samples} noisy copies at noise 0.15 of the image's range; absolute gradient of the evidence for "
     "'bus or train', max over colours",
     "Smilkov et al.'s recommended noise range (0.10-0.20); fewer samples than their 50 below paper scale"),
    ("Grad-CAM",
     "Grad-CAM is one of the methods (Method Summary); layer not given",
     "the last convolution (its ReLU) of the net, for the evidence for 'bus or train' (the difference of the "
     "two logits, models.margin)",
     "the usual layer; the two-logit model decides by the difference, so SmoothGrad and Grad-CAM both explain it, "
     "the same number for both models of a pair"),
    ("oracle",
     "'simple to understand and highly indicative of the answer' (workshop abstract); the rules are not given",
     "each object's mask weighted by the drop of the model's evidence when that object alone is blurred, as a "
     "share of the evidence behind its answer (1: blurring the object flips the answer)",
     "one reading of the abstract's words; it borders on giving the counterfactual answer away, since the "
     "weight is the task's own counterfactual"),
    ("task 1",
     "model selection: choose between models trained on baseline vs. mislabeled data (Method Summary)",
     "per pair one screen: the same {selection_images} training images for both models, with answers (and maps); "
     "images both models answer alike preferred, half of them with a car; key: the mislabeled model",
     "the introduction's framing (pick the model trained on mislabeled data); agreeing images keep predictions "
     "alone from answering, so that the maps carry the information"),
    ("task 2",
     "counterfactual simulation: predict the model's behaviour on blurred images (Method Summary)",
     "one object (bus, train or car) blurred per item; the model's answer on the blurred image is the key; "
     "blur strength per model chosen from {blur_sigmas} px to flip about half; maps for the unblurred image only",
     "about half flips make both answers equally likely a priori; showing maps of the blurred image would "
     "show the answer"),
    ("conditions",
     "no explanation, or SmoothGrad/GradCAM/oracle x training time only / training and evaluation time "
     "(Method Summary)",
     "seven conditions; maps in the practice (training) phase for every explanation condition, in the scored "
     "(test) phase only for '*_all'",
     "the two access levels as the summary names them"),
    ("sizes",
     "about 48 participants (a generated summary that rates its own confidence on it as low)",
     "{counterfactual_items} scored counterfactual items per model, {training_examples} practice items; no "
     "participants here",
     "the book simulates no human data in this chapter; the study kit runs the screens with people"),
)


def choices_table(p: Plan | None = None) -> pd.DataFrame:
    """The table "what the paper says / what we chose / why", with the plan's sizes filled in."""
    p = p or plan()
    sizes = p.sizes()
    sizes["widths"] = "/".join(map(str, p.widths))
    sizes["blur_sigmas"] = ", ".join(f"{s:g}" for s in p.blur_sigmas)
    return pd.DataFrame([{"step": s, "what the paper says": said, "what we chose": chose.format(**sizes), "why": why}
                         for s, said, chose, why in CHOICES])
