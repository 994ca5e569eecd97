"""Nguyen et al. 2021: the original Gorilla exports, loaded, filtered and summarised.

The exports (:mod:`xaibook.data.gorilla`) become the book's trial table; the paper's
exclusion rule (Sec. 2.4.2, A11.3) keeps the qualified participants, and the summaries are
those the paper reports: per-user accuracy (Fig. 1b, Table 1), the appendix breakdowns
(Tables A1, A3, A4, A5, A9), Mann-Whitney U tests (Sec. 3.1) and per-image accuracy (Sec. 3.5).
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ... import config
from ...data import gorilla, published
from ...errors import DataNotFoundError, XaibookError

METHODS = gorilla.METHOD_ORDER
DATASETS = ("ImageNet", "Dogs")
EXPORTS_FOLDER = "nguyen2021-gorilla"
HOW_TO_GET = (
    "The Gorilla exports are public in the authors' repository "
    "https://github.com/anguyen8/effectiveness-attribution-maps (folder src/): copy its "
    "'users_data' folder (Data-v2/Natural, Data-v2/Dog, Expert_Data) and, optionally, 'csv_files' "
    f"into <XAIBOOK_DATA>/{EXPORTS_FOLDER}/. Files are found recursively, so any layout under that folder works."
)


def _validation_thresholds() -> dict[tuple[str, str], int]:
    """Validation trials a participant must get right, out of 10 (Sec. 2.4.2): the lay users'
    thresholds from ``data/published``; the experts' threshold is not printed in the paper and
    is the authors' analysis code's (A11.3)."""
    lay = {d: int(published.ref("nguyen2021_methods", dataset=d, metric="validation_pass_score").value)
           for d in DATASETS}
    experts = 8  # the authors' analysis code, not a printed number
    return {("lay", "ImageNet"): lay["ImageNet"], ("lay", "Dogs"): lay["Dogs"],
            ("expert", "ImageNet"): experts, ("expert", "Dogs"): experts}


#: Validation trials a participant must get right, out of 10, by (population, dataset).
VALIDATION_THRESHOLD = _validation_thresholds()


def exports_dir() -> Path | None:
    """``<XAIBOOK_DATA>/nguyen2021-gorilla`` if it exists, else None."""
    path = config.data_root() / EXPORTS_FOLDER
    return path if path.is_dir() else None


def load_human(paths: Iterable[Path | str] | Path | str | None = None) -> pd.DataFrame:
    """All trials of the original exports as a tidy trial table (default: :func:`exports_dir`)."""
    if paths is None:
        paths = exports_dir()
        if paths is None:
            raise DataNotFoundError(f"{config.data_root() / EXPORTS_FOLDER} does not exist. {HOW_TO_GET}")
    return gorilla.load_exports(paths)


def exports_status(path: Path | None = None) -> str:
    """One line saying which exports were found (``path`` defaults to :func:`exports_dir`)."""
    path = path if path is not None else exports_dir()
    if path is None:
        return f"No Gorilla exports at {config.data_root() / EXPORTS_FOLDER}. {HOW_TO_GET}"
    try:
        files = gorilla.find_exports(path)
    except XaibookError as err:
        return f"{path}: {err}"
    return f"Found {len(files)} Gorilla task export(s) under {path}: {', '.join(f.name for f in files)}"


def find_bad_user_lists(paths: Iterable[Path | str] | Path | str) -> list[Path]:
    """The authors' ``*_bad_users.csv`` lists found in the given folders (searched recursively)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(p.rglob("*_bad_users.csv"))
    return found


