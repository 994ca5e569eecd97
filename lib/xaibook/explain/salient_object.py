"""Classifier-agnostic salient-object maps: Nguyen et al.'s SOD baseline (2021, Sec. 2.3).

Nguyen et al. showed PoolNet maps (Liu et al. 2019, ResNet-50 backbone) as a heatmap that
ignores the classifier. Four methods, one calling convention (the model is ignored):

``"minimum_barrier"`` (default, offline, no weights)
    MB salient object detection, Zhang et al. (ICCV 2015): the image boundary connectivity
    cue. Each pixel's saliency is its minimum barrier distance (the smallest
    max-minus-min range of values along a path) to the image border, summed over the three
    CIELAB channels. The distance transform is approximated, as in the paper's FastMBD, by
    repeated scans; here each scan sweeps whole rows or columns at once (down, up, right,
    left) so that a batch is processed in parallel. MB+'s backgroundness cue and
    post-processing are not included.
``"spectral"`` (offline, no weights)
    Spectral residual saliency, Hou & Zhang (CVPR 2007): grey image resized to 64x64, log
    amplitude spectrum minus its 3x3 local average, back to the image plane with the
    original phase, squared magnitude, Gaussian smoothing (sigma 8 px at 64 px), bilinear
    upsampling. It marks "proto-objects" and responds to the image border on natural
    photographs, so it is a weaker stand-in for a salient-object detector.
``"frequency_tuned"`` (offline, no weights)
    Frequency-tuned salient region detection, Achanta et al. (CVPR 2009): the distance in
    CIELAB between the image's mean colour and a 5x5 binomial-blurred image.
``"poolnet"`` (real path, user-supplied weights)
    PoolNet with its ResNet-50 backbone, loaded strictly from a checkpoint of the
    authors' code (``backseason/PoolNet``: ``networks/poolnet.py`` or, with edge branch,
    ``networks/joint_poolnet.py``) and run with its test-time preprocessing: BGR,
    0-255, minus the Caffe means (104.00699, 116.66877, 122.67892), no resizing; the
    output logits are upsampled to the input size and passed through a sigmoid.

All maps are ``[B,1,H,W]`` in [0, 1] (offline methods: min-max normalised per image).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DataFormatError, DataNotFoundError, ParameterError
from ..progress import bar
from .inputs import check_batch

METHODS = ("minimum_barrier", "spectral", "frequency_tuned", "poolnet")


def salient_object(model: nn.Module | None, images: torch.Tensor, targets: torch.Tensor | None = None,
                   method: str = "minimum_barrier", weights: str | Path | Mapping | nn.Module | None = None,
                   batch_size: int = 8, **params) -> torch.Tensor:
    """Salient-object map of each image, independent of the classifier.

    Args:
        model: the classifier; unused (kept for the common calling convention; may be None).
        images: ``[B,3,H,W]`` RGB in [0, 1].
        targets: unused.
        method: ``"minimum_barrier"`` (Zhang et al. 2015), ``"spectral"`` (Hou & Zhang 2007),
            ``"frequency_tuned"`` (Achanta et al. 2009) or ``"poolnet"`` (needs ``weights``).
        weights: for ``"poolnet"``: a checkpoint path, a state dict, or a loaded
            :class:`PoolNet` (see :func:`load_poolnet`).
        batch_size: images per PoolNet forward pass.
        **params: method parameters (``size``, ``passes`` for minimum barrier; ``size``,
            ``sigma``, ``avg`` for spectral residual).

    Returns:
        ``[B,1,H,W]`` maps in [0, 1] on the images' device.
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(images, torch.Tensor):
        raise ParameterError(f"images must be a torch.Tensor [B,3,H,W], got {type(images).__name__}")
    images, _ = check_batch(_Anchor(images.device), images, None)  # checks only; the classifier is not used
    if images.shape[1] != 3:
        raise ParameterError(f"images must be RGB [B,3,H,W], got {images.shape[1]} channels")
    if method == "minimum_barrier":
        return minimum_barrier(images, **params)
    if method == "spectral":
        return spectral_residual(images, **params)
    if method == "frequency_tuned":
        if params:
            raise ParameterError(f"frequency_tuned takes no parameters, got {sorted(params)}")
        return frequency_tuned(images)
    if weights is None:
        raise ParameterError("method='poolnet' needs weights: the path of a PoolNet ResNet-50 checkpoint "
                             "(final.pth from backseason/PoolNet) or a state dict; use method='spectral' offline")
    if params:
        raise ParameterError(f"poolnet takes no extra parameters, got {sorted(params)}")
    net = weights if isinstance(weights, PoolNet) else load_poolnet(weights, device=images.device)
    return poolnet_saliency(net, images, batch_size=batch_size)


