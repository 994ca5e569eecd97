"""A chapter's trial manifest -> a self-contained jsPsych 8 web study (one static folder).

    >>> folder = export("nguyen2021", "class-study", conditions=["GradCAM", "Confidence"], trials=6)

writes::

    <out>/study/          the web study: upload this folder as it is (JATOS, Pavlovia, Cognition, any
                          static host) or open study/index.html from disk (file://, offline)
        index.html, study.js, study.css, study-data.js (the trials, as data), lib/ (jsPsych and its
        plugins, from web/node_modules), the images the trials show (same relative paths as the manifest)
    <out>/key/manifest.csv  the answer key: the exported screens with their answers, never sent to the
                          browser except for training screens (their feedback needs it)
    <out>/studykit.json   the kit id, study, conditions, seed and sizes
    <out>/START-HERE.txt  how to run, host and collect the study

The key is also kept in the artifact cache (entry ``studykit.key`` by kit id), so
:func:`xaibook.data.responses.read_studykit` finds it from the CSVs alone.
"""
from __future__ import annotations

import importlib
import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np
import pandas as pd

from .. import config
from ..cache import atomic_write, default_cache, digest
from ..errors import DataNotFoundError, ParameterError
from ..stimuli import GENERIC_COLUMNS, PHASES, load_manifest
from .studies import KitSpec, spec

#: jsPsych files the study needs: name in ``study/lib`` -> path below ``web/node_modules``.
LIBRARY_FILES: dict[str, str] = {
    "jspsych.js": "jspsych/dist/index.browser.min.js",
    "jspsych.css": "jspsych/css/jspsych.css",
    "plugin-html-button-response.js": "@jspsych/plugin-html-button-response/dist/index.browser.min.js",
    "plugin-instructions.js": "@jspsych/plugin-instructions/dist/index.browser.min.js",
    "plugin-preload.js": "@jspsych/plugin-preload/dist/index.browser.min.js",
}
TEMPLATES = ("index.html", "study.js", "study.css")
MARKER = "studykit.json"
KIT_VERSION = 1
HOW_TO_INSTALL = "run `bash scripts/setup.sh` (or `npm ci --prefix web`) in the project to install jsPsych"


def node_modules() -> Path:
    """``<project>/web/node_modules``, where ``npm ci`` puts jsPsych (the lockfile pins the versions)."""
    return config.project_root() / "web" / "node_modules"


def library_files() -> dict[str, Path]:
    """Each file of :data:`LIBRARY_FILES` on disk; :class:`DataNotFoundError` says how to install them."""
    root = node_modules()
    files = {name: root / rel for name, rel in LIBRARY_FILES.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DataNotFoundError(f"jsPsych is not installed: {missing[0]} is missing; {HOW_TO_INSTALL}")
    return files


KEY_ENTRY = "studykit.key"


def keep_key(kit_id: str, key_csv: bytes) -> None:
    """Keep an export's answer key in the artifact cache (entry ``studykit.key``, by kit id)."""
    default_cache().save(KEY_ENTRY, {"kit_id": kit_id}, key_csv, fmt="pkl")


def kept_key(kit_id: str) -> pd.DataFrame | None:
    """The answer key kept for ``kit_id`` (None if this cache has none)."""
    c = default_cache()
    if not c.has(KEY_ENTRY, {"kit_id": kit_id}, fmt="pkl"):
        return None
    with tempfile.TemporaryDirectory(prefix="studykit-key-") as tmp:
        path = Path(tmp) / "manifest.csv"
        path.write_bytes(c.load(KEY_ENTRY, {"kit_id": kit_id}, fmt="pkl"))
        return read_key(path)


def study_manifest(study: str, out: Path | str) -> Path:
    """The study's own trial manifest, written by ``xaibook.studies.<study>.trial_manifest(out)``."""
    if not isinstance(study, str) or not study.isidentifier():
        raise ParameterError(f"study must be a study key such as 'nguyen2021', got {study!r}")
    try:
        module = importlib.import_module(f"xaibook.studies.{study}")
    except ModuleNotFoundError:
        raise ParameterError(f"unknown study {study!r}; the book's studies are {available_studies()}") from None
    if not hasattr(module, "trial_manifest"):
        raise ParameterError(f"study {study!r} has no trial_manifest() yet, so it cannot be exported; pass a "
                             "manifest written with xaibook.stimuli.write_manifest instead (--manifest PATH, or manifest=... in Python)")
    return Path(module.trial_manifest(out))


def available_studies() -> list[str]:
    """The study packages under :mod:`xaibook.studies`."""
    root = Path(importlib.import_module("xaibook.studies").__file__).parent
    return sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file())


