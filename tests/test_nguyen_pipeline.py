"""The Nguyen et al. (2021) stimulus pipeline: hand-computed cases, the offline zoo run and the
real-ImageNet path on a fixture in the real on-disk format with a random-weight ResNet-34."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats as sps

import fixtures_real as fr
from xaibook.data import published
from xaibook.errors import ParameterError
from xaibook.stimuli import load_manifest
from xaibook.studies import nguyen2021 as ng


def _pool(conf, correct, dataset="ImageNet") -> ng.Pool:
    conf = np.asarray(conf, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    labels = np.arange(len(conf)) % 5
    preds = np.where(correct, labels, (labels + 1) % 5)
    return ng.Pool(dataset, "zoo", np.asarray([f"img{i}" for i in range(len(conf))], dtype=object), labels, preds,
                   conf, [np.array([[0, 0, 3, 3]], dtype=np.float32)] * len(conf))


# ---------------------------------------------------------------------------------------------
# hand-computed cases


def test_bins_and_natural_selection_follow_sec_2_4_3():
    # confidence, AI correct -> bin (hand-assigned)
    cases = [(0.95, True, "easy_correct"), (0.8, True, "easy_correct"), (1.0, True, "easy_correct"),
             (0.1, False, "easy_wrong"), (0.29, False, "easy_wrong"), (0.5, True, "medium_correct"),
             (0.4, False, "medium_wrong"), (0.2, True, "hard_correct"), (0.85, False, "hard_wrong"),
             (0.35, True, None), (0.7, False, None), (0.6, True, None), (0.3, False, None)]
    pool = _pool([c[0] for c in cases], [c[1] for c in cases])
    assert list(pool.table()["bin"]) == [c[2] for c in cases]
    chosen = ng.select_natural(pool, per_bin=2, seed=3)
    assert chosen.attrs["available"] == {"easy_correct": 3, "easy_wrong": 2, "medium_correct": 1, "medium_wrong": 1,
                                         "hard_correct": 1, "hard_wrong": 1}
    assert chosen.groupby("bin").size().to_dict() == {"easy_correct": 2, "easy_wrong": 2, "medium_correct": 1,
                                                      "medium_wrong": 1, "hard_correct": 1, "hard_wrong": 1}
    for r in chosen.itertuples():
        assert cases[r.pool_index][2] == r.bin and r.difficulty == r.bin.split("_")[0].capitalize()
    assert ng.select_natural(pool, 2, seed=3).equals(chosen)  # seeded
    with pytest.raises(ParameterError):
        ng.select_natural(pool, 0)
    dist = ng.bin_distribution({"ImageNet": pool})
    assert dist.set_index("bin")["n"].to_dict()["easy_correct"] == 3
    assert dist["share"].sum() == pytest.approx(1.0)
    assert dist["unbinned"].iloc[0] == 4
    # Easy = (3 + 2) of the 9 binned images
    view = ng.bins_vs_paper(dist).set_index("bins")
    assert view.loc["Easy (correct + wrong)", "ours (%)"] == pytest.approx(100 * 5 / 9, abs=0.01)
    assert view.loc["Easy (correct + wrong)", "paper (%)"] == 75.19


def test_reweighting_table_a1_with_measured_shares():
    """Appendix A1: sum of share x per-bin accuracy; all weight on one bin gives that bin's accuracy."""
    bins = list(ng.BIN_ORDER)
    one = pd.DataFrame({"dataset": "ImageNet", "bin": bins, "share": [1.0, 0, 0, 0, 0, 0]})
    out = ng.reweighted_published(one).set_index("method")["reweighted with our shares (%)"]
    a1 = published.load("nguyen2021_tableA1")
    ref = a1[(a1["dataset"] == "ImageNet") & (a1["difficulty"] == "Easy") & (a1["ai_prediction"] == "Correct")]
    assert out.to_dict() == pytest.approx(ref.set_index("method")["value"].to_dict())
    half = pd.DataFrame({"dataset": "ImageNet", "bin": bins, "share": [0.5, 0.5, 0, 0, 0, 0]})
    got = ng.reweighted_published(half).set_index("method").loc["Confidence", "reweighted with our shares (%)"]
    assert got == pytest.approx((92.23 + 78.64) / 2, abs=0.01)  # Table A1, ImageNet, Confidence, Easy


