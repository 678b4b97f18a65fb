"""Every incremental case, on a real Chroma and a real SQLite manifest."""

import json
from pathlib import Path

import pytest
from conftest import story, write_article

from corpus import load_articles
from retrieval.errors import IndexModelMismatch
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex


def update(index: NewsIndex, *paths: Path):
    return index.update(load_articles(paths), list(paths))


def assert_consistent(index: NewsIndex) -> None:
    """Chroma and the manifest hold exactly the same chunk ids, FTS rows match chunks."""
    chroma_ids = list(index.vectors.iter_ids())
    assert len(chroma_ids) == len(set(chroma_ids))
    assert set(chroma_ids) == index.catalog.all_chunk_ids()
    fts = index.db.reader().execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
    assert fts == len(chroma_ids)
    assert index.catalog.pending() == []


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    for i, topic in enumerate(["floods", "elections", "rockets", "vaccines"]):
        write_article(folder, f"{topic}.md", f"Story about {topic}", story(topic, 4),
                      url=f"https://news.example/{i}")
    return folder


def test_first_run_adds_everything(news_index: NewsIndex, corpus_dir: Path) -> None:
    report = update(news_index, corpus_dir)
    assert (report.added, report.unchanged, report.removed, report.failed) == (4, 0, 0, 0)
    assert news_index.stats()["articles"] == 4
    assert_consistent(news_index)


def test_rerun_embeds_nothing(news_index: NewsIndex, corpus_dir: Path,
                              embedder: HashEmbedder) -> None:
    update(news_index, corpus_dir)
    calls = embedder.calls
    report = update(news_index, corpus_dir)
    assert embedder.calls == calls
    assert (report.added, report.updated, report.unchanged) == (0, 0, 4)
    assert_consistent(news_index)


def test_edit_reembeds_only_that_article(news_index: NewsIndex, corpus_dir: Path,
                                         embedder: HashEmbedder) -> None:
    update(news_index, corpus_dir)
    old_ids = set(news_index.catalog.chunk_ids(_id_of(news_index, "Story about floods")))
    write_article(corpus_dir, "floods.md", "Story about floods", story("river floods", 2),
                  url="https://news.example/0")
    calls = embedder.calls
    report = update(news_index, corpus_dir)
    assert (report.updated, report.unchanged, report.added) == (1, 3, 0)
    new_ids = set(news_index.catalog.chunk_ids(_id_of(news_index, "Story about floods")))
    assert embedder.calls - calls == len(new_ids)
    assert not old_ids & new_ids
    assert_consistent(news_index)


