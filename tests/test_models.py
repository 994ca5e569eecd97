"""Classifiers, the training loop (learning, resume, cache), prediction and pretrained loaders."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xaibook import models
from xaibook.errors import DataNotFoundError, ParameterError
from xaibook.explain.inputs import resolve_layer
from xaibook.models import classifiers, pretrained
from xaibook.models.train import Augment, accuracy, predict, train, train_cached
from xaibook.models.wrappers import IMAGENET_MEAN, IMAGENET_STD

# ---------------------------------------------------------------------------------------------
# architectures


def test_resnet_stems_and_gradcam_layer():
    torch.manual_seed(0)
    small = classifiers.resnet(18, n_classes=7, small_input=True).eval()
    feats = {}
    layer = resolve_layer(small, small.gradcam_layer)
    assert small.gradcam_layer == "net.layer4"
    h = layer.register_forward_hook(lambda m, i, o: feats.update(a=o.shape))
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert small(x).shape == (2, 7)
    h.remove()
    assert feats["a"] == (2, 512, 4, 4)  # 3x3 stem, no max-pool: 32 / 8
    std = classifiers.resnet(34, n_classes=5, small_input=False).eval()
    assert std.net.conv1.kernel_size == (7, 7) and std(torch.rand(1, 3, 32, 32)).shape == (1, 5)
    # the wrapper normalises inside: model(x) == net((x - mean) / std)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    sd = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(small(x), small.net((x - mean) / sd))
    with pytest.raises(ParameterError, match="depth"):
        classifiers.resnet(50)


def test_vgg_and_mobilenet_builders():
    torch.manual_seed(0)
    v = classifiers.vgg16(n_classes=20, multilabel=True).eval()
    assert v.multilabel and isinstance(resolve_layer(v, v.gradcam_layer), torch.nn.ReLU)
    assert v.gradcam_layer == "net.features.29"
    with torch.no_grad():
        assert v(torch.rand(1, 3, 32, 32)).shape == (1, 20)
    del v
    s = classifiers.small_vgg(20, multilabel=True, widths=(8, 16, 32)).eval()
    assert isinstance(resolve_layer(s, s.gradcam_layer), torch.nn.ReLU)
    assert s(torch.rand(2, 3, 64, 64)).shape == (2, 20)
    m = classifiers.mobilenet_v2(6).eval()
    assert m(torch.rand(2, 3, 64, 64)).shape == (2, 6)
    resolve_layer(m, m.gradcam_layer)


# ---------------------------------------------------------------------------------------------
# synthetic separable data


def _squares(n: int, seed: int, size: int = 16) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Grey noise with a bright square whose colour channel is the class (0, 1, 2);
    also multi-hot 'red square present / blue square present' labels for a second image set."""
    g = torch.Generator().manual_seed(seed)
    x = 0.3 + 0.1 * torch.rand(n, 3, size, size, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    for i in range(n):
        r, c = torch.randint(0, size - 6, (2,), generator=g).tolist()
        x[i, y[i], r:r + 6, c:c + 6] = 0.95
    multi = torch.zeros(n, 2)
    xm = 0.3 + 0.1 * torch.rand(n, 3, size, size, generator=g)
    for i in range(n):
        for k, ch in enumerate((0, 2)):
            if torch.rand(1, generator=g) < 0.5:
                r, c = torch.randint(0, size - 5, (2,), generator=g).tolist()
                xm[i, ch, r:r + 5, c:c + 5] = 0.95
                multi[i, k] = 1
    return x, y, (xm, multi)


def _tiny(n_out: int, multilabel: bool = False):
    return classifiers.small_vgg(n_out, multilabel=multilabel, widths=(8, 16), convs_per_block=1)


def test_training_learns_single_label():
    x, y, _ = _squares(192, 0)
    xt, yt, _ = _squares(96, 1)
    torch.manual_seed(0)
    model, hist = train(_tiny(3), (x, y), epochs=6, batch_size=32, lr=3e-3, val=(xt, yt), device="cpu",
                        augment={"flip": True})
    assert list(hist.columns) == ["epoch", "loss", "acc", "val_loss", "val_acc", "lr", "seconds"]
    assert len(hist) == 6 and hist["loss"].iloc[-1] < hist["loss"].iloc[0]
    acc = accuracy(predict(model, xt, batch_size=40, device="cpu"), yt)
    assert acc > 0.9, hist
    assert abs(acc - hist["val_acc"].iloc[-1]) < 1e-6


def test_training_multilabel_and_regression():
    _, _, (xm, multi) = _squares(192, 2)
    _, _, (xv, mv) = _squares(96, 3)
    torch.manual_seed(0)
    model, hist = train(_tiny(2, multilabel=True), (xm, multi), epochs=6, batch_size=32, lr=3e-3, device="cpu")
    assert accuracy(predict(model, xv, output="sigmoid", device="cpu"), mv, threshold=0.5) > 0.85
    # regression (the observer's task): predict each image's mean red and blue
    target = xm[:, [0, 2]].mean(dim=(2, 3))
    torch.manual_seed(0)
    reg, rh = train(_tiny(2), (xm, target), task="regression", epochs=6, batch_size=32, lr=3e-3, device="cpu")
    assert np.isnan(rh["acc"]).all() and rh["loss"].iloc[-1] < 0.2 * rh["loss"].iloc[0]


def test_resume_after_interruption_matches_uninterrupted(tmp_path):
    x, y, _ = _squares(96, 4)
    kw = dict(epochs=3, batch_size=32, lr=2e-3, device="cpu", seed=5, augment={"flip": True, "shift": 2})
    torch.manual_seed(0)
    full, full_hist = train(_tiny(3), (x, y), checkpoint=tmp_path / "a.pt", **kw)

    class Interrupt(Exception):
        pass

    def stop_after_first(epoch, record):
        if epoch == 1:
            raise Interrupt

    torch.manual_seed(0)
    with pytest.raises(Interrupt):
        train(_tiny(3), (x, y), checkpoint=tmp_path / "b.pt", on_epoch=stop_after_first, **kw)
    assert torch.load(tmp_path / "b.pt", weights_only=False)["epoch"] == 1
    ran = []
    torch.manual_seed(123)  # a different init: the checkpoint must override it
    resumed, hist = train(_tiny(3), (x, y), checkpoint=tmp_path / "b.pt", on_epoch=lambda e, r: ran.append(e), **kw)
    assert ran == [2, 3]
    assert hist["epoch"].tolist() == [1, 2, 3]
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5, msg=k)
    np.testing.assert_allclose(hist["loss"], full_hist["loss"], rtol=1e-5)