class _Anchor(nn.Module):
    """A parameter-free module on a given device, so argument checks keep the images where they are."""

    def __init__(self, device):
        super().__init__()
        self.register_buffer("here", torch.zeros((), device=device))


# ----------------------------------------------------------------------------- offline methods

def _normalise(maps: torch.Tensor) -> torch.Tensor:
    lo = maps.flatten(1).min(dim=1).values.view(-1, 1, 1, 1)
    hi = maps.flatten(1).max(dim=1).values.view(-1, 1, 1, 1)
    return (maps - lo) / (hi - lo).clamp_min(1e-12)


def _gaussian_kernel(sigma: float, device, dtype) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _separable(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Filter every channel of ``x`` [B,C,H,W] with the 1-D kernel ``k`` along both axes (replicate borders)."""
    c, r = x.shape[1], k.numel() // 2
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def spectral_residual(images: torch.Tensor, size: int = 64, sigma: float = 8.0, avg: int = 3) -> torch.Tensor:
    """Spectral residual saliency (Hou & Zhang 2007), batched with ``torch.fft``.

    ``size``: side of the square working resolution (64 in the paper); ``avg``: side of
    the local-average filter on the log spectrum (3); ``sigma``: Gaussian smoothing of
    the saliency map at the working resolution (8).
    """
    if size < 8 or avg < 1 or avg % 2 == 0 or sigma <= 0:
        raise ParameterError(f"spectral residual needs size >= 8, an odd avg >= 1 and sigma > 0; got {size}, {avg}, {sigma}")
    b, _, h, w = images.shape
    grey = images.float().mean(dim=1, keepdim=True)
    small = F.interpolate(grey, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    spec = torch.fft.fft2(small)
    log_amp = torch.log(spec.abs().clamp_min(1e-12))
    phase = torch.angle(spec)
    local = F.avg_pool2d(F.pad(log_amp, (avg // 2,) * 4, mode="circular"), avg, stride=1)
    residual = log_amp - local
    sal = torch.fft.ifft2(torch.exp(residual + 1j * phase)).abs() ** 2
    sal = _separable(sal, _gaussian_kernel(sigma, sal.device, sal.dtype))
    sal = F.interpolate(sal, size=(h, w), mode="bilinear", align_corners=False)
    return _normalise(sal)


def rgb_to_lab(images: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> CIELAB (D65 white), batched ``[B,3,H,W]``."""
    rgb = images.float()
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = torch.tensor([[0.412453, 0.357580, 0.180423],
                      [0.212671, 0.715160, 0.072169],
                      [0.019334, 0.119193, 0.950227]], device=rgb.device, dtype=rgb.dtype)
    xyz = torch.einsum("ij,bjhw->bihw", m, lin)
    white = torch.tensor([0.95047, 1.0, 1.08883], device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
    t = xyz / white
    eps = (6 / 29) ** 3
    f = torch.where(t > eps, t.clamp_min(eps) ** (1 / 3), t / (3 * (6 / 29) ** 2) + 4 / 29)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=1)


def frequency_tuned(images: torch.Tensor) -> torch.Tensor:
    """Frequency-tuned saliency (Achanta et al. 2009): ``||mean Lab - blurred Lab(x)||``."""
    lab = rgb_to_lab(images)
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=lab.device, dtype=lab.dtype) / 16
    blurred = _separable(lab, k)
    mean = lab.mean(dim=(2, 3), keepdim=True)
    return _normalise((blurred - mean).norm(dim=1, keepdim=True))


