"""xaibook.simulate.results: one call per chapter: the agents' accuracies per condition beside people's, a figure, a power analysis.

``simulate(study)`` runs the study's tasks (cached, timed under ``simulate_<study>``);
``report(study)`` is the table, ``figure(study)`` the learning curves, ``power(study)`` the
sample size a replication needs if people differed between conditions as the agents do, and
``responses(study)`` the agents' answers in the tidy trial schema (``source = "simulated: ..."``).
Agent accuracy measures the information a condition's screen carries, not how people will do
(Chen et al. 2022); every table and figure says it is a simulation.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import config, runs
from ..cache import cached, digest
from ..errors import ParameterError
from .agents import AGENT_LABELS, SETTINGS, Task, learning_curve, summarize

STUDIES = {"nguyen2021": "nguyen", "shen2020": "shen", "alqaraawi2020": "alqaraawi", "im2023": "im",
           "sixt2022": "sixt"}
"""The studies with simulated participants and their task modules."""
CAVEAT = ("Simulation: agent accuracy measures how much task-relevant information a condition's screen "
          "carries (Chen et al. 2022), not how people will do.")
_MEMO: dict = {}


@dataclass
class Simulation:
    """A study's simulated evaluation: its tasks, every agent run (``scores``), their summary, the
    agents' answers, extra rows (e.g. Nguyen's AI-only rule) and the provenance lines."""

    study: str
    tasks: list
    scores: pd.DataFrame
    summary: pd.DataFrame
    answers: pd.DataFrame
    extras: pd.DataFrame | None
    data: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def _module(study: str):
    if study not in STUDIES:
        raise ParameterError(f"study={study!r} has no simulated participants; use one of {sorted(STUDIES)}")
    return importlib.import_module(f"{__package__}.{STUDIES[study]}")


def _curves(task: Task, sizes, seeds) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = {"study": task.study, "question": task.question, "sizes": list(sizes), "seeds": list(seeds),
           "agents": SETTINGS,
           "train": digest(*[task.train[c] for c in task.conditions], task.train_y),
           "test": digest(*[task.test[c] for c in task.conditions], task.test_y)}
    return cached(f"simulate.{task.study}.agents", key, lambda: learning_curve(task, sizes, seeds), fmt="pkl")


def simulate(study: str, backend: str = "inprocess", workers: int = 2, address: str | None = None) -> Simulation:
    """Run (or load) the study's simulated evaluation at the current scale; base models on ``backend``."""
    mod = _module(study)
    memo = (study, config.scale().name)
    if memo in _MEMO:
        return _MEMO[memo]
    s = mod.sizes()
    tasks, extras = runs.timed(f"simulate_{study}", "observations (base models, explanations)",
                               {"sizes": s}, lambda: mod.simulate(backend=backend, workers=workers, address=address))
    key = {"sizes": s, "agents": SETTINGS,
           "tasks": [digest(*[t.train[c] for c in t.conditions], *[t.test[c] for c in t.conditions]) for t in tasks]}
    runs_ = runs.timed(f"simulate_{study}", "agents (training sizes x seeds)", key,
                       lambda: [_curves(t, s["sizes"], s["seeds"]) for t in tasks])
    scores = pd.concat([r[0] for r in runs_], ignore_index=True)
    answers = pd.concat([r[1] for r in runs_], ignore_index=True)
    sim = Simulation(study, tasks, scores, summarize(scores), answers, extras,
                     data=sorted({t.data for t in tasks}), notes=sorted({n for t in tasks for n in t.notes}))
    _MEMO[memo] = sim
    return sim


def timings(study: str) -> pd.DataFrame:
    """Cold-cache and this process's seconds of the simulation's steps."""
    return runs.timings(f"simulate_{study}")


def _final(sim: Simulation, agent: str = "mlp", by_group: bool = False) -> pd.DataFrame:
    """The summary at the largest training size: all test trials, or (``by_group``) each group of them."""
    s = sim.summary
    s = s[(s["agent"] == agent) & ((s["group"] != "all") if by_group else (s["group"] == "all"))]
    return s[s["n_train"] == s.groupby("question")["n_train"].transform("max")]


