"""Study-kit CSVs (downloaded by participants, or JATOS's JSON lines) -> the tidy trial table.

The answer key comes from the export's manifest (``key/manifest.csv``, or the copy kept in the
artifact cache), never from the browser: ``correct`` is recomputed here.
Public entry point: :func:`xaibook.data.responses.read_studykit`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..data import responses
from ..errors import DataFormatError, DataNotFoundError
from .build import MARKER, kept_key, read_key
from .studies import spec

#: Columns every kit file has (written by templates/study.js).
KIT_COLUMNS = ("kit_id", "study", "participant", "condition", "phase", "trial", "trial_id", "response",
               "rt_ms", "event")
#: The manifest's study columns that fill schema columns, where a manifest has them.
SCHEMA_FROM_MANIFEST = {"dataset": "dataset", "truth": "true_label", "prediction": "ai_label",
                        "ai_correct": "ai_correct", "image_type": "image_type", "confidence": "ai_confidence"}
#: Per study, the schema's spelling of an option (Nguyen et al.'s Yes/No are accept/reject).
RESPONSE_NAMES = {"nguyen2021": {"Yes": "accept", "No": "reject"}}
_YES_NO = {"Yes": True, "No": False}


def _files(paths) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix in (".csv", ".jsonl") and f.is_file())
            if not found:
                raise DataNotFoundError(f"{p}: no study-kit file (*.csv, or JATOS results as *.jsonl) in this folder")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise DataNotFoundError(f"{p} does not exist; give the study-kit CSVs or the folder holding them")
    if not out:
        raise DataNotFoundError("no study-kit files given; pass CSV paths or a folder")
    return out


def _read_file(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            df = pd.DataFrame(lines).astype(str).replace({"None": "", "nan": ""})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFormatError(f"{path}: not a readable study-kit file ({type(e).__name__}: {e}); "
                              "expected the CSV the study's end screen downloads") from None
    missing = [c for c in KIT_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(f"{path}: missing column(s) {missing}; this is not a study-kit file "
                              "(the end screen's 'Download my answers' CSV)")
    if df.empty:
        raise DataFormatError(f"{path}: no rows; the participant answered nothing")
    kits = sorted(set(df["kit_id"]))
    if len(kits) != 1 or not kits[0]:
        raise DataFormatError(f"{path}: holds kit ids {kits}; a study-kit file holds one study's answers")
    return df.assign(_file=str(path))


def find_key(kit_id: str, near: Iterable[Path] = (), manifest: Path | str | None = None) -> pd.DataFrame:
    """The answer key of ``kit_id``: ``manifest`` if given, else an export's ``key/manifest.csv`` found
    beside or above the files (``near``), else the copy kept in the cache."""
    if manifest is not None:
        m = Path(manifest)
        if m.is_dir():
            m = m / "key" / "manifest.csv" if (m / MARKER).is_file() else m / "manifest.csv"
        return read_key(m)
    for f in near:
        for folder in [f.parent, *f.parent.parents][:4]:
            meta = folder / MARKER
            if meta.is_file():
                try:
                    found = json.loads(meta.read_text()).get("kit_id")
                except ValueError:
                    continue
                if found == kit_id:
                    return read_key(folder / "key" / "manifest.csv")
    kept = kept_key(kit_id)
    if kept is not None:
        return kept
    raise DataNotFoundError(f"no answer key for study-kit export {kit_id!r}: pass manifest= (the export's folder "
                            f"or its key/manifest.csv), or keep the CSVs inside the export's folder")


def _check(df: pd.DataFrame, key: pd.DataFrame, path: str) -> None:
    screens = {(c, p, t): opts for c, p, t, opts in zip(key["condition"], key["phase"], key["trial_id"], key["options"])}
    for i, r in enumerate(df.to_dict("records")):
        where = f"{path}, data row {i + 1} (trial_id {r['trial_id']!r})"
        k = (r["condition"], r["phase"], r["trial_id"])
        if k not in screens:
            raise DataFormatError(f"{where}: condition {r['condition']!r}, phase {r['phase']!r} is not a screen of "
                                  f"export {r['kit_id']}; the file is foreign to this key or was edited")
        if r["response"] not in screens[k]:
            raise DataFormatError(f"{where}: response {r['response']!r} is not one of the options {screens[k]}")
        if not str(r["trial"]).isdigit() or int(r["trial"]) < 1:
            raise DataFormatError(f"{where}: trial {r['trial']!r} is not a positive whole number")


def _tidy(df: pd.DataFrame, key: pd.DataFrame) -> pd.DataFrame:
    study = df["study"].iloc[0]
    kit = spec(study)
    k = key.drop(columns=["study", "phase"]).rename(columns={"options": "_options", "answer": "_answer",
                                                              "stimulus": "_stimulus", "question": "_question"})
    m = df.merge(k, on=["condition", "trial_id"], how="left", suffixes=("", "_manifest"))
    names = RESPONSE_NAMES.get(study, {})
    out = pd.DataFrame({
        "study": study, "participant": m["participant"], "condition": m["condition"],
        "dataset": m["dataset"] if "dataset" in m else (kit.dataset or study),
        "phase": m["phase"], "trial": m["trial"].astype(int), "stimulus": m["trial_id"],
    })
    for col, src in SCHEMA_FROM_MANIFEST.items():
        if col != "dataset":
            out[col] = m[src] if src in m else None
    out["response"] = [names.get(r, r) for r in m["response"]]
    out["correct"] = [None if not a else (r == a) for r, a in zip(m["response"], m["_answer"].fillna(""))]
    out["rt"] = pd.to_numeric(m["rt_ms"], errors="coerce") / 1000.0
    pre = m["pre_response"] if "pre_response" in m else pd.Series("", index=m.index)
    out["known"] = [_YES_NO.get(p) for p in pre] if kit.pre_column else None
    out["source"] = f"human: studykit {df['kit_id'].iloc[0]}"
    out["ai_correct"] = out["ai_correct"].map(lambda v: None if pd.isna(v) else bool(v) if isinstance(v, bool)
                                              else {"True": True, "False": False}.get(str(v)))
    extra = {"kit_id": m["kit_id"], "trial_id": m["trial_id"], "option": m["response"], "answer": m["_answer"],
             "population": "studykit", "assignment": m.get("assignment")}
    for f in kit.followups:
        extra[f.name + "_rating"] = m[f.name] if f.name in m else None
    out = out.assign(**extra)
    own = [c for c in key.columns if c not in out.columns and c not in SCHEMA_FROM_MANIFEST.values()
           and c not in ("options", "answer", "stimulus", "question", "image", "explanation", "examples")]
    for c in own:
        out[c] = m[c].values
    return out


def read_studykit(paths, *, manifest: Path | str | None = None) -> pd.DataFrame:
    """One or many study-kit files (or folders of them) as one tidy trial table (see the module doc).

    Adds ``kit_id``, ``trial_id``, ``option`` (the button pressed), ``answer`` (the key's),
    ``population`` (``studykit``), ``complete`` (whether the participant reached the end screen:
    incomplete runs are kept and flagged) and the manifest's study columns. Raises
    :class:`DataFormatError` naming the file for malformed or foreign files and for a participant
    or trial found twice.
    """
    files = _files(paths)
    frames = [_read_file(f) for f in files]
    seen: dict[tuple[str, str], str] = {}
    for df in frames:
        for who in sorted(set(df["participant"])):
            k = (df["kit_id"].iloc[0], who)
            if k in seen:
                raise DataFormatError(f"{df['_file'].iloc[0]}: participant {who!r} of {k[0]} is also in "
                                      f"{seen[k]}; remove the duplicate file")
            seen[k] = df["_file"].iloc[0]
    tables = []
    keys: dict[str, pd.DataFrame] = {}
    for df in frames:
        path = df["_file"].iloc[0]
        kit_id = df["kit_id"].iloc[0]
        if kit_id not in keys:
            keys[kit_id] = find_key(kit_id, files, manifest)
        done = set(df.loc[df["event"] == "complete", "participant"])
        rows = df[(df["event"] != "complete") & (df["trial_id"] != "")]
        twice = rows[rows.duplicated(["participant", "phase", "trial_id"], keep=False)]
        if len(twice):
            r = twice.iloc[0]
            raise DataFormatError(f"{path}: participant {r['participant']!r} answered {r['phase']} trial_id "
                                  f"{r['trial_id']!r} twice; the file was edited or merged")
        _check(rows, keys[kit_id], path)
        if rows.empty:
            continue
        t = _tidy(rows, keys[kit_id])
        t["complete"] = t["participant"].isin(done)
        t["file"] = Path(path).name
        tables.append(t)
    if not tables:
        return responses.empty().assign(complete=pd.Series(dtype=bool))
    out = pd.concat(tables, ignore_index=True)
    for c in ("ai_correct", "correct", "known"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return responses.validate(out)
