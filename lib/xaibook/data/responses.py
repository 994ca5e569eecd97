"""One tidy trial table for every study, human or simulated.

A row is one decision of one participant on one stimulus. The same columns serve the
five studies, so ``stats`` and ``viz`` never care where responses came from. Columns
(``COLUMNS``), in order:

``study``        paper key (``nguyen2021``, ``shen2020``, ...).
``participant``  participant id as the source names it (a string).
``condition``    the between-subject treatment, e.g. the explanation method (``GradCAM``).
``dataset``      the image set the stimulus comes from (``ImageNet``, ``Dogs``, ``Two4Two``).
``phase``        ``training``, ``validation`` (attention checks) or ``test``.
``trial``        1-based position of the trial within its phase for that participant.
``stimulus``     the stimulus file name or id.
``truth``        the true class of the image (e.g. an ImageNet wnid).
``prediction``   the AI's predicted class shown to the participant (missing if none shown).
``ai_correct``   whether ``prediction == truth`` (missing where no prediction was shown).
``image_type``   ``natural`` or ``adversarial`` (missing where the study has no such split).
``confidence``   the AI's confidence shown to the participant, in [0, 1] (missing if none).
``response``     what the participant answered (``accept``/``reject`` in Nguyen et al.; a
                 class label or a rating in other studies).
``correct``      whether the response was right by the study's answer key.
``rt``           reaction time in seconds (missing if not recorded).
``known``        whether the participant said they knew the class beforehand (missing if
                 not asked).
``source``       ``"human: <where>"`` or ``"simulated: <model>"``: simulated responses can
                 never pass for human data.

Extra columns are allowed (e.g. ``population``, ``difficulty``); ``validate`` checks only
these.
"""
from __future__ import annotations

import pandas as pd

from ..errors import DataFormatError

COLUMNS: tuple[str, ...] = (
    "study", "participant", "condition", "dataset", "phase", "trial", "stimulus",
    "truth", "prediction", "ai_correct", "image_type", "confidence", "response",
    "correct", "rt", "known", "source",
)
#: Columns that may never be missing.
REQUIRED_VALUES: tuple[str, ...] = ("study", "participant", "condition", "phase", "trial", "stimulus", "source")
PHASES: tuple[str, ...] = ("training", "validation", "test")
IMAGE_TYPES: tuple[str, ...] = ("natural", "adversarial")
BOOLEAN: tuple[str, ...] = ("ai_correct", "correct", "known")
SOURCE_PREFIXES: tuple[str, ...] = ("human:", "simulated:")
#: Columns that identify one decision; ``dataset`` (a schema column) and, where present, ``task``
#: (a study's extra column, e.g. Gorilla's node) are part of it.
TRIAL_KEY: tuple[str, ...] = ("study", "participant", "dataset", "condition", "task", "phase", "trial")


def empty() -> pd.DataFrame:
    """A trial table with the schema's columns and no rows."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})


def _bad_booleans(col: pd.Series) -> bool:
    values = col.dropna()
    return not values.map(lambda v: isinstance(v, (bool,)) or v in (0, 1)).all()


def validate(df: pd.DataFrame) -> pd.DataFrame:
    """Check that ``df`` follows the trial schema; return it unchanged.

    Raises ``DataFormatError`` naming every missing column and every column with bad
    values (missing where required, unknown phase or image type, booleans that are not
    booleans, confidence outside [0, 1], negative reaction times, a ``source`` that does
    not say ``human:`` or ``simulated:``, trial numbers that are not positive integers, the
    same trial (:data:`TRIAL_KEY`) twice).
    """
    if not isinstance(df, pd.DataFrame):
        raise DataFormatError(f"a trial table must be a pandas DataFrame, not {type(df).__name__}")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(
            f"trial table lacks column(s) {missing}; the schema is {list(COLUMNS)} "
            "(see xaibook.data.responses)")
    problems: list[str] = []
    for c in REQUIRED_VALUES:
        n = int(df[c].isna().sum())
        if n:
            problems.append(f"{c}: {n} missing value(s)")
    bad_phase = sorted(set(df["phase"].dropna()) - set(PHASES))
    if bad_phase:
        problems.append(f"phase: unknown value(s) {bad_phase}; use one of {list(PHASES)}")
    bad_type = sorted(set(df["image_type"].dropna()) - set(IMAGE_TYPES))
    if bad_type:
        problems.append(f"image_type: unknown value(s) {bad_type}; use one of {list(IMAGE_TYPES)} or leave it missing")
    for c in BOOLEAN:
        if _bad_booleans(df[c]):
            problems.append(f"{c}: values must be True/False or missing")
    conf = pd.to_numeric(df["confidence"], errors="coerce")
    if (conf.isna() & df["confidence"].notna()).any() or ((conf < 0) | (conf > 1)).any():
        problems.append("confidence: values must be numbers in [0, 1] or missing")
    rt = pd.to_numeric(df["rt"], errors="coerce")
    if (rt.isna() & df["rt"].notna()).any() or (rt < 0).any():
        problems.append("rt: values must be non-negative seconds or missing")
    src = df["source"].dropna().astype(str)
    bad_src = sorted(set(s for s in src if not s.startswith(SOURCE_PREFIXES)))
    if bad_src:
        problems.append(f"source: {bad_src[:3]} do not start with 'human:' or 'simulated:'")
    trial = pd.to_numeric(df["trial"], errors="coerce")
    if (trial.isna() & df["trial"].notna()).any() or (trial < 1).any() or (trial.dropna() % 1 != 0).any():
        problems.append("trial: values must be positive integers")
    key = [c for c in TRIAL_KEY if c in df.columns]
    twice = df[df.duplicated(subset=key, keep=False)]
    if len(twice):
        r = twice.iloc[0]
        problems.append(f"trial: {len(twice)} rows repeat a trial (first: participant {r['participant']!r}, "
                        f"{r['phase']} trial {r['trial']} of condition {r['condition']!r}); each "
                        f"({', '.join(key)}) must occur once")
    if problems:
        raise DataFormatError("trial table has bad column(s): " + "; ".join(problems))
    return df


def is_simulated(df: pd.DataFrame) -> pd.Series:
    """Per row: True where the responses come from a simulated participant."""
    return df["source"].astype(str).str.startswith("simulated:")


def read_studykit(paths, *, manifest=None) -> pd.DataFrame:
    """Study-kit CSVs (one file, many, or folders) as one trial table, ``source = "human: studykit
    <kit id>"``, the answer key taken from the export's manifest (``manifest=``: the export folder or
    its ``key/manifest.csv``; found beside the files or in the cache when omitted). Incomplete runs
    are kept with ``complete`` False. See :mod:`xaibook.studykit.read`."""
    from ..studykit.read import read_studykit as _read

    return _read(paths, manifest=manifest)
