"""The project's exception types. Every message says what was expected and what to do."""
from __future__ import annotations


class XaibookError(Exception):
    """Base class of all errors raised on purpose by xaibook."""


class DataNotFoundError(XaibookError, FileNotFoundError):
    """A data folder or file the user must provide is missing."""


class DataFormatError(XaibookError, ValueError):
    """A file or folder exists but does not have the expected layout or content."""


class ParameterError(XaibookError, ValueError):
    """A function argument is out of range, of the wrong type or shape."""


class CacheError(XaibookError, RuntimeError):
    """The artifact cache could not read or write an entry."""