def validation_scores(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: validation score, threshold, and whether they are kept.

    A participant is kept if they got at least the threshold of validation trials right.
    Participants whose validation node is not among the loaded exports are kept if Gorilla's
    branch node recorded them as ``Qualified`` (the lay study's branch let only those reach
    the test node); with neither, the rule cannot be applied and they are dropped.
    """
    keys = ["dataset", "condition", "population", "participant"]
    val = trials[trials["phase"] == "validation"]
    score = val.groupby(keys)["correct"].agg(validation_correct="sum", validation_trials="size")
    tests = trials[trials["phase"] == "test"].groupby(keys).size().rename("test_trials")
    qualified = trials.groupby(keys)["gorilla_qualified"].agg(lambda s: bool(s.dropna().any()) if s.notna().any() else None)
    out = pd.concat([score, tests, qualified], axis=1).reset_index()
    out["validation_trials"] = out["validation_trials"].fillna(0).astype(int)
    out["test_trials"] = out["test_trials"].fillna(0).astype(int)
    out["threshold"] = [VALIDATION_THRESHOLD[(p, d)] for p, d in zip(out["population"], out["dataset"])]
    has_val = out["validation_trials"] > 0
    out["kept"] = np.where(has_val, out["validation_correct"] >= out["threshold"], out["gorilla_qualified"].eq(True))
    out["reason"] = np.select(
        [has_val & out["kept"], has_val & ~out["kept"], ~has_val & out["kept"]],
        ["validation passed", "validation below threshold", "no validation trials loaded; Gorilla branch: Qualified"],
        "no validation trials loaded and no Gorilla branch verdict")
    return out


def apply_exclusion(trials: pd.DataFrame, bad_users: Iterable[str] = ()) -> pd.DataFrame:
    """Test trials of the participants kept by :func:`validation_scores`, minus ``bad_users``.

    ``bad_users`` are ids from the authors' ``*_bad_users.csv`` lists (see
    :func:`xaibook.data.gorilla.read_bad_users`). Those lists were written by the authors'
    analysis with the same validation rule; the public copies are empty, and every
    participant in the public exports passes the rule, so both give the same (empty)
    exclusion there.
    """
    scores = validation_scores(trials)
    kept = scores[scores["kept"]]
    key = ["dataset", "condition", "population", "participant"]
    test = trials[trials["phase"] == "test"].merge(kept[key], on=key, how="inner")
    return test[~test["participant"].isin(set(bad_users))].reset_index(drop=True)


_GROUP = ["dataset", "condition", "population"]


def user_accuracy(test: pd.DataFrame) -> pd.DataFrame:
    """Per participant: accuracy (%) over their test trials, and natural / adversarial counts."""
    t = test.assign(nat=test["image_type"].eq("natural"), adv=test["image_type"].eq("adversarial"))
    t = t.assign(nat_ok=t["nat"] & t["correct"], adv_ok=t["adv"] & t["correct"])
    g = t.groupby(_GROUP + ["participant"])
    out = g.agg(correct=("correct", "sum"), trials=("correct", "size"), natural_correct=("nat_ok", "sum"),
                natural_total=("nat", "sum"), adversarial_correct=("adv_ok", "sum"),
                adversarial_total=("adv", "sum")).reset_index()
    out["accuracy"] = 100.0 * out["correct"] / out["trials"]
    return out


def method_summary(test: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, method and population: users, mean and SD (ddof=1) of per-user accuracy,
    and natural / adversarial correct over total trials (Fig. 1b, Table 1)."""
    users = user_accuracy(test)
    g = users.groupby(_GROUP)
    out = g.agg(users=("participant", "nunique"), mean=("accuracy", "mean"), sd=("accuracy", "std"),
                natural_correct=("natural_correct", "sum"), natural_total=("natural_total", "sum"),
                adversarial_correct=("adversarial_correct", "sum"),
                adversarial_total=("adversarial_total", "sum")).reset_index()
    return _order(out.rename(columns={"condition": "method"}))


def _order(df: pd.DataFrame) -> pd.DataFrame:
    method_col = "method" if "method" in df.columns else "condition"
    rank = {m: i for i, m in enumerate(METHODS)}
    order = df["dataset"].map({d: i for i, d in enumerate(DATASETS)}).fillna(9) * 100 + df[method_col].map(rank).fillna(99)
    if "population" in df.columns:
        order = order + df["population"].eq("expert") * 1000
    return df.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)


def _rate(df: pd.DataFrame, by: list[str], value: str = "correct") -> pd.DataFrame:
    g = df.groupby(by)[value]
    out = g.agg(hits="sum", trials="size").reset_index()
    out["accuracy"] = 100.0 * out["hits"] / out["trials"]
    return out.rename(columns={"condition": "method"})


