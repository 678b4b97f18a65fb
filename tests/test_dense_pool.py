"""The dense-pool comparison (bench/dense_pool.py): which chunks make its pool."""

import gzip
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from dense_pool import pool


def test_pool_holds_the_weeks_asked_and_the_gold_articles(tmp_path: Path) -> None:
    records = [
        ("https://example.com/2023/06/20/strike", "2023-06-20",
         "A ferry strike closed the harbour."),
        ("https://example.com/2023/07/10/reopened", "2023-07-10",
         "The harbour reopened after the strike."),
        ("https://example.com/old-gold", "2021-03-01", "The ferry line was founded in 1901."),
    ]
    path = tmp_path / "articles.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for url, day, text in records:
            handle.write(json.dumps({"id": url, "url": url, "title": f"News of {day}",
                                     "text": text, "retrieved_at": day}) + "\n")
    urls, texts, embedded = pool(path, date(2023, 7, 1), date(9999, 12, 31),
                                 {"https://example.com/old-gold"})
    # Dated by their addresses (as many news-dev pages are); the old gold article by being gold.
    assert set(urls) == {"https://example.com/2023/07/10/reopened", "https://example.com/old-gold"}
    assert any("reopened" in t for t in texts)
    # Embedded as the index embeds a chunk: the headline first.
    assert all(e.startswith("News of") for e in embedded)
