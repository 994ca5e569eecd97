"""Shen & Huang 2020: error categories C1-C5 from ground truth, and what the published mix says.

The paper coded its errors by hand (Categorizing Error Cases). Here each error's cause comes
from the world that made it (:func:`xaibook.world.zoo.error_categories`), with one addition the
issue asks for: a prediction of another species of the gold species' family counts as C3
(similar appearance) even where no look-alike morph was applied. Real photos carry no record,
so there only the family rule applies (dog for dog) and the rest stays ``uncoded``.

From the published Tables 1-2 alone: :func:`mix_tests` (chi-square tests of the category mix
between the two experiment-1 groups and between the experiments) and :func:`reweighted_gap`
(experiment 1's Int - No-Int gap with each group reweighted to the pooled mix).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from ... import ledger
from ...data import published
from .published import CATEGORIES, paired_table, published_accuracy
from .data import STUDY, Labelled

CATS = ("C1", "C2", "C3", "C4", "C5")
#: Shares shown beside the paper's: C1-C5, ``other`` (an error no recorded cause explains) and
#: ``uncoded`` (real photos without a record).
SHARE_ORDER = CATS + ("other", "uncoded")


def ground_truth(clf, labelled: Labelled, index: np.ndarray, families: np.ndarray) -> pd.DataFrame:
    """The error category of the pool images at ``index`` (all misclassified).

    Zoo: :func:`xaibook.world.zoo.error_categories` on the knob records, then a prediction of a
    same-family species turns ``other``, ``C1`` and ``C4`` into ``C3`` (the zoo's own order puts
    C3 before C4 and C1). Real photos: ``C3`` for a same-family prediction, else ``uncoded``.
    Columns: ``pool_index``, ``category``, ``knobs`` (fired knobs, zoo only), ``same_family``.
    """
    t = labelled.table.iloc[index]
    label, pred = t["label"].to_numpy(), t["prediction"].to_numpy()
    if labelled.records is not None:
        from ...world import zoo

        rec = labelled.records.iloc[index].reset_index(drop=True)
        cat = zoo.error_categories(rec, pred)["category"].to_numpy().astype(object)
        species = rec["species"].to_numpy()
        knobs = rec["knobs"].to_numpy()
    else:
        cat = np.full(len(index), "uncoded", dtype=object)
        species = label
        knobs = np.full(len(index), "", dtype=object)
    same = (families[species] == families[pred]) & (species != pred)
    cat = np.where(same & np.isin(cat, ["other", "C1", "C4", "uncoded"]), "C3", cat)
    return pd.DataFrame({"pool_index": t["pool_index"].to_numpy(), "category": cat, "knobs": knobs,
                         "same_family": same})


def shares(trials: pd.DataFrame) -> pd.DataFrame:
    """Images and shares (%) per category: per experiment-1 group, experiment 2, and pooled."""
    parts = {"Exp. 1 Int": trials[(trials["experiment"] == 1) & (trials["group"] == "Int")],
             "Exp. 1 No-Int": trials[(trials["experiment"] == 1) & (trials["group"] == "No-Int")],
             "Exp. 2": trials[trials["experiment"] == 2], "pooled": trials}
    rows = []
    for name, t in parts.items():
        counts = t["category"].value_counts()
        for c in SHARE_ORDER:
            n = int(counts.get(c, 0))
            if c in CATS or n:
                rows.append({"set": name, "category": c, "n_images": n,
                             "share": 100 * n / len(t) if len(t) else np.nan})
    return pd.DataFrame(rows)


def published_counts() -> pd.DataFrame:
    """Images per category in Tables 1-2: Exp. 1 Int, Exp. 1 No-Int, Exp. 2 (columns C1-C5)."""
    acc = published_accuracy()
    acc = acc[acc["category"].isin(CATS)]
    acc = acc[(acc["experiment"] == 1) | (acc["condition"] == "Int")]  # Table 2's one #images row
    acc = acc.assign(set=np.where(acc["experiment"] == 1, "Exp. 1 " + acc["condition"], "Exp. 2"))
    return acc.pivot(index="set", columns="category", values="n_images").astype(int)[list(CATS)]


def beside_paper(ours: pd.DataFrame) -> pd.DataFrame:
    """Our shares beside the paper's, per set (Exp. 1 groups, Exp. 2, pooled), in percent."""
    counts = published_counts()
    counts.loc["pooled"] = counts.sum()
    paper = (100 * counts.div(counts.sum(axis=1), axis=0)).stack().rename("paper").reset_index()
    out = ours.merge(paper, on=["set", "category"], how="left")
    out["category_name"] = out["category"].map({**CATEGORIES, "other": "no recorded cause",
                                                "uncoded": "real photo, no record"})
    return out