def known_unknown(test: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on trials whose class the user said they knew vs did not (Table A5).

    ``known`` is the participant's own Screen-1 answer on that trial. (The authors' analysis
    carried a participant's first answer for a predicted class over to later trials of the
    same class; the two agree whenever a participant answers consistently.)
    """
    t = test[test["known"].notna()].assign(knowledge=lambda d: np.where(d["known"].astype(bool), "Known", "Unknown"))
    return _order(_rate(t, _GROUP + ["knowledge"]))


def acceptance_rates(test: pd.DataFrame) -> pd.DataFrame:
    """Share of accept / reject answers on natural images (Table A9)."""
    t = test[test["image_type"] == "natural"]
    out = t.groupby(_GROUP)["response"].value_counts().rename("answers").reset_index()
    out["trials"] = out.groupby(_GROUP)["answers"].transform("sum")
    out["rate"] = 100.0 * out["answers"] / out["trials"]
    out["response"] = out["response"].str.capitalize()
    return _order(out.rename(columns={"condition": "method"}))


_DIFFICULTY_ORDER = {"Easy": 0, "Medium": 1, "Hard": 2}


def difficulty_accuracy(test: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on easy / medium / hard natural images (Table A3)."""
    t = test[test["image_type"] == "natural"].assign(difficulty=lambda d: d["difficulty"].str.capitalize())
    out = _rate(t, _GROUP + ["difficulty"])
    return _order(out.sort_values("difficulty", key=lambda c: c.map(_DIFFICULTY_ORDER), kind="stable"))


def bin_accuracy(test: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on natural images per difficulty and AI-correct / AI-wrong bin (Tables A1, A4)."""
    t = test[test["image_type"] == "natural"].assign(
        difficulty=lambda d: d["difficulty"].str.capitalize(),
        ai_prediction=lambda d: np.where(d["ai_correct"], "Correct", "Wrong"))
    out = _rate(t, _GROUP + ["difficulty", "ai_prediction"])
    return _order(out.sort_values("difficulty", key=lambda c: c.map(_DIFFICULTY_ORDER), kind="stable"))


def method_tests(users: pd.DataFrame) -> pd.DataFrame:
    """Two-sided Mann-Whitney U tests of per-user accuracy between every pair of methods
    within a dataset and population (Sec. 3.1). Pairs where a method has fewer than 2 users
    are skipped."""
    from ...stats.tests import mann_whitney_u

    rows = []
    for (dataset, population), g in users.groupby(["dataset", "population"]):
        by = {m: a["accuracy"].to_numpy() for m, a in g.groupby("condition")}
        present = [m for m in METHODS if m in by and len(by[m]) >= 2]
        for a, b in itertools.combinations(present, 2):
            r = mann_whitney_u(by[a], by[b])
            rows.append(dict(dataset=dataset, population=population, method_a=a, method_b=b,
                             n_a=len(by[a]), n_b=len(by[b]), U=r.statistic, p=r.pvalue, r=r.effect))
    return pd.DataFrame(rows, columns=["dataset", "population", "method_a", "method_b", "n_a", "n_b", "U", "p", "r"])


def human_image_accuracy(test: pd.DataFrame, min_users: int = 2) -> pd.DataFrame:
    """Per-image accuracy of people on AI-correct natural test images, per dataset and method (Sec. 3.5).

    ``test`` is the tidy table of kept test trials (:func:`apply_exclusion`). Only images seen
    by at least ``min_users`` users count ("seen by more than one user").
    """
    t = test[(test["phase"] == "test") & (test["image_type"] == "natural") & test["ai_correct"].astype(bool)]
    t = t[t["image_id"].notna()]
    g = t.groupby(["dataset", "condition", "population", "image_id"])["correct"]
    out = g.agg(accuracy="mean", users="size").reset_index()
    out = out[out["users"] >= min_users].rename(columns={"condition": "method"}).reset_index(drop=True)
    out["source_id"] = "ILSVRC2012_val_" + out["image_id"].astype(str).str.zfill(8)
    return out
