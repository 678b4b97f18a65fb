"""Odd values and odd files: each becomes one reported problem (naming the file and line)
or a best-effort value, and never ends a run."""

from __future__ import annotations

import codecs
import errno
import json
import os
import threading
from pathlib import Path

import pytest
from conftest import story, write_article

import corpus.loader
from corpus import LoadResult, load_articles
from corpus.loader import read_file


def record(rid: str, **extra: object) -> dict:
    return {"id": rid, "title": f"Story {rid}", "body": f"Text of story {rid}.", **extra}


def jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def errors_by_line(result: LoadResult) -> dict[int | None, str]:
    return {e.line: e.message for e in result.errors}


def test_numeric_dates_epoch_seconds_and_milliseconds(tmp_path: Path) -> None:
    # json.dumps writes NaN / Infinity literals, which json.loads reads back as floats.
    path = jsonl(tmp_path / "feed.jsonl", [
        json.dumps(record("ms", published_at=1672531200000)),
        json.dumps(record("s", published_at=1672531200)),
        json.dumps(record("nan", published_at=float("nan"))),
        json.dumps(record("inf", published_at=float("inf"))),
        json.dumps(record("big", published_at=1e20)),
        json.dumps(record("neg", published_at=-1e20)),
        json.dumps(record("huge", published_at=10**400)),
        json.dumps(record("ok")),
    ])
    result = load_articles([path])
    dates = {a.id: a.date_iso for a in result.articles}
    assert dates == {"ms": "2023-01-01T00:00:00+00:00", "s": "2023-01-01T00:00:00+00:00",
                     "nan": "", "ok": ""}  # NaN is how many exporters write "no date"
    assert sorted(errors_by_line(result)) == [4, 5, 6, 7]
    assert all(e.message.startswith("unreadable date") for e in result.errors)
    assert all(e.path == str(path) for e in result.errors)


def test_impossible_and_odd_front_matter(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "good.md", "Good story", story("ports"))
    (folder / "feb30.md").write_text("---\ntitle: Leap\npublished_at: 2023-02-30\n---\n\nBody.\n")
    (folder / "hour25.md").write_text(
        "---\ntitle: Late\npublished_at: 2023-01-01 25:00:00\n---\n\nBody.\n")
    (folder / "list.md").write_text("---\n- a\n- b\n---\n\nBody.\n")
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\n\nBody.\n")
    result = load_articles([folder])
    assert [a.title for a in result.articles] == ["Good story"]
    messages = {Path(e.path).name: e.message for e in result.errors}
    assert messages == {
        "broken.md": "invalid YAML front matter",
        "feb30.md": "unreadable date '2023-02-30'",
        "hour25.md": "unreadable date '2023-01-01 25:00:00'",
        "list.md": "front matter must be a mapping of fields",
    }


def test_fields_of_unexpected_types_give_best_effort_text(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps([
        {"title": "Authors", "body": "Body one.", "author": [{"name": 5}, 7]},
        {"title": 12, "body": "Body two.", "source": ["A", "B"], "section": {"name": "World"},
         "id": 99, "url": None},
        {"title": None, "body": "Body three.", "source": True, "section": False, "id": {"x": 1}},
        {"title": "Broken url", "body": "Body four.", "url": "http://[broken"},
        {"title": "Lone surrogate", "body": "Caf\ud800 closed.", "author": {"name": ["Al"]}},
        {"title": ["a", "b"], "body": {"#text": "Body six."}, "tags": ["x", 1, None]},
    ]))
    result = read_file(path)
    assert result.errors == []
    one, two, three, four, five, six = result.articles
    assert one.author == "5, 7"
    assert (two.title, two.source, two.section, two.id, two.url) == ("12", "A, B", "World",
                                                                       "99", "")
    assert (three.title, three.source, three.section) == ("Body three.", "", "")
    assert three.id and three.id != "{'x': 1}"
    assert (four.url, four.source, four.published_at) == ("http://[broken", "", None)
    assert (five.body, five.author) == ("Caf\ufffd closed.", "Al")
    assert (six.title, six.body, six.section) == ("a, b", "Body six.", "x, 1")
    md = tmp_path / "authors.md"
    md.write_text("---\ntitle: 2024\nauthor: [{name: 5}, 7]\ntags: [a, 1]\n---\n\nBody.\n")
    (front,) = read_file(md).articles
    assert (front.title, front.author, front.section) == ("2024", "5, 7", "a, 1")
    for article in [*result.articles, front]:
        json.dumps(article.to_dict(), ensure_ascii=False).encode("utf-8")


