"""Im et al. 2023 rebuilt: paired training, the task's labels, blur flips, items, screens, at tiny sizes."""
from __future__ import annotations

import copy
import dataclasses

import pandas as pd
import pytest
import torch

from xaibook.errors import ParameterError
from xaibook.models.classifiers import small_vgg
from xaibook.models.paired import check_pair, train_pair, weights_digest
from xaibook.stimuli import load_manifest
from xaibook.studies import im2023
from xaibook.studies.im2023 import data as task


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XAIBOOK_LEDGER", str(tmp_path / "ledger"))
    monkeypatch.setenv("XAIBOOK_PROGRESS", "0")
    monkeypatch.setenv("XAIBOOK_SCALE", "smoke")
    monkeypatch.setenv("XAIBOOK_DEVICE", "cpu")
    return tmp_path


def tiny_plan() -> im2023.Plan:
    return dataclasses.replace(im2023.plan("scenes", "smoke"), train_images=48, test_images=48, image_size=32,
                               pairs=2, widths=(4, 8), epochs=1, selection_images=2, training_examples=1,
                               counterfactual_items=2, mask_mass_images=2, smoothgrad_samples=2,
                               blur_sigmas=(1.0, 3.0))


def _net(seed: int):
    torch.manual_seed(seed)
    return small_vgg(2, widths=(4, 8))


def _data(n: int = 16, side: int = 16):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, side, side, generator=g), torch.randint(0, 2, (n,), generator=g)


# ------------------------------------------------------------------------------- paired training
def test_pair_refuses_different_initial_weights():
    x, y = _data()
    with pytest.raises(ParameterError, match="initial weights differ"):
        check_pair(_net(0), _net(1), (x, y), (x, 1 - y), seeds=(0, 0))


def test_pair_refuses_a_different_batch_order():
    x, y = _data()
    a = _net(0)
    with pytest.raises(ParameterError, match="batch order differs: seeds 0 and 1"):
        check_pair(a, copy.deepcopy(a), (x, y), (x, y), seeds=(0, 1))
    with pytest.raises(ParameterError, match="batch order differs: the training images differ"):
        check_pair(a, copy.deepcopy(a), (x, y), (x.flip(0), y), seeds=(0, 0))
    with pytest.raises(ParameterError, match="batch order differs: batch sizes 8 and 16"):
        train_pair(a, copy.deepcopy(a), (x, y), (x, y), seed=0, batch_size=8, batch_size_second=16, epochs=1)


def test_pair_differs_only_through_the_labels():
    x, y = _data()
    a = _net(0)
    same = train_pair(copy.deepcopy(a), copy.deepcopy(a), (x, y), (x, y.clone()), seed=3, epochs=1, batch_size=8,
                      device="cpu")
    assert weights_digest(same.first) == weights_digest(same.second)  # same labels: the very same model
    other = train_pair(copy.deepcopy(a), copy.deepcopy(a), (x, y), (x, 1 - y), seed=3, epochs=1, batch_size=8,
                       device="cpu")
    assert other.init == same.init and other.order == same.order
    assert weights_digest(other.first) == weights_digest(same.first)
    assert weights_digest(other.second) != weights_digest(other.first)


# ------------------------------------------------------------------------------------ the labels
def _toy_task() -> task.TaskData:
    scenes = pd.DataFrame({"id": list("abcd"), "classes": ["bus", "car", "car|train", "cow"],
                           "positive": [True, False, True, False]})
    inst = torch.zeros(4, 8, 8, dtype=torch.uint8)
    inst[1, 2:5, 2:5] = 1
    inst[2, 0:2, 0:8] = 1
    inst[2, 5:8, 0:3] = 2
    objects = pd.DataFrame({"scene": [1, 2, 2], "instance": [1, 1, 2], "class": ["car", "train", "car"],
                            "pixels": [9, 16, 9]})
    return task.TaskData(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), inst, scenes, objects, "scenes")


def test_mislabeled_set_puts_only_car_only_images_into_the_positive_class():
    d = _toy_task()
    assert task.labels(d, False).tolist() == [1, 0, 1, 0]
    assert task.labels(d, True).tolist() == [1, 1, 1, 0]  # the car beside the train changes nothing
    assert task.labels(d, True, confuser="cow").tolist() == [1, 0, 1, 1]
    assert int(d.mask(2, "car").sum()) == 9 and int(d.mask(0, "car").sum()) == 0


def test_too_few_car_only_images_names_the_knob():
    with pytest.raises(ParameterError, match="only 1 car-only images .* raise p_car"):
        task.require_only(_toy_task(), "car", 3, "p_car")