def _people(out: pd.DataFrame, hum: pd.DataFrame | None, by_group: bool) -> pd.DataFrame:
    """``out`` with people's accuracy (%), its source and population beside each row (first published match;
    by group: the condition's own row, else the study's row over all conditions)."""
    cols = {"people": "people (%)", "source": "people: source", "population": "people: population"}
    if hum is None or hum.empty:
        return out.assign(**{"people (%)": np.nan, "people: source": "no human data exist"})
    hum = hum.assign(people=100 * hum["accuracy"])
    if "group" not in hum:
        hum = hum.assign(group="all")
    keys = ["question", "condition"] + (["group"] if by_group else [])
    if not by_group:
        hum = hum[hum["group"] == "all"]
    first = hum.groupby(keys, sort=False)[list(cols)].first().reset_index()
    merged = out.merge(first, on=keys, how="left")
    if by_group:
        pooled = hum[hum["condition"] == "all"].groupby(["question", "group"], sort=False)[list(cols)].first()
        pooled = out[["question", "group"]].merge(pooled.reset_index(), on=["question", "group"], how="left")
        for c in cols:
            merged[c] = merged[c].fillna(pooled[c])
    merged = merged.rename(columns=cols)
    merged["people: source"] = merged["people: source"].fillna("not published for this condition")
    return merged


def report(study: str, by_group: bool = False, **kwargs) -> pd.DataFrame:
    """Per question and condition (and, ``by_group``, per group of test trials: error category, outcome, ...):
    the agents' accuracy (%, largest training size, mean over seeds, 95 % interval), the features-free agent,
    chance, people's accuracy where published and both rankings of the conditions."""
    mod = _module(study)
    sim = simulate(study, **kwargs)
    top, nofeat = _final(sim, "mlp", by_group), _final(sim, "no-features", by_group)
    chance = {t.question: t.chance for t in sim.tasks}
    keys = ["question", "condition"] + (["group"] if by_group else [])
    nf = nofeat.set_index(keys)["accuracy"]
    rows = []
    for r in top.itertuples():
        k = tuple(getattr(r, c) for c in keys)
        rows.append({**dict(zip(keys, k)), "agents (simulated, %)": 100 * r.accuracy,
                     "95 % interval": f"{100 * r.ci_low:.0f}-{100 * r.ci_high:.0f}",
                     "agents without image features (simulated, %)": 100 * float(nf.get(k, np.nan)),
                     "chance (%)": 100 * chance[r.question], "training trials": r.n_train, "seeds": r.seeds,
                     "test trials": r.n_test})
    out = pd.DataFrame(rows)
    if sim.extras is not None and not by_group:
        ex = sim.extras.assign(**{"agents (simulated, %)": 100 * sim.extras["accuracy"]})
        out = pd.concat([out, ex[["question", "condition", "agents (simulated, %)", "n_test"]].rename(
            columns={"n_test": "test trials"})], ignore_index=True)
    out = _people(out, mod.human(), by_group)
    cond = out["condition"].isin(mod.CONDITIONS)
    rank_by = keys[:1] + keys[2:]
    out.loc[cond, "rank (agents)"] = out[cond].groupby(rank_by)["agents (simulated, %)"].rank(ascending=False)
    out.loc[cond, "rank (people)"] = out[cond].groupby(rank_by)["people (%)"].rank(ascending=False)
    out = out.round(1)
    out.attrs["caption"] = (f"{CAVEAT} Data: {'; '.join(sim.data)}. Scale: {config.scale().name}. "
                            + " ".join(sim.notes))
    return out


