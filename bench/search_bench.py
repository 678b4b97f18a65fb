"""Retrieval quality and speed: newsbot against the two LangChain peers, in one run.

    python -m bench.search_bench [--data news-dev-small] [--work DIR]

The peers are the LangChain quick-start stacks: RecursiveCharacterTextSplitter(1000, 200)
chunks, then HuggingFaceEmbeddings (same bundled model) + Chroma similarity_search(k=10)
("dense"), or BM25Retriever (k=10). Indexes are kept in --work and reused when present;
newsbot's index is built with `newsbot index` if missing. All three are scored with the
rule in ../shared/data/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import (
    DATA,
    REPO,
    open_peer_store,
    peer_documents,
    peer_embeddings,
    print_table,
    read_records,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from retrieval.evaluation import EvalReport, first_hit_rank, read_questions


def score_peer(name: str, search, questions, out: Path | None = None) -> list:
    """Scores a peer; `out` gets one line per question in `newsbot eval --out`'s format."""
    report = EvalReport()
    search("warm up")
    handle = open(out, "w", encoding="utf-8", buffering=1) if out else None  # noqa: SIM115
    for q in questions:
        started = time.perf_counter()
        docs = search(q.question)
        report.latencies.append(time.perf_counter() - started)
        if handle:
            handle.write(_line(q.id, [{"url": d.metadata["url"], "title": d.metadata["title"],
                                       "text": d.page_content} for d in docs]))
        report.questions += 1
        report.passage_lengths.extend(len(d.page_content) for d in docs)
        if q.answerable:
            report.answerable += 1
            report.ranks.append(first_hit_rank(
                [(d.metadata["url"], d.page_content) for d in docs[:10]], q))
        if report.questions % 100 == 0:  # a slow peer shows where it stands
            m = report.as_dict()
            print(f"{name}: {report.questions}/{len(questions)} questions, hits@5 "
                  f"{m['hits@5']:.3f}, MRR@10 {m['mrr@10']:.3f}", flush=True)
    if handle:
        handle.close()
    return row(name, report)


def row(name: str, report: EvalReport) -> list:
    m = report.as_dict()
    return [name, m["hits@1"], m["hits@5"], m["hits@10"], m["mrr@10"],
            round(statistics.median(report.latencies) * 1000, 1), m["mean_passage_chars"]]


def _line(question_id: str, passages: list[dict]) -> str:
    """One line of `newsbot eval --out`'s format."""
    return json.dumps({"id": question_id, "passages": passages}, ensure_ascii=False) + "\n"


def _out(folder: Path | None, system: str) -> Path | None:
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{system}.jsonl"


def _writer(folder: Path | None, system: str):
    """An `evaluate` callback writing newsbot's passages like `newsbot eval --out`."""
    path = _out(folder, system)
    if path is None:
        return None
    path.write_text("")

    def write(question, passages) -> None:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(_line(question.id, [
                {"url": p.url, "title": p.title, "text": p.text, "score": p.score}
                for p in passages]))

    return write


def newsbot_row(folder: Path, index_dir: Path, questions: list, out_dir: Path | None
                ) -> list[object]:
    """newsbot's scores on an index of the data's articles, built first when missing."""
    if not (index_dir / "manifest.sqlite").exists():
        print(f"building newsbot index in {index_dir} ...", flush=True)
        subprocess.run([sys.executable, "-m", "bot", "index", str(folder / "articles.jsonl.gz")],
                       env={**os.environ, "NEWSBOT_INDEX_DIR": str(index_dir)}, check=True)
    from retrieval.evaluation import evaluate
    from retrieval.index.news_index import NewsIndex
    from retrieval.search.searcher import Searcher
    from retrieval.settings import get_settings

    news_index = NewsIndex.open(get_settings(), index_dir=index_dir)
    return row("newsbot (hybrid + rerank)",
               evaluate(Searcher(news_index), questions, on_result=_writer(out_dir, "newsbot")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="news-dev-small")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--systems", default="newsbot,dense,bm25",
                        help="comma-separated subset of newsbot,dense,bm25")
    parser.add_argument("--answerable-only", action="store_true",
                        help="run only the scored questions (halves the slow BM25 peer's "
                        "run on news-dev; latency is then over those questions)")
    parser.add_argument("--out-dir", type=Path,
                        help="write each system's passages per question (SYSTEM.jsonl, in "
                        "`newsbot eval --out`'s format), e.g. for split_scores.py")
    parser.add_argument("--questions", type=Path,
                        help="ask these questions instead of the data's questions.jsonl "
                        "(e.g. the forward split's weeks)")
    parser.add_argument("--peer-batch-size", type=int, default=32,
                        help="the dense peer's embedding batch (speed only; same vectors)")
    args = parser.parse_args()
    folder = DATA / args.data
    questions = list(read_questions(args.questions or folder / "questions.jsonl"))
    if args.answerable_only:
        questions = [q for q in questions if q.answerable]
    work = args.work / args.data
    work.mkdir(parents=True, exist_ok=True)

    systems = set(args.systems.split(","))
    rows = []
    if "newsbot" in systems:
        rows.append(newsbot_row(folder, work / "newsbot-index", questions, args.out_dir))
    peers = systems - {"newsbot"}
    docs = peer_documents(read_records(folder / "articles.jsonl.gz")) if peers else []
    if "dense" in systems:
        # The batch size changes the peer's speed only, not its vectors.
        store = open_peer_store(docs, peer_embeddings(args.peer_batch_size),
                                work / "peer-chroma")
        rows.append(score_peer("langchain dense (MiniLM + Chroma)",
                               lambda q: store.similarity_search(q, k=10), questions,
                               _out(args.out_dir, "dense")))
    if "bm25" in systems:
        from langchain_community.retrievers import BM25Retriever

        bm25 = BM25Retriever.from_documents(docs, k=10)
        rows.append(score_peer("langchain BM25Retriever", bm25.invoke, questions,
                               _out(args.out_dir, "bm25")))

    answerable = sum(q.answerable for q in questions)
    print(f"{args.data}: {len(questions)} questions run, {answerable} answerable")
    print_table(["system", "hits@1", "hits@5", "hits@10", "MRR@10", "p50 ms", "passage chars"],
                rows)


if __name__ == "__main__":
    main()