def test_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "plain.md", "Plain", story("roads"))
    raw = os.fsencode(folder)
    with open(raw + b"/caf\xe9.md", "wb") as handle:
        handle.write(b"# Cafe reopens\n\nThe cafe on the square reopened today.\n")
    with open(raw + b"/bad\xff.md", "wb") as handle:
        handle.write(b"")
    result = load_articles([folder])
    titles = {a.title: a for a in result.articles}
    assert set(titles) == {"Plain", "Cafe reopens"}
    cafe = titles["Cafe reopens"]
    assert cafe.origin == cafe.origin_file == f"{folder}/caf\\xe9.md"
    (error,) = result.unusable  # an empty file in a folder is skipped, not a failure
    assert not result.errors
    assert (error.path, error.message) == (f"{folder}/bad\\xff.md", "empty file")
    texts = [cafe.origin, cafe.origin_file, cafe.id, str(error), *result.files,
             *result.complete_files]
    for text in texts:
        text.encode("utf-8")


HTML = """<html><head><title>Harbour reopens after storm</title>
<meta property="article:published_time" content="2023-03-04">
<script type="application/ld+json">{ld}</script></head>
<body><article><h1>Harbour reopens after storm</h1>
<p>The harbour reopened on Saturday after a week of repairs to the main pier and the wall.</p>
<p>Fishing boats returned to their moorings by noon, and the ferry resumed its timetable.</p>
</article></body></html>"""
ODD_ARTICLE = {"@type": "NewsArticle", "headline": ["Alpha", "Beta"], "author": 7,
               "datePublished": {}}


@pytest.mark.parametrize(("ld", "title", "author"), [
    ("42", "Harbour reopens after storm", ""),
    ("null", "Harbour reopens after storm", ""),
    ('{"@graph": 5}', "Harbour reopens after storm", ""),
    ('"just text"', "Harbour reopens after storm", ""),
    (json.dumps([1, "x", None, [2], ODD_ARTICLE]), "Alpha, Beta", "7"),
    (json.dumps({"@graph": [5, ODD_ARTICLE]}), "Alpha, Beta", "7"),
    (json.dumps({**ODD_ARTICLE, "datePublished": "not a date"}), "Alpha, Beta", "7"),
], ids=["number", "null", "graph-number", "string", "mixed-list", "graph-list",
        "date-text"])
def test_odd_json_ld_uses_what_is_usable(tmp_path: Path, ld: str, title: str,
                                         author: str) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML.format(ld=ld))
    result = read_file(path)
    assert result.errors == []
    (article,) = result.articles
    assert (article.title, article.author) == (title, author)
    assert article.date_iso == "2023-03-04T00:00:00+00:00"  # the page's own date
    assert "The harbour reopened on Saturday" in article.body


