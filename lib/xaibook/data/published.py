"""The papers' published numbers, shipped as tidy CSV files in ``data/published/``.

Every file carries provenance columns: ``paper`` (a key of ``book/references.bib``),
``source`` (table or figure, e.g. ``Table 1``), ``section``, ``page`` (empty where the
paper's text gives none) and ``note``. Other columns hold the numbers.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import config
from ..errors import DataFormatError, DataNotFoundError

PROVENANCE = ("paper", "source", "section", "page", "note")
PAPERS = ("nguyen2021", "shen2020", "alqaraawi2020", "im2023", "sixt2022")


def available() -> list[str]:
    """Names of the shipped tables (file stems)."""
    return sorted(p.stem for p in config.published_dir().glob("*.csv"))


def path(name: str) -> Path:
    p = config.published_dir() / f"{name}.csv"
    if not p.is_file():
        raise DataNotFoundError(f"no published table {name!r}; available: {', '.join(available())}")
    return p


def load(name: str) -> pd.DataFrame:
    """Load one published table and check its provenance columns."""
    p = path(name)
    df = pd.read_csv(p, keep_default_na=False, na_values=[""], dtype={"page": str})
    missing = [c for c in PROVENANCE if c not in df.columns]
    if missing:
        raise DataFormatError(f"{p}: missing provenance column(s) {missing}")
    bad = sorted(set(df["paper"]) - set(PAPERS))
    if bad:
        raise DataFormatError(f"{p}: unknown paper key(s) {bad}; use one of {PAPERS}")
    if df["source"].isna().any():
        raise DataFormatError(f"{p}: every row needs a source (table or figure)")
    return df


def cite(df: pd.DataFrame) -> str:
    """A short provenance string for a chart footer, e.g. 'published: nguyen2021 Table 1'."""
    parts = sorted({f"{p} {s}" for p, s in zip(df["paper"], df["source"])})
    return "published: " + "; ".join(parts)


def ref(name: str, column: str = "value", **where: object) -> "Ref":
    """One published number with its provenance, for :func:`xaibook.ledger.record`.

    ``name`` is a table of :func:`available`, ``column`` the column holding the number and
    ``where`` selects exactly one row (``ref("shen2020_accuracy", "accuracy", experiment=1,
    condition="Int", category="C1")``). Anything but one matching row is an error that names
    the table and the selection.
    """
    from ..ledger import Ref

    df = load(name)
    if column not in df.columns:
        raise DataFormatError(f"published table {name!r} has no column {column!r}; columns: {list(df.columns)}")
    mask = pd.Series(True, index=df.index)
    for key, want in where.items():
        if key not in df.columns:
            raise DataFormatError(f"published table {name!r} has no column {key!r}; columns: {list(df.columns)}")
        col = df[key]
        mask &= (col.astype(str) == str(want)) if not isinstance(want, (int, float)) or col.dtype == object \
            else (col == want)
    rows = df[mask]
    if len(rows) != 1:
        raise DataFormatError(f"published table {name!r}: {len(rows)} rows match {where} (need exactly one)")
    row = rows.iloc[0]
    page = "" if pd.isna(row["page"]) else str(row["page"])
    section = "" if pd.isna(row["section"]) else str(row["section"])
    return Ref(value=float(row[column]), paper=str(row["paper"]), source=str(row["source"]),
               section=section, page=page)
