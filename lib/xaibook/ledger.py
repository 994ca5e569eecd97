"""The reproduction ledger: every number the book sets beside a published one, as a claim.

A chapter records a claim each time it compares a value it computed with the paper's::

    >>> from xaibook import ledger
    >>> from xaibook.data import published
    >>> ledger.record("nguyen2021", "table1.expert.imagenet.gradcam.mean",
    ...               "expert accuracy, ImageNet, GradCAM (%)",
    ...               paper=published.ref("nguyen2021_table1", "value", dataset="ImageNet",
    ...                                   method="GradCAM", user_group="expert", image_type="all",
    ...                                   metric="mean"),
    ...               ours=68.0, data="Gorilla exports (../shared)", tolerance=0.01)

The status follows from the two values:

``reproduced``               ours equals the paper's value at the paper's printed precision;
``within tolerance``         ``|ours - paper| <= tolerance`` (the claim's own, stated tolerance);
``differs: <reason>``        anything else, with the reason the chapter gives (e.g. the offline
                             zoo stands in for ImageNet at this scale);
``not recomputable: <why>``  ``ours`` is missing (no data, no raw responses) and ``why`` says so.

Each chapter ends with ``ledger.table(study)``, which also writes the study's claims as a CSV
into ``config.ledger_dir()``; the book's ledger page gathers the five files with
:func:`gather`, and the build copies the whole ledger next to the HTML as ``ledger.csv``.
Recording the same claim again (a re-run cell) replaces it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import config
from .errors import DataFormatError, ParameterError

COLUMNS = ("study", "claim", "quantity", "paper", "source", "section", "page", "ours", "scale", "data",
           "tolerance", "status")
STATUSES = ("reproduced", "within tolerance", "differs", "not recomputable")
STUDIES = ("nguyen2021", "shen2020", "alqaraawi2020", "im2023", "sixt2022")


@dataclass(frozen=True)
class Ref:
    """A published value with its provenance (see :func:`xaibook.data.published.ref`)."""

    value: float
    paper: str
    source: str
    section: str = ""
    page: str = ""


@dataclass(frozen=True)
class Claim:
    """One row of the ledger (the columns of :data:`COLUMNS`)."""

    study: str
    claim: str
    quantity: str
    paper: float
    source: str
    section: str
    page: str
    ours: float
    scale: str
    data: str
    tolerance: float
    status: str


_CLAIMS: dict[tuple[str, str], Claim] = {}


def _decimals(value: float) -> int:
    """Decimals of a printed number (0.74 -> 2, 76.67 -> 2, 5.0 -> 0)."""
    text = repr(float(value))
    if "e" in text or "." not in text:
        return 0
    frac = text.split(".")[1].rstrip("0")
    return len(frac)


def status(paper: float, ours: float | None, tolerance: float, *, decimals: int | None = None,
           reason: str | None = None, why_not: str | None = None) -> str:
    """The status of a claim (see the module docstring)."""
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        if not why_not:
            raise ParameterError("a claim without our value needs why_not= (why it cannot be recomputed)")
        return f"not recomputable: {why_not}"
    d = _decimals(paper) if decimals is None else decimals
    # half a unit of the last printed digit, with room for binary rounding
    if abs(float(ours) - float(paper)) <= 0.5 * 10 ** (-d) + 1e-9:
        return "reproduced"
    if abs(float(ours) - float(paper)) <= tolerance + 1e-12:
        return "within tolerance"
    return f"differs: {reason or 'no reason given'}"


def record(study: str, claim: str, quantity: str, *, paper: Ref, ours: float | None, data: str,
           tolerance: float = 0.0, decimals: int | None = None, reason: str | None = None,
           why_not: str | None = None) -> Claim:
    """Record one claim and return it.

    ``claim`` is a stable id (unique within the study), ``quantity`` a readable name with its
    unit, ``paper`` the published value (:func:`xaibook.data.published.ref`), ``ours`` the value
    computed here (``None`` when it cannot be computed: then ``why_not`` is required), ``data``
    the data it came from (e.g. ``"offline zoo"``, ``"Gorilla exports"``, ``"published Table 2"``).
    ``tolerance`` is absolute, in the quantity's unit; ``decimals`` overrides the precision
    inferred from the paper's value; ``reason`` explains a difference beyond the tolerance.
    """
    if study not in STUDIES:
        raise ParameterError(f"study={study!r}; use one of {STUDIES}")
    if not isinstance(paper, Ref):
        raise ParameterError("paper= must be a published.ref(...) (a value with its source), "
                             f"not {type(paper).__name__}")
    if tolerance < 0 or not math.isfinite(tolerance):
        raise ParameterError(f"tolerance must be a finite number >= 0, got {tolerance}")
    value = None if ours is None else float(ours)
    c = Claim(study=study, claim=claim, quantity=quantity, paper=float(paper.value),
              source=f"{paper.paper} {paper.source}".strip(), section=str(paper.section or ""),
              page=str(paper.page or ""), ours=float("nan") if value is None else value,
              scale=config.scale().name, data=data, tolerance=float(tolerance),
              status=status(paper.value, value, tolerance, decimals=decimals, reason=reason, why_not=why_not))
    _CLAIMS[(study, claim)] = c
    return c


def claims(study: str | None = None) -> list[Claim]:
    """The claims recorded in this process (of one study, or all), in recording order."""
    return [c for (s, _), c in _CLAIMS.items() if study is None or s == study]


def forget(study: str | None = None) -> None:
    """Drop the recorded claims (of one study, or all)."""
    for key in [k for k in _CLAIMS if study is None or k[0] == study]:
        del _CLAIMS[key]


def frame(items: list[Claim]) -> pd.DataFrame:
    """Claims as a DataFrame with the ledger's columns."""
    return pd.DataFrame([asdict(c) for c in items], columns=list(COLUMNS))


