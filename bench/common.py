"""Helpers shared by the benchmarks: where the data is, the peer's documents, a table."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NEWSBOT_SHARED_DIR", REPO.parent / "shared")) / "data"


def read_records(path: Path, limit: int | None = None) -> list[dict]:
    records = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            records.append(json.loads(line))
            if limit and len(records) >= limit:
                break
    return records


def peer_documents(records: list[dict]):  # noqa: ANN201 - list[Document]
    """The LangChain quick-start: raw page text, split 1000/200."""
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = [Document(page_content=r["text"], metadata={"url": r["url"], "title": r["title"]})
            for r in records]
    return RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)


def print_table(header: list[str], rows: list[list[object]]) -> None:
    cells = [header, *[[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("-|-".join("-" * w for w in widths))
