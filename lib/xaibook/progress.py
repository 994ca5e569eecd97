"""Progress bars for long loops (tqdm.auto: a widget in Jupyter, text elsewhere)."""
from __future__ import annotations

import warnings
from typing import Iterable, TypeVar

from . import config

T = TypeVar("T")


def bar(iterable: Iterable[T] | None = None, desc: str | None = None, total: int | None = None, **kwargs) -> "Iterable[T]":
    """A tqdm progress bar; silent when ``XAIBOOK_PROGRESS=0``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm.auto warns when ipywidgets is absent
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=desc, total=total, disable=not config.progress_enabled(), **kwargs)