def test_adversarial_bands_cut_the_confidence_like_the_natural_bins():
    got = ng.adversarial_band([0.0, 0.1, 0.3, 0.35, 0.4, 0.59, 0.6, 0.7, 0.8, 0.99, 1.0])
    assert list(got) == ["Easy", "Easy", None, None, "Medium", "Medium", None, None, "Hard", "Hard", "Hard"]


def test_ep_area_targets_count_torchray_margin():
    """TorchRay's area constraint is over the mask with its margin; its MaskGenerator gives the size."""
    import torchray.attribution.extremal_perturbation as torchray
    full = torchray.MaskGenerator((224, 224), 7, 21).shape_out
    t = ng.ep_area_table(torch.tensor([[0.05, 0.06, 0.12, 0.3]]), 224, 7, 21.0).iloc[0]
    assert t["target 2.5 %"] == pytest.approx(round(2.5 * full[0] * full[1] / 224 ** 2, 1))
    assert t["target 20 %"] == pytest.approx(round(20 * full[0] * full[1] / 224 ** 2, 1))
    assert t["reached 10 %"] == 12.0


def test_ai_only_sweep_beside_table_a6():
    # 4 images: right at 0.9 and 0.6, wrong at 0.5 and 0.2 -> the best T is the first above 0.5
    pool = _pool([0.9, 0.6, 0.5, 0.2], [True, True, False, False])
    sweeps = {"ImageNet": ng.ai_only(pool)}
    best = ng.ai_only_best(sweeps).iloc[0]
    assert best["best T (ours)"] == 0.55 and best["accuracy at best T (ours, %)"] == 100.0
    assert best["best T (paper)"] == 0.55 and best["accuracy at best T (paper, %)"] == 80.79
    table = ng.ai_only_table(sweeps).set_index("threshold")
    assert table.loc[0.05, "ours (%)"] == 50.0  # accepts all: 2 of 4 right
    a6 = published.load("nguyen2021_tableA6")
    a6 = a6[a6["dataset"] == "ImageNet"]
    ref = pd.Series(a6["value"].to_numpy(), index=a6["threshold"].round(2).to_numpy())
    assert np.allclose(table["paper (%)"].to_numpy(), ref.loc[table.index].to_numpy())


def test_localisation_scores_on_hand_made_maps():
    side = 16
    images = torch.rand(3, 3, side, side)
    box = np.array([[4, 4, 9, 9]], dtype=np.float32)  # inclusive: 6 x 6 pixels
    table = pd.DataFrame({"trial_id": ["a", "b", "c"], "dataset": "ImageNet", "image_type": ["natural"] * 2 + ["adversarial"],
                          "ai_correct": [True, False, False], "source_id": ["s0", "s1", "s2"], "prediction": [0, 1, 2]})
    trials = ng.TrialSet("ImageNet", table, images, [box] * 3)
    inside = torch.zeros(3, 1, side, side)
    inside[:, :, 4:10, 4:10] = 1.0           # exactly the box
    outside = torch.zeros(3, 1, side, side)
    outside[:, :, 0, 15] = 1.0              # a single hot pixel far from the box (> tolerance 1 px at 16 px)
    scores = ng.localisation_scores(trials, {"GradCAM": inside, "EP": outside}, methods=("GradCAM", "EP"))
    assert list(scores["trial_id"].unique()) == ["a"]  # only the correctly classified natural image
    g = scores.set_index("method")
    assert g.loc["GradCAM", "pointing"] == 1 and g.loc["GradCAM", "iou"] == pytest.approx(1.0)
    assert g.loc["GradCAM", "wsl"] == 1
    assert g.loc["EP", "pointing"] == 0 and g.loc["EP", "iou"] == 0 and g.loc["EP", "wsl"] == 0
    assert scores.attrs["tolerance"] == 1  # 15 px at 224 px, scaled to 16 px


