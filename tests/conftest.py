"""Shared fixtures: a temporary index on a real Chroma and real SQLite, the hash embedder
for speed, and the shared benchmark data when it is present."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex
from standins.servers import chroma_port, postgres_url  # noqa: F401 (session fixtures: one of each)

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSBOT_SHARED_DIR", REPO.parent / "shared"))
SEED = SHARED / "seeds" / "000_1f292c6acc519c41.txt"
DEV_SMALL = SHARED / "data" / "news-dev-small"

needs_seed = pytest.mark.skipif(not SEED.exists(), reason="../shared/seeds is absent")
needs_dev_small = pytest.mark.skipif(
    not (DEV_SMALL / "articles.jsonl.gz").exists(), reason="../shared/data is absent"
)


@pytest.fixture(scope="session", autouse=True)
def _derived_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One cache of ONNX exports for the whole run, made once and never in the user's:
    set before any fixture of a module (a bot's index) reads the settings."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEWSBOT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's .env or index."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("NEWSBOT_EMBEDDING_MODEL", "hash")
    monkeypatch.setenv("NEWSBOT_FEEDS_DB", str(tmp_path / "feeds.sqlite"))
    monkeypatch.setenv("NEWSBOT_DISCORD_FEEDBACK_DB", str(tmp_path / "feedback.sqlite"))
    monkeypatch.setenv("NEWSBOT_CHAT_HISTORY_FILE", str(tmp_path / "chat_history.txt"))
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def news_index(tmp_path: Path, embedder: HashEmbedder) -> Iterator[NewsIndex]:
    index = NewsIndex(tmp_path / "index", embedder)
    yield index
    index.close()


def write_article(folder: Path, name: str, title: str, body: str, **meta: str) -> Path:
    """A markdown article with front matter."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["---", f"title: {json.dumps(title)}"]
    lines += [f"{k}: {json.dumps(v)}" for k, v in meta.items()]
    lines += ["---", "", body]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def story(topic: str, n: int = 3) -> str:
    """A few distinct sentences about `topic`."""
    return "\n\n".join(
        f"Paragraph {i} of the report on {topic} says officials met on day {i} to review it."
        for i in range(1, n + 1)
    )


def index_rows(news_index: NewsIndex, folder: Path,
               rows: list[tuple[str, str, str, str, str]]) -> None:
    """Index (file name, title, body, outlet, date) rows written as markdown articles."""
    from corpus import load_articles

    for name, title, body, source, day in rows:
        write_article(folder, name, title, body, source=source, published_at=day,
                      url=f"https://news.example/{name}")
    news_index.update(load_articles([folder]), [folder])


# A news story the follow tests (terminal and Discord) follow as it arrives.
FERRY = ("Ferry crews on the northern river walked off the job at dawn on Thursday, and "
         "the ferry strike left commuters queueing for buses on both banks. The crews' "
         "union said the ferry operator had refused to talk about night shifts for a "
         "year, while the operator said a new offer was on the table. The river ferries "
         "carry eleven thousand people a day; the city opened a second bus lane across "
         "the old bridge and asked employers to let staff start later while the ferry "
         "strike lasts, which the union expects to be at least a week.")
