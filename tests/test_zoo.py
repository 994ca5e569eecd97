"""Facts about the zoo (xaibook.world.zoo): species table, determinism, knobs and their records."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from xaibook.errors import ParameterError
from xaibook.world import zoo

FAST = dict(size=32, supersample=1, shadows=False, device="cpu")


def _inside_box(masks: torch.Tensor, boxes: torch.Tensor) -> bool:
    for m, b in zip(masks, boxes):
        ys, xs = torch.nonzero(m, as_tuple=True)
        if len(ys) == 0:
            continue
        x0, y0, x1, y1 = b.tolist()
        if not (xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1):
            return False
    return True


# --------------------------------------------------------------------------- species table

def test_species_table_counts_and_indices():
    s = zoo.SPECIES
    assert len(s) >= 40
    assert s.family.nunique() >= 8
    assert s["index"].tolist() == list(range(len(s)))
    assert s.name.is_unique
    fine = s[s.fine_grained]
    assert (fine.family == zoo.FINE_GRAINED_FAMILY).all() and len(fine) >= 10
    # every family has at least two species, so look-alikes exist within each family
    assert s.family.value_counts().min() >= 2


def test_lookalikes_are_other_members_of_the_same_family():
    s = zoo.SPECIES.set_index("index")
    for i, j in enumerate(zoo.LOOKALIKE):
        assert j != i
        assert s.loc[i, "family"] == s.loc[j, "family"]


def test_families_differ_in_body_plan_species_do_not():
    plans = {sp.family: sp.plan for sp in zoo._SPECIES}
    keys = ("n_spine", "neck_n", "tail_n", "trunk_n")
    signatures = {f: (tuple(p[k] for k in keys), len(p["legs"]), p["head_l"] > 0) for f, p in plans.items()}
    assert len(set(signatures.values())) == len(signatures), "two families share a body plan"
    for sp in zoo._SPECIES:  # integer structure is a family property (so species can be morphed)
        assert (tuple(sp.plan[k] for k in keys), len(sp.plan["legs"])) == signatures[sp.family][:2]


def test_species_selection():
    assert len(zoo.species_indices("hounds")) == (zoo.SPECIES.family == "hounds").sum()
    assert zoo.species_indices(["tan lop hound", 0]).tolist() == [0, 1]
    with pytest.raises(ParameterError, match="unknown species"):
        zoo.species_indices("unicorn")
    with pytest.raises(ParameterError, match="out of range"):
        zoo.species_indices([999])


def test_morph_plan_endpoints():
    a, b = zoo._SPECIES[0].plan, zoo._SPECIES[1].plan
    assert zoo.morph_plan(a, b, 0.0)["ear_angle"] == pytest.approx(a["ear_angle"])
    assert zoo.morph_plan(a, b, 1.0)["ear_angle"] == pytest.approx(b["ear_angle"])
    mid = zoo.morph_plan(a, b, 0.5)["ear_angle"]
    assert min(a["ear_angle"], b["ear_angle"]) < mid < max(a["ear_angle"], b["ear_angle"])
    with pytest.raises(ParameterError, match="same number of leg pairs"):
        zoo.morph_plan(a, next(s.plan for s in zoo._SPECIES if s.family == "serpents"), 0.5)


# --------------------------------------------------------------------------- sampling and rendering

def test_sampling_is_deterministic_and_balanced():
    a = zoo.sample_zoo(96, seed=3)
    b = zoo.sample_zoo(96, seed=3)
    c = zoo.sample_zoo(96, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    counts = a.species.value_counts()
    assert counts.max() - counts.min() <= 1 and len(counts) == 48


def test_render_is_deterministic():
    p = zoo.sample_zoo(3, seed=11, knobs={"second_rate": 0.5, "occlude_rate": 0.5})
    z1 = zoo.render_zoo(p, **FAST)
    z2 = zoo.render_zoo(p, **FAST)
    assert torch.equal(z1.images, z2.images) and torch.equal(z1.masks, z2.masks)


def test_every_species_renders_with_mask_inside_box():
    p = zoo.sample_zoo(len(zoo.SPECIES), seed=0)
    images, labels, masks, boxes, records = zoo.render_zoo(p, **FAST)
    assert images.shape == (len(p), 3, 32, 32) and images.min() >= 0 and images.max() <= 1
    assert sorted(records.species) == list(range(len(zoo.SPECIES)))
    assert (records.area > 10).all(), "a species is (nearly) invisible"
    assert _inside_box(masks == zoo.MAIN, boxes)
    assert torch.equal(labels, torch.tensor(records.species.to_numpy()))  # no label noise by default
    # without knobs nothing hides the creature and it stays inside the frame (visible fraction 1)
    assert (records.visible_fraction > 0.97).all()


# --------------------------------------------------------------------------- knobs

def test_second_creature_knob_yields_two_instances():
    p = zoo.sample_zoo(4, seed=5, knobs={"second_rate": 1.0})
    assert p.second.all() and (p.second_species != p.species).all()
    z = zoo.render_zoo(p, **FAST)
    for m in z.masks:
        assert (m == zoo.MAIN).any() and (m == zoo.SECOND).any()
    assert (z.records.second_area > 0).all()
    q = zoo.sample_zoo(4, seed=5)
    assert not q.second.any() and not (zoo.render_zoo(q, **FAST).masks == zoo.SECOND).any()


def test_occluder_reduces_the_visible_area():
    p = zoo.sample_zoo(6, seed=6, knobs={"occlude_rate": 1.0})
    clear = p.copy()
    clear["occluded"] = False
    with_occ = zoo.render_zoo(p, **FAST)
    without = zoo.render_zoo(clear, **FAST)
    assert (with_occ.masks == zoo.OCCLUDER).flatten(1).any(1).all()
    a_occ = torch.tensor(with_occ.records.area.to_numpy())
    a_clear = torch.tensor(without.records.area.to_numpy())
    assert (a_occ <= a_clear).all() and (a_occ < a_clear).sum() >= 4
    # the record's visible fraction agrees with the two areas
    frac = (a_occ.float() / a_clear.float()).numpy()
    assert np.allclose(with_occ.records.visible_fraction, frac, atol=1e-6)


def test_cropping_puts_part_of_the_creature_outside_the_frame():
    p = zoo.sample_zoo(6, seed=7, knobs={"crop_rate": 1.0})
    z = zoo.render_zoo(p, **FAST)
    assert z.records.touches_border.all()
    assert (z.records.visible_fraction < 0.97).all()
    centred = p.copy()
    centred[["pos_y", "pos_z"]] = 0.0
    centred["cropped"] = False
    full = zoo.render_zoo(centred, **FAST).records.area.to_numpy()
    assert (z.records.area.to_numpy() < full).all()


def test_label_noise_flips_exactly_the_recorded_labels():
    p = zoo.sample_zoo(600, seed=8, knobs={"label_noise": 0.2})
    flipped = p.label_flipped.to_numpy()
    assert ((p.label != p.species).to_numpy() == flipped).all()
    assert abs(flipped.mean() - 0.2) < 4 * np.sqrt(0.2 * 0.8 / 600)
    assert p.label.between(0, len(zoo.SPECIES) - 1).all()


@pytest.mark.parametrize("rate", [0.0, 0.7])
def test_context_correlation_is_measured_at_the_chosen_rate(rate):
    n = 1500
    p = zoo.sample_zoo(n, seed=9, knobs={"context_rate": rate})
    own = p.bg_signature.to_numpy() == zoo.CONTEXT_OF[p.species.to_numpy()]
    n_signatures = len(zoo.bgs.KINDS) * zoo.N_HUE_BINS
    expected = rate + (1 - rate) / n_signatures  # a random background hits the own signature by chance
    assert abs(own.mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 1e-3
    assert (p.context_fired.to_numpy() <= own).all()  # a fired context is the class's own
    assert (p.context_class[own] == p.species[own]).all()


def test_context_species_restricts_the_correlation():
    p = zoo.sample_zoo(400, seed=10, knobs={"context_rate": 1.0, "context_species": ["hounds"]})
    hound = p.species.isin(zoo.species_indices("hounds")).to_numpy()
    assert p.context_fired.to_numpy()[hound].all() and not p.context_fired.to_numpy()[~hound].any()


def test_lookalike_knob_records_the_morph_target():
    p = zoo.sample_zoo(40, seed=12, knobs={"lookalike_rate": 1.0, "lookalike_mix": (0.4, 0.5)})
    assert (p.lookalike_species.to_numpy() == zoo.LOOKALIKE[p.species.to_numpy()]).all()
    assert p.lookalike_mix.between(0.4, 0.5).all()
    # the morph changes the rendered silhouette (same seeds, morph on vs off)
    q = p.head(3).copy()
    r = q.copy()
    r["lookalike_species"] = -1
    assert not torch.equal(zoo.render_zoo(q, **FAST).masks, zoo.render_zoo(r, **FAST).masks)


def test_knobs_column_names_the_fired_knobs():
    p = zoo.sample_zoo(50, seed=13, knobs={"second_rate": 0.5, "crop_rate": 0.5})
    for _, row in p.iterrows():
        fired = set(row.knobs.split("+")) - {""}
        assert fired == {k for k in zoo.KNOB_CATEGORY if row[k]}


def test_error_categories_from_ground_truth():
    rec = pd.DataFrame({
        "id": list("abcdef"), "species": [0, 1, 2, 3, 4, 5], "label": [0, 1, 2, 3, 4, 9],
        "second": [False, True, False, False, False, False], "second_species": [-1, 7, -1, -1, -1, -1],
        "lookalike": [False, False, True, False, False, False], "lookalike_species": [-1, -1, 8, -1, -1, -1],
        "context_class": [20, 21, 22, 30, 24, 25], "label_flipped": [False] * 5 + [True],
        "visible_fraction": [1.0, 1.0, 1.0, 1.0, 0.4, 1.0],
    })
    out = zoo.error_categories(rec, [0, 7, 8, 30, 11, 5])
    assert out.category.tolist() == ["correct", "C2", "C3", "C4", "C1", "C5"]
    with pytest.raises(ParameterError, match="predictions"):
        zoo.error_categories(rec, [0, 1])


# --------------------------------------------------------------------------- errors, datasets, CLI

def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ParameterError, match="probability"):
        zoo.sample_zoo(4, knobs={"second_rate": 1.5})
    with pytest.raises(ParameterError, match="unknown knob"):
        zoo.sample_zoo(4, knobs={"blur_rate": 0.1})
    with pytest.raises(ParameterError, match="non-negative"):
        zoo.sample_zoo(-1)
    with pytest.raises(ParameterError, match="lookalike_mix"):
        zoo.Knobs(lookalike_mix=(0.8, 0.2))
    p = zoo.sample_zoo(2, seed=0)
    p.loc[0, "species"] = 999
    with pytest.raises(ParameterError, match="unknown species index"):
        zoo.render_zoo(p, **FAST)
    with pytest.raises(ParameterError, match="lack the columns"):
        zoo.render_zoo(p.drop(columns=["bg_kind"]), **FAST)


def test_default_sizes_follow_the_scale():
    sizes = zoo.default_sizes()  # tests run at the smoke scale
    assert set(sizes) == {"train", "val", "test", "size"} and sizes["train"] <= 200


def test_dataset_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIBOOK_CACHE", str(tmp_path))
    a = zoo.zoo_dataset("test", n=5, size=32, chunk=3, species="hounds")
    assert len(list(tmp_path.rglob("*.pt"))) == 2  # two chunks
    calls = []
    monkeypatch.setattr(zoo.datasets, "render_zoo", lambda *a_, **k: calls.append(1))
    b = zoo.zoo_dataset("test", n=5, size=32, chunk=3, species="hounds")
    assert not calls and torch.equal(a.images, b.images) and a.records.equals(b.records)
    assert set(a.records.species) <= set(zoo.species_indices("hounds"))


def test_cli_writes_images_masks_and_records(tmp_path):
    out = tmp_path / "zoo"
    assert zoo.main_zoo(["--n", "2", "--size", "32", "--out", str(out), "--second-rate", "1",
                         "--sheet", str(tmp_path / "sheet.png"), "--device", "cpu"]) == 0
    rec = pd.read_csv(out / "records.csv")
    assert len(rec) == 2 and rec.second.all()
    assert all((out / f"{i}.png").exists() and (out / f"{i}_mask.png").exists() for i in rec.id)
    assert (tmp_path / "sheet.png").exists()


def test_cli_plugs_into_a_subcommand_parser(tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="generator")
    handler = zoo.add_cli(sub)
    args = parser.parse_args(["zoo", "--n", "1", "--size", "32", "--out", str(tmp_path), "--device", "cpu"])
    assert handler(args) == 0 and (tmp_path / "records.csv").exists()
    with pytest.raises(ParameterError, match="nothing to write"):
        handler(parser.parse_args(["zoo", "--n", "1"]))
