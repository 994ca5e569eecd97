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