def _human_trials() -> pd.DataFrame:
    """A hand-made tidy test table: 4 AI-correct natural images judged by several users."""
    rows = []
    answers = {"00000001": [1, 1, 0], "00000002": [1, 0], "00000003": [0, 0, 0, 1], "00000004": [1, 1],
               "00000005": [1]}  # the last is seen by one user only: left out
    for img, correct in answers.items():
        for u, c in enumerate(correct):
            rows.append(dict(dataset="ImageNet", condition="GradCAM", population="lay", participant=f"u{u}",
                             phase="test", image_type="natural", ai_correct=True, image_id=img, correct=bool(c)))
    rows.append(dict(dataset="ImageNet", condition="GradCAM", population="lay", participant="u0", phase="test",
                     image_type="adversarial", ai_correct=False, image_id="00000001", correct=False))
    return pd.DataFrame(rows)


def test_per_image_human_accuracy_and_its_pearson_correlation():
    human = ng.human_image_accuracy(_human_trials())
    acc = human.set_index("source_id")["accuracy"].to_dict()
    assert acc == {"ILSVRC2012_val_00000001": pytest.approx(2 / 3), "ILSVRC2012_val_00000002": 0.5,
                   "ILSVRC2012_val_00000003": 0.25, "ILSVRC2012_val_00000004": 1.0}
    iou = {"ILSVRC2012_val_00000001": 0.5, "ILSVRC2012_val_00000002": 0.1, "ILSVRC2012_val_00000003": 0.3,
           "ILSVRC2012_val_00000004": 0.9}
    scores = pd.DataFrame({"dataset": "ImageNet", "method": "GradCAM", "source_id": list(iou), "iou": list(iou.values()),
                           "wsl": [1.0, 0.0, 0.0, 1.0], "pointing": [1.0, 1.0, 1.0, 1.0]})
    corr = ng.metric_correlations(scores, human).set_index("metric")
    ref = sps.pearsonr(list(iou.values()), [acc[k] for k in iou])
    assert corr.loc["IoU", "r"] == pytest.approx(ref.statistic) and corr.loc["IoU", "p"] == pytest.approx(ref.pvalue)
    assert corr.loc["IoU", "images"] == 4
    assert np.isnan(corr.loc["Pointing Game", "r"]) and "constant" in corr.loc["Pointing Game", "note"]
    view = ng.correlations_vs_paper(corr.reset_index())
    row = view[(view["method"] == "GradCAM") & (view["metric"] == "IoU")].iloc[0]
    assert row["paper r"] == 0.22 and row["our r"] == pytest.approx(ref.statistic)


def test_no_correlation_on_the_zoo():
    clf = ng.Classifier(torch.nn.Identity(), [], "zoo", "zoo model", {}, np.zeros(0), "", 32)
    table, why = ng.human_correlations(clf, _human_trials().assign(condition="EP"), ng.plan("zoo"))
    assert table is None and "zoo" in why
    table, why = ng.human_correlations(clf, None, ng.plan("zoo"))
    assert table is None and "no per-image human accuracy" in why


# ---------------------------------------------------------------------------------------------
# the offline pipeline on the zoo (tiny sizes)