def select(frame: pd.DataFrame, conditions: Sequence[str] | None = None, trials: int | None = None,
           seed: int = 0, unit: str | None = None) -> pd.DataFrame:
    """The screens to export: the chosen conditions and, per condition and phase, ``trials`` trial ids
    drawn with ``seed`` (one ranking of the ids for all conditions, so conditions that share images
    keep the same ones: a between-subject design shows each group the same images). With ``unit`` (a
    manifest column, e.g. ``task``), ``trials`` counts its values instead, each with all its screens."""
    known = list(dict.fromkeys(frame["condition"]))
    if conditions:
        unknown = [c for c in conditions if c not in known]
        if unknown:
            raise ParameterError(f"conditions: {unknown} not in the manifest; it has {known}")
        frame = frame[frame["condition"].isin(list(conditions))]
    if trials is not None:
        if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
            raise ParameterError(f"trials must be a positive whole number of screens per phase, got {trials!r}")
        rng = np.random.default_rng(seed)
        if unit is not None:
            units = list(dict.fromkeys(frame[unit]))
            chosen = {units[i] for i in rng.permutation(len(units))[:trials]}
            frame = frame[frame[unit].isin(chosen)]
            return frame.reset_index(drop=True)
        keep = set()
        for phase in PHASES:
            rows = frame[frame["phase"] == phase]
            ids = list(dict.fromkeys(rows["trial_id"]))
            ranked = [ids[i] for i in rng.permutation(len(ids))]
            for cond, group in rows.groupby("condition", sort=False):
                mine = set(group["trial_id"])
                keep |= {(cond, phase, t) for t in [t for t in ranked if t in mine][:trials]}
        frame = frame[[(c, p, t) in keep for c, p, t in zip(frame["condition"], frame["phase"], frame["trial_id"])]]
    if frame.empty:
        raise ParameterError("no screens left to export; check conditions and trials")
    return frame.reset_index(drop=True)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _files(row: dict) -> list[str]:
    return [f for f in (row["stimulus"], row["image"], row["explanation"], *row["examples"]) if f]


def _trial(row: dict, kit: KitSpec) -> dict:
    """One screen as the browser sees it (answers only on training screens, for their feedback)."""
    out = {k: row[k] for k in ("trial_id", "condition", "phase", "stimulus", "image", "explanation",
                               "examples", "question", "options")}
    out["examples"] = list(out["examples"])
    out["caption"] = _text(row.get("caption"))
    out["pre_question"] = _text(row.get(kit.pre_column)) if kit.pre_column else ""
    out["answer"] = row["answer"] if row["phase"] == "training" else ""
    out["group"] = _text(row.get(kit.group_column)) if kit.group_column else ""
    out["block"] = _text(row.get(kit.block_column)) if kit.block_column else ""
    return out


