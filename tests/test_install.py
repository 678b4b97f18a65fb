"""Installs that work with any pip: the distribution has a name of its own (an unrelated
`newsbot` is on the package index), HTML cleaning is a direct dependency (older pips do
not resolve the extra that would bring it), and every install line in the docs installs
this checkout or a wheel built from it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _project() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]


def test_the_distribution_has_a_name_of_its_own() -> None:
    project = _project()
    assert project["name"] == "newsbot-qa"
    assert project["scripts"] == {"newsbot": "bot.cli:main"}  # the command stays
    dev = project["optional-dependencies"]["dev"]
    assert any(line.startswith("newsbot-qa[") for line in dev)


def test_html_cleaning_is_a_direct_dependency() -> None:
    names = {re.split(r"[<>=\[ ;]", line)[0].lower().replace("-", "_")
             for line in _project()["dependencies"]}
    assert "lxml_html_clean" in names


def test_every_install_line_installs_this_checkout_or_its_wheel() -> None:
    texts = [REPO / "README.md", REPO / "bench" / "README.md", REPO / "scripts" / "setup",
             REPO / ".ci" / "run", *sorted((REPO / "docs").glob("*.md")),
             *[p for d in ("bot", "corpus", "retrieval", "bench", "training")
               for p in sorted((REPO / d).rglob("*.py"))]]
    for path in texts:
        for line in path.read_text("utf-8").splitlines():
            # The first package named after the options: another project's (torch,
            # llama-cpp-python) may be; this one never by name, which fetches the other.
            for target in re.findall(r"pip install (?:-\S+\s+)*('[^']*'|\"[^\"]*\"|[^\s`)]+)",
                                     line):
                name = target.strip("'\"")
                assert not re.match(r"newsbot(-qa)?($|\[)", name), \
                    f"{path.relative_to(REPO)}: {line.strip()}"


def _names(lines: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", line)[0].lower().replace("_", "-") for line in lines}


def test_the_test_install_is_what_the_tests_need_and_no_more() -> None:
    """`scripts/setup` installs the `test` extra: no package only the trainers or the
    benchmarks need (datasets and accelerate bring pyarrow and pandas); `dev` is all."""
    extras = _project()["optional-dependencies"]
    assert {"pytest", "pexpect", "ruff", "newsbot-qa"} <= _names(extras["test"])
    training_only = {"datasets", "accelerate", "scikit-learn", "scipy", "pandas", "pyarrow"}
    assert not _names(extras["test"]) & training_only
    assert not _names(extras["test"]) & _names(extras["bench"])
    assert extras["dev"] == ["newsbot-qa[test,bench,train]"]
    setup = (REPO / "scripts" / "setup").read_text("utf-8")
    assert 'install --quiet -e ".[test]"' in setup and '-e ".[dev]"' not in setup
