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