def _prepare(out: Path) -> None:
    """``out`` must be new, empty, or an earlier export (which is replaced)."""
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ParameterError(f"--out {out} is a non-empty folder that is not a study-kit export; "
                                 "give a new or empty folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def export(study: str, out: Path | str, *, conditions: Sequence[str] | None = None, trials: int | None = None,
           seed: int = 0, manifest: Path | str | None = None, lock_ms: int | None = None) -> Path:
    """Build the web study of ``study`` in ``out`` (layout in the module docstring); return ``out``.

    Args:
        study: the study key (``nguyen2021`` ...); its ``trial_manifest`` supplies the screens unless
            ``manifest`` names a manifest CSV (:func:`xaibook.stimuli.load_manifest` format).
        conditions: the between-subject conditions to include (default: all in the manifest).
        trials: screens per phase (training, validation, test), drawn with ``seed`` (default: all).
        seed: seeds that draw and, with each participant's id, the order of trials in the browser.
        lock_ms: how long answer buttons stay disabled (default: the study's, e.g. 5 s for Shen et al.).
    """
    out = Path(out)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative whole number, got {seed!r}")
    libs = library_files()
    with tempfile.TemporaryDirectory(prefix="studykit-") as tmp:
        path = Path(manifest) if manifest is not None else study_manifest(study, tmp)
        frame = load_manifest(path)
        studies = sorted(set(frame["study"]))
        if studies != [study]:
            raise ParameterError(f"{path} holds screens of {studies}, not of study {study!r}")
        kit = spec(study)
        for column in (kit.group_column, kit.block_column, kit.unit_column):
            if column and column not in frame.columns:
                raise ParameterError(f"{path} lacks the column {column!r} the study kit orders {study} by")
        frame = select(frame, conditions, trials, seed, unit=kit.unit_column)
        lock = kit.lock_ms if lock_ms is None else int(lock_ms)
        key_csv = frame.assign(**{c: [json.dumps(list(v)) for v in frame[c]] for c in ("options", "examples")})
        key_bytes = key_csv.to_csv(index=False).encode()
        kit_id = f"{study}-{digest(key_bytes, seed, lock, KIT_VERSION)[:10]}"
        _prepare(out)
        web = out / "study"
        (web / "lib").mkdir(parents=True)
        for rec in frame.to_dict("records"):
            for f in _files(rec):
                target = web / PurePosixPath(f)
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path.parent / PurePosixPath(f), target)
    for name, src in libs.items():
        shutil.copyfile(src, web / "lib" / name)
    templates = resources.files("xaibook.studykit") / "templates"
    for name in TEMPLATES:
        atomic_write(web / name, templates.joinpath(name).read_bytes())
    conds = list(dict.fromkeys(frame["condition"]))
    data = {
        "kit_id": kit_id, "study": study, "title": kit.title, "seed": int(seed), "lock_ms": lock,
        "conditions": conds, "consent": list(kit.consent), "instructions": [list(p) for p in kit.instructions],
        "phase_intro": kit.phase_intro, "pre_options": list(kit.pre_options),
        "followups": [{"name": f.name, "question": f.question, "options": list(f.options), "phases": list(f.phases)}
                      for f in kit.followups],
        "group_column": kit.group_column or "",
        "trials": [_trial(r, kit) for r in frame.to_dict("records")],
    }
    text = json.dumps(data, ensure_ascii=True, indent=1).replace("</", "<\\/")
    atomic_write(web / "study-data.js", f"window.XAIBOOK_STUDY = {text};\n".encode())
    (out / "key").mkdir()
    atomic_write(out / "key" / "manifest.csv", key_bytes)
    keep_key(kit_id, key_bytes)
    counts = {p: int(frame.loc[frame["phase"] == p, "trial_id"].nunique()) for p in PHASES}
    meta = {"kit_id": kit_id, "study": study, "conditions": conds, "seed": int(seed), "lock_ms": lock,
            "screens_per_phase": counts, "kit_version": KIT_VERSION,
            "jspsych": _version("jspsych"), "manifest": "key/manifest.csv"}
    atomic_write(out / MARKER, json.dumps(meta, indent=1).encode())
    atomic_write(out / "START-HERE.txt", _how_to(meta).encode())
    return out


def _version(package: str) -> str:
    try:
        return json.loads((node_modules() / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "unknown"


def read_key(path: Path | str) -> pd.DataFrame:
    """An export's answer key (``key/manifest.csv`` or a kept copy), options and examples as lists."""
    return load_manifest(path, check_files=False)


def _how_to(meta: dict) -> str:
    conds = ", ".join(meta["conditions"])
    first = meta["conditions"][0]
    return f"""Study kit export {meta['kit_id']} ({meta['study']}); made by xaibook.studykit.

Run it
  Open study/index.html in a browser (works offline, from disk), or upload the folder study/ as it is
  to JATOS, Pavlovia, Cognition or any static web host.

URL parameters
  ?condition=NAME    fix the between-subject condition (one of: {conds}); without it, each new
                     participant is assigned one at random
  &participant=ID    the participant's id (e.g. ?condition={first}&participant=P07); without it a
                     random id is drawn
  &redirect=URL      a completion link shown at the end (e.g. Prolific's completion URL)

Data
  Every answer is saved in the participant's browser as soon as a screen ends; reloading the page
  resumes where the participant was. The end screen offers the answers as a CSV file. On JATOS,
  each trial is also sent to the server as it ends (JSON lines), so an early leaver leaves a
  partial record (no 'complete' row).

Analyse
  from xaibook.data.responses import read_studykit
  trials = read_studykit(["folder/with/the/csvs"])   # answer key from key/manifest.csv, not the browser
  xaibook.studykit.analyse(trials)                   # the chapter's analysis

Screens per phase: {meta['screens_per_phase']}; seed {meta['seed']}; jsPsych {meta['jspsych']}.
Do not upload key/: it holds the answers.
"""
