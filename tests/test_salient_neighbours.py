"""Salient-object maps (offline methods, PoolNet checkpoint loading) and nearest neighbours."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from torch import nn

from xaibook import explain
from xaibook.errors import DataFormatError, DataNotFoundError, ParameterError
from xaibook.explain import neighbours as nn_mod

# the module, not the function of the same name that ``explain.salient_object`` stands for
so = importlib.import_module("xaibook.explain.salient_object")
from xaibook.models.wrappers import Normalized


def _object_scene(n: int = 2, size: int = 64, seed: int = 0):
    """A grey, slightly textured background with one coloured square per image; its mask."""
    g = torch.Generator().manual_seed(seed)
    imgs = 0.5 + 0.02 * torch.randn(n, 3, size, size, generator=g)
    masks = torch.zeros(n, size, size, dtype=torch.bool)
    for i in range(n):
        y, x = 10 + 20 * i, 30 - 12 * i
        imgs[i, :, y:y + 14, x:x + 14] = torch.tensor([0.9, 0.2, 0.1]).view(3, 1, 1)
        masks[i, y:y + 14, x:x + 14] = True
    return imgs.clamp(0, 1), masks


# ----------------------------------------------------------------------------- offline SOD

@pytest.mark.parametrize("method", ["minimum_barrier", "frequency_tuned"])
def test_offline_maps_find_the_object(method):
    imgs, masks = _object_scene()
    maps = so.salient_object(None, imgs, method=method)
    assert maps.shape == (2, 1, 64, 64)
    assert maps.min() >= 0 and maps.max() <= 1 + 1e-6
    for i in range(2):
        inside, outside = maps[i, 0][masks[i]].mean(), maps[i, 0][~masks[i]].mean()
        assert inside > 1.5 * outside, f"{method}: object {inside:.3f} vs background {outside:.3f}"
    # the peak of each map lies on the object (pointing game, 1 px tolerance)
    from xaibook.metrics import pointing_game

    assert pointing_game(maps, masks, tolerance=1).hits.all()
    # per image: the batch does not mix images
    single = so.salient_object(None, imgs[1:], method=method)
    assert torch.allclose(single[0], maps[1], atol=1e-5)


def test_spectral_residual_matches_a_numpy_reference():
    from scipy import ndimage

    g = torch.Generator().manual_seed(3)
    img = torch.rand(1, 3, 64, 64, generator=g)   # at the working size, resizing is the identity
    ours = so.spectral_residual(img)[0, 0].numpy()
    grey = img[0].mean(0).double().numpy()
    f = np.fft.fft2(grey)
    log_amp = np.log(np.abs(f))
    residual = log_amp - ndimage.uniform_filter(log_amp, size=3, mode="wrap")
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(f)))) ** 2
    sal = ndimage.gaussian_filter(sal, sigma=8, mode="nearest", truncate=3.0)
    ref = (sal - sal.min()) / (sal.max() - sal.min())
    np.testing.assert_allclose(ours, ref, atol=2e-4)


def _exact_barrier(img: np.ndarray) -> np.ndarray:
    """Exact minimum barrier distance to the border by brute force (tiny images only)."""
    from scipy import ndimage

    h, w = img.shape
    border = np.zeros_like(img, dtype=bool)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    vals = np.unique(img)
    out = np.full(img.shape, np.inf)
    for lo in vals:
        for hi in vals[vals >= lo]:
            labels, _ = ndimage.label((img >= lo) & (img <= hi))       # 4-connected paths
            touching = np.unique(labels[border & (labels > 0)])
            reach = np.isin(labels, touching) & (labels > 0)
            out[reach] = np.minimum(out[reach], hi - lo)
    return out


def test_barrier_distance_against_brute_force():
    # a piecewise-constant scene: the scan is exact
    img = np.zeros((7, 8))
    img[2:5, 2:6] = 0.8
    img[3, 3] = 0.3
    ours = so.barrier_distance(torch.from_numpy(img)[None, None].float())[0, 0].numpy()
    np.testing.assert_allclose(ours, _exact_barrier(img), atol=1e-6)
    # random values: the scan's paths are real paths, so it never goes below the exact distance
    rng = np.random.default_rng(0)
    img = rng.integers(0, 6, (6, 6)).astype(np.float64)
    ours = so.barrier_distance(torch.from_numpy(img)[None, None].float())[0, 0].numpy()
    exact = _exact_barrier(img)
    assert (ours >= exact - 1e-6).all() and np.mean(ours == exact) > 0.8


def test_lab_conversion_matches_skimage():
    from skimage.color import rgb2lab

    img = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(1))
    ours = so.rgb_to_lab(img).permute(0, 2, 3, 1).numpy()
    ref = np.stack([rgb2lab(x) for x in img.permute(0, 2, 3, 1).numpy()])
    np.testing.assert_allclose(ours, ref, atol=2e-3)


def test_salient_object_bad_input():
    with pytest.raises(ParameterError, match="method"):
        so.salient_object(None, torch.rand(1, 3, 32, 32), method="magic")
    with pytest.raises(ParameterError, match="NaN"):
        so.salient_object(None, torch.full((1, 3, 32, 32), float("nan")))
    with pytest.raises(ParameterError, match="empty"):
        so.salient_object(None, torch.rand(0, 3, 32, 32))
    with pytest.raises(ParameterError, match="weights"):
        so.salient_object(None, torch.rand(1, 3, 32, 32), method="poolnet")


# ----------------------------------------------------------------------------- PoolNet

def _random_state(joint: bool = False) -> dict:
    """A PoolNet state dict with random weights (PyTorch's default init) and random BatchNorm statistics."""
    torch.manual_seed(0)
    net = so.PoolNet(joint=joint)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    return net.state_dict()


@pytest.fixture(scope="module")
def poolnet_state():
    return _random_state()


def _meta(joint: bool = False) -> "so.PoolNet":
    with torch.device("meta"):   # shapes only, no weights: fast
        return so.PoolNet(joint=joint)


def test_poolnet_key_layout_matches_the_checkpoint_format():
    """real-formats.md §5: prefixes of the ResNet-50 PoolNet checkpoints, no 'module.' prefix."""
    plain = _meta().state_dict()
    roots = {".".join(k.split(".")[:2]) if k.startswith(("base.", "score.", "convert.")) else k.split(".")[0]
             for k in plain}
    assert roots == {"base.resnet", "base.ppms_pre", "base.ppms", "base.ppm_cat", "base.infos",
                     "deep_pool", "score.score", "convert.convert0"}
    joint_keys = set(_meta(joint=True).state_dict())
    assert {k.split(".")[0] for k in joint_keys - set(plain)} == {"block", "fuse", "edgeinfo"}
    shapes = {k: tuple(v.shape) for k, v in plain.items()}
    assert shapes["base.resnet.conv1.weight"] == (64, 3, 7, 7)
    assert shapes["base.resnet.layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert shapes["base.resnet.layer2.0.conv1.weight"] == (128, 256, 1, 1)       # stride on the 1x1 conv
    assert [len({k.split(".")[3] for k in plain if k.startswith(f"base.resnet.layer{i}.")}) for i in range(1, 5)] == [3, 4, 6, 3]
    assert shapes["base.ppms.2.1.weight"] == (512, 512, 1, 1)
    assert shapes["base.ppm_cat.0.weight"] == (512, 2048, 3, 3)
    assert shapes["base.infos.3.0.weight"] == (128, 512, 3, 3)
    assert shapes["convert.convert0.0.0.weight"] == (128, 64, 1, 1)
    assert shapes["convert.convert0.4.0.weight"] == (512, 2048, 1, 1)
    assert shapes["deep_pool.1.conv_sum.weight"] == (256, 512, 3, 3)
    assert "deep_pool.0.conv_sum_c.weight" in shapes and "deep_pool.4.conv_sum_c.weight" not in shapes
    assert shapes["score.score.weight"] == (1, 128, 1, 1) and "score.score.bias" in shapes
    joint = {k: tuple(v.shape) for k, v in _meta(joint=True).state_dict().items()}
    assert joint["score.score.weight"] == (1, 256, 3, 3)
    assert joint["edgeinfo.trans.0.weight"] == (64, 64, 3, 3)
    assert joint["block.0.block_mid1.0.1.weight"] == (512, 128, 1, 1)
    net = _meta()
    assert net.base.resnet.layer4[0].conv2.dilation == (2, 2) and net.base.resnet.maxpool.ceil_mode


def test_poolnet_from_a_checkpoint_file(tmp_path, poolnet_state):
    state = poolnet_state
    path = tmp_path / "final.pth"
    torch.save(state, path)
    imgs = torch.rand(2, 3, 112, 120, generator=torch.Generator().manual_seed(0))
    seen = {}
    net = so.load_poolnet(path)
    assert so.load_poolnet(path) is net                     # memoised per file
    def keep_input(module, args):
        seen.setdefault("x", args[0].clone())

    hook = net.base.resnet.conv1.register_forward_pre_hook(keep_input)
    maps = so.salient_object(None, imgs, method="poolnet", weights=path)
    hook.remove()
    assert maps.shape == (2, 1, 112, 120)
    assert 0 < maps.min() and maps.max() < 1 and maps.std() > 1e-3
    # the exact preprocessing: 8-bit values, BGR order, minus the Caffe means, no std scaling
    expected = (imgs * 255).round()[:, [2, 1, 0]] - torch.tensor([104.00699, 116.66877, 122.67892]).view(1, 3, 1, 1)
    assert torch.allclose(seen["x"], expected, atol=1e-4)
    # the loaded weights are the saved ones, and a batch equals its images one by one
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    one = so.poolnet_saliency(net, imgs[1:])
    assert torch.allclose(one[0], maps[1], atol=1e-5)


def test_poolnet_joint_variant_and_prefixes():
    state = _random_state(joint=True)
    state = {"module." + k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    net = so.load_poolnet(state)                                  # DataParallel prefix, old BN counters
    assert net.joint
    out = so.poolnet_saliency(net, torch.rand(1, 3, 112, 112))
    assert out.shape == (1, 1, 112, 112) and torch.isfinite(out).all()


def test_poolnet_wrong_checkpoints_say_what_was_expected(tmp_path, poolnet_state):
    state = poolnet_state
    vgg = {"base.vgg16.base.0.weight": torch.zeros(64, 3, 3, 3), "score.score.weight": torch.zeros(1, 128, 1, 1)}
    with pytest.raises(DataFormatError, match="VGG-16"):
        so.load_poolnet(vgg)
    import torchvision

    with pytest.raises(DataFormatError, match=r"base\.resnet\.\*"):
        so.load_poolnet(torchvision.models.resnet18().state_dict())
    broken = dict(state)
    del broken["deep_pool.2.convs.1.weight"]
    with pytest.raises(DataFormatError, match=r"deep_pool\.2\.convs\.1\.weight"):
        so.load_poolnet(broken)
    reshaped = dict(state)
    reshaped["score.score.weight"] = torch.zeros(1, 256, 3, 3)
    with pytest.raises(DataFormatError, match="shape"):
        so.load_poolnet(reshaped)
    partial_joint = dict(state)
    partial_joint["edgeinfo.trans.0.weight"] = torch.zeros(64, 64, 3, 3)
    with pytest.raises(DataFormatError, match="joint"):
        so.load_poolnet(partial_joint)
    with pytest.raises(DataNotFoundError, match="PoolNet"):
        so.load_poolnet(tmp_path / "absent.pth")
    (tmp_path / "junk.pth").write_text("not a checkpoint")
    with pytest.raises(DataFormatError, match="readable"):
        so.load_poolnet(tmp_path / "junk.pth")
    with pytest.raises(ParameterError, match="111 px"):
        so.salient_object(None, torch.rand(1, 3, 64, 64), method="poolnet", weights=poolnet_state)


# ----------------------------------------------------------------------------- nearest neighbours

@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(4), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    model = Normalized(net, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)).eval()
    g = torch.Generator().manual_seed(1)
    bank = torch.rand(90, 3, 16, 16, generator=g)
    queries = torch.rand(7, 3, 16, 16, generator=g)
    with torch.no_grad():
        bank_pred = model(bank).argmax(1)
    labels = bank_pred.clone()
    labels[::3] = torch.randint(0, 3, (30,), generator=g)       # some training images are misclassified
    return model, bank, queries, labels, bank_pred


def _features(model, x):
    with torch.no_grad():
        return model.net[:3]((x - model.mean) / model.std).flatten(1).double().numpy()


def _reference(model, queries, bank, labels, preds, classes, k, metric, min_distance, agree=True):
    q, b = _features(model, queries), _features(model, bank)
    if metric == "cosine":
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
    out_i, out_d = [], []
    for qi, c in zip(q, classes):
        ok = np.ones(len(b), bool) if c is None else (labels.numpy() == c)
        if agree:
            ok &= preds.numpy() == labels.numpy()
        cand = np.flatnonzero(ok)
        d = (np.linalg.norm(b[cand] - qi, axis=1) if metric == "l2" else 1 - b[cand] @ qi)
        order = np.argsort(d, kind="stable")
        sel = [j for j in order if min_distance is None or d[j] >= min_distance][:k]
        idx = list(cand[sel]) + [-1] * (k - len(sel))
        dist = list(d[sel]) + [np.inf] * (k - len(sel))
        out_i.append(idx)
        out_d.append(dist)
    return np.array(out_i), np.array(out_d)


def test_layer_features_are_the_flattened_activations(tiny):
    model, bank, *_ = tiny
    f = nn_mod.layer_features(model, bank[:5], "net.2", batch_size=2)
    np.testing.assert_allclose(f.numpy(), _features(model, bank[:5]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["faiss", "torch"])
@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_nearest_neighbours_match_brute_force(tiny, backend, metric):
    model, bank, queries, labels, preds = tiny
    with torch.no_grad():
        qpred = model(queries).argmax(1).numpy()
    feats = nn_mod.layer_features(model, bank, "net.2")
    # a near-duplicate floor at the 5th-smallest query-bank distance forces some drops
    allq = _reference(model, queries, bank, labels, preds, [None] * 7, 90, metric, None, agree=False)[1]
    floor = float(np.sort(allq[:, 0])[4])
    for min_distance in (None, floor):
        idx, dist = explain.nearest_neighbours(model, queries, None, bank_features=feats, bank_labels=labels,
                                               bank_predictions=preds, layer="net.2", k=3, metric=metric,
                                               min_distance=min_distance, backend=backend)
        ref_i, ref_d = _reference(model, queries, bank, labels, preds, qpred, 3, metric, min_distance)
        assert idx.shape == (7, 3) and dist.shape == (7, 3)
        np.testing.assert_array_equal(idx.numpy(), ref_i)
        np.testing.assert_allclose(dist.numpy(), ref_d, rtol=1e-4, atol=1e-4)
    # every neighbour has the query's predicted class and is itself classified as that class
    assert all(labels[j] == qpred[r] and preds[j] == qpred[r] for r, row in enumerate(idx.tolist()) for j in row if j >= 0)


def test_nearest_neighbours_options(tiny):
    model, bank, queries, labels, preds = tiny
    targets = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    # from images (features and bank predictions computed inside), restricted to given targets
    idx_f, d_f = explain.nearest_neighbours(model, queries, targets, bank_images=bank, bank_labels=labels,
                                            layer="net.2", restrict="target", backend="faiss")
    idx_t, d_t = explain.nearest_neighbours(model, queries, targets, bank_images=bank, bank_labels=labels,
                                            layer="net.2", restrict="target", backend="torch")
    ref_i, _ = _reference(model, queries, bank, labels, preds, targets.tolist(), 3, "l2", None)
    np.testing.assert_array_equal(idx_f.numpy(), ref_i)
    np.testing.assert_array_equal(idx_t.numpy(), ref_i)
    # k larger than the candidates: padded with -1 / inf
    idx, dist = explain.nearest_neighbours(model, queries, targets, bank_images=bank, bank_labels=labels,
                                           layer="net.2", restrict="target", k=80)
    assert (idx == -1).any() and torch.isinf(dist[idx == -1]).all()
    # the whole bank, no agreement needed
    idx, _ = explain.nearest_neighbours(model, queries, None, bank_images=bank, layer="net.2", restrict="none",
                                        require_agreement=False, k=2)
    ref_i, _ = _reference(model, queries, bank, labels, preds, [None] * 7, 2, "l2", None, agree=False)
    np.testing.assert_array_equal(idx.numpy(), ref_i)


def test_nearest_neighbours_bad_input(tiny):
    model, bank, queries, labels, preds = tiny
    feats = nn_mod.layer_features(model, bank, "net.2")
    with pytest.raises(ParameterError, match="layer"):
        explain.nearest_neighbours(model, queries, None, bank_images=bank, bank_labels=labels, layer="net.nope")
    with pytest.raises(ParameterError, match="dimension"):
        explain.nearest_neighbours(model, queries, None, bank_features=feats[:, :5], bank_labels=labels,
                                   bank_predictions=preds, layer="net.2")
    with pytest.raises(ParameterError, match="bank_predictions"):
        explain.nearest_neighbours(model, queries, None, bank_features=feats, bank_labels=labels, layer="net.2")
    with pytest.raises(ParameterError, match="k must"):
        explain.nearest_neighbours(model, queries, None, bank_images=bank, bank_labels=labels, layer="net.2", k=0)
    with pytest.raises(ParameterError, match="exactly one"):
        explain.nearest_neighbours(model, queries, None, bank_labels=labels, layer="net.2")
    with pytest.raises(ParameterError, match="targets"):
        explain.nearest_neighbours(model, queries, None, bank_images=bank, bank_labels=labels, layer="net.2",
                                   restrict="target")


@pytest.mark.parametrize("backend", ["faiss", "torch"])
def test_examples_by_outcome(backend):
    rng = np.random.default_rng(0)
    n, d = 120, 6
    bank = rng.normal(size=(n, d)).astype(np.float32)
    labels = rng.random((n, 4)) < 0.3             # multi-label, as PASCAL VOC
    preds = labels ^ (rng.random((n, 4)) < 0.25)  # the classifier errs sometimes
    queries = rng.normal(size=(2, d)).astype(np.float32)
    queries[1] = bank[7]                          # a task image that is in the bank itself
    classes = np.array([1, 2])
    ex = nn_mod.examples_by_outcome(queries, bank, labels, preds, classes, backend=backend)
    bn = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    for r, c in enumerate(classes):
        cos = 1 - bn @ (queries[r] / np.linalg.norm(queries[r]))
        for name, want, sel in (("TP", 6, labels[:, c] & preds[:, c]), ("FN", 3, labels[:, c] & ~preds[:, c]),
                                ("FP", 3, ~labels[:, c] & preds[:, c])):
            cand = np.flatnonzero(sel & (cos >= 1e-6))
            ref = cand[np.argsort(cos[cand], kind="stable")][:want]
            assert ex.indices[name][r].tolist() == ref.tolist(), (name, r)
    assert 7 not in ex.indices["TP"][1].tolist() + ex.indices["FN"][1].tolist() + ex.indices["FP"][1].tolist()
    assert len(ex.flat(0)) == 12
    # single-label classes work the same way
    single = nn_mod.examples_by_outcome(queries, bank, labels.argmax(1), preds.argmax(1), 1, {"TP": 2, "FP": 1},
                                        backend=backend)
    assert set(single.indices) == {"TP", "FP"} and single.indices["TP"].shape == (2, 2)