def test_train_cached_loads_on_rerun_and_resumes(tmp_path):
    x, y, _ = _squares(64, 5)
    calls = {"data": 0}

    def data():
        calls["data"] += 1
        return x, y

    kw = dict(epochs=2, batch_size=32, lr=2e-3, device="cpu")
    m1, h1 = train_cached("test.tiny", {"n": 64}, lambda: _tiny(3), data, **kw)
    m2, h2 = train_cached("test.tiny", {"n": 64}, lambda: _tiny(3), data, **kw)
    assert calls["data"] == 1  # the rerun loaded the weights without touching the data
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu())
    assert h1["loss"].tolist() == h2["loss"].tolist()

    # an interrupted cached training resumes from its checkpoint
    def boom(epoch, record):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_cached("test.tiny", {"n": 64, "v": 2}, lambda: _tiny(3), data, on_epoch=boom, **kw)
    ran = []
    _, h3 = train_cached("test.tiny", {"n": 64, "v": 2}, lambda: _tiny(3), data, on_epoch=lambda e, r: ran.append(e), **kw)
    assert ran == [2] and len(h3) == 2
    with pytest.raises(ParameterError, match="val_fn"):
        train_cached("test.tiny", {}, lambda: _tiny(3), data, val=(x, y))


def test_augment_shift_is_a_window_of_the_padded_image():
    x = torch.rand(4, 3, 8, 8)
    g = torch.Generator().manual_seed(0)
    out = Augment(shift=2).apply(x, g)
    pad = F.pad(x, (2, 2, 2, 2), mode="reflect")
    for i in range(4):
        assert any(torch.equal(out[i], pad[i, :, r:r + 8, c:c + 8]) for r in range(5) for c in range(5))
    flipped = Augment(flip=True).apply(x, torch.Generator().manual_seed(1))
    for i in range(4):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(-1))
    with pytest.raises(ParameterError, match="unknown options"):
        Augment.coerce({"rotate": 10})


# ---------------------------------------------------------------------------------------------
# predict and accuracy