def disagreements(study: str) -> pd.DataFrame:
    """Pairs of conditions that agents and people order differently (agents' and people's accuracies, %)."""
    t = report(study)
    t = t.dropna(subset=["rank (agents)", "rank (people)"])
    rows = []
    for q, g in t.groupby("question", sort=False):
        g = g.reset_index(drop=True)
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                a = g.loc[i, "agents (simulated, %)"] - g.loc[j, "agents (simulated, %)"]
                h = g.loc[i, "people (%)"] - g.loc[j, "people (%)"]
                if a * h < 0:
                    rows.append({"question": q, "pair": f"{g.loc[i, 'condition']} vs {g.loc[j, 'condition']}",
                                 "agents: difference (points)": round(a, 1), "people: difference (points)": round(h, 1)})
    return pd.DataFrame(rows, columns=["question", "pair", "agents: difference (points)", "people: difference (points)"])


def power(study: str, target: float = 0.8, alpha: float = 0.05) -> pd.DataFrame:
    """Participants per group a between-subjects replication needs to tell each condition from the study's
    reference condition, if people differed as the agents do (two proportions, Cohen's h; ``stats.power``)."""
    from ..stats.power import cohens_h, sample_size_two_proportions

    mod = _module(study)
    top = _final(simulate(study))
    rows = []
    for q, g in top.groupby("question", sort=False):
        ref = g[g["condition"] == mod.REFERENCE]["accuracy"]
        if ref.empty:
            continue
        p0 = float(ref.iloc[0])
        for r in g[g["condition"] != mod.REFERENCE].itertuples():
            same = abs(r.accuracy - p0) < 1e-9
            rows.append({"question": q, "condition": r.condition, "reference": mod.REFERENCE,
                         "agents: reference (%)": round(100 * p0, 1), "agents: condition (%)": round(100 * r.accuracy, 1),
                         "Cohen's h": round(cohens_h(r.accuracy, p0), 2),
                         "trials per group (80 % power)" if target == 0.8 else f"trials per group ({target:.0%} power)":
                         None if same else sample_size_two_proportions(r.accuracy, p0, target, alpha)})
    out = pd.DataFrame(rows)
    out.attrs["caption"] = (f"Assumed effect: the agents' accuracies (simulation); alpha {alpha}, two-sided. None: the "
                            "agents did not differ, so no effect can be assumed. " + CAVEAT)
    return out


def figure(study: str):
    """The agents' accuracy over training trials per condition (mean over seeds, 95 % band), chance dashed,
    labelled as simulation with its data and scale."""
    import altair as alt

    from ..viz import charts

    sim = simulate(study)
    s = sim.summary[(sim.summary["group"] == "all") & (sim.summary["agent"] == "mlp")].copy()
    for c in ("accuracy", "ci_low", "ci_high"):
        s[c] = 100 * s[c]
    s["chance"] = s["question"].map({t.question: 100 * t.chance for t in sim.tasks})
    x = alt.X("n_train:Q", title="training trials (log)",
              scale=alt.Scale(type="log", domain=[int(s["n_train"].min()), int(s["n_train"].max())], nice=False))
    base = alt.Chart().encode(x=x, color=alt.Color("condition:N", title="condition"))
    lines = base.mark_line(point=True).encode(
        y=alt.Y("accuracy:Q", title="agent accuracy (%)", scale=alt.Scale(domain=[0, 100])),
        tooltip=["question", "condition", "n_train", alt.Tooltip("accuracy:Q", format=".1f")])
    band = base.mark_area(opacity=0.12).encode(y="ci_low:Q", y2="ci_high:Q")
    rule = alt.Chart().mark_rule(strokeDash=[4, 3], color="#444").encode(y="mean(chance):Q")
    layered = alt.layer(band, lines, rule)
    chart = (layered.properties(width=220, height=180).facet(facet=alt.Facet("question:N", title=None), columns=4,
                                                             data=s)
             if len(sim.tasks) > 1 else alt.layer(band, lines, rule, data=s).properties(width=320, height=220))
    chart = chart.properties(title=f"Simulated participants (agents, not people): {study}")
    return charts.provenance(chart, data="; ".join(sim.data) + " · agents: " + AGENT_LABELS["mlp"])


