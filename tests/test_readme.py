"""The README's first screen is what a newcomer reads: the two commands, then their own
folder and question, and what it says there is what the commands do; every pointer to a
README section (from pyproject.toml, the code, the docs) names a section that exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner, Result
from conftest import REPO, story, write_article

from bot.cli import cli

README = (REPO / "README.md").read_text(encoding="utf-8")
FIRST_SCREEN = "\n".join(README.splitlines()[:50])
# "README, "Discord"" or "README.md ('Layout')": not bench/README.md, a page of its own.
POINTER = re.compile(r"(?<![\w/])README(?:\.md)?,? \(?[\"']([^\"'\n]+)[\"']")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_the_first_screen_has_the_two_commands_then_your_own_folder() -> None:
    order = ["./scripts/demo", "./scripts/test", "## Your own folder, your own question",
             "newsbot index --rebuild ~/news/", "newsbot ask ", "--index-dir DIR"]
    places = [FIRST_SCREEN.find(text) for text in order]
    assert -1 not in places, dict(zip(order, places, strict=True))
    assert places == sorted(places)


def test_every_pointer_to_a_readme_section_finds_it() -> None:
    headings = {line.lstrip("#").strip() for line in README.splitlines()
                if line.startswith("#") and not line.startswith("#!")}
    files = [REPO / "pyproject.toml", *REPO.glob("scripts/*"), *REPO.glob("docs/*.md")]
    files += [path for package in ("bot", "retrieval", "corpus", "standins")
              for path in (REPO / package).rglob("*.py")]
    pointers = {(path.relative_to(REPO).as_posix(), name) for path in files if path.is_file()
                for name in POINTER.findall(path.read_text(encoding="utf-8"))}
    assert ("pyproject.toml", "Installing") in pointers  # the pattern finds what is there
    assert not [p for p in pointers if p[1] not in headings]


def test_your_own_folder_as_the_first_screen_says(tmp_path: Path) -> None:
    assert run("index").exit_code == 0  # what the demo does: the bundled sample
    sample = json.loads(run("stats", "--json").output)["articles"]
    mine = tmp_path / "news"
    for i in range(3):
        write_article(mine, f"{i}.md", f"Harbour report {i}", story(f"harbour {i}"))
    added = run("index", str(mine))  # a plain run adds to the sample's, and says so
    assert added.exit_code == 0
    assert "note: this index also holds the bundled sample's articles" in added.output
    assert json.loads(run("stats", "--json").output)["articles"] == sample + 3
    clean = run("index", "--rebuild", str(mine))  # starts clean with your folder alone
    assert clean.exit_code == 0 and "note:" not in clean.output
    assert json.loads(run("stats", "--json").output)["articles"] == 3
    (mine / "3.md").write_text("")  # an empty file: skipped, not a failed run
    later = run("index")  # no folder: the folders the index was built from
    assert later.exit_code == 0, later.output
    assert "unchanged 3, duplicates 0, failed 0, skipped 1 unusable" in later.output
    assert json.loads(run("stats", "--json").output)["articles"] == 3
    named = run("index", str(mine / "3.md"))  # named on its own: it was asked for
    assert named.exit_code == 1
    assert [line for line in named.output.splitlines() if "3.md" in line] == [
        f"failed {mine / '3.md'}: empty file"]
