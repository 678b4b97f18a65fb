"""Rules of the code base that a reviewer should not have to check by eye."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What each package may import of ours: bot -> retrieval -> corpus, never back.
ALLOWED = {"corpus": {"corpus"}, "retrieval": {"corpus", "retrieval"},
           "bot": {"corpus", "retrieval", "bot"}}
MAX_LINES = 300


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package: str) -> None:
    wrong = {f"{path.relative_to(REPO)} imports {sorted(bad)}"
             for path in modules(package)
             if (bad := imported_packages(path) - ALLOWED[package])}
    assert not wrong


def test_modules_read_in_one_sitting() -> None:
    long = [f"{path.relative_to(REPO)}: {n} lines" for package in ALLOWED
            for path in modules(package)
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long


def test_every_folder_is_a_packaged_regular_package() -> None:
    """A folder of modules without `__init__.py` is a namespace package by accident, and
    one missing from pyproject's list is left out of an install."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {path.parent for package in ALLOWED for path in modules(package)}
    missing_init = sorted(str(f.relative_to(REPO)) for f in folders
                          if not (f / "__init__.py").exists())
    unlisted = sorted(name for f in folders
                      if (name := ".".join(f.relative_to(REPO).parts)) not in listed)
    assert not missing_init
    assert not unlisted


# The backends' own modules: the core uses them only through `retrieval/index/stores.py`
# and `NewsIndex`, so that it works alike on SQLite and on PostgreSQL.
BACKEND_MODULES = {f"retrieval.index.{name}" for name in (
    "sqlite", "postgres", "keywords", "pg_keywords", "dialect", "schema", "lease", "lock",
    "access", "gate")}
# Modules that reach a backend on purpose, and why.
PROBES_BACKENDS = {"retrieval/health.py": "`newsbot doctor` probes each service directly"}


def test_only_the_index_reaches_its_backends() -> None:
    wrong = []
    for package in ALLOWED:
        for path in modules(package):
            if (path.is_relative_to(REPO / "retrieval" / "index")
                    or str(path.relative_to(REPO)) in PROBES_BACKENDS):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                wrong += [f"{path.relative_to(REPO)} imports {n}" for n in names
                          if n in BACKEND_MODULES]
    assert not wrong
