"""A zoo of block-built species: the offline stand-in for ImageNet and Stanford Dogs.

The zoo has 48 species in 10 families. Families differ in body plan (spine blocks, leg pairs,
neck, head, tail, fins, wings, proportions); species within a family differ subtly (leg
placement and length, ear carriage, tail carriage, hue band, roundness band). The ``hounds``
family (12 close species) stands in for Stanford Dogs, the whole zoo for ImageNet
(Nguyen et al. 2021, Sec. 3). Images vary in pose (facing, turn, elevation, in-plane tilt,
spine bend), scale, position and background (plain, gradient, stripes, checker, dots, noise),
so a classifier has to learn shape rather than trivia.

The causes of classifier errors that Shen & Huang (2020, "Categorizing Error Cases") coded by
hand are knobs here, each with a per-image record, so their categories C1-C5 come from ground
truth (:data:`KNOB_CATEGORY`, :func:`error_categories`):

=====================  ====  ===========================================================
knob                   cat.  what it does
=====================  ====  ===========================================================
``occlude_rate``       C1    an occluder block in front of the creature (local evidence)
``crop_rate``          C1    the creature partly outside the frame
``second_rate``        C2    a second creature of another species in the image
``lookalike_rate``     C3    the creature's body plan and colours morphed towards its
                             nearest look-alike species (an atypical member)
``context_rate``       C4    the background takes the class's signature context (kind and
                             hue band) at this rate, so context co-occurs with the class
``label_noise``        C5    the gold label replaced by another species
=====================  ====  ===========================================================

    >>> params = sample_zoo(16, seed=0, knobs={"second_rate": 0.5})
    >>> images, labels, masks, boxes, records = render_zoo(params, size=64)

Instance ids in ``masks``: 0 background, 1 the labelled creature, 2 the second creature,
3 the occluder. Part labels (``.parts``): see :data:`PART_LABELS`.

Modules: :mod:`.species` (the catalogue), :mod:`.creature` (a plan built into blocks),
:mod:`.sampling` (knobs, parameter tables, categories C1-C5), :mod:`.images` (rendering),
:mod:`.datasets` (cached splits, contact sheets, folders) and :mod:`.cli` (``python -m xaibook.world zoo``).
"""
from __future__ import annotations

__all__ = [
    "BASE_PLAN", "CATEGORY_NAMES", "CONTEXT_OF", "FAMILIES", "FAMILY_SCALE", "FINE_GRAINED_FAMILY", "FRAME_HALF_WIDTH",
    "KNOB_CATEGORY", "Knobs", "LOOKALIKE", "MAIN", "MARKERS", "N_HUE_BINS", "OCCLUDER", "PART_LABELS", "Parts", "SECOND",
    "SPECIES", "Species", "ZooImages", "add_cli", "blocks_from_parts", "build_creature", "contact_sheet",
    "creature_parts", "default_sizes", "error_categories", "main_zoo", "morph_plan", "occluder_parts", "pose_rotation",
    "render_zoo", "rx", "ry", "rz", "sample_zoo", "species_indices", "write_folder", "zoo_dataset",
]

# the geometry lives in blocks.py; these names stay importable from zoo for old callers
from ..blocks import PART_LABELS, Parts, blocks_from_parts, pose_rotation, rx, ry, rz
from .. import backgrounds as bgs  # callers read zoo.bgs
from .cli import add_cli, main_zoo
from .creature import FAMILY_SCALE, FRAME_HALF_WIDTH, build_creature, creature_parts, occluder_parts
from .datasets import MARKERS, contact_sheet, default_sizes, write_folder, zoo_dataset
from .images import MAIN, OCCLUDER, SECOND, ZooImages, render_zoo
from .sampling import (CATEGORY_NAMES, CONTEXT_OF, KNOB_CATEGORY, N_HUE_BINS, Knobs, error_categories,
                       sample_zoo)
from .species import (_SPECIES, BASE_PLAN, FAMILIES, FINE_GRAINED_FAMILY, LOOKALIKE, SPECIES, Species,
                      morph_plan, species_indices)
