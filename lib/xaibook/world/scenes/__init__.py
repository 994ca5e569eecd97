"""Multi-object scenes: the offline stand-in for PASCAL VOC and Visual Genome.

Scenes hold one to a few block-built objects of 12 classes (vehicles, animals, a person,
furniture) standing on a ground plane under a sky, seen by the renderer's camera. Every image
comes with a multi-hot label vector (a class is present when at least ``min_pixels`` of one
of its objects are visible), an instance map, a class map and per-object boxes. This is the
data of Alqaraawi et al. (2020, Sec. 3: a multi-label VGG16 on PASCAL VOC) and, through
:func:`im_task`, of Im et al. (2023): a binary task whose positive class is buses and trains,
with a mislabeled variant in which car images are put into the positive class.
:func:`blur_object` blurs one object's region, the counterfactual of Im et al.'s simulation task.

    >>> sp = sample_scenes(8, seed=0)
    >>> s = render_scenes(sp, size=64)
    >>> s.labels            # [8, 12] multi-hot
    >>> blurred = blur_objects(s.images, s.instances == 1, sigma=3.0)

Instance ids: object ``j`` of a scene (0-based) has instance id ``j + 1``; the class map holds
``class index + 1`` (0 background). Rails under trains are scenery (instance 0); with
``context=True`` (:func:`render_scenes`, :func:`voc_dataset`) their visible pixels also come as a
``context`` mask, the region Alqaraawi et al.'s train maps were read to highlight.

Modules: :mod:`.objects` (classes and their block builders), :mod:`.sampling` (scene tables,
:func:`im_task`), :mod:`.images` (rendering), :mod:`.blur` (Im et al.'s counterfactual),
:mod:`.datasets` (cached splits, folders) and :mod:`.cli` (``python -m xaibook.world scenes``).
"""
from __future__ import annotations

from .blur import blur_object, blur_objects
from .cli import add_cli, main_scenes
from .datasets import MARKERS, default_sizes, im_dataset, voc_dataset, write_folder
from .images import _min_pixels, Scenes, object_parts, render_scenes  # tests read _min_pixels
from .objects import CLASSES, GROUND_Z, VEHICLES, build_object
from .sampling import IM_CONFUSER, IM_POSITIVE, SceneParams, im_task, sample_scenes

__all__ = ["CLASSES", "GROUND_Z", "IM_CONFUSER", "IM_POSITIVE", "MARKERS", "SceneParams", "Scenes", "VEHICLES",
           "add_cli", "blur_object", "blur_objects", "build_object", "default_sizes", "im_dataset", "im_task",
           "main_scenes", "object_parts", "render_scenes", "sample_scenes", "voc_dataset", "write_folder"]
