"""models.inference.predict: outputs equal a manual forward, every input form, clear errors, and the
callers that delegate to it (importance.predict_logits, attack.classify, concepts) stay bit-identical."""
from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from xaibook import models
from xaibook.errors import ParameterError
from xaibook.models import inference
from xaibook.models.train import predict as train_predict

LIB = Path(__file__).resolve().parents[1] / "lib" / "xaibook"


class Net(nn.Module):
    """A small classifier with dropout and batch norm, so eval mode matters."""

    def __init__(self, n_classes: int = 5) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                                      nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(8, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.pool(self.features(x)).flatten(1)))


def _manual(model: nn.Module, x: torch.Tensor, batch_size: int, fn=None) -> torch.Tensor:
    """The hand-written loop predict replaces: eval mode, no_grad, fixed batches."""
    model.eval()
    with torch.no_grad():
        return torch.cat([(fn or model)(x[s:s + batch_size]).float() for s in range(0, len(x), batch_size)])


@pytest.fixture(scope="module")
def data() -> tuple[Net, torch.Tensor]:
    torch.manual_seed(1)
    net = Net()
    with torch.no_grad():  # non-trivial running statistics
        net.features[1].running_mean.uniform_(-0.2, 0.2)
        net.features[1].running_var.uniform_(0.5, 1.5)
    return net, torch.rand(23, 3, 12, 12)


def test_logits_probabilities_and_features_equal_a_manual_forward(data):
    net, x = data
    ref = _manual(net, x, 7)
    assert torch.equal(inference.predict(net, x, batch_size=7, device="cpu"), ref)
    assert torch.equal(inference.predict(net, x, output="probabilities", batch_size=7, device="cpu"), ref.softmax(1))
    assert torch.equal(inference.predict(net, x, output="sigmoid", batch_size=7, device="cpu"), ref.sigmoid())
    feats = inference.predict(net, x, output="features", layer="features", batch_size=7, device="cpu")
    assert feats.shape == (23, 8, 6, 6)
    assert torch.equal(feats, _manual(net, x, 7, net.features))
    inner = inference.predict(net, x, output="features", layer="features.1", batch_size=7, device="cpu")
    assert torch.equal(inner, _manual(net, x, 7, lambda b: net.features[1](net.features[0](b))))
    # the module itself works as well as its name; results land on the CPU as float32
    pooled = inference.predict(net, x, output="features", layer=net.pool, batch_size=7, device="cpu")
    assert pooled.shape == (23, 8, 1, 1) and pooled.dtype == torch.float32 and pooled.device.type == "cpu"
    # the package exports the same function
    assert models.predict is inference.predict


def test_input_forms_give_the_same_result(data):
    net, x = data
    ref = inference.predict(net, x, batch_size=5, device="cpu")
    labels = torch.arange(23)
    assert torch.equal(inference.predict(net, torch.utils.data.TensorDataset(x, labels), batch_size=5,
                                         device="cpu"), ref)

    class Images(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(x)

        def __getitem__(self, i: int) -> torch.Tensor:
            return x[i]

    rng = torch.get_rng_state()
    assert torch.equal(inference.predict(net, Images(), batch_size=5, device="cpu"), ref)
    assert torch.equal(torch.get_rng_state(), rng), "reading a Dataset must not move the global RNG"
    assert torch.equal(inference.predict(net, SimpleNamespace(images=x, labels=labels), batch_size=5,
                                         device="cpu"), ref)
    u8 = (x * 255).round().to(torch.uint8)
    assert torch.equal(inference.predict(net, u8, batch_size=5, device="cpu"),
                       inference.predict(net, u8.float() / 255, batch_size=5, device="cpu"))


def test_model_mode_is_restored_and_outputs_are_deterministic(data):
    net, x = data
    net.train()
    a = inference.predict(net, x, batch_size=4, device="cpu")
    assert net.training, "predict must leave a training model in training mode"
    b = inference.predict(net, x, batch_size=4, device="cpu")
    assert torch.equal(a, b), "dropout and batch statistics must be off during predict"
    net.eval()
    assert not net.training
    inference.predict(net, x[:2], device="cpu")
    assert not net.training


def test_bad_arguments_raise_clear_errors(data):
    net, x = data
    with pytest.raises(ParameterError, match=r"layer='featurez'.*valid names include:.*head"):
        inference.predict(net, x, output="features", layer="featurez", device="cpu")
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ParameterError, match="batch_size"):
            inference.predict(net, x, batch_size=bad, device="cpu")
    with pytest.raises(ParameterError, match="output="):
        inference.predict(net, x, output="softmax", device="cpu")
    with pytest.raises(ParameterError, match="layer= is required"):
        inference.predict(net, x, output="features", device="cpu")
    with pytest.raises(ParameterError, match="only allowed"):
        inference.predict(net, x, layer="features", device="cpu")
    with pytest.raises(ParameterError, match=r"\[N,C,H,W\]"):
        inference.predict(net, x[0], device="cpu")
    with pytest.raises(ParameterError, match="no images"):
        inference.predict(net, x[:0], device="cpu")
    with pytest.raises(ParameterError, match="Dataset"):
        inference.predict(net, [x], device="cpu")

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, t):
            return self.conv(self.conv(t)).mean((2, 3))

    with pytest.raises(ParameterError, match="ran 2 times"):
        inference.predict(Twice(), x, output="features", layer="conv", device="cpu")