def responses(study: str) -> pd.DataFrame:
    """The agents' test answers in the tidy trial schema (:mod:`xaibook.data.responses`), ``source`` =
    ``"simulated: <agent>"``; one participant per agent, training size and seed."""
    from ..data import responses as schema

    sim = simulate(study)
    parts = []
    for t in sim.tasks:
        a = sim.answers[sim.answers["question"] == t.question]
        meta = t.test_meta.reset_index(drop=True)
        m = meta.iloc[a["item"].to_numpy()].reset_index(drop=True)
        a = a.reset_index(drop=True)
        df = pd.DataFrame({"study": study, "condition": a["condition"],
                           "participant": a["agent"] + "-n" + a["n_train"].astype(str) + "-s" + a["seed"].astype(str)
                           + ("" if len(sim.tasks) == 1 else "-" + t.question),
                           "dataset": "world", "phase": "test", "trial": a["item"] + 1, "stimulus": m["stimulus"],
                           "truth": m["truth"] if "truth" in m else None,
                           "prediction": m["prediction"] if "prediction" in m else None,
                           "ai_correct": m["ai_correct"].astype(object) if "ai_correct" in m else None,
                           "image_type": "natural" if study == "nguyen2021" else None,
                           "confidence": m["confidence"] if "confidence" in m else None,
                           "response": [t.answers[int(v)] for v in a["response"]], "correct": a["correct"].astype(bool),
                           "rt": None, "known": None, "source": "simulated: " + a["agent"].map(AGENT_LABELS),
                           "question": t.question})
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)[list(schema.COLUMNS) + ["question"]]
    return schema.validate(out)


def sentence(study: str) -> str:
    """A generated sentence for the chapter: per question, the best condition against the reference, and where
    agents and people rank conditions differently (Chen et al. 2022's caveat included)."""
    mod = _module(study)
    t = report(study)
    parts = []
    for q, g in t[t["condition"].isin(mod.CONDITIONS)].groupby("question", sort=False):
        best = g.loc[g["agents (simulated, %)"].idxmax()]
        ref = g[g["condition"] == mod.REFERENCE]["agents (simulated, %)"]
        ref_txt = f" ({mod.REFERENCE}: {ref.iloc[0]:.0f} %)" if len(ref) and best["condition"] != mod.REFERENCE else ""
        if best["agents (simulated, %)"] <= best["chance (%)"]:
            parts.append(f"on \"{q}\" no condition beat chance ({best['chance (%)']:.0f} %; best "
                         f"{best['condition']}, {best['agents (simulated, %)']:.0f} %)")
            continue
        parts.append(f"on \"{q}\" the agents did best with {best['condition']}, {best['agents (simulated, %)']:.0f} % "
                     f"(chance {best['chance (%)']:.0f} %){ref_txt}")
    d = disagreements(study)
    people = t["people (%)"].notna().any()
    tail = ("; no human accuracies are published for these conditions, so there is no human ranking to compare" if
            not people else f"; agents and people order {len(d)} pair(s) of conditions differently" if len(d) else
            "; agents and people order the conditions alike")
    return (f"Simulated participants (agents trained on world trials, scale {config.scale().name}): "
            + "; ".join(parts) + tail + ". " + CAVEAT)


def show(study: str, **kwargs) -> None:
    """The chapter's simulation section in one call: the generated sentence, the table beside people's results,
    the figure, the conditions agents and people order differently, and the replication power analysis."""
    from IPython.display import Markdown, display

    t = report(study, **kwargs)
    display(Markdown(sentence(study)))
    display(Markdown(f"*Table (simulation, not people).* {t.attrs['caption']}"))
    display(t)
    sim = simulate(study, **kwargs)
    groups = sim.summary[sim.summary["group"] != "all"].groupby("question")["group"].nunique()
    if (groups > 1).any():
        display(Markdown("*The same agents (simulation) on each group of test trials, beside people's results "
                         "where published per group:*"))
        display(report(study, by_group=True))
    display(figure(study))
    d = disagreements(study)
    if len(d):
        display(Markdown("*Pairs of conditions the agents (simulation) and people order differently:*"))
        display(d)
    pw = power(study)
    display(Markdown(f"*Power analysis with the agents' accuracies as the assumed effect.* {pw.attrs['caption']}"))
    display(pw)