def write(study: str, folder: Path | str | None = None) -> Path:
    """Write the study's recorded claims to ``<folder>/<study>.csv`` atomically and return the path."""
    folder = Path(folder) if folder is not None else config.ledger_dir()
    from .cache import atomic_write

    target = folder / f"{study}.csv"
    atomic_write(target, frame(claims(study)).to_csv(index=False).encode())
    return target


def table(study: str, write_csv: bool = True) -> pd.DataFrame:
    """The chapter's closing ledger table (and, by default, its CSV in ``config.ledger_dir()``)."""
    if write_csv:
        write(study)
    df = frame(claims(study))
    return df[["claim", "quantity", "paper", "source", "ours", "tolerance", "status", "data"]]


def gather(folder: Path | str | None = None) -> pd.DataFrame:
    """All studies' ledgers from ``folder`` (default ``config.ledger_dir()``), in chapter order."""
    folder = Path(folder) if folder is not None else config.ledger_dir()
    parts = []
    for study in STUDIES:
        path = folder / f"{study}.csv"
        if not path.is_file():
            continue
        df = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"page": str, "section": str})
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise DataFormatError(f"{path}: not a ledger file (missing column(s) {missing}); "
                                  "delete it and rebuild the chapter")
        parts.append(df[list(COLUMNS)])
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.concat(parts, ignore_index=True)


def kind(status_text: str) -> str:
    """The status without its reason (``differs: ...`` -> ``differs``)."""
    return str(status_text).split(":", 1)[0].strip()


def counts(df: pd.DataFrame) -> pd.DataFrame:
    """Claims per study and status kind (a row per study, a column per status)."""
    if df.empty:
        return pd.DataFrame(columns=["study", *STATUSES, "total"])
    out = (df.assign(kind=df["status"].map(kind)).pivot_table(index="study", columns="kind", values="claim",
                                                              aggfunc="count", fill_value=0))
    for s in STATUSES:
        if s not in out.columns:
            out[s] = 0
    out = out[list(STATUSES)]
    out["total"] = out.sum(axis=1)
    order = [s for s in STUDIES if s in out.index]
    out.columns.name = None
    return out.loc[order].reset_index()


def digest(df: pd.DataFrame) -> str:
    """A short content digest of a ledger (to compare two builds)."""
    import hashlib

    return hashlib.sha256(df[list(COLUMNS)].to_csv(index=False).encode()).hexdigest()[:16]


def value_of(x: Any) -> float:
    """A plain float from a number, a one-element Series or array (for ``ours=``)."""
    if hasattr(x, "item"):
        return float(x.item()) if getattr(x, "size", 1) == 1 else float("nan")
    return float(x)
