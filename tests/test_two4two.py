"""Two4Two: geometry and sampler facts, the on-disk layout, and fidelity to the original masks."""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from xaibook.errors import DataFormatError, ParameterError
from xaibook.world import two4two as T
from xaibook.world.__main__ import main as cli

CPU = torch.device("cpu")


def scene(**kw) -> T.Two4TwoParams:
    base = dict(obj_name="peaky", arm_position=0.2, spherical=0.0, obj_color=0.3, bg_color=0.5)
    base.update(kw)
    return T.Two4TwoParams(**base)


def centroid_col(mask: torch.Tensor, label: int) -> float:
    return (mask == label).nonzero()[:, 1].float().mean().item()


# ------------------------------------------------------------------ geometry


def test_moving_legs_sit_inward_for_peaky_and_outward_for_stretchy():
    peaky, stretchy = scene(arm_position=0.1), scene(obj_name="stretchy", arm_position=0.9)
    out = T.render_params([peaky, stretchy], supersample=1, device=CPU)
    for i, inward in ((0, True), (1, False)):
        legs = (centroid_col(out.labels[i], 7) + centroid_col(out.labels[i], 8)) / 2
        end = centroid_col(out.labels[i], 6)  # the last spine block on the moving legs' side
        assert (legs < end) == inward
        # the fixed pair stays outside the spine's other end
        assert centroid_col(out.labels[i], 1) < centroid_col(out.labels[i], 3)
    # arm_position 0.5 puts the moving legs level with the last spine block (paper Sec. 3)
    c = T.block_corners([scene(arm_position=0.5)])[0].mean(1)
    assert c[6, 1].item() == pytest.approx(c[5, 1].item(), abs=1e-9)


def test_bending_raises_the_middle_and_rotations_follow_blender_signs():
    flat, bent = T.block_corners([scene(), scene(bending=0.3)])[:, :, :, :].mean(2)
    spine_z = lambda c: c[[2, 3, 4, 5], 2]  # noqa: E731
    assert (spine_z(bent)[1:3].mean() - spine_z(bent)[[0, 3]].mean()) > 0.2  # a peak in the middle
    assert torch.allclose(spine_z(flat), spine_z(flat)[0].expand(4))
    # yaw is an in-plane turn about the camera axis; Blender's value v turns by -v (clockwise on screen)
    c0, c1 = T.block_corners([scene(), scene(obj_rotation_yaw=0.5)]).mean(2)
    v0, v1 = c0[5, 1:] - c0.mean(0)[1:], c1[5, 1:] - c1.mean(0)[1:]
    turn = math.atan2(v1[1], v1[0]) - math.atan2(v0[1], v0[0])
    assert turn == pytest.approx(-0.5, abs=1e-6)
    assert torch.allclose(c0[:, 0], c1[:, 0])  # depth unchanged


def test_position_moves_right_and_up_and_fliplr_mirrors():
    a, b = T.render_params([scene(), scene(position_x=0.5, position_y=0.5)], supersample=1, device=CPU).labels
    ya, xa = (a > 0).nonzero().float().mean(0)
    yb, xb = (b > 0).nonzero().float().mean(0)
    assert xb - xa > 5 and ya - yb > 5
    plain, flipped = T.render_params([scene(), scene(fliplr=True)], supersample=1, device=CPU).labels
    assert torch.equal(flipped, plain.flip(-1))


def test_mask_matches_silhouette_and_box_contains_mask():
    from xaibook.world.render import boxes_from_instances

    from xaibook.world import colors
    from xaibook.world.render import render

    p = scene(spherical=0.6, bending=0.2, obj_rotation_pitch=0.3, obj_rotation_yaw=-1.0, bg_color=0.1, obj_color=0.9)
    blocks = T.blocks_from_params([p])
    bg = colors.background_rgb(torch.tensor([p.bg_color]))
    out = render(blocks, bg, supersample=1, shadows=False, device=CPU)
    blocks.valid[:] = False
    empty = render(blocks, bg, supersample=1, shadows=False, device=CPU)
    changed = (out.image[0] - empty.image[0]).abs().amax(0) > 0.02
    assert torch.equal(changed, out.labels[0] > 0)
    assert torch.equal(T.render_params([p], supersample=1, device=CPU).labels, out.labels)
    assert sorted(out.labels.unique().tolist()) == list(range(9))
    box = boxes_from_instances(out.instances, 1)[0, 0]
    ys, xs = (out.labels[0] > 0).nonzero(as_tuple=True)
    assert box[0] <= xs.min() and box[1] <= ys.min() and box[2] > xs.max() and box[3] > ys.max()