def test_offline_pipeline_end_to_end(tmp_path, monkeypatch):
    from xaibook.attack import classify
    from xaibook.world import zoo

    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path / "no-data"))
    p = dataclasses.replace(ng.plan(), train_images=96, epochs=1, pool_imagenet=48, pool_dogs=48, per_bin=1,
                            adversarial_candidates=4, pgd_steps=3, ep_iterations=2, ep_batch=8, nn_bank_per_class=4)
    assert p.source == "zoo" and p.arch == "resnet18"
    clf = ng.classifier(p)
    pools = {d: ng.image_pool(clf, d, p) for d in ng.DATASETS}
    assert len(pools["ImageNet"]) == 48
    assert np.isin(pools["Dogs"].predictions, clf.dog_classes).all()  # non-dog predictions removed
    assert np.isin(pools["Dogs"].labels, clf.dog_classes).all()
    natural = {d: ng.select_natural(pools[d], p.per_bin, p.seed) for d in ng.DATASETS}
    adv = {d: ng.adversarial_set(clf, pools[d], natural[d], p) for d in ng.DATASETS}
    for d, a in adv.items():
        assert not set(a.candidates["pool_index"]) & set(natural[d]["pool_index"])
        sel = a.selected
        if len(sel):  # the shown (JPEG) images are misclassified, with the stored label and confidence
            pred, conf = classify(clf.model, a.images)
            assert (pred.cpu().numpy() == sel["prediction"].to_numpy()).all()
            assert (pred.cpu().numpy() != sel["label"].to_numpy()).all()
            assert np.allclose(conf.cpu().numpy(), sel["confidence"].to_numpy(), atol=1e-4)
            if d == "Dogs":
                assert np.isin(sel["prediction"], clf.dog_classes).all()
    print({d: (len(pools[d]), len(natural[d]), len(a.selected)) for d, a in adv.items()})
    assert len(adv["ImageNet"].selected) >= 1  # the checks above ran
    trials = {d: ng.trial_set(clf, pools[d], natural[d], adv[d]) for d in ng.DATASETS}
    t = trials["ImageNet"]
    assert len(t) == len(natural["ImageNet"]) + len(adv["ImageNet"].selected)
    expl = {d: ng.explain_trials(clf, trials[d], pools[d], p) for d in ng.DATASETS}
    e = expl["ImageNet"]
    for m in ng.MAP_METHODS:
        assert e.maps[m].shape == (len(t), 1, p.image_size, p.image_size) and torch.isfinite(e.maps[m]).all()
    # the neighbours are training images of the predicted class
    train = zoo.zoo_dataset("train", n=p.train_images, size=p.image_size, seed=p.seed)
    species = dict(zip(train.records["id"], train.records["label"]))
    for pred, ids in zip(t.table["prediction"], e.neighbour_ids):
        assert 1 <= len(ids) <= 3 and all(species[i] == pred for i in ids)
    manifest = ng.export_stimuli({d: (trials[d], expl[d]) for d in ng.DATASETS}, out=tmp_path / "stimuli")
    df = load_manifest(manifest)
    n_images = sum(len(x) for x in trials.values())
    assert len(df) == 5 * n_images and df["trial_id"].nunique() == n_images
    scores = ng.localisation_scores(t, e)
    ok = t.table[(t.table["image_type"] == "natural") & t.table["ai_correct"]]
    assert len(scores) == 3 * len(ok)
    assert scores["iou"].between(0, 1).all() and scores["mask_iou"].between(0, 1).all()
    assert set(ng.timings()["step"]) >= {"1 classifier", "2 image pools", "4 adversarial set", "5 explanations"}


# ---------------------------------------------------------------------------------------------
# the real-ImageNet path on a fixture in the real format


CHIHUAHUA, JAPANESE_SPANIEL = "n02085620", "n02085782"   # torchvision 151 and 152 (both dogs)
OTHER = ["n01440764", "n02119789", "n02123045"]          # tench, kit fox, tabby


def _fixture(root):
    images, number = [], 1
    for wnid, k in [(CHIHUAHUA, 3), (JAPANESE_SPANIEL, 2)] + [(w, 2) for w in OTHER]:
        for _ in range(k):
            images.append(fr.ValImage(number, wnid, size=(300, 260), boxes=[(31, 41, 200, 220)]))
            number += 1
    images.append(fr.ValImage(number, OTHER[0], size=(300, 260), mode="L"))      # greyscale: filtered out
    images.append(fr.ValImage(number + 1, OTHER[1], size=(200, 180)))           # too small: filtered out
    fr.build_imagenet_folders(root / "imagenet", images)
    return images


