"""Bad files are reported with their path (and line), skipped, and never cost what was
already indexed. Driven through the real CLI."""

import gzip
import json
import os
from pathlib import Path

from click.testing import CliRunner
from conftest import story, write_article

from bot.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def stats() -> dict:
    result = run("stats", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def make_bad_files(folder: Path) -> dict[str, str]:
    """Each bad file, with the text its error line must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    (folder / "latin1.md").write_bytes("Caf\xe9 news\n\nThe caf\xe9 closed.".encode("latin-1"))
    with gzip.open(folder / "cut.jsonl.gz", "wb") as handle:
        for i in range(200):
            record = {"id": f"c{i}", "title": f"Fine {i}", "body": f"Record {i} " + os.urandom(
                40).hex()}
            handle.write(json.dumps(record).encode() + b"\n")
    data = (folder / "cut.jsonl.gz").read_bytes()
    (folder / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    (folder / "lines.jsonl").write_text(
        json.dumps({"id": "ok-1", "title": "Good line", "body": "A good record."}) + "\n"
        + "{not json\n"
        + json.dumps({"id": "nobody", "title": "No body here"}) + "\n"
    )
    with open(folder / "huge.txt", "wb") as handle:
        handle.write(b"Headline\n" + b"x" * (50 * 1024 * 1024))
    os.symlink(folder / "missing-target.txt", folder / "broken-link.txt")
    return {
        "empty.txt": "empty file",
        "binary.txt": "binary file",
        "latin1.md": "not valid UTF-8",
        "cut.jsonl.gz": "truncated gzip",
        "lines.jsonl:2": "invalid JSON",
        "lines.jsonl:3": "no article text",
        "huge.txt": "file too large",
        "broken-link.txt": "no such file",
    }


def test_every_bad_file_is_named_and_the_rest_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "good.md", "Good story", story("bridges"))
    expected = make_bad_files(folder)
    result = run("index", str(folder))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    unusable = {"empty.txt", "broken-link.txt"}  # skipped and listed, not failures
    for where, message in expected.items():
        lines = [line for line in result.output.splitlines() if where in line]
        assert len(lines) == 1 and message in lines[0], (where, result.output)
        kind = "skipped " if where in unusable else "failed "  # as the summary counts it
        assert lines[0].startswith(kind), lines[0]
    # good.md, the good line of lines.jsonl and the 20-odd records before the cut
    data = stats()
    assert data["articles"] >= 50
    assert "failed 6, skipped 2 unusable" in result.output


def test_an_empty_file_in_a_folder_is_skipped_not_a_failed_run(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    write_article(folder, "good.md", "Good story", story("bridges"))
    (folder / "notes.txt").write_bytes(b"")
    (folder / "blank.md").write_text("  \n\n")
    for _ in range(2):  # the second run changes nothing and still succeeds
        result = run("index", str(folder))
        assert result.exit_code == 0, result.output
        assert "failed 0, skipped 2 unusable" in result.output
        for name in ("notes.txt", "blank.md"):
            lines = [line for line in result.output.splitlines() if name in line]
            assert lines == [f"skipped {folder / name}: empty file"], result.output
    assert stats()["articles"] == 1
    alone = run("index", str(folder / "notes.txt"))  # asked for by name: it must be read
    assert alone.exit_code == 1 and "failed" in alone.output


def test_files_of_other_types_in_a_folder_are_passed_over_quietly(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "good.md", "Good story", story("bridges"))
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" * 20)
    (folder / "style.css").write_text("body { color: black; }\n")
    (folder / "README").write_text("Articles saved from the web.\n")
    (folder / "assets").mkdir()
    (folder / "assets" / "notes.docx").write_bytes(b"PK\x03\x04 not an article")
    quiet = run("index", str(folder))
    assert quiet.exit_code == 0, quiet.output
    assert "added 1," in quiet.output and "failed 0" in quiet.output
    assert "photo.jpg" not in quiet.output
    (folder / "extra.md").write_text("")  # same folder, a second run
    (folder / "odd.md").write_bytes(b"\x89PNG\r\n\x00\x00 not text")
    counted = run("index", str(folder), "--json")
    assert counted.exit_code == 1  # a supported type that cannot be read still fails
    summary = json.loads(counted.output.splitlines()[-1])
    assert (summary["skipped"], summary["unusable"], summary["failed"]) == (4, 1, 1)
    assert "skipped " + str(folder / "extra.md") + ": empty file" in counted.output
    assert "failed " + str(folder / "odd.md") + ": binary file" in counted.output
    named = run("index", str(folder), "-v")
    for name in ("photo.jpg", "style.css", "README", "assets/notes.docx"):
        assert f"passed over {folder / name}: not an article type" in named.output
    assert "passed over 4 files of other types" in named.output
    alone = run("index", str(folder / "photo.jpg"))  # named on its own: must be an article
    assert alone.exit_code == 1 and "unsupported file type '.jpg'" in alone.output


def test_bad_files_do_not_cost_what_was_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "a.md", "Story A", story("trains"))
    feed = folder / "feed.jsonl"
    feed.write_text("".join(
        json.dumps({"id": f"f{i}", "title": f"Feed {i}", "body": f"Feed story {i}."}) + "\n"
        for i in range(5)))
    assert run("index", str(folder)).exit_code == 0
    assert stats()["articles"] == 6
    # Now a.md is damaged and the feed is cut off mid-line: nothing indexed is lost.
    (folder / "a.md").write_bytes(b"\xff\xfe\x00\x00garbage")
    feed.write_text(feed.read_text()[:-30])
    result = run("index", str(folder))
    assert result.exit_code == 1
    assert "a.md" in result.output and "feed.jsonl:5" in result.output
    assert stats()["articles"] == 6


def test_unreadable_file_when_permissions_apply(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    path = write_article(folder, "secret.md", "Secret", story("locks"))
    path.chmod(0)
    result = run("index", str(folder))
    assert result.exit_code == 0  # skipped and listed: not a failure of the run
    if os.geteuid() != 0:  # root reads anything; the broken link case covers this path
        assert f"skipped {path}: cannot read: permission denied" in result.output


def test_missing_path_is_a_clean_error(tmp_path: Path) -> None:
    result = run("index", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert "nope: no such file" in result.output