def test_roundness_changes_the_silhouette_monotonically():
    # fill ratio of each block's mask inside its bounding box: 1 for a square, pi/4 for a disc
    params = [scene(spherical=s) for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    labels = T.render_params(params, size=256, supersample=1, device=CPU).labels
    fills = []
    for lab in labels:
        ratios = []
        for k in range(1, 9):
            ys, xs = (lab == k).nonzero(as_tuple=True)
            ratios.append(len(ys) / ((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)).item())
        fills.append(float(np.mean(ratios)))
    assert all(a > b for a, b in zip(fills, fills[1:])), fills
    assert fills[0] > 0.93 and fills[-1] < math.pi / 4 + 0.03


# ------------------------------------------------------------------ samplers


def _values(params, name):
    return np.array([getattr(p, name) for p in params])


@pytest.fixture(scope="module")
def biased():
    return T.sample(4000, "biased", seed=11)


@pytest.fixture(scope="module")
def unbiased():
    return T.sample(4000, "unbiased", seed=12, distributions="paper")


def test_marginals_match_table5(biased, unbiased):
    def tn(std, bound):
        return stats.truncnorm(-bound / std, bound / std, scale=std).cdf

    checks = [
        ("bending", tn(math.pi / 20, math.pi / 10)),
        ("obj_rotation_pitch", tn(math.pi / 8, math.pi / 6)),
        ("obj_rotation_roll", tn(0.03 * math.pi / 4, math.pi / 4)),
    ]
    for params in (biased, unbiased):
        for name, cdf in checks:
            assert stats.kstest(_values(params, name), cdf).pvalue > 0.001, name
    # released quirks vs the paper's intended ranges
    assert stats.kstest(_values(biased, "obj_rotation_yaw"), stats.uniform(-math.pi, math.pi).cdf).pvalue > 0.001
    assert stats.kstest(_values(unbiased, "obj_rotation_yaw"), stats.uniform(-math.pi, 2 * math.pi).cdf).pvalue > 0.001
    for name in ("position_x", "position_y"):
        assert stats.kstest(_values(biased, name), stats.uniform(-0.8, 0.8).cdf).pvalue > 0.001
        assert stats.kstest(_values(unbiased, name), stats.uniform(-0.8, 1.6).cdf).pvalue > 0.001
    assert stats.kstest(_values(biased, "bg_color"), stats.uniform(0, 1).cdf).pvalue > 0.001
    assert stats.kstest(_values(unbiased, "bg_color"), stats.uniform(0.05, 0.9).cdf).pvalue > 0.001
    # legs: Peeky U[0, 0.52], Stretchy U[0.48, 1]; classes 50/50
    for params in (biased, unbiased):
        arm = _values(params, "arm_position")
        st = np.array([p.obj_name == "stretchy" for p in params])
        assert abs(st.mean() - 0.5) < 0.03
        assert stats.kstest(arm[~st], stats.uniform(0, 0.52).cdf).pvalue > 0.001
        assert stats.kstest(arm[st], stats.uniform(0.48, 0.52).cdf).pvalue > 0.001
    assert stats.kstest(_values(unbiased, "obj_color"), stats.uniform(0, 1).cdf).pvalue > 0.001
    assert stats.kstest(_values(unbiased, "spherical"), stats.beta(0.3, 0.3).cdf).pvalue > 0.001


def test_biased_colour_and_shape_follow_their_conditional_laws(biased):
    # probability-integral transform with the conditional CDF given the legs must be uniform
    arm = _values(biased, "arm_position")
    st = np.array([p.obj_name == "stretchy" for p in biased])
    own = np.where(st, 1 - arm, arm)
    hi = np.clip(0.25 + 2.5 * (0.5 - own), 0, 1)
    v = _values(biased, "obj_color")
    x = np.where(st, 1 - v, v)  # mirrored for Stretchy
    pit = 0.85 * np.minimum(x / hi, 1) + 0.15 * x
    assert stats.kstest(pit, "uniform").pvalue > 0.001
    s = _values(biased, "spherical")
    beta = stats.beta(0.3, 0.3).cdf
    low = np.minimum(2 * beta(s), 1)  # Beta folded onto [0, 0.5]
    high = np.maximum(2 * beta(s) - 1, 0)  # folded onto [0.5, 1]
    folded = np.where(arm < 0.45, low, np.where(arm > 0.55, high, beta(s)))
    pit = 0.67 * folded + 0.33 * beta(s)
    assert stats.kstest(pit, "uniform").pvalue > 0.001


def test_colour_carries_class_information_only_inside_the_ambiguity_band(biased, unbiased):
    def split(params):
        arm = _values(params, "arm_position")
        st = np.array([p.obj_name == "stretchy" for p in params])
        return arm, st, _values(params, "obj_color"), _values(params, "spherical")

    arm, st, color, shape = split(biased)
    band = (arm >= 0.48) & (arm <= 0.52)
    assert band.sum() > 100
    # outside the band the legs alone decide the class, so nothing can add information
    assert not st[arm < 0.48].any() and st[arm > 0.52].all()
    # inside it, colour predicts the class (red Stretchy, blue Peeky) ...
    assert ((color[band] > 0.5) == st[band]).mean() > 0.8
    # ... while block shape does not
    assert stats.ks_2samp(shape[band & st], shape[band & ~st]).pvalue > 0.001
    arm, st, color, _ = split(unbiased)
    band = (arm >= 0.48) & (arm <= 0.52)
    assert abs(((color[band] > 0.5) == st[band]).mean() - 0.5) < 0.15


def test_intervention_resamples_one_factor_and_keeps_the_rest():
    base = T.sample(50, seed=3)
    new = T.intervene(base, "obj_color", seed=4)
    for a, b in zip(base, new):
        for f in T.FACTORS:
            assert (getattr(a, f) == getattr(b, f)) == (f != "obj_color")
        assert b.obj_name == a.obj_name and b.id == a.id + "_obj_color" and b.original_id == a.id
    legs = T.intervene(base, "arm_position", seed=5)
    assert all((p.arm_position <= 0.52) if p.obj_name == "peaky" else (p.arm_position >= 0.48) for p in legs)
    trio = T.intervene(base, ["spherical", "obj_color", "bg_color"], seed=6)
    assert all(a.bending == b.bending and a.spherical != b.spherical for a, b in zip(base, trio))
    with pytest.raises(ParameterError, match="factor"):
        T.intervene(base, "legs")


def test_sampling_is_deterministic():
    a, b, c = T.sample(20, seed=1), T.sample(20, seed=1), T.sample(20, seed=2)
    assert a == b and a != c
    assert len({p.id for p in a}) == 20


# ------------------------------------------------------------------ errors


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ParameterError, match="arm_position"):
        scene(arm_position=1.5)
    with pytest.raises(ParameterError, match="spherical"):
        scene(spherical="round")
    with pytest.raises(ParameterError, match="bending"):
        scene(bending=1.0)
    with pytest.raises(ParameterError, match="obj_name"):
        scene(obj_name="sticky-ish")
    with pytest.raises(ParameterError, match="fliplr"):
        scene(fliplr="yes")
    with pytest.raises(ParameterError, match="position_x"):
        scene(position_x=float("nan"))
    with pytest.raises(ParameterError, match="sampler"):
        T.sample(3, sampler="fair")
    with pytest.raises(DataFormatError, match="lacks"):
        T.Two4TwoParams.from_record({"obj_name": "peaky"})
    with pytest.raises(DataFormatError, match="label"):
        T.Two4TwoParams.from_record(dict(scene().to_record(), label="stretchy"))