def _weights(torch_home):
    """A random ResNet-34 whose classifier is dominated by its bias: every image is labelled 151
    (Chihuahua) with confidence about 0.9, so the bins are known in advance."""
    from torchvision.models import resnet34

    torch.manual_seed(0)
    state = resnet34().state_dict()
    state["fc.weight"] = state["fc.weight"] * 0.004
    state["fc.bias"] = torch.zeros(1000)
    state["fc.bias"][151] = float(np.log(0.9 * 999 / 0.1))
    path = torch_home / "hub" / "checkpoints" / "resnet34-b627a593.pth"
    path.parent.mkdir(parents=True)
    torch.save(state, path)


def test_real_imagenet_path_on_a_fixture(tmp_path, monkeypatch):
    _fixture(tmp_path)
    _weights(tmp_path / "torch")
    monkeypatch.setenv("XAIBOOK_DATA", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert ng.data_source() == "imagenet"
    p = dataclasses.replace(ng.plan(), per_bin=1, adversarial_candidates=2, pgd_steps=1, ep_iterations=1,
                            ep_batch=4, nn_bank_per_class=2)
    assert p.source == "imagenet" and p.arch == "resnet34" and p.image_size == 224
    clf = ng.classifier(p)
    pools = {d: ng.image_pool(clf, d, p) for d in ng.DATASETS}
    imnet, dogs = pools["ImageNet"], pools["Dogs"]
    assert len(imnet) == 11  # the greyscale and the small image are filtered out
    assert "2 left out" in imnet.notes[0]
    assert (imnet.predictions == 151).all() and np.allclose(imnet.confidences, 0.9, atol=0.02)
    assert sorted(set(dogs.labels)) == [151, 152] and len(dogs) == 5
    # bins known in advance: right and confident -> easy_correct, wrong and confident -> hard_wrong
    bins = imnet.table()["bin"]
    assert (bins[imnet.labels == 151] == "easy_correct").all() and (bins[imnet.labels != 151] == "hard_wrong").all()
    # boxes mapped into the 224 crop (shorter side 260 -> 256, centre crop)
    assert all(b.shape == (1, 4) and (b >= 0).all() and (b <= 223).all() for b in imnet.boxes)
    natural = {d: ng.select_natural(pools[d], p.per_bin, p.seed) for d in ng.DATASETS}
    assert natural["ImageNet"]["bin"].tolist() == ["easy_correct", "hard_wrong"]
    adv = {d: ng.adversarial_set(clf, pools[d], natural[d], p) for d in ng.DATASETS}
    c = adv["ImageNet"].candidates
    assert len(c) == 2 and (c["kept"] == (c["label"] != 151)).all()  # one PGD step cannot beat the bias
    dc = adv["Dogs"].candidates  # Dogs: 2 of the 3 remaining dog images; kept = labelled as another dog
    assert len(dc) == 2 and (dc["kept"] == (dc["label"] == 152)).all()
    assert (dc.loc[dc["kept"], "prediction"] == 151).all()
    trials = {d: ng.trial_set(clf, pools[d], natural[d], adv[d]) for d in ng.DATASETS}
    expl = {d: ng.explain_trials(clf, trials[d], pools[d], p) for d in ng.DATASETS}
    assert any("train is absent" in n for n in expl["ImageNet"].notes)
    manifest = ng.export_stimuli({d: (trials[d], expl[d]) for d in ng.DATASETS}, out=tmp_path / "stimuli",
                                 display_size=64)
    df = load_manifest(manifest)
    assert set(df["source_id"]) <= {f"ILSVRC2012_val_{i:08d}" for i in range(1, 14)}
    assert (df.loc[df["ai_label"] == "Chihuahua", "answer"] == np.where(
        df.loc[df["ai_label"] == "Chihuahua", "true_label"] == "Chihuahua", "Yes", "No")).all()
    scores = ng.localisation_scores(trials["ImageNet"], expl["ImageNet"])
    assert set(scores["method"]) == set(ng.MAP_METHODS) and scores["trial_id"].nunique() == 1