def barrier_distance(values: torch.Tensor, passes: int = 3) -> torch.Tensor:
    """Approximate minimum barrier distance of every pixel to the image border, per channel.

    ``values`` is ``[B,C,H,W]``; returns ``[B,C,H,W]``. Border pixels are the seeds
    (distance 0). Each pass relaxes the distance with the neighbour above, below, left and
    right in four sweeps; a path's barrier is the max minus the min of the values on it.
    """
    h, w = values.shape[2:]
    dist = torch.full_like(values, float("inf"))
    dist[..., 0, :] = 0
    dist[..., -1, :] = 0
    dist[..., :, 0] = 0
    dist[..., :, -1] = 0
    high, low = values.clone(), values.clone()
    rows = lambda t, i: t[:, :, i]   # noqa: E731
    cols = lambda t, i: t[..., i]    # noqa: E731
    sweeps = ((rows, range(1, h), -1), (rows, range(h - 2, -1, -1), 1),
              (cols, range(1, w), -1), (cols, range(w - 2, -1, -1), 1))
    for _ in range(passes):
        for pick, order, back in sweeps:
            for i in order:
                hi = torch.maximum(pick(high, i + back), pick(values, i))
                lo = torch.minimum(pick(low, i + back), pick(values, i))
                better = (hi - lo) < pick(dist, i)
                pick(dist, i).copy_(torch.where(better, hi - lo, pick(dist, i)))
                pick(high, i).copy_(torch.where(better, hi, pick(high, i)))
                pick(low, i).copy_(torch.where(better, lo, pick(low, i)))
    return dist


def minimum_barrier(images: torch.Tensor, size: int = 128, passes: int = 3) -> torch.Tensor:
    """MB salient object map (Zhang et al. 2015): boundary connectivity by the barrier distance.

    ``size``: the longer side of the working resolution (images larger than this are
    downsampled first); ``passes``: scan passes of the distance transform (3).
    """
    if size < 8 or int(passes) != passes or passes < 1:
        raise ParameterError(f"minimum barrier needs size >= 8 and a positive integer passes; got {size}, {passes}")
    b, _, h, w = images.shape
    scale = min(1.0, size / max(h, w))
    work = (max(3, round(h * scale)), max(3, round(w * scale)))
    x = images.float()
    if work != (h, w):
        x = F.interpolate(x, size=work, mode="bilinear", align_corners=False, antialias=True)
    sal = barrier_distance(rgb_to_lab(x), int(passes)).sum(dim=1, keepdim=True)
    if work != (h, w):
        sal = F.interpolate(sal, size=(h, w), mode="bilinear", align_corners=False)
    return _normalise(sal)


# ----------------------------------------------------------------------------- PoolNet (ResNet-50)
# The modules below reproduce the parameter layout of backseason/PoolNet so that its
# checkpoints load with strict key matching: caffe-style ResNet-50 (stride in the first
# 1x1 convolution, ceil-mode max pooling, dilated layer4), pyramid pooling, the deep pool
# layers, 1x1 convert layers and the score layer; the joint (edge) model adds the edge
# blocks, the edge fusion and the edge-information layers.

CAFFE_MEAN_BGR = (104.00699, 116.66877, 122.67892)