def test_predict_batches_and_inputs():
    torch.manual_seed(0)
    model = _tiny(3).eval()
    x = torch.rand(10, 3, 16, 16)
    with torch.no_grad():
        ref = model(x)
    torch.testing.assert_close(predict(model, x, batch_size=3, device="cpu"), ref)
    probs = predict(model, x, batch_size=4, output="probs", device="cpu")
    torch.testing.assert_close(probs.sum(1), torch.ones(10))
    u8 = (x * 255).round().to(torch.uint8)
    torch.testing.assert_close(predict(model, u8, device="cpu"), predict(model, u8.float() / 255, device="cpu"))
    ds = torch.utils.data.TensorDataset(x, torch.zeros(10))
    torch.testing.assert_close(predict(model, ds, batch_size=4, device="cpu"), ref)
    with pytest.raises(ParameterError, match="output"):
        predict(model, x, output="softmax")


def test_accuracy_hand_cases():
    out = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])
    y = torch.tensor([1, 1, 2, 1])
    assert accuracy(out, y) == 0.5
    assert accuracy(out, y, k=2) == 1.0
    assert accuracy(torch.tensor([[2.0, -1.0], [-3.0, 0.5]]), torch.tensor([[1.0, 0.0], [1.0, 1.0]])) == 0.75
    with pytest.raises(ParameterError):
        accuracy(out, y[:2])


# ---------------------------------------------------------------------------------------------
# pretrained


def test_torchvision_weights_from_offline_hub_cache(tmp_path, monkeypatch):
    from torchvision.models import resnet34

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = tmp_path / "hub" / "checkpoints" / "resnet34-b627a593.pth"
    assert pretrained.hub_checkpoint_path("resnet34") == path
    with pytest.raises(DataNotFoundError) as err:
        pretrained.torchvision_classifier("resnet34", download=False)
    assert str(path) in str(err.value) and "download.pytorch.org" in str(err.value)
    with pytest.raises(DataNotFoundError, match="vgg16-397923af.pth"):
        pretrained.torchvision_classifier("vgg16", download=False)
    torch.manual_seed(0)
    ref = resnet34()
    path.parent.mkdir(parents=True)
    torch.save(ref.state_dict(), path)
    model = pretrained.torchvision_classifier("resnet34")
    assert isinstance(model, models.Normalized) and model.gradcam_layer == "net.layer4"
    assert len(model.categories) == 1000 and model.categories[151] == "Chihuahua"
    for k, v in ref.state_dict().items():
        assert torch.equal(model.net.state_dict()[k], v), k
    x = torch.rand(1, 3, 64, 64)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    sd = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref.eval()((x - mean) / sd))
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception, match="readable torch state dict"):
        pretrained.torchvision_classifier("resnet34")


def test_efficientnet_lite0_classifies_scikit_image_photos():
    import skimage.data

    model = pretrained.efficientnet_lite0()
    names = model.categories
    assert model.gradcam_layer == "net._bn1"
    resolve_layer(model, model.gradcam_layer)
    photos = {n: pretrained.preprocess(getattr(skimage.data, n)()) for n in ("chelsea", "coffee", "rocket")}
    x = torch.stack(list(photos.values()))
    top = pretrained.top_k(model, x, k=3)
    cats = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}
    assert top[0][0][0] in cats and sum(p for n, p in top[0] if n in cats) > 0.8, top[0]
    assert top[1][0][0] in {"espresso", "cup", "coffee mug"}, top[1]
    assert {n for n, _ in top[2]} & {"missile", "projectile", "space shuttle"}, top[2]
    assert all(n in names for n, _ in top[0])


def test_dataset_and_object_inputs_train_like_tensors():
    """A torch Dataset (DataLoader path) and a zoo-like object with .images/.labels follow the
    same seeded order as in-memory tensors, so all three give the same weights."""
    from types import SimpleNamespace

    x, y, _ = _squares(64, 6)
    kw = dict(epochs=2, batch_size=16, lr=2e-3, device="cpu", seed=3)
    runs = []
    for data in ((x, y), torch.utils.data.TensorDataset(x, y), SimpleNamespace(images=x, labels=y)):
        torch.manual_seed(0)
        model, hist = train(_tiny(3), data, val=data, **kw)
        runs.append((model.state_dict(), hist))
    for sd, hist in runs[1:]:
        for k in sd:
            torch.testing.assert_close(sd[k], runs[0][0][k], msg=k)
        np.testing.assert_allclose(hist["val_acc"], runs[0][1]["val_acc"])
