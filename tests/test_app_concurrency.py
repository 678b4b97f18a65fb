"""One process indexing and searching at once, as a bot that re-indexes while it answers:
several threads ask through the app while another thread runs index runs that add, edit
and delete articles. No search may fail."""

import threading
import time
from pathlib import Path

from conftest import story, write_article
from test_index_incremental import assert_consistent

from retrieval.app import NewsApp
from retrieval.index.embedding import HashEmbedder
from retrieval.settings import get_settings

TOPICS = ["harbour", "volcano", "election", "rocket", "vaccine", "drought", "tram", "bridge"]


def write_corpus(folder: Path, run: int) -> None:
    """Run n: articles 0..5+n, every third one edited in this run; a01..a0n deleted."""
    for i in range(6 + run):
        if 1 <= i < run:
            continue  # deleted by an earlier run
        topic = TOPICS[i % len(TOPICS)]
        body = story(f"{topic} {i}", 4)
        if i % 3 == run % 3:
            body += f"\n\nUpdate {run}: the {topic} council met again on day {run}."
        write_article(folder, f"a{i:02d}.md", f"{topic.title()} report {i}", body,
                      source=f"Wire {i % 3}", published_at=f"2024-05-{1 + i:02d}",
                      url=f"https://news.example/{i}")
    gone = folder / f"a{run:02d}.md"
    if run and gone.exists():
        gone.unlink()


def test_searches_never_fail_while_the_same_process_indexes(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_corpus(folder, 0)
    app = NewsApp.open(get_settings(decline_below=0.0), embedder=HashEmbedder(),
                       chat_model=None, create=True)
    app.index([folder])
    failures: list[BaseException] = []
    answered = {"search": 0, "answer": 0}
    done = threading.Event()

    def ask(n: int) -> None:
        while not done.is_set():
            try:
                topic = TOPICS[(n + answered["search"]) % len(TOPICS)]
                result = app.search(f"What did the {topic} council decide?", k=5)
                assert result.passages, "no passage found"
                answered["search"] += 1
                answer = app.answer(f"When did the {topic} council meet?")
                assert answer.sources or answer.declined
                answered["answer"] += 1
            except BaseException as exc:
                failures.append(exc)

    askers = [threading.Thread(target=ask, args=(n,)) for n in range(3)]
    for thread in askers:
        thread.start()
    reports = []
    try:
        for run in range(1, 7):
            # Each run starts once the askers have got further (however slow the machine),
            # so searches and answers keep overlapping the runs.
            deadline = time.monotonic() + 60
            while answered["answer"] < 2 * run and time.monotonic() < deadline:
                time.sleep(0.01)
            write_corpus(folder, run)
            reports.append(app.index([folder]))
            time.sleep(0.05)
    finally:
        done.set()
        for thread in askers:
            thread.join(timeout=60)
    assert failures == [], failures[:3]
    assert answered["search"] >= 10 and answered["answer"] >= 10, answered
    assert all(r.failed == 0 for r in reports)
    assert sum(r.removed for r in reports) >= 5 and sum(r.updated for r in reports) >= 6
    assert_consistent(app.index_store)
    titles = {a.title for a in app.latest(50)}
    assert len(titles) == app.stats()["articles"] == 12 - 6  # a00..a11 written, a01..a06 gone
    app.close()


def test_articles_from_elsewhere_are_indexed_and_nothing_is_removed(tmp_path: Path) -> None:
    from corpus import Article

    folder = tmp_path / "news"
    write_corpus(folder, 0)
    app = NewsApp.open(get_settings(), embedder=HashEmbedder(), chat_model=None, create=True)
    app.index([folder])
    before = app.stats()["articles"]
    report = app.index_articles([Article(id="feed-1", title="Glacier lake drains",
                                         body="A glacier lake drained overnight into the "
                                         "valley, officials said on Monday.",
                                         url="https://feed.example/1", source="Alpine Post")])
    assert (report.added, report.removed) == (1, 0)
    assert app.stats()["articles"] == before + 1
    assert app.search("glacier lake drained", k=1).passages[0].title == "Glacier lake drains"
    app.close()


def test_a_long_lived_app_keeps_no_connection_per_question(tmp_path: Path) -> None:
    """The answer chain runs on a new thread per question; the SQLite reader each such
    thread opened is closed once the thread has ended, not kept for the process's life."""
    folder = tmp_path / "news"
    write_corpus(folder, 0)
    app = NewsApp.open(get_settings(decline_below=0.0), embedder=HashEmbedder(),
                       chat_model=None, create=True)
    try:
        app.index([folder])
        for i in range(40):
            worker = threading.Thread(target=app.answer, args=(f"{TOPICS[i % 8]} report?",))
            worker.start()
            worker.join()
            app.answer(f"What did the {TOPICS[i % 8]} council do?")
        open_readers = app.index_store.db._readers  # type: ignore[attr-defined]
        assert len(open_readers) <= threading.active_count() + 1, len(open_readers)
    finally:
        app.close()