class _Bottleneck(nn.Module):
    def __init__(self, cin: int, width: int, stride: int = 1, dilation: int = 1, downsample: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, stride, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, width * 4, 1, stride, bias=False), nn.BatchNorm2d(width * 4))
                           if downsample else None)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class _CaffeResNet50(nn.Module):
    """ResNet-50 returning the five stages [conv1, layer1..layer4]; layer4 dilated (stride 16 overall)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
        cin = 64
        for name, width, blocks, stride, dilation in (("layer1", 64, 3, 1, 1), ("layer2", 128, 4, 2, 1),
                                                      ("layer3", 256, 6, 2, 1), ("layer4", 512, 3, 1, 2)):
            stage = [_Bottleneck(cin, width, stride, dilation, downsample=True)]
            stage += [_Bottleneck(width * 4, width, 1, dilation) for _ in range(blocks - 1)]
            setattr(self, name, nn.Sequential(*stage))
            cin = width * 4

    def forward(self, x):
        c1 = self.relu(self.bn1(self.conv1(x)))
        l1 = self.layer1(self.maxpool(c1))
        l2 = self.layer2(l1)
        l3 = self.layer3(l2)
        return [c1, l1, l2, l3, self.layer4(l3)]


def _up(x: torch.Tensor, like: torch.Tensor | tuple) -> torch.Tensor:
    size = like.shape[2:] if isinstance(like, torch.Tensor) else like
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class _Locate(nn.Module):
    """Backbone plus the global guidance module (pyramid pooling and its per-stage guidance)."""

    GUIDE = (512, 256, 256, 128)

    def __init__(self):
        super().__init__()
        self.resnet = _CaffeResNet50()
        self.ppms_pre = nn.Conv2d(2048, 512, 1, bias=False)
        self.ppms = nn.ModuleList(nn.Sequential(nn.AdaptiveAvgPool2d(s), nn.Conv2d(512, 512, 1, bias=False),
                                                nn.ReLU(inplace=True)) for s in (1, 3, 5))
        self.ppm_cat = nn.Sequential(nn.Conv2d(2048, 512, 3, 1, 1, bias=False), nn.ReLU(inplace=True))
        self.infos = nn.ModuleList(nn.Sequential(nn.Conv2d(512, c, 3, 1, 1, bias=False), nn.ReLU(inplace=True))
                                   for c in self.GUIDE)

    def forward(self, x):
        stages = self.resnet(x)
        top = self.ppms_pre(stages[-1])
        pooled = self.ppm_cat(torch.cat([top] + [_up(p(top), top) for p in self.ppms], dim=1))
        # guidance for the merges at the resolutions of layer3, layer2, layer1 and conv1
        guides = [info(_up(pooled, stages[3 - i])) for i, info in enumerate(self.infos)]
        return stages, guides


class _Convert(nn.Module):
    def __init__(self):
        super().__init__()
        self.convert0 = nn.ModuleList(nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.ReLU(inplace=True))
                                      for cin, cout in zip((64, 256, 512, 1024, 2048), (128, 256, 256, 512, 512)))

    def forward(self, stages):
        return [conv(s) for conv, s in zip(self.convert0, stages)]


class _DeepPool(nn.Module):
    """Feature aggregation: average pools of 2, 4, 8 convolved, upsampled and summed with the input."""

    def __init__(self, cin: int, cout: int, resize: bool, fuse: bool):
        super().__init__()
        self.sizes = (2, 4, 8)
        self.resize, self.fuse = resize, fuse
        self.pools = nn.ModuleList(nn.AvgPool2d(s, s) for s in self.sizes)
        self.convs = nn.ModuleList(nn.Conv2d(cin, cin, 3, 1, 1, bias=False) for _ in self.sizes)
        self.relu = nn.ReLU()
        self.conv_sum = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        if fuse:
            self.conv_sum_c = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)

    def forward(self, x, skip=None, guide=None):
        out = x
        for pool, conv in zip(self.pools, self.convs):
            out = out + _up(conv(pool(x)), x)
        out = self.relu(out)
        if self.resize:
            out = _up(out, skip)
        out = self.conv_sum(out)
        if self.fuse:
            out = self.conv_sum_c(out + skip + guide)
        return out


class _EdgeBlock(nn.Module):
    """Joint model: two residual bottlenecks and a 1x1 projection to 16 edge channels."""

    def __init__(self, cin: int, cout: int = 16):
        super().__init__()
        q = cin // 4
        self.block_in1 = nn.ModuleList([nn.Conv2d(cin, q, 1, bias=False)])
        self.block_mid1 = nn.ModuleList([nn.Sequential(nn.Conv2d(q, q, 3, 1, 1, bias=False), nn.Conv2d(q, cin, 1, bias=False))])
        self.block_in2 = nn.ModuleList([nn.Conv2d(cin, q, 1, bias=False)])
        self.block_mid2 = nn.ModuleList([nn.Sequential(nn.Conv2d(q, q, 3, 1, 1, bias=False), nn.Conv2d(q, cin, 1, bias=False))])
        self.block_out = nn.ModuleList([nn.Conv2d(cin, cout, 1, bias=False)])
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(x + self.block_mid1[0](self.block_in1[0](x)))
        y = self.relu(y + self.block_mid2[0](self.block_in2[0](y)))
        return self.block_out[0](y)


class _EdgeFuse(nn.Module):
    """Joint model: edge prediction head (used only in edge mode; kept for strict loading)."""

    def __init__(self, n: int = 4):
        super().__init__()
        self.trans = nn.ModuleList(nn.Conv2d(16, 1, 1) for _ in range(n))
        self.fuse = nn.Conv2d(n, 1, 1)


class _EdgeInfo(nn.Module):
    def __init__(self, cin: int = 64, cout: int = 128):
        super().__init__()
        self.trans = nn.Sequential(nn.Conv2d(cin, cin, 3, 1, 1, bias=False), nn.ReLU(inplace=True),
                                   nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.ReLU(inplace=True),
                                   nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.ReLU(inplace=True),
                                   nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.ReLU(inplace=True))

    def forward(self, feats, like):
        return self.trans(torch.cat([_up(f, like) for f in feats], dim=1))


class _Score(nn.Module):
    def __init__(self, cin: int, k: int):
        super().__init__()
        self.score = nn.Conv2d(cin, 1, k, 1, k // 2)


class PoolNet(nn.Module):
    """PoolNet, ResNet-50 backbone, in the parameter layout of the authors' checkpoints.

    ``joint=False``: ``networks/poolnet.py`` (saliency only); ``joint=True``:
    ``networks/joint_poolnet.py`` run in saliency mode (edge features feed the score).
    ``forward`` takes preprocessed BGR batches (see :func:`poolnet_preprocess`) and
    returns saliency logits ``[B,1,H,W]`` at the input size.
    """

    def __init__(self, joint: bool = False):
        super().__init__()
        self.joint = joint
        self.base = _Locate()
        self.convert = _Convert()
        self.deep_pool = nn.ModuleList(_DeepPool(cin, cout, resize, fuse) for cin, cout, resize, fuse in (
            (512, 512, False, True), (512, 256, True, True), (256, 256, True, True),
            (256, 128, True, True), (128, 128, False, False)))
        if joint:
            self.block = nn.ModuleList(_EdgeBlock(c) for c in (512, 256, 256, 128))
            self.fuse = _EdgeFuse(4)
            self.edgeinfo = _EdgeInfo(64, 128)
            self.score = _Score(256, 3)
        else:
            self.score = _Score(128, 1)

    def forward(self, x):
        stages, guides = self.base(x)
        feats = self.convert(stages)[::-1]           # layer4, layer3, layer2, layer1, conv1
        merge = self.deep_pool[0](feats[0], feats[1], guides[0])
        merges = [merge]
        for i in range(1, 4):
            merge = self.deep_pool[i](merge, feats[i + 1], guides[i])
            merges.append(merge)
        merge = self.deep_pool[4](merge)
        if self.joint:
            edges = self.edgeinfo([blk(m) for blk, m in zip(self.block, merges)], merge)
            merge = torch.cat([merge, edges], dim=1)
        return _up(self.score.score(merge), x)


def poolnet_preprocess(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB -> PoolNet's input: 8-bit values (as read by ``cv2.imread``), BGR, minus the Caffe means."""
    x = images.float().clamp(0, 1).mul(255).round()
    mean = torch.tensor(CAFFE_MEAN_BGR, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return x.flip(1) - mean


def stride16_side(side: int) -> int:
    """Side of PoolNet's layer3/layer4 features for an input side (conv1, ceil-mode max pool, two strides)."""
    a = (side + 1) // 2                 # 7x7 conv, stride 2, padding 3
    b = -(-(a - 1) // 2) + 1            # 3x3 max pool, stride 2, padding 1, ceil mode
    c = (b + 1) // 2                    # layer2: stride-2 1x1 convolution
    return (c + 1) // 2                 # layer3 (layer4 is dilated, same size)


def poolnet_saliency(net: "PoolNet", images: torch.Tensor, batch_size: int = 8) -> torch.Tensor:
    """Run a loaded :class:`PoolNet` at the images' own resolution: ``sigmoid`` maps ``[B,1,H,W]``."""
    h, w = images.shape[2:]
    if stride16_side(min(h, w)) < 8:
        raise ParameterError(f"PoolNet needs images of at least 111 px per side (its 8x8 pooling runs on the "
                             f"stride-16 features); got {h}x{w}. Upsample the images or use method='spectral'.")
    net = net.to(images.device).eval()
    out = []
    with torch.no_grad():
        for start in bar(range(0, images.shape[0], batch_size), desc="PoolNet"):
            out.append(torch.sigmoid(net(poolnet_preprocess(images[start:start + batch_size]))))
    return torch.cat(out)


_LOADED: dict[tuple, PoolNet] = {}


def _read_checkpoint(weights) -> tuple[dict, str]:
    if isinstance(weights, nn.Module):
        return weights.state_dict(), type(weights).__name__
    if isinstance(weights, Mapping):
        return dict(weights), "the given state dict"
    path = Path(weights).expanduser()
    if not path.is_file():
        raise DataNotFoundError(f"PoolNet checkpoint {path} not found. Download the ResNet-50 PoolNet weights "
                                "linked from github.com/backseason/PoolNet (final.pth) and pass their path as weights=.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a format error for the user
        raise DataFormatError(f"{path} is not a readable torch checkpoint ({exc}); expected the state dict saved "
                              "by backseason/PoolNet (torch.save(net.state_dict()))") from exc
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise DataFormatError(f"{path} holds a {type(state).__name__}, expected a state dict of tensors")
    return dict(state), str(path)


def poolnet_variant(state: Mapping) -> bool:
    """``True`` for the joint (edge) model, ``False`` for the plain one; a clear error otherwise."""
    keys = list(state)
    has = lambda prefix: any(k.startswith(prefix) for k in keys)  # noqa: E731
    if has("base.vgg16."):
        raise DataFormatError("this is a PoolNet checkpoint with the VGG-16 backbone (keys base.vgg16.base.*); "
                              "xaibook implements the ResNet-50 PoolNet used by Nguyen et al. 2021. "
                              "Use the ResNet-50 weights (keys base.resnet.*, convert.convert0.*).")
    expected = ("base.resnet.", "base.ppms_pre.", "base.ppms.", "base.ppm_cat.", "base.infos.",
                "deep_pool.", "score.score.", "convert.convert0.")
    missing = [p for p in expected if not has(p)]
    if missing:
        raise DataFormatError(
            "not a PoolNet ResNet-50 checkpoint: expected keys with the prefixes " + ", ".join(p + "*" for p in expected)
            + f"; missing {', '.join(p + '*' for p in missing)}. First keys found: {keys[:6]}")
    joint_parts = [p for p in ("block.", "fuse.", "edgeinfo.") if has(p)]
    if joint_parts and len(joint_parts) < 3:
        raise DataFormatError(f"PoolNet checkpoint has only part of the joint (edge) model: {joint_parts}; "
                              "expected all of block.*, fuse.*, edgeinfo.* (joint_poolnet.py) or none (poolnet.py)")
    return bool(joint_parts)


def load_poolnet(weights, device: torch.device | str | None = None) -> PoolNet:
    """Build the PoolNet variant a checkpoint belongs to and load it strictly.

    ``weights``: a path to the authors' ``torch.save(net.state_dict())`` file, a state dict
    or a module. A uniform ``module.`` prefix (``DataParallel``) is removed; BatchNorm
    ``num_batches_tracked`` counters absent from older checkpoints are filled in (they do
    not affect inference). Any other missing, unexpected or mis-shaped key is an error that
    names the keys. Loaded files are memoised per path, size and modification time.
    """
    memo = None
    if isinstance(weights, (str, Path)):
        p = Path(weights).expanduser()
        if p.is_file():
            st = p.stat()
            memo = (str(p.resolve()), st.st_size, st.st_mtime_ns)
            if memo in _LOADED:
                return _LOADED[memo].to(device) if device is not None else _LOADED[memo]
    state, source = _read_checkpoint(weights)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    joint = poolnet_variant(state)
    with torch.device("meta"):  # no random initialisation: every tensor comes from the checkpoint
        net = PoolNet(joint=joint)
    own = net.state_dict()
    for k in own:
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = torch.zeros((), dtype=torch.long)
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        variant = "joint_poolnet.py (with edge)" if joint else "poolnet.py (without edge)"
        raise DataFormatError(
            f"{source} does not match PoolNet ResNet-50 {variant}: {len(missing)} missing keys {missing[:5]}, "
            f"{len(unexpected)} unexpected keys {unexpected[:5]}, {len(shapes)} shape mismatches {shapes[:3]}")
    if any(not isinstance(v, torch.Tensor) for v in state.values()):
        raise DataFormatError(f"{source} holds non-tensor values; expected a state dict of tensors")
    net.load_state_dict({k: v.detach().float() if v.is_floating_point() else v for k, v in state.items()},
                        strict=True, assign=True)
    net.eval()
    if device is not None:
        net.to(device)
    if memo is not None:
        _LOADED.clear()  # keep one network in memory
        _LOADED[memo] = net
    return net
