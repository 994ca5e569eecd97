"""Use-case-grounded agents (Chen et al. 2022, "SimEvals"): a task's observations, the agents, their curves.

A :class:`Task` holds, per condition of a study, what a participant would see on each screen
as one vector (the frozen image features first, then the explanation channels: the AI's label
and confidence, the map, example images, options) and the study's answer key. The agents:

* ``"mlp"``: a small network (one hidden layer, scikit-learn's ``MLPClassifier`` behind a
  standard scaler) on the whole observation;
* ``"no-features"``: the same network without the frozen image features (the explanation
  channels alone; the majority answer where nothing is left).

Each is trained on world trials that never appear in the chapter's trial set, at several
training sizes and seeds, and scored on held-out trials (:func:`learning_curve`). Accuracy
measures the task-relevant information a condition carries, not how people will do (Chen et
al. 2022, Sec. 3).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import ParameterError

AGENTS = ("mlp", "no-features")
SETTINGS = {"hidden": 32, "alpha": 1.0, "max_iter": 200, "learning_rate": 3e-3}
"""The agents' network (part of every cache key of their results)."""
AGENT_LABELS = {"mlp": "MLP on frozen image features + screen", "no-features": "MLP on the screen without the image"}


@dataclass
class Task:
    """One question of a study, posed to agents in several conditions.

    ``train[c]`` / ``test[c]``: observations ``[N, D_c]`` of condition ``c`` (float32), or ``[N, K, D_c]``
    for a choice among K options (the answer key is then the chosen option's position), whose
    first ``n_features`` columns are the frozen image features (None: every column is image-derived, so
    the features-free agent gives the majority answer); ``train_y`` / ``test_y``: the
    answer key (ints indexing ``answers``); ``test_meta``: one row per test trial (``stimulus``
    and, where the study has them, ``group``, ``truth``, ``prediction``, ``ai_correct``,
    ``confidence``); ``data``: the provenance line of every table and figure.
    """

    study: str
    question: str
    answers: tuple[str, ...]
    conditions: tuple[str, ...]
    train: dict
    train_y: np.ndarray
    test: dict
    test_y: np.ndarray
    test_meta: pd.DataFrame
    n_features: int | None
    data: str
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        missing = [c for c in self.conditions if c not in self.train or c not in self.test]
        if missing:
            raise ParameterError(f"task {self.question!r}: no observations for condition(s) {missing}")
        for c in self.conditions:
            if len(self.train[c]) != len(self.train_y) or len(self.test[c]) != len(self.test_y):
                raise ParameterError(f"task {self.question!r}, condition {c!r}: observations and answers differ in "
                                     "length")
        if len(self.test_meta) != len(self.test_y):
            raise ParameterError(f"task {self.question!r}: test_meta has {len(self.test_meta)} rows for "
                                 f"{len(self.test_y)} test trials")

    @property
    def chance(self) -> float:
        """Accuracy of always giving the most frequent answer of the test set."""
        return float(np.bincount(self.test_y).max() / len(self.test_y)) if len(self.test_y) else float("nan")


def _columns(task: Task, condition: str, agent: str, X: np.ndarray) -> np.ndarray:
    if agent == "mlp":
        return X
    return X[..., :0] if task.n_features is None else X[..., task.n_features:]


def _model(seed: int, n_train: int):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(SETTINGS["hidden"],), alpha=SETTINGS["alpha"], max_iter=SETTINGS["max_iter"],
        learning_rate_init=SETTINGS["learning_rate"], random_state=seed))


