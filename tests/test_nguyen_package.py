"""The nguyen2021 package's own plumbing: EP spread over chapter cells, the plan's paper column, the ledger claims."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from xaibook import ledger
from xaibook.data import published
from xaibook.errors import ParameterError
from xaibook.studies import nguyen2021 as ng


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def _trials(n=5, side=32):
    torch.manual_seed(1)
    table = pd.DataFrame({"trial_id": [f"t{i}" for i in range(n)], "prediction": [i % 5 for i in range(n)]})
    return ng.TrialSet("ImageNet", table, torch.rand(n, 3, side, side), [np.zeros((0, 4))] * n)


def test_ep_parts_fill_the_cache_explain_maps_reads(tmp_path, monkeypatch):
    import xaibook.explain.extremal as extremal

    clf = ng.Classifier(_Tiny().eval(), [str(i) for i in range(5)], "zoo", "tiny", {"tiny": 1}, np.zeros(0), "conv", 32)
    p = dataclasses.replace(ng.plan("zoo"), ep_iterations=2, ep_batch=2, ep_step=4, ep_sigma=12.0)
    trials = _trials()
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "fresh"))
    want = ng.explain_maps(clf, trials, p, methods=["EP"])  # one loop, fresh cache
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "parts"))
    notes = [ng.explain_ep_part(clf, trials, p, part=k, parts=2) for k in range(2)]
    assert notes[0].endswith("images 1-4 of 5 done") and notes[1].endswith("images 5-5 of 5 done")
    with pytest.raises(ParameterError, match="part must be in 0..1"):
        ng.explain_ep_part(clf, trials, p, part=2, parts=2)

    def fail(*a, **k):
        raise AssertionError("EP recomputed although every chunk was cached by explain_ep_part")

    monkeypatch.setattr(extremal, "extremal_perturbation", fail)
    got = ng.explain_maps(clf, trials, p, methods=["EP"])
    assert torch.equal(got["EP"], want["EP"]) and torch.equal(got.ep_areas, want.ep_areas)


def test_plan_paper_column_reads_data_published():
    t = ng.plan("zoo").table().set_index("setting")["paper"]
    per_bin = published.ref("nguyen2021_methods", dataset="all", metric="images_per_bin").value
    assert t["per_bin"] == str(int(per_bin)) and t["pool_imagenet"] == "48,203 filtered val images"
    assert ng.PGD_EPS == 16 / 255 and ng.PGD_STEP == 1 / 30
    assert ng.ADVERSARIAL_BANDS == {"Easy": (0.0, 0.3), "Medium": (0.4, 0.6), "Hard": (0.8, 1.0)}
    with pytest.raises(ParameterError, match="source='nowhere'"):
        ng.plan("nowhere")


def test_human_claims_keep_their_ids_without_exports():
    ledger.forget("nguyen2021")
    without = ng.record_human_claims(None)
    assert len(without) == 2 * 12 + 2 * 4  # mean and SD of 12 conditions; 4 more per expert condition
    assert without["status"].str.startswith("not recomputable: no Gorilla exports").all()
    ledger.forget("nguyen2021")


def test_bin_claims_mark_empty_datasets_not_recomputable():
    ledger.forget("nguyen2021")
    clf = ng.Classifier(torch.nn.Identity(), [], "zoo", "zoo model", {}, np.zeros(0), "", 32)
    dist = ng.bin_distribution({"ImageNet": ng.Pool("ImageNet", "zoo", np.asarray(["a", "b"], dtype=object),
                                                    np.array([0, 1]), np.array([0, 0]), np.array([0.95, 0.5]),
                                                    [np.zeros((0, 4))] * 2),
                                "Dogs": ng.Pool("Dogs", "zoo", np.zeros(0, dtype=object), np.zeros(0, int),
                                                np.zeros(0, int), np.zeros(0), [])})
    claims = ng.record_bin_claims(dist, clf).set_index("claim")
    assert claims.loc["bins.share.imagenet.easy", "ours"] == 50.0
    assert claims.loc["bins.share.imagenet.hard", "ours"] == 0.0
    assert claims.loc["bins.share.dogs.easy", "status"].startswith("not recomputable")
    assert claims.loc["bins.share.imagenet.easy", "status"].startswith("differs: offline zoo stand-in")
    ledger.forget("nguyen2021")


def test_bank_features_match_a_forward_hook():
    """The 3-NN bank's features and labels (models.inference.predict) equal a hooked forward pass."""
    from xaibook.studies.nguyen2021.explanations import _features_and_predictions

    model = _Tiny().eval()
    images = torch.rand(70, 3, 16, 16)
    seen = []
    handle = model.conv.register_forward_hook(lambda _m, _i, out: seen.append(out.detach().flatten(1)))
    with torch.no_grad():
        logits = torch.cat([model(images[s:s + 64]) for s in range(0, 70, 64)])
    handle.remove()
    feats, preds = _features_and_predictions(model, "conv", images)
    assert torch.equal(feats, torch.cat(seen)) and (preds == logits.argmax(1).numpy()).all()


def test_training_paused_and_resumed_equals_one_run(tmp_path, monkeypatch):
    p = dataclasses.replace(ng.plan("zoo"), image_size=32, train_images=48, epochs=2)
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "one"))
    whole = ng.classifier(p)
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "two"))
    assert ng.train_classifier(p, until_epoch=1).startswith("trained 1 of 2 epochs")
    assert ng.train_classifier(p, until_epoch=2) == "the classifier is trained (2 epochs)"
    resumed = ng.classifier(p)
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert ng.train_classifier(dataclasses.replace(p, source="imagenet"), 1).endswith("nothing to train")


def test_ep_area_summary_in_the_papers_unit():
    """Areas reached (fractions of the image) in % of the mask with its margin, against Sec. 2.3's targets."""
    from xaibook.explain.extremal import SmoothMaskUpsampler

    full = SmoothMaskUpsampler((64, 64), 2, 6.0).numel_out
    on_target = torch.tensor([0.025, 0.05, 0.1, 0.2]) * full / 64 ** 2    # a mask of exactly each area
    areas = {"ImageNet": torch.stack([on_target, 1.5 * on_target]), "Dogs": on_target[None]}
    s = ng.ep_area_summary({**areas, "empty": None}, 64, 2, 6.0)  # None: a dataset without images
    assert list(s["target (%)"]) == [2.5, 5.0, 10.0, 20.0]
    assert np.allclose(s["reached (%)"], s["target (%)"] * (1 + 1.5 + 1) / 3, atol=1e-3)
    assert np.allclose(s["largest (%)"], 1.5 * s["target (%)"], atol=1e-3)
    assert np.allclose(s["masks within 20 %"], 2 / 3, atol=1e-3) and (s["masks"] == 3).all()
    p = dataclasses.replace(ng.plan("zoo"), image_size=64, ep_step=2, ep_sigma=6.0)
    ledger.forget("nguyen2021")
    claims = ng.record_ep_area_claims(areas, p).set_index("claim")
    assert claims.loc["ep.area_reached.1", "paper"] == 2.5 and claims.loc["ep.area_reached.4", "tolerance"] == 4.0
    assert claims.loc["ep.area_reached.1", "status"].startswith("within tolerance")   # 2.92 against 2.5 +- 0.5
    chart = ng.ep_area_chart(areas, p, "hand-made areas").to_dict()
    assert "hand-made areas" in str(chart)
    ledger.forget("nguyen2021")
