"""Declared dependencies are imported directly in tests, never skipped with pytest.importorskip.

A test that skips when a package listed in pyproject.toml is missing hides a broken install
as a pass (the house rules call it a defect). Only packages the project does not declare may
be optional in tests.
"""
from __future__ import annotations

import ast
import re
import tomllib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    """Normalised names of every requirement in pyproject.toml (dependencies and all extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        reqs += group
    return {_norm(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", r).group(1)) for r in reqs}


def importorskip_modules(source: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every ``pytest.importorskip("module")`` (or a bare ``importorskip``) call."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
        if name != "importorskip":
            continue
        arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "modname"), None)
        found.append((node.lineno, arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else "?"))
    return found


def distributions_of(module: str) -> set[str]:
    """Normalised names of the distributions that provide ``module``'s top-level package (and the
    package's own name, so that a missing package still matches a same-named requirement)."""
    top = module.split(".")[0]
    return {_norm(top)} | {_norm(d) for d in _packages().get(top, [])}


@lru_cache(maxsize=1)
def _packages() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def test_the_scanner_finds_importorskip_on_declared_packages():
    deps = declared()
    assert {"torch", "pingouin", "zennit", "torchray", "pytest"} <= deps
    # The planted source is assembled so that no line of this file reads as a real skip to a scanner.
    skip = "import" + "orskip"
    src = (f'import pytest\nfrom pytest import {skip}\n'
           f'pg = pytest.{skip}("pingouin")\nep = {skip}(modname="torchray.attribution")\n'
           f'x = pytest.{skip}("not_a_declared_package")\n')
    found = importorskip_modules(src)
    assert found == [(3, "pingouin"), (4, "torchray.attribution"), (5, "not_a_declared_package")]
    assert [m for _, m in found if distributions_of(m) & deps] == ["pingouin", "torchray.attribution"]
    # an import name that differs from its distribution's name is mapped through the installed metadata
    assert "scikit-learn" in distributions_of("sklearn")


def test_no_test_skips_a_declared_dependency():
    deps = declared()
    files = sorted((ROOT / "tests").rglob("*.py"))
    assert len(files) > 5
    offenders = [f"{f.relative_to(ROOT)}:{line} importorskip({module!r})"
                 for f in files for line, module in importorskip_modules(f.read_text(encoding="utf-8"))
                 if module == "?" or distributions_of(module) & deps]
    assert not offenders, ("import declared dependencies directly, never through pytest.importorskip "
                           "(a missing one must fail, not skip): " + "; ".join(offenders))
