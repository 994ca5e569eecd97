"""Scene parameter tables: objects on a ground plane (Alqaraawi et al. 2020, Sec. 3) and the
bus/train task of Im et al. (2023) with its mislabeled variant."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ...errors import ParameterError
from .. import backgrounds as bgs
from .objects import _FLYING, _SCALE, _VEHICLE_HUES, CLASSES, GROUND_Z


@dataclass
class SceneParams:
    """Parameters of a batch of scenes: ``scenes`` (one row per image: id and background) and
    ``objects`` (one row per object: scene, slot, class, placement, pose, colour, variant seed)."""

    scenes: pd.DataFrame
    objects: pd.DataFrame

    def __len__(self) -> int:
        return len(self.scenes)

    def subset(self, index: Sequence[int]) -> "SceneParams":
        """The scenes at ``index``, renumbered from 0."""
        index = [int(i) for i in index]
        sc = self.scenes.iloc[index].reset_index(drop=True)
        remap = {old: new for new, old in enumerate(index)}
        ob = self.objects[self.objects.scene.isin(remap)].copy()
        ob["scene"] = ob.scene.map(remap)
        ob = ob.sort_values(["scene", "slot"]).reset_index(drop=True)
        return SceneParams(sc, ob)


def _class_indices(classes: Iterable[str | int] | None) -> np.ndarray:
    if classes is None:
        return np.arange(len(CLASSES))
    out = []
    for c in classes:
        if isinstance(c, str):
            if c not in CLASSES:
                raise ParameterError(f"unknown scene class {c!r}; the classes are {', '.join(CLASSES)}")
            out.append(CLASSES.index(c))
        elif isinstance(c, (int, np.integer)) and 0 <= int(c) < len(CLASSES):
            out.append(int(c))
        else:
            raise ParameterError(f"scene class {c!r} is neither a class name nor an index 0..{len(CLASSES) - 1}")
    if not out:
        raise ParameterError("the class selection is empty")
    return np.asarray(sorted(set(out)))


def _object_row(rng: np.random.Generator, scene: int, slot: int, cls: int, y: float, depth: float,
                big: bool = False) -> dict[str, Any]:
    name = CLASSES[cls]
    hues = _VEHICLE_HUES.get(name, [])
    if hues is None:  # cars and clothes: any hue
        hue, sat, val = rng.uniform(0, 360), rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.85)
        if name == "car" and rng.uniform() < 0.3:  # white, grey, black cars
            sat, val = 0.03, rng.choice([0.15, 0.5, 0.9])
    elif hues:
        hue, sat, val = float(rng.choice(hues)) + rng.uniform(-6, 6), rng.uniform(0.55, 0.8), rng.uniform(0.55, 0.85)
    else:
        hue, sat, val = 0.0, 0.0, 0.5
    flying = name in _FLYING or (name == "bird" and rng.uniform() < 0.4)
    z = rng.uniform(0.2, 1.4) if flying else GROUND_Z
    turn = rng.uniform(-60, 60) if name == "aeroplane" else rng.uniform(-35, 35)
    facing = int(rng.choice([-1, 1]))
    if name == "person":  # people mostly face the camera (their +y turned towards +x)
        turn, facing = rng.uniform(-70, 70) - 90.0, 1
    return {
        "scene": scene, "slot": slot, "instance": slot + 1, "class": name, "class_index": cls,
        "pos_x": depth, "pos_y": y, "pos_z": z, "facing": facing, "turn": turn,
        "elev": rng.uniform(-15, -5) if name == "aeroplane" else 0.0,
        "scale": _SCALE[name] * rng.uniform(0.9, 1.1) * (1.25 if big else 1.0),
        "hue": hue, "sat": sat, "val": val, "seed": int(rng.integers(0, 2**31 - 1)),
    }


def _background_rows(rng: np.random.Generator, n: int, ids: list[str]) -> pd.DataFrame:
    bg = bgs.sky_ground(n, rng)
    return pd.DataFrame({"id": ids, **{"bg_" + k: v for k, v in bg.items()}})


def sample_scenes(n: int, seed: int = 0, max_objects: int = 3, classes: Iterable[str | int] | None = None,
                  p_objects: Sequence[float] | None = None) -> SceneParams:
    """Draw ``n`` multi-object scenes (deterministic in ``seed``).

    Args:
        n: number of scenes.
        seed: random seed.
        max_objects: at most this many objects per scene (1 to 6).
        classes: classes to draw from (names or indices; default all 12).
        p_objects: probabilities of 1..max_objects objects (default decreasing: 0.45, 0.35, 0.2, ...).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ParameterError(f"n={n!r} must be a non-negative int")
    if not isinstance(max_objects, (int, np.integer)) or not 1 <= max_objects <= 6:
        raise ParameterError(f"max_objects={max_objects!r} must be an int in 1..6")
    pool = _class_indices(classes)
    if p_objects is None:
        p = np.array([0.45, 0.35, 0.2, 0.1, 0.05, 0.05][:max_objects])
    else:
        p = np.asarray(p_objects, dtype=np.float64)
        if p.shape != (max_objects,) or (p < 0).any() or p.sum() <= 0:
            raise ParameterError(f"p_objects must be {max_objects} non-negative weights, got {p_objects!r}")
    p = p / p.sum()
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 5, 2]))
    ids = [f"scene-{seed}-{i:06d}" for i in range(n)]
    scenes = _background_rows(rng, n, ids)
    rows = []
    for i in range(n):
        k = int(rng.choice(np.arange(1, max_objects + 1), p=p))
        cls = rng.choice(pool, k)
        ys = np.sort(rng.uniform(-1, 1, k)) * (0.9 + 0.5 * (k - 1)) if k > 1 else rng.uniform(-0.8, 0.8, 1)
        depth = rng.uniform(-1.2, 2.0, k)
        for j in range(k):
            rows.append(_object_row(rng, i, j, int(cls[j]), float(ys[j]), float(depth[j]), big=k == 1))
    # water under boats
    objects = pd.DataFrame(rows, columns=list(_object_row(np.random.default_rng(0), 0, 0, 0, 0.0, 0.0).keys()))
    boats = objects.loc[objects["class"] == "boat", "scene"].unique()
    scenes.loc[boats, "bg_ground_hue"] = 205.0
    scenes.loc[boats, "bg_ground_sat"] = 0.45
    return SceneParams(scenes, objects)


