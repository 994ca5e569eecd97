"""Shared fixtures. Tests run at the smoke scale with a private artifact cache."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

os.environ.setdefault("XAIBOOK_SCALE", "smoke")
os.environ.setdefault("XAIBOOK_PROGRESS", "0")


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    """Point XAIBOOK_CACHE at a fresh folder for the whole session (unless set by the caller)."""
    if "XAIBOOK_CACHE" not in os.environ or os.environ.get("XAIBOOK_TEST_FRESH_CACHE", "1") == "1":
        os.environ["XAIBOOK_CACHE"] = str(tmp_path_factory.mktemp("xaibook-cache"))
    yield


@pytest.fixture
def shared_dir() -> Path:
    """``../shared``; skips the test with a reason when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: this test reads the reference material in ../shared")
    return SHARED