def test_named_pipe_is_skipped_without_opening_it(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "good.md", "Good story", story("pipes"))
    fifo = folder / "pipe.txt"
    os.mkfifo(fifo)
    found: list[LoadResult] = []
    worker = threading.Thread(target=lambda: found.append(load_articles([folder])),
                              daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # release the reader stuck in open() before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_articles hung on a named pipe")
    (result,) = found
    assert [a.title for a in result.articles] == ["Good story"]
    (error,) = result.errors
    assert error.path == str(fifo)
    assert error.message.startswith("not a regular file")


def test_unreadable_folder_is_reported_and_the_rest_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "news"
    write_article(folder, "a.md", "Story A", story("dams"))
    locked = folder / "locked"
    write_article(locked, "inside.md", "Inside", story("keys"))
    write_article(folder, "z.md", "Story Z", story("zoos"))
    if os.geteuid() == 0:  # root reads anything: make the folder listing fail instead
        real_scandir = os.scandir

        def scandir(path: str | os.PathLike[str] = ".") -> object:
            if os.fspath(path) == str(locked):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
    locked.chmod(0)
    try:
        result = load_articles([folder])
    finally:
        locked.chmod(0o755)
    assert [a.title for a in result.articles] == ["Story A", "Story Z"]
    (error,) = result.errors
    assert (error.path, error.message) == (str(locked), "cannot read folder: permission denied")
    assert result.unreadable_dirs == {str(locked)}


def test_symlinked_folders_are_followed_once(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "a.md", "Story A", story("rivers"))
    write_article(tmp_path / "elsewhere", "b.md", "Story B", story("lakes"))
    os.symlink(tmp_path / "elsewhere", folder / "linked")
    os.symlink(folder, folder / "loop")  # a link back up must not be walked forever
    result = load_articles([folder])
    assert result.errors == []
    assert [(a.title, a.origin) for a in result.articles] == [
        ("Story A", str(folder / "a.md")), ("Story B", str(folder / "linked" / "b.md"))]


@pytest.mark.parametrize(("name", "data"), [
    ("le16.md", codecs.BOM_UTF16_LE + "# Tide\n\nHigh tide at noon.\n".encode("utf-16-le")),
    ("be16.txt", codecs.BOM_UTF16_BE + "Tide\nHigh tide at noon.\n".encode("utf-16-be")),
    ("le32.md", codecs.BOM_UTF32_LE + "# Tide\n\nHigh tide at noon.\n".encode("utf-32-le")),
    ("feed.jsonl", codecs.BOM_UTF16_LE + (json.dumps({"title": "Tide", "body": "High tide at "
                                                      "noon."}) + "\n").encode("utf-16-le")),
], ids=["utf16-le-md", "utf16-be-txt", "utf32-le-md", "utf16-le-jsonl"])
def test_utf16_and_utf32_with_a_bom(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = read_file(path)
    assert result.errors == []
    (article,) = result.articles
    assert (article.title, article.body) == ("Tide", "High tide at noon.")


def test_odd_records_cost_only_their_own_line(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "feed.jsonl", [
        json.dumps(record("first")),
        '{"id": "digits", "body": "x", "n": ' + "9" * 5000 + "}",  # over int's digit limit
        "[" * 100_000 + "]" * 100_000,  # nested deeper than the recursion limit
        json.dumps(record("last")),
    ])
    result = read_file(path)
    assert [a.id for a in result.articles] == ["first", "last"]
    lines = errors_by_line(result)
    assert sorted(lines) == [2, 3]
    assert lines[2].startswith("unexpected ValueError: Exceeds the limit")
    assert lines[3].startswith("unexpected RecursionError: maximum recursion depth")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    (error,) = read_file(deep).errors
    assert error.path == str(deep) and error.message.startswith("unexpected RecursionError")


def test_unexpected_reader_failure_is_one_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Headline\nSome body text.\n")

    def failing(_path: Path, _text: str) -> None:
        raise OverflowError("number too big\nsecond line of detail")

    monkeypatch.setitem(corpus.loader.SINGLE_ARTICLE_READERS, ".txt", failing)
    result = read_file(path)
    assert [str(e) for e in result.errors] == [f"{path}: unexpected OverflowError: number too big"]
    assert not result.complete

    def interrupted(_path: Path, _text: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(corpus.loader.SINGLE_ARTICLE_READERS, ".txt", interrupted)
    with pytest.raises(KeyboardInterrupt):
        read_file(path)