# ------------------------------------------------------------------ on disk


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_dataset_round_trip_and_same_seed_same_bytes(tmp_path):
    assert cli(["two4two", "--n", "6", "--out", str(tmp_path / "a"), "--seed", "5", "--size", "64"]) == 0
    assert cli(["two4two", "--n", "6", "--out", str(tmp_path / "b"), "--seed", "5", "--size", "64"]) == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert len(list((tmp_path / "a").iterdir())) == 13
    params = T.read_params(tmp_path / "a")
    assert params == T.sample(6, seed=5)
    record = json.loads((tmp_path / "a" / "parameters.jsonl").read_text().splitlines()[0])
    for key in ("id", "obj_name", "arm_position", "spherical", "obj_color", "bg_color", "bending", "obj_rotation_yaw",
                "obj_rotation_pitch", "obj_rotation_roll", "position_x", "position_y", "label"):
        assert key in record
    ds = T.Two4TwoDataset(tmp_path / "a", masks=True)
    image, target, mask = ds[0]
    assert image.shape == (3, 64, 64) and 0 <= image.min() and image.max() <= 1
    assert target == params[0].target and mask.max() <= 8 and mask.dtype == torch.long
    again = T.render_params(params[:1], size=64, device=CPU)
    assert torch.equal(torch.from_numpy(T.to_uint8(again.image[0])).permute(2, 0, 1).float() / 255, image)
    assert torch.equal(again.labels[0], mask)
    assert ds.factors().shape == (6, len(T.FACTORS))
    # re-render from the written parameters (plus foreign fields), keeping ids
    lines = (tmp_path / "a" / "parameters.jsonl").read_text().splitlines()
    extra = [json.dumps(dict(json.loads(l), _attributes_status={"obj_name": "sampled"})) for l in lines]
    (tmp_path / "foreign.jsonl").write_text("\n".join(extra) + "\n")
    assert cli(["two4two", "--from-params", str(tmp_path / "foreign.jsonl"), "--out", str(tmp_path / "c"), "--size", "64"]) == 0
    assert _digest(tmp_path / "c") == _digest(tmp_path / "a")