#: Classes of Im et al.'s binary task: positives are buses and trains; cars are the mislabeled class.
IM_POSITIVE = ("bus", "train")
IM_CONFUSER = "car"


def im_task(n: int, seed: int = 0, mislabeled: bool = False, p_car: float = 0.35,
            max_distractors: int = 2, p_beside: float = 0.0) -> SceneParams:
    """Scenes of Im et al. (2023)'s binary task: is there a bus or a train?

    Each scene has one main object (instance 1): a bus or train in half of the scenes (true
    positives), otherwise a car (a fraction ``p_car`` of the negatives) or another class; plus up to
    ``max_distractors`` smaller objects of classes that are neither positives nor cars.
    ``scenes`` gains ``main_class``, ``true_label`` (1 for bus/train) and ``label``; with
    ``mislabeled=True`` the car scenes are labelled positive (the corrupted training set),
    recorded in ``mislabeled``. With ``p_beside > 0`` that share of the bus/train scenes also gets
    a car beside the main object (the last slot; the scene's labels are unchanged), so that models
    trained on the two label sets can differ on more than car-only scenes; ``p_beside=0`` draws
    exactly the scenes drawn without it.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ParameterError(f"n={n!r} must be a non-negative int")
    if not 0.0 <= p_car <= 1.0:
        raise ParameterError(f"p_car={p_car!r} must be a probability")
    if not isinstance(max_distractors, (int, np.integer)) or not 0 <= max_distractors <= 4:
        raise ParameterError(f"max_distractors={max_distractors!r} must be an int in 0..4")
    if not 0.0 <= p_beside <= 1.0:
        raise ParameterError(f"p_beside={p_beside!r} must be a probability")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7, int(bool(mislabeled))]))
    ids = [f"im-{seed}-{i:06d}" for i in range(n)]
    scenes = _background_rows(rng, n, ids)
    others = [c for c in CLASSES if c not in IM_POSITIVE + (IM_CONFUSER,)]
    distract = [c for c in others if c not in ("aeroplane", "boat")]
    positive = rng.permutation(np.arange(n) % 2 == 0)
    rows, main = [], []
    for i in range(n):
        if positive[i]:
            m = str(rng.choice(IM_POSITIVE))
        elif rng.uniform() < p_car:
            m = IM_CONFUSER
        else:
            m = str(rng.choice(others))
        main.append(m)
        k = int(rng.integers(0, max_distractors + 1))
        side = rng.choice([-1.0, 1.0])
        rows.append(_object_row(rng, i, 0, CLASSES.index(m), float(rng.uniform(-0.5, 0.5) - side * 0.4 * (k > 0)),
                                float(rng.uniform(-0.3, 1.2)), big=True))
        for j in range(k):
            d = CLASSES.index(str(rng.choice(distract)))
            r = _object_row(rng, i, j + 1, d, float(side * rng.uniform(1.8, 2.6)), float(rng.uniform(-1.5, -0.5)))
            r["scale"] *= 0.8
            rows.append(r)
        if p_beside > 0 and positive[i] and rng.uniform() < p_beside:  # a car beside the bus/train
            y0 = float(rows[-k - 1]["pos_y"])
            rows.append(_object_row(rng, i, k + 1, CLASSES.index(IM_CONFUSER), y0 - side * rng.uniform(1.2, 1.6),
                                    float(rows[-k - 1]["pos_x"]) + rng.uniform(0.6, 1.0)))
    objects = pd.DataFrame(rows, columns=list(_object_row(np.random.default_rng(0), 0, 0, 0, 0.0, 0.0).keys()))
    main_arr = np.asarray(main, dtype=object)
    scenes["main_class"] = main_arr
    scenes["true_label"] = np.isin(main_arr, IM_POSITIVE).astype(np.int64)
    scenes["mislabeled"] = (main_arr == IM_CONFUSER) & bool(mislabeled)
    scenes["label"] = np.where(scenes["mislabeled"], 1, scenes["true_label"]).astype(np.int64)
    boats = objects.loc[objects["class"] == "boat", "scene"].unique()
    scenes.loc[boats, "bg_ground_hue"] = 205.0
    return SceneParams(scenes, objects)