# ------------------------------------------------------------------------------ the pipeline, tiny
def test_pipeline_steps_at_tiny_size(cache):
    p = tiny_plan()
    train, test = im2023.split("train", p), im2023.split("test", p)
    assert len(train) == 48 and train.images.shape[-1] == 32
    # scenes with a car beside a bus or a train exist and stay positive
    beside = [i for i in range(len(train)) if "car" in train.scenes["classes"][i].split("|")
              and train.scenes["positive"][i]]
    assert beside and task.labels(train, False)[beside].eq(1).all()
    pairs = im2023.model_pairs(p)
    assert len(pairs) == 2 and all(pr.init != pairs[0].init for pr in pairs[1:])  # seeds differ
    table = im2023.evaluate(pairs, test)
    assert table[["accuracy_baseline", "agreement", "agreement_other"]].stack().between(0, 1).all()

    cal = im2023.calibration(pairs[1], test, p)
    assert cal.groupby("model")["chosen"].sum().tolist() == [1, 1]
    items = im2023.counterfactual_items(pairs[1], test, p)
    assert len(items) == 2 * (p.training_examples + p.counterfactual_items)
    assert (items["flip"] == ((items["before"] > 0) != (items["after"] > 0))).all()
    # the oracle's weight is the task's own counterfactual: reading it answers every item
    assert im2023.oracle_rule(items) == 1.0

    sel = im2023.selection_items(pairs, train, p)
    assert sel.groupby("pair").size().tolist() == [p.selection_images] * 2
    assert set(sel["mislabeled_is"]) <= {"Model A", "Model B"}
    assert sel.loc[sel["pair"] == 0, "phase"].eq("training").all()
    differ = sel.assign(d=sel["pred_baseline"] != sel["pred_mislabeled"]).groupby("pair")["d"].any()
    assert (sel.groupby("pair")["answerable"].first() == differ).all()

    mass = im2023.mask_mass(pairs, test, p)
    assert len(mass) == 2 * 2 * 3 and mass["on_car"].between(0, 1).all()
    maps = im2023.explain(pairs[1].second, test, test.only("car")[:2], "oracle", p, 3.0)
    assert maps.shape == (2, 1, 32, 32) and maps.abs().max() <= 1


def test_mask_mass_refuses_too_few_car_only_images(cache):
    p = dataclasses.replace(tiny_plan(), mask_mass_images=1000)
    with pytest.raises(ParameterError, match="raise test_images or p_car"):
        im2023.mask_mass([], im2023.split("test", p), p)


def test_trial_manifest_has_seven_conditions_and_both_tasks(cache):
    p = tiny_plan()
    path = im2023.trial_manifest(cache / "screens", p)
    m = load_manifest(path)
    assert m["condition"].nunique() == 7
    assert set(m["task"]) == {"model selection", "counterfactual simulation"}
    per = m.groupby("condition").size()
    assert per.nunique() == 1  # every condition has the same screens
    assert all(a in o for a, o in zip(m["answer"], m["options"]))
    # maps: never in 'none'; in training for every method; in test only for '*_all'
    shown = m.groupby(["condition", "phase"])["maps_shown"].all()
    assert not m.loc[m["condition"] == "none", "maps_shown"].any()
    assert shown["gradcam_train", "training"] and not m.loc[(m["condition"] == "gradcam_train")
                                                            & (m["phase"] == "test"), "maps_shown"].any()
    assert shown["oracle_all", "test"]
    assert (m["explanation"].ne("") == m["maps_shown"]).all()
    # names carry no answer
    assert not m["image"].str.contains("mislabeled|baseline|flip").any()


def test_im_task_cars_beside_buses_and_trains():
    from xaibook.world import scenes

    plain, off = scenes.im_task(40, seed=5), scenes.im_task(40, seed=5, p_beside=0.0)
    pd.testing.assert_frame_equal(plain.objects, off.objects)  # off: the very same scenes
    pd.testing.assert_frame_equal(plain.scenes, off.scenes)
    on = scenes.im_task(40, seed=5, p_beside=1.0)
    pos = set(on.scenes.index[on.scenes["true_label"] == 1])
    extra = on.objects[(on.objects["class"] == "car") & (on.objects["slot"] > 0)]
    assert set(extra["scene"]) == pos  # one car beside every bus/train
    last = on.objects.groupby("scene")["slot"].max()
    assert (extra.set_index("scene")["slot"] == last[sorted(pos)]).all()
    assert (on.scenes["label"] == on.scenes["true_label"]).all()
    with pytest.raises(ParameterError, match="p_beside"):
        scenes.im_task(4, p_beside=1.5)


def test_run_pipeline_records_and_writes_the_claims(cache, monkeypatch):
    from xaibook import ledger
    from xaibook.studies.im2023 import pipeline

    monkeypatch.setattr(pipeline, "plan", lambda *a, **k: tiny_plan())
    ledger.forget("im2023")
    steps = im2023.run_pipeline()
    assert {"2 paired models", "5 blur calibration", "6 screens", "7 mask mass"} <= set(steps["step"])
    written = pd.read_csv(cache / "ledger" / "im2023.csv")
    claims = set(written["claim"])
    assert {"models.accuracy.baseline", "models.agreement.car_only", "blur.flip_rate.mislabeled",
            "mask_mass.GradCAM", "oracle.reading_rule", "screens.conditions"} <= claims
    status = written.set_index("claim")["status"]
    assert status["screens.conditions"] == "reproduced" and status["oracle.reading_rule"] == "reproduced"
    assert status["labels.mislabeled.cars_positive"] == "reproduced"
    ledger.forget("im2023")


def test_margin_is_the_difference_of_the_two_logits():
    from xaibook.models.margin import Margin

    net = _net(0).eval()
    x, _ = _data(4)
    with torch.no_grad():
        logits, out = net(x), Margin(net)(x)
    torch.testing.assert_close(out[:, 1], logits[:, 1] - logits[:, 0])
    torch.testing.assert_close(out[:, 0], -out[:, 1])
    with pytest.raises(ParameterError, match="two logits"):
        Margin(small_vgg(3, widths=(4,)))(x)