def mix_tests() -> pd.DataFrame:
    """Chi-square tests of independence on the published counts (Tables 1-2): the category mix of
    the experiment-1 Int group against its No-Int group, and experiment 1 against experiment 2."""
    counts = published_counts()
    rows = []
    for name, table in [("Exp. 1: Int vs No-Int", counts.loc[["Exp. 1 Int", "Exp. 1 No-Int"]].to_numpy()),
                        ("Exp. 1 vs Exp. 2", np.vstack([counts.loc[["Exp. 1 Int", "Exp. 1 No-Int"]].sum().to_numpy(),
                                                        counts.loc["Exp. 2"].to_numpy()]))]:
        res = sps.chi2_contingency(table, correction=False)
        rows.append({"comparison": name, "chi2": float(res.statistic), "dof": int(res.dof),
                     "p": float(res.pvalue), "min_expected": float(res.expected_freq.min()),
                     "n": int(table.sum())})
    return pd.DataFrame(rows)


def reweighted_gap() -> pd.DataFrame:
    """Experiment 1's Int - No-Int accuracy gap as printed, and with both groups reweighted to one
    category mix (the pooled mix of all 400 images; the mix of experiment 1). Uses the printed
    per-category accuracies of Table 1."""
    tab = paired_table()
    e1 = tab[(tab["experiment"] == 1) & tab["category"].isin(CATS)].set_index("category").loc[list(CATS)]
    counts = published_counts()
    mixes = {"pooled (400 images)": counts.sum(),
             "experiment 1 (200 images)": counts.loc[["Exp. 1 Int", "Exp. 1 No-Int"]].sum()}
    printed = tab[(tab["experiment"] == 1) & (tab["category"] == "Overall")].iloc[0]
    rows = [{"weights": "as printed (each group's own mix)", "int": printed["acc_int"],
             "no_int": printed["acc_no_int"]}]
    for name, w in mixes.items():
        w = (w / w.sum()).loc[list(CATS)].to_numpy(dtype=float)
        rows.append({"weights": name, "int": float(w @ e1["acc_int"].to_numpy()),
                     "no_int": float(w @ e1["acc_no_int"].to_numpy())})
    out = pd.DataFrame(rows)
    out["gap"] = out["int"] - out["no_int"]
    return out


def record_shares(ours: pd.DataFrame, data: str) -> None:
    """Ledger: the pooled share of each category (%) against the paper's (Tables 1-2, 400 images)."""
    pooled = ours[ours["set"] == "pooled"].set_index("category")
    for c in CATS:
        ledger.record(STUDY, f"category_share.{c}", f"share of {c} ({CATEGORIES[c]}) among the sampled errors (%)",
                      paper=published.ref("shen2020_categories", "share_percent", experiment="all", category=c),
                      ours=float(pooled.loc[c, "share"]) if c in pooled.index else 0.0, data=data, tolerance=5.0,
                      reason="the world's error causes are knobs at stated rates, tuned by hand at one scale")


def record_accuracy(labelled: Labelled, data: str) -> None:
    """Ledger: the classifier's top-1 accuracy on the pool (%) against the paper's 78.67 %."""
    ledger.record(STUDY, "classifier.top1", "top-1 accuracy of the classifier (%)",
                  paper=published.ref("shen2020_design", "value", experiment="all", quantity="classifier_top1_accuracy"),
                  ours=100 * labelled.accuracy, data=data, tolerance=2.5,
                  reason=("the offline zoo classifier is not the paper's ImageNet model" if labelled.records is not None
                          else "torchvision's ResNet-50 documents 76.13 %, and the pool is a filtered subset"))
