"""Concepts by matrix factorisation (Sixt et al. 2022, Sec. 4; Zhang et al. 2021)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xaibook.errors import ParameterError
from xaibook.explain import concepts as C


def planted(n=120, c=16, h=4, w=4, rank=6, seed=0):
    """Activations = sum of `rank` orthogonal directions with decreasing variance (+ tiny noise);
    returns (activations [n,c,h,w], directions [rank,c], coefficient maps [n,rank,h,w])."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(c, c, generator=g, dtype=torch.float64))
    dirs = q[:, :rank].T  # orthonormal rows
    sd = torch.linspace(4.0, 1.0, rank, dtype=torch.float64)
    coef = torch.randn(n, rank, h, w, generator=g, dtype=torch.float64) * sd[None, :, None, None]
    acts = torch.einsum("nkhw,kc->nchw", coef, dirs) + 0.5  # a non-zero mean, signed values
    return acts.float(), dirs.float(), coef.float()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # Gaussian sources
def test_full_rank_factorisation_reconstructs_the_activations():
    acts, _, _ = planted(rank=6)
    for method in ("pca", "ica"):
        f = C.factorize(acts, n_components=6, method=method)
        assert f.scores.shape == (120, 6, 4, 4) and f.components.shape == (6, 16)
        rel = (f.reconstruct() - acts).norm() / (acts - acts.mean((0, 2, 3), keepdim=True)).norm()
        assert rel < 1e-3, method
    assert (acts < 0).any()  # signed activations: the case NMF cannot handle


def test_truncated_pca_matches_sklearn_and_its_residual():
    from sklearn.decomposition import PCA

    acts, _, _ = planted(rank=8, seed=1)
    acts = acts + 0.05 * torch.randn(acts.shape, generator=torch.Generator().manual_seed(2))
    f = C.factorize(acts, n_components=3)
    x = acts.permute(0, 2, 3, 1).reshape(-1, 16).double().numpy()
    ref = PCA(n_components=3, svd_solver="full").fit(x)
    np.testing.assert_allclose(f.explained_variance_ratio.numpy(), ref.explained_variance_ratio_, rtol=1e-4)
    cos = np.abs(np.sum(f.components.numpy() * ref.components_, axis=1))
    np.testing.assert_allclose(cos, 1.0, atol=1e-4)  # same directions up to sign
    # the unexplained variance equals the squared reconstruction error
    xc = x - x.mean(0)
    resid = ((f.reconstruct().double() - acts.double()) ** 2).sum() / (xc ** 2).sum()
    assert float(resid) == pytest.approx(1 - float(f.explained_variance_ratio.sum()), abs=1e-4)


def test_components_are_oriented_with_the_largest_excursion_positive():
    acts, _, _ = planted(rank=4, seed=3)
    f = C.factorize(acts, n_components=4)
    s = f.scores.permute(1, 0, 2, 3).reshape(4, -1)
    assert bool((s.amax(1) >= -s.amin(1)).all())


def test_ranking_by_logit_finds_the_planted_correlation():
    acts, dirs, coef = planted(n=200, rank=6, seed=4)
    g = torch.Generator().manual_seed(5)
    # the logit follows the image-level strength of the 3rd direction (not the largest one)
    logit = 3.0 * coef[:, 2].mean((1, 2)) + 0.3 * torch.randn(200, generator=g)
    f = C.factorize(acts, n_components=6)
    sel = C.rank_by_logit(f, logit, keep=3)
    top = int(sel["component"].iloc[0])
    assert abs(float(f.components[top] @ dirs[2])) > 0.99  # the planted direction
    r_true = np.corrcoef(coef[:, 2].mean((1, 2)).numpy(), logit.numpy())[0, 1]
    assert sel["abs_r"].iloc[0] == pytest.approx(abs(r_true), abs=0.02)
    assert list(sel["abs_r"]) == sorted(sel["abs_r"], reverse=True)
    assert sel["abs_r"].iloc[1] < 0.3


def test_pearson_r_matches_numpy():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(50, 3, generator=g), torch.randn(50, generator=g)
    ref = [np.corrcoef(x[:, k].numpy(), y.numpy())[0, 1] for k in range(3)]
    np.testing.assert_allclose(C.pearson_r(x, y).numpy(), ref, atol=1e-6)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.Tanh(),
                                      nn.Conv2d(8, 12, 3, stride=2, padding=1))
        self.head = nn.Linear(12, 1)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))[:, 0]


def test_discover_concepts_end_to_end_on_a_small_network():
    net = TinyNet()
    images = torch.rand(24, 3, 32, 32)
    acts = C.layer_activations(net, "features", images, batch_size=10)
    assert acts.shape == (24, 12, 8, 8) and (acts < 0).any()
    exp = C.discover_concepts(net, "features", images, n_components=6, keep=3, n_exemplars=4, batch_size=10)
    assert exp.panels.shape == (3, 4, 3, 32, 32) and exp.maps.shape == (3, 4, 1, 32, 32)
    assert float(exp.maps.max()) <= 1 + 1e-6 and float(exp.maps.min()) >= 0
    # the exemplars are the images where the component peaks highest
    comp = int(exp.selected["component"].iloc[0])
    peaks = exp.concepts.scores[:, comp].amax((1, 2))
    assert set(exp.exemplar_indices[0].tolist()) == set(torch.topk(peaks, 4).indices.tolist())
    # highlighting only dims: panels never exceed the images
    assert bool((exp.panels <= images[exp.exemplar_indices] + 1e-6).all())


def test_bad_arguments_raise_clear_errors():
    acts, _, _ = planted()
    with pytest.raises(ParameterError, match="NMF"):
        C.factorize(acts, method="nmf")
    with pytest.raises(ParameterError, match="n_components"):
        C.factorize(acts, n_components=99)
    f = C.factorize(acts, n_components=3)
    with pytest.raises(ParameterError, match="one logit per image"):
        C.rank_by_logit(f, torch.zeros(5))
    with pytest.raises(ParameterError, match="does not exist"):
        C.layer_activations(TinyNet(), "nope", torch.rand(2, 3, 8, 8))