def test_removed_article_loses_its_chunks(news_index: NewsIndex, corpus_dir: Path) -> None:
    update(news_index, corpus_dir)
    gone = set(news_index.catalog.chunk_ids(_id_of(news_index, "Story about rockets")))
    (corpus_dir / "rockets.md").unlink()
    report = update(news_index, corpus_dir)
    assert report.removed == 1
    assert not gone & set(news_index.vectors.iter_ids())
    hits = news_index.db.reader().execute(
        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'rockets'").fetchone()[0]
    assert hits == 0
    assert_consistent(news_index)


def test_indexing_another_folder_keeps_the_first(news_index: NewsIndex, corpus_dir: Path,
                                                 tmp_path: Path) -> None:
    update(news_index, corpus_dir)
    other = tmp_path / "more"
    write_article(other, "tides.md", "Story about tides", story("tides"))
    report = update(news_index, other)
    assert (report.added, report.removed) == (1, 0)
    assert news_index.stats()["articles"] == 5


def test_exact_duplicates_are_indexed_once(news_index: NewsIndex, tmp_path: Path) -> None:
    folder = tmp_path / "dups"
    body = story("a syndicated wire story", 3)
    write_article(folder, "a.md", "Wire story", body, url="https://one.example/a")
    write_article(folder, "b.md", "Wire story (copy)", body.upper().replace("\n\n", "\n"),
                  url="https://two.example/b")
    report = update(news_index, folder)
    assert (report.added, report.duplicates) == (1, 1)
    stats = news_index.stats()
    assert stats["articles"] == 2 and stats["duplicates"] == 1
    assert stats["chunks"] == len(news_index.catalog.chunk_ids(
        news_index.db.reader().execute(
            "SELECT id FROM articles WHERE duplicate_of IS NULL").fetchone()[0]))
    # Removing the original brings the copy back as a story of its own.
    (folder / "a.md").unlink()
    report = update(news_index, folder)
    assert report.added == 1
    assert news_index.stats()["duplicates"] == 0
    assert_consistent(news_index)


def test_other_model_is_refused_with_a_hint(tmp_path: Path, corpus_dir: Path) -> None:
    first = NewsIndex(tmp_path / "idx", HashEmbedder(64))
    update(first, corpus_dir)
    first.close()
    second = NewsIndex(tmp_path / "idx", HashEmbedder(128))
    with pytest.raises(IndexModelMismatch, match="was built with embedding model") as refused:
        update(second, corpus_dir)
    assert refused.value.fix == "rebuild"  # each front end says how in its own words
    second.rebuild()
    assert update(second, corpus_dir).added == 4
    assert second.model == "hash:128"
    second.close()


def test_moved_file_is_not_reembedded(news_index: NewsIndex, corpus_dir: Path,
                                      embedder: HashEmbedder) -> None:
    update(news_index, corpus_dir)
    (corpus_dir / "sub").mkdir()
    (corpus_dir / "floods.md").rename(corpus_dir / "sub" / "floods.md")
    calls = embedder.calls
    report = update(news_index, corpus_dir)
    assert embedder.calls == calls
    assert (report.unchanged, report.removed) == (4, 0)


def _id_of(index: NewsIndex, title: str) -> str:
    return index.db.reader().execute(
        "SELECT id FROM articles WHERE title = ?", (title,)).fetchone()[0]


def _copies(folder: Path) -> tuple[Path, Path]:
    """a.jsonl holds article A, b.jsonl article B with the same text."""
    folder.mkdir(parents=True, exist_ok=True)
    body = "The river festival drew record crowds to the old quay. " + story("festival", 3)
    a, b = folder / "a.jsonl", folder / "b.jsonl"
    a.write_text(json.dumps({"id": "A", "title": "Festival record", "body": body}) + "\n")
    b.write_text(json.dumps({"id": "B", "title": "Festival record (copy)", "body": body}) + "\n")
    return a, b


def _findable(index: NewsIndex, article_id: str) -> bool:
    return bool(index.catalog.chunk_ids(article_id))


def test_a_copy_takes_over_when_its_original_file_goes(news_index: NewsIndex,
                                                       tmp_path: Path) -> None:
    a, b = _copies(tmp_path / "news")
    news_index.update(load_articles([a, b]), [a, b])
    assert news_index.stats()["articles"] == 2 and not _findable(news_index, "B")
    a.unlink()
    news_index.update(load_articles([a]), [a])  # only the gone file is named
    assert news_index.stats()["articles"] == 1 and _findable(news_index, "B")
    assert_consistent(news_index)


def test_a_copy_takes_over_when_its_original_changes(news_index: NewsIndex,
                                                     tmp_path: Path) -> None:
    a, b = _copies(tmp_path / "news")
    news_index.update(load_articles([a, b]), [a, b])
    a.write_text(json.dumps({"id": "A", "title": "Festival record",
                             "body": "An entirely new story about the tram line."}) + "\n")
    report = news_index.update(load_articles([a]), [a])
    assert report.updated == 1
    assert _findable(news_index, "A") and _findable(news_index, "B")
    assert news_index.stats()["duplicates"] == 0
    assert news_index.update(load_articles([a, b]), [a, b]).unchanged == 2
    assert_consistent(news_index)


def test_unmounting_a_folder_keeps_copies_stored_elsewhere(news_index: NewsIndex,
                                                           tmp_path: Path) -> None:
    mounted, other = tmp_path / "mounted", tmp_path / "other"
    for i in range(5):
        body = f"Story {i}: " + story(f"topic {i}", 2)
        write_article(mounted, f"m{i}.md", f"Original {i}", body, url=f"https://m/{i}")
        write_article(other, f"o{i}.md", f"Copy {i}", body, url=f"https://o/{i}")
    news_index.update(load_articles([mounted, other]), [mounted, other])
    assert news_index.stats()["duplicates"] == 5
    for path in mounted.iterdir():
        path.unlink()
    mounted.rmdir()
    report = news_index.update(load_articles([mounted]), [mounted])
    assert report.removed == 5
    stats = news_index.stats()
    assert (stats["articles"], stats["duplicates"]) == (5, 0)
    assert_consistent(news_index)


def test_a_folder_that_cannot_be_read_keeps_its_articles(
        news_index: NewsIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    folder = tmp_path / "news"
    write_article(folder, "a.md", "Story A", story("dams"))
    locked = folder / "locked"
    write_article(locked, "inside.md", "Inside story", story("keys"))
    update(news_index, folder)
    assert news_index.stats()["articles"] == 2
    real_scandir = os.scandir

    def scandir(path: str = ".") -> object:  # root reads anything: fail the listing instead
        if os.fspath(path) == str(locked):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = update(news_index, folder)
    assert report.removed == 0 and report.failed == 1
    assert news_index.stats()["articles"] == 2


def test_a_file_name_that_is_not_utf8_is_kept_across_runs(news_index: NewsIndex,
                                                         tmp_path: Path) -> None:
    import os

    folder = tmp_path / "news"
    folder.mkdir()
    name = os.path.join(os.fsencode(folder), b"caf\xe9.md")
    with open(name, "wb") as handle:
        handle.write(b"# Cafe reopens\n\nThe corner cafe reopened on Monday after repairs.\n")
    assert update(news_index, folder).added == 1
    report = update(news_index, folder)
    assert (report.unchanged, report.removed) == (1, 0)
    os.remove(name)
    assert update(news_index, folder).removed == 1


def test_a_run_stopped_halfway_loses_no_copy(news_index: NewsIndex, tmp_path: Path,
                                             embedder: HashEmbedder, monkeypatch) -> None:
    a, b = _copies(tmp_path / "news")
    news_index.update(load_articles([a, b]), [a, b])
    a.unlink()

    def broken(texts):
        raise KeyboardInterrupt  # Ctrl-C while the copy is being embedded

    monkeypatch.setattr(embedder, "embed_documents", broken)
    with pytest.raises(KeyboardInterrupt):
        news_index.update(load_articles([a]), [a])
    monkeypatch.undo()
    assert "B" in news_index.catalog.indexed_articles()  # still there, as it was
    news_index.update(load_articles([a]), [a])
    assert _findable(news_index, "B") and news_index.stats()["articles"] == 1
    assert_consistent(news_index)