def _subsample(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` training trials drawn without replacement, every answer present where ``n`` allows."""
    rng = np.random.default_rng([seed, n, 16])
    order = rng.permutation(len(y))
    first = [order[np.flatnonzero(y[order] == a)[0]] for a in np.unique(y)][:n]
    chosen = set(first)
    rest = [i for i in order if i not in chosen]
    return np.sort(np.array(first + rest[: n - len(first)], dtype=np.int64))


def fit_predict(task: Task, condition: str, agent: str, n_train: int, seed: int) -> np.ndarray:
    """Train ``agent`` on ``n_train`` training trials of ``condition`` (seed ``seed``); its test answers."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    if agent not in AGENTS:
        raise ParameterError(f"agent={agent!r}; use one of {AGENTS}")
    if not 1 <= n_train <= len(task.train_y):
        raise ParameterError(f"n_train={n_train} must be in 1..{len(task.train_y)} (the task's training trials)")
    idx = _subsample(task.train_y, n_train, seed)
    X = _columns(task, condition, agent, np.asarray(task.train[condition], dtype=np.float32))[idx]
    Xt = _columns(task, condition, agent, np.asarray(task.test[condition], dtype=np.float32))
    y = task.train_y[idx]
    if X.shape[-1] == 0 or (X.ndim == 2 and len(np.unique(y)) < 2):
        return np.full(len(Xt), np.bincount(y).argmax())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if X.ndim == 2:
            return _model(seed, n_train).fit(X, y).predict(Xt)
        # a choice among K options: one network scores every option, the best-scored one is the answer
        k = X.shape[1]
        is_answer = (np.arange(k)[None, :] == y[:, None]).ravel().astype(np.int64)
        net = _model(seed, n_train).fit(X.reshape(-1, X.shape[-1]), is_answer)
        return net.predict_proba(Xt.reshape(-1, Xt.shape[-1]))[:, 1].reshape(len(Xt), k).argmax(1)


def learning_curve(task: Task, sizes: Sequence[int], seeds: Sequence[int],
                   agents: Sequence[str] = AGENTS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every agent x condition x training size x seed: ``(scores, answers)``.

    ``scores``: one row per run with ``accuracy`` on all test trials (``group`` = ``"all"``)
    and on each test group; ``answers``: one row per run and test trial (``response``,
    ``correct``) for :func:`xaibook.simulate.report.responses`.
    """
    sizes = sorted({min(int(n), len(task.train_y)) for n in sizes})
    groups = task.test_meta["group"].astype(str).to_numpy() if "group" in task.test_meta else None
    scores, answers = [], []
    for agent in agents:
        for c in task.conditions:
            for n in sizes:
                for s in seeds:
                    pred = fit_predict(task, c, agent, n, s)
                    ok = pred == task.test_y
                    base = {"study": task.study, "question": task.question, "condition": c, "agent": agent,
                            "n_train": n, "seed": s}
                    scores.append({**base, "group": "all", "accuracy": float(ok.mean()), "n_test": len(ok)})
                    if groups is not None:
                        for g in pd.unique(groups):
                            m = groups == g
                            scores.append({**base, "group": g, "accuracy": float(ok[m].mean()), "n_test": int(m.sum())})
                    answers.append(pd.DataFrame({**base, "item": np.arange(len(ok)), "response": pred, "correct": ok}))
    return pd.DataFrame(scores), pd.concat(answers, ignore_index=True)


def summarize(scores: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean accuracy over seeds per question, condition, agent, size and group, with a normal interval.

    The interval adds the test items' binomial variance to the spread over seeds:
    ``mean +- z * sqrt(p (1 - p) / n_test + var_seeds / n_seeds)``.
    """
    from scipy.stats import norm

    z = norm.ppf(0.5 + confidence / 2)
    keys = ["study", "question", "condition", "agent", "n_train", "group"]
    g = scores.groupby(keys, sort=False)
    out = g.agg(accuracy=("accuracy", "mean"), sd=("accuracy", "std"), seeds=("seed", "nunique"),
                n_test=("n_test", "first")).reset_index()
    var = out["accuracy"] * (1 - out["accuracy"]) / out["n_test"].clip(lower=1) + \
        out["sd"].fillna(0) ** 2 / out["seeds"].clip(lower=1)
    half = z * np.sqrt(var)
    out["ci_low"] = (out["accuracy"] - half).clip(lower=0)
    out["ci_high"] = (out["accuracy"] + half).clip(upper=1)
    return out