# ----------------------------------------------------------------------- callers stay bit-identical


def test_delegating_callers_are_bit_identical_to_their_old_loops(data):
    from xaibook import attack
    from xaibook.explain import concepts
    from xaibook.world import importance

    net, _ = data
    torch.manual_seed(3)
    x = torch.rand(150, 3, 12, 12)  # more than one batch at every caller's default size

    class Binary(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = Net(1)

        def forward(self, t):
            return self.net(t)  # [B, 1]: predict_logits squeezes it

    binary = Binary().eval()
    # world.importance.predict_logits: batches of 64, [B,1] -> [B]
    assert torch.equal(importance.predict_logits(binary, x), _manual(binary, x, 64)[:, 0])
    # attack.classify: batches of 128, softmax then max
    preds, confs = attack.classify(net, x)
    c, k = _manual(net, x, 128).softmax(1).max(1)
    assert torch.equal(preds, k) and torch.equal(confs, c)
    # explain.concepts: features and logits in batches of 64
    assert torch.equal(concepts.layer_activations(net, "features", x), _manual(net, x, 64, net.features))
    exp = concepts.discover_concepts(binary, "net.features", x, n_components=4, keep=2, n_exemplars=2)
    given = concepts.discover_concepts(binary, "net.features", x, _manual(binary, x, 64)[:, 0], n_components=4,
                                       keep=2, n_exemplars=2)
    assert exp.selected.equals(given.selected)
    # models.train.predict (the old name, with the old "probs") at batch size 128
    assert torch.equal(train_predict(net, x, batch_size=128, output="probs", device="cpu"),
                       _manual(net, x, 128).softmax(1))


# ------------------------------------------------------------------------------ layering rule


def _imported_modules(source: str, package: list[str]) -> list[str]:
    """Absolute names of everything ``source`` imports (relative imports resolved against ``package``)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = base + (node.module.split(".") if node.module else [])
            names.append(".".join(mod))
            names += [".".join(mod + [a.name]) for a in node.names]
    return names


def test_explain_never_imports_world():
    files = sorted((LIB / "explain").rglob("*.py"))
    assert files, f"no sources under {LIB / 'explain'}"
    # the resolver itself catches the relative forms
    assert "xaibook.world.importance" in _imported_modules("from ..world.importance import x", ["xaibook", "explain"])
    assert "xaibook.world" in _imported_modules("from .. import world", ["xaibook", "explain"])
    assert "xaibook.explain.inputs" in _imported_modules("from .inputs import x", ["xaibook", "explain"])
    offenders = {}
    for f in files:
        package = ["xaibook", *f.relative_to(LIB).parent.parts]
        imported = _imported_modules(f.read_text(encoding="utf-8"), package)
        bad = [m for m in imported if m == "xaibook.world" or m.startswith("xaibook.world.")]
        if bad:
            offenders[str(f.relative_to(LIB))] = sorted(set(bad))
    assert not offenders, f"explain must never import world: {offenders}"