# ------------------------------------------------------------------ fidelity


def _reference(shared_dir):
    from PIL import Image

    root = shared_dir / "reference" / "two4two-original"
    params, masks, images = [], [], []
    for part in ("fixed", "sampled_default"):
        for p in T.read_params(root / part):
            params.append(p)
            masks.append(np.asarray(Image.open(root / part / f"{p.id}_mask.png")))
            images.append(root / part / f"{p.id}.png")
        records = [json.loads(l) for l in (root / part / "parameters.jsonl").read_text().splitlines() if l.strip()]
        for r in records:
            assert np.allclose(T.Two4TwoParams.from_record(r).to_record()["obj_color_rgba"], r["obj_color_rgba"], atol=1e-12)
            assert np.allclose(T.Two4TwoParams.from_record(r).to_record()["bg_color_rgba"], r["bg_color_rgba"], atol=1e-12)
    return params, torch.from_numpy(np.stack(masks)).long(), images


@pytest.mark.shared
def test_fidelity_masks_match_the_original_generator(shared_dir):
    params, ref, _ = _reference(shared_dir)
    ours = T.render_params(params, supersample=1, device=CPU).labels
    ious = []
    for i in range(len(params)):
        for k in range(1, 9):
            a, b = ours[i] == k, ref[i] == k
            union = (a | b).sum().item()
            if union:
                ious.append((a & b).sum().item() / union)
    mean, worst = float(np.mean(ious)), float(np.min(ious))
    print(f"\nTwo4Two fidelity: {len(params)} scenes, {len(ious)} blocks, mean per-block IoU {mean:.4f}, worst {worst:.4f}")
    assert len(ious) == 8 * len(params)
    assert mean >= 0.9
    assert worst >= 0.8
