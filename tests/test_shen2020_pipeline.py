"""Shen & Huang 2020: the rebuilt pipeline at tiny sizes (zoo and a real-format ImageNet fixture),
the ground-truth error categories, the answer options and guessability, and the published mix."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import fixtures_real as fr
from xaibook.data import published
from xaibook.data.sources import Classifier
from xaibook.errors import ParameterError
from xaibook.stimuli import load_manifest
from xaibook.studies import shen2020
from xaibook.studies.shen2020 import data as sdata
from xaibook.studies.shen2020 import pipeline as pl
from xaibook.studies.shen2020 import screens, task
from xaibook.world import zoo


def _tiny(p, **kw):
    base = dict(train_images=96, epochs=1, pool_images=96, exp1_images=4, exp2_images=4, ep_iterations=2,
                ep_batch=8, smoothgrad_samples=2, gallery_trials=2)
    base.update(kw)
    return dataclasses.replace(p, **base)


# ---------------------------------------------------------------------------------------------
# the offline pipeline on the zoo


def test_offline_pipeline_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path / "no-data"))
    assert pl.data_source() == "zoo"
    p = pl.plan()  # the smoke plan itself, so that trial_manifest below finds its steps in the cache
    assert (p.exp1_images, p.exp2_images, p.gallery_trials) == (8, 8, 2)
    clf = pl.classifier(p)
    lab = pl.labelled_images(clf, p)
    assert len(lab.table) == p.pool_images and lab.records is not None
    pool = pl.misclassified_pool(clf, lab, p)
    assert len(pool) == int((~lab.table["correct"]).sum()) and (pool["label"] != pool["prediction"]).all()
    assert set(pool["category"]) <= {"C1", "C2", "C3", "C4", "C5", "other"}
    # the categories follow the world's record
    rec = lab.records.iloc[pool["pool_index"].to_numpy()].reset_index(drop=True)
    c5 = pool["category"].to_numpy() == "C5"
    assert rec["label_flipped"].to_numpy()[c5].all()
    fam = zoo.SPECIES["family_index"].to_numpy()
    same = fam[rec["species"].to_numpy()] == fam[pool["prediction"].to_numpy()]
    assert (pool.loc[same & (pool["category"] == "other").to_numpy()].empty)

    trials = pl.sample_experiments(pool, p)
    assert len(trials) == 16 and trials["pool_index"].is_unique  # without replacement, experiments disjoint
    e1 = trials[trials["experiment"] == 1]
    assert sorted(e1["group"].value_counts().tolist()) == [4, 4]
    assert (trials.loc[trials["experiment"] == 2, "group"] == "both").all()
    assert pl.sample_experiments(pool, p).equals(trials)  # seeded

    expl = shen2020.explain_trials(clf, lab, trials, p)
    n_shown = len(shen2020.explained(trials))
    assert n_shown == 4 + 8
    s = p.image_size
    assert expl.ep.shape == (n_shown, 3, s, s) and expl.gradcam.shape == (n_shown, 1, s, s)
    for m in (expl.ep, expl.gradcam, expl.smoothgrad, expl.gradient):
        assert torch.isfinite(m.float()).all() and m.float().min() >= 0 and m.float().max() <= 1 + 1e-3
    assert expl.reached.shape == (n_shown, 3) and expl.ep_code.shape == (2, 3, s, s)
    areas = shen2020.reached_areas(expl)
    assert areas["requested"].round(1).tolist() == [20.0, 40.0, 50.0, 20.0, 35.0, 45.0]

    options = shen2020.answer_options(clf, trials, sdata.side(p.source).families(clf), p)
    assert len(options) == 2 * len(trials)
    t = trials.set_index("trial_id")
    for r in options.itertuples():
        gold, pred = t.loc[r.trial_id, "label"], t.loc[r.trial_id, "prediction"]
        assert len(set(r.options)) == 5 and pred in r.options and gold not in r.options
        assert r.option_labels[r.answer_position - 1] == r.answer == clf.categories[pred]
        if r.variant == "hard":
            in_family = sum(fam[c] == fam[gold] for c in r.options if c != pred)
            assert in_family == 4 - r.filled
    guess = shen2020.guessability(clf, trials, options)
    assert len(guess) == len(options) and guess["guessable"].dtype == bool

    out = tmp_path / "stimuli"
    path = screens.write_manifest(out, clf, lab, trials, expl, options, size=64)
    df = load_manifest(path)
    assert len(df) == 8 + 2 * 8  # experiment 1 once, experiment 2 in both conditions
    assert set(df["condition"]) == {"Int", "No-Int"} and (df["phase"] == "test").all()
    assert all(a in o for a, o in zip(df["answer"], df["options"]))
    assert (df.loc[df["condition"] == "Int", "explanation"] != "").all()
    assert df.loc[df["condition"] == "No-Int", "explanation"].fillna("").eq("").all()
    assert set(pl.timings()["step"]) >= {"1 classifier", "2 misclassified pool", "4 explanations"}


def test_trial_manifest_convention(tmp_path, monkeypatch):
    """``shen2020.trial_manifest(out)``: both conditions of both experiments, loadable by the study kit."""
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path / "no-data"))
    path = shen2020.trial_manifest(tmp_path / "kit")
    assert path.parent == tmp_path / "kit"
    df = load_manifest(path)
    assert set(df["study"]) == {"shen2020"} and set(df["condition"]) == {"Int", "No-Int"}
    both = df[df["experiment"] == 2].groupby("trial_id")["condition"].nunique()
    assert (both == 2).all() and (df[df["experiment"] == 1].groupby("trial_id").size() == 1).all()
    assert all(len(o) == 5 and a in o for a, o in zip(df["answer"], df["options"]))
    assert (tmp_path / "kit" / "README.txt").is_file()


def test_pool_too_small_names_the_count_and_what_to_change(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path / "no-data"))
    p = pl.plan()
    clf = pl.classifier(p)
    lab = pl.labelled_images(clf, p)
    n_wrong = int((~lab.table["correct"]).sum())
    big = dataclasses.replace(p, exp1_images=200, exp2_images=200)
    with pytest.raises(ParameterError) as e:
        pl.misclassified_pool(clf, lab, big)
    msg = str(e.value)
    assert f"misclassified {n_wrong} of {p.pool_images}" in msg and "pool_images" in msg and "lookalike_rate" in msg
    with pytest.raises(ParameterError, match="even"):
        pl.sample_experiments(pl.misclassified_pool(clf, lab, p), dataclasses.replace(p, exp1_images=3))


# ---------------------------------------------------------------------------------------------
# ground-truth categories, options and guessability without a trained model


def test_ground_truth_categories_from_the_knob_records():
    rec = zoo.sample_zoo(200, seed=3, knobs={"second_rate": 0.5, "label_noise": 0.3, "lookalike_rate": 0.5})
    species = rec["species"].to_numpy()
    fam = zoo.SPECIES["family_index"].to_numpy()
    pred = np.where(rec["second"], rec["second_species"], (species + 1) % 48)
    pred = np.where(rec["label_flipped"], species, pred)  # the creature's own species under a wrong label
    table = pd.DataFrame({"pool_index": np.arange(200), "label": rec["label"], "prediction": pred})
    lab = sdata.Labelled("zoo", table.assign(correct=pred == rec["label"].to_numpy()), lambda i: None, rec)
    wrong = np.flatnonzero(pred != rec["label"].to_numpy())
    got = shen2020.ground_truth(None, lab, wrong, fam).set_index("pool_index")["category"]
    for i in wrong:
        if rec["label_flipped"][i]:
            assert got[i] == "C5"
        elif rec["second"][i]:
            assert got[i] == "C2"
        elif fam[pred[i]] == fam[species[i]]:
            assert got[i] == "C3"  # same family counts as similar appearance even without the morph
    assert {"C2", "C3", "C5"} <= set(got)


def _embedding_classifier(weight: torch.Tensor) -> Classifier:
    model = nn.Sequential(nn.Flatten(), nn.Linear(weight.shape[1], weight.shape[0], bias=False))
    model[1].weight.data = weight
    return Classifier(model, [f"c{i}" for i in range(weight.shape[0])], "zoo", "toy", {}, np.zeros(0), "", 8)


def test_guessability_is_nearness_in_the_class_embedding():
    # 8 classes on a circle: neighbours in index are nearest in the embedding
    angle = torch.arange(8) * (2 * np.pi / 8)
    clf = _embedding_classifier(torch.stack([torch.cos(angle), torch.sin(angle)], 1))
    trials = pd.DataFrame({"trial_id": ["a", "b"], "experiment": [2, 2], "group": ["both", "both"],
                           "label": [0, 0], "prediction": [1, 4], "category": ["C3", "other"]})
    p = _tiny(pl.plan("zoo"))
    options = task.answer_options(clf, trials, np.zeros(8, dtype=int), p)
    g = task.guessability(clf, trials, options).set_index(["trial_id", "variant"])["guessable"]
    assert g[("b", "random")] == False and g[("b", "hard")] == False  # noqa: E712 (the opposite class)
    # class 1 is adjacent to 0; only class 7 is as near, so it wins unless 7 is an option placed before it
    r = options.set_index(["trial_id", "variant"]).loc[("a", "random")]
    assert g[("a", "random")] == (7 not in r["options"] or r["options"].index(1) < r["options"].index(7))


# ---------------------------------------------------------------------------------------------
# the published mix and the released code's draw


def test_published_mix_tests_and_pooled_counts():
    counts = shen2020.published_counts()
    pooled = published.load("shen2020_categories").set_index("category")
    assert (counts.sum() == pooled["n_images"]).all() and counts.to_numpy().sum() == 400
    assert np.allclose(100 * counts.sum() / 400, pooled["share_percent"])
    tests = shen2020.mix_tests().set_index("comparison")
    assert tests["chi2"].round(1).tolist() == [10.7, 14.8] and (tests["dof"] == 4).all()
    assert tests["p"].iloc[0] == pytest.approx(0.0307, abs=5e-4)
    gap = shen2020.reweighted_gap().set_index("weights")["gap"]
    assert gap.iloc[0] == pytest.approx(-0.08)
    acc = shen2020.paired_table().query("experiment == 1 and category in ['C1','C2','C3','C4','C5']")
    w = counts.sum() / 400
    assert gap.iloc[1] == pytest.approx(float((w.to_numpy() * (acc["acc_int"] - acc["acc_no_int"]).to_numpy()).sum()))


def test_released_draw_counts_repeats():
    d = pl.released_draw(50)
    idx = np.random.RandomState(1234).randint(0, 50, 500)[:200]
    assert d["repeats"] == 200 - len(set(idx)) and d["repeats"] > 0
    assert pl.PAPER_AREAS == (0.2, 0.4, 0.5) and pl.CODE_AREAS == (0.2, 0.35, 0.45)


# ---------------------------------------------------------------------------------------------
# the real-ImageNet path on a fixture in the real format


CHIHUAHUA, JAPANESE_SPANIEL = "n02085620", "n02085782"   # torchvision 151 and 152 (both dogs)
OTHER = ["n01440764", "n02119789", "n02123045"]          # tench, kit fox, tabby


def _imagenet_fixture(root):
    images, number = [], 1
    for wnid, k in [(CHIHUAHUA, 2), (JAPANESE_SPANIEL, 2)] + [(w, 2) for w in OTHER]:
        for _ in range(k):
            images.append(fr.ValImage(number, wnid, size=(300, 260), boxes=[(31, 41, 200, 220)]))
            number += 1
    fr.build_imagenet_folders(root / "imagenet", images)


def _resnet50_weights(torch_home):
    """A random ResNet-50 whose bias labels every image 151 (Chihuahua)."""
    from torchvision.models import resnet50

    torch.manual_seed(0)
    state = resnet50().state_dict()
    state["fc.weight"] = state["fc.weight"] * 0.004
    state["fc.bias"] = torch.zeros(1000)
    state["fc.bias"][151] = 8.0
    path = torch_home / "hub" / "checkpoints" / "resnet50-0676ba61.pth"
    path.parent.mkdir(parents=True)
    torch.save(state, path)


def test_real_imagenet_path_on_a_fixture(tmp_path, monkeypatch):
    _imagenet_fixture(tmp_path)
    _resnet50_weights(tmp_path / "torch")
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert pl.data_source() == "imagenet"
    p = _tiny(pl.plan(), exp1_images=2, exp2_images=1, ep_iterations=1, ep_batch=4, gallery_trials=1,
              smoothgrad_samples=1)
    assert p.arch == "resnet50" and p.image_size == 224
    clf = pl.classifier(p)
    lab = pl.labelled_images(clf, p)
    assert len(lab.table) == 10 and (lab.table["prediction"] == 151).all()
    pool = pl.misclassified_pool(clf, lab, p)
    assert len(pool) == 8
    # a dog called a dog is similar appearance; the real photos carry no other cause
    dog = pool["label"] == 152
    assert (pool.loc[dog, "category"] == "C3").all() and (pool.loc[~dog, "category"] == "uncoded").all()
    trials = pl.sample_experiments(pool, p)
    expl = shen2020.explain_trials(clf, lab, trials, p)
    assert expl.ep.shape == (2, 3, 224, 224)
    options = shen2020.answer_options(clf, trials, sdata.side(p.source).families(clf), p)
    path = screens.write_manifest(tmp_path / "stimuli", clf, lab, trials, expl, options, size=48)
    df = load_manifest(path)
    assert len(df) == 2 + 2 * 1 and (df["answer"] == "Chihuahua").all()
    assert set(df["source_id"]) <= {f"ILSVRC2012_val_{i:08d}" for i in range(1, 11)}


def test_real_path_without_weights_says_where_to_put_them(tmp_path, monkeypatch):
    from xaibook.errors import DataNotFoundError

    _imagenet_fixture(tmp_path)
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch"))
    import xaibook.models.pretrained as pre

    monkeypatch.setattr(pre.torch.hub, "load_state_dict_from_url", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(DataNotFoundError, match="resnet50"):
        pl.classifier(pl.plan())
