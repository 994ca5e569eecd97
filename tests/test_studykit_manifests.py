"""Small synthetic manifests, one per study's question type, for the study-kit tests (and their
own checks: each is a valid manifest). Column names follow each study's ``trial_manifest``."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from PIL import Image

from xaibook.stimuli import load_manifest, write_manifest

XSS = '<img src=x onerror="window.__pwned=1">'


def _image(out: Path, rel: str, shade: int) -> str:
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (24, 24), (shade % 256, 90, 160)).save(path)
    return rel


def _row(study, trial_id, condition, phase, image, question, options, answer, **extra) -> dict:
    return {"study": study, "trial_id": trial_id, "condition": condition, "phase": phase, "stimulus": "",
            "image": image, "explanation": "", "examples": [], "question": question, "options": list(options),
            "answer": answer, **extra}


def nguyen(out: Path, label: str = "lakeland terrier") -> Path:
    """Accept/reject with a 'have you seen it' screen before; validation and test phases."""
    rows = []
    for i in range(4):
        img = _image(out, f"images/n{i}.png", 40 * i)
        ok = i % 2 == 0
        for cond in ("Confidence", "GradCAM"):
            rows.append(_row("nguyen2021", f"n{i}", cond, "validation" if i == 0 else "test", img,
                             f"Is this {label}?", ["Yes", "No"], "Yes" if ok else "No",
                             dataset="ImageNet", image_type="natural" if i < 3 else "adversarial",
                             difficulty="Easy", ai_label=label, ai_confidence=0.8, true_label="terrier",
                             ai_correct=ok, known_question=f"Have you ever seen a {label} before?"))
    return write_manifest(pd.DataFrame(rows), out)


def shen(out: Path, label: str = "tabby cat") -> Path:
    """Five options, one of them the model's wrong label; Int / No-Int; two experiments."""
    rows = []
    options = [label, "dingo", "canoe", "golf ball", "pretzel"]
    for i in range(4):
        img = _image(out, f"images/s{i}.png", 60 * i)
        conds = ("Int", "No-Int") if i >= 2 else (("Int",) if i == 0 else ("No-Int",))
        for cond in conds:
            rows.append(_row("shen2020", f"s{i}", cond, "test", img,
                             "A program labelled this image of a lynx wrongly. Which label did it choose?",
                             options[i % 5:] + options[:i % 5], label, experiment=2 if i >= 2 else 1,
                             true_label="lynx", ai_label=label, category="C2"))
    return write_manifest(pd.DataFrame(rows), out)


def alqaraawi(out: Path, label: str = "cat") -> Path:
    """Forecasts after example screens (training, with feedback); 2x2 conditions; two task orders."""
    rows = []
    conds = ("maps and scores", "maps only", "scores only", "neither")
    for order, first in (("cats first", "cat"), ("horses first", "horse")):
        okey = order.split()[0]
        for k in (1, 2):
            img = _image(out, f"images/{okey}-{k}.png", 30 * k)
            ex = _image(out, f"images/{okey}-{k}-e.png", 90 + k)
            for cond in conds:
                rows.append(_row("alqaraawi2020", f"{okey}-t{k:02d}-e01", cond, "training", ex,
                                 f"Example 1 of 1: did the network detect a {label}?", ["Yes", "No"], "Yes",
                                 task_order=order, task_class=first, task=k, outcome="TP"))
                rows.append(_row("alqaraawi2020", f"{okey}-t{k:02d}", cond, "test", img,
                                 f"Will the network recognise a {label} in this image?", ["Yes", "No"],
                                 "Yes" if k == 1 else "No", task_order=order, task_class=first, task=k,
                                 outcome="TP" if k == 1 else "FN"))
    return write_manifest(pd.DataFrame(rows), out)


def im(out: Path, label: str = "bus or train") -> Path:
    """Model choice (A or B) and counterfactual simulation, practice then test, per task."""
    rows = []
    for cond in ("none", "GradCAM_all"):
        for j, (task, phase) in enumerate((("model selection", "training"), ("model selection", "test"),
                                           ("counterfactual simulation", "training"),
                                           ("counterfactual simulation", "test"))):
            img = _image(out, f"images/i{j}.png", 50 * j)
            if task == "model selection":
                rows.append(_row("im2023", f"select-{j}", cond, phase, img,
                                 "One of these two models was trained on mislabeled data. Which one?",
                                 ["Model A", "Model B"], "Model B", task=task, explanation_method="none"))
            else:
                rows.append(_row("im2023", f"cf-{j}", cond, phase, img,
                                 "What will Model 1 answer on the blurred image?", [label, "no bus or train"],
                                 label, task=task, explanation_method="none"))
    return write_manifest(pd.DataFrame(rows), out)


def sixt(out: Path, attribute: str = "Legs") -> Path:
    """A tutorial (no right answer), true/false checks, then relevant/irrelevant per attribute."""
    rows = []
    img = _image(out, "screens/panel.png", 10)
    for cond in ("Baseline", "INN"):
        rows.append(_row("sixt2022", "tutorial", cond, "training", img, "Tutorial: how to read this.",
                         ["Continue"], "", attribute=""))
        rows.append(_row("sixt2022", "check-1", cond, "validation", img, "True or false? Peeky has legs.",
                         ["True", "False"], "True", attribute=""))
        for a, key in ((attribute, "Relevant"), ("Color", "Relevant"), ("Background", "Irrelevant")):
            rows.append(_row("sixt2022", f"attribute-{a.lower()}", cond, "test", img,
                             f"How relevant is {a} for the system?", ["Relevant", "Irrelevant"], key, attribute=a))
    return write_manifest(pd.DataFrame(rows), out)


BUILDERS = {"nguyen2021": nguyen, "shen2020": shen, "alqaraawi2020": alqaraawi, "im2023": im, "sixt2022": sixt}


def study_data(export_dir: Path) -> dict:
    """The trials and texts an export hands the browser (``study/study-data.js``)."""
    text = (Path(export_dir) / "study" / "study-data.js").read_text()
    return json.loads(text[text.index("{"):text.rindex("}") + 1].replace("<\\/", "</"))


def test_each_synthetic_manifest_is_valid(tmp_path):
    for study, build in BUILDERS.items():
        frame = load_manifest(build(tmp_path / study))
        assert set(frame["study"]) == {study}
        assert frame["phase"].isin(["training", "validation", "test"]).all()
