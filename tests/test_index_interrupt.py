"""`newsbot index` as a person runs it, in a process of its own: Ctrl-C part way keeps what
was embedded up to about then, and the rerun embeds only the rest; a run longer than two
seconds shows its progress as plain lines when stderr is piped, a short one shows none."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from conftest import REPO, story, write_article

from bot.cli import cli

# The real command with the hash embedder slowed to about the bundled model's speed on a
# laptop (a few hundred chunks a second would finish before any Ctrl-C).
SLOW_NEWSBOT = r"""
import os, sys, time
from pathlib import Path
from retrieval.index.embedding import HashEmbedder
fast = HashEmbedder.embed_documents
def slow(self, texts):
    if os.environ.get("HOLD_AT"):  # say the first batch is being embedded, then hold it
        Path(os.environ["HOLD_AT"]).touch()
        time.sleep(600)
    time.sleep(0.02 * len(texts))
    return fast(self, texts)
HashEmbedder.embed_documents = slow
from bot.cli import main
sys.argv[0] = "newsbot"
main()
"""


def make_corpus(folder: Path, n: int) -> None:
    for i in range(n):
        write_article(folder, f"a{i:03d}.md", f"Report {i}", story(f"harbour works {i}", 2),
                      url=f"https://news.example/{i}")


def slow_newsbot(tmp_path: Path, *args: str, **env_vars: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(tmp_path / "index"),
           "NEWSBOT_EMBEDDING_MODEL": "hash", "PYTHONPATH": str(REPO), **env_vars}
    return subprocess.Popen([sys.executable, "-c", SLOW_NEWSBOT, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def articles_in(tmp_path: Path) -> int:
    proc = slow_newsbot(tmp_path, "stats", "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out)["articles"]


def test_ctrl_c_keeps_what_was_embedded_and_the_rerun_embeds_the_rest(tmp_path: Path) -> None:
    corpus = tmp_path / "news"
    make_corpus(corpus, 300)  # one chunk each: about 6 s of embedding
    run = slow_newsbot(tmp_path, "index", str(corpus))
    assert run.stderr is not None
    line = run.stderr.readline()  # the first progress line, about 2 s into embedding
    assert line.startswith("embedded "), line
    shown = int(line.split()[1].split("/")[0])
    run.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    assert "interrupted; what was embedded so far is kept, and `newsbot index` again " \
        "embeds the rest" in err and "Traceback" not in err
    kept = articles_in(tmp_path)
    assert shown <= kept < 300  # what was embedded up to then is kept, the rest is not
    rerun = slow_newsbot(tmp_path, "index", str(corpus), "--json")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert (summary["added"], summary["unchanged"]) == (300 - kept, kept)
    assert summary["chunks_embedded"] == 300 - kept  # nothing embedded twice


def test_a_long_piped_run_logs_progress_lines_and_a_short_one_none(tmp_path: Path) -> None:
    corpus = tmp_path / "news"
    make_corpus(corpus, 200)  # about 4 s of embedding
    run = slow_newsbot(tmp_path, "index", str(corpus))
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    lines = [line for line in err.splitlines() if line.startswith("embedded ")]
    assert lines, err  # plain lines, not a bar's control codes
    assert "/200 articles (" in lines[0] and "left" in lines[0]
    assert "\x1b[" not in err and "\r" not in err
    assert "added 200," in out
    short = tmp_path / "short"
    make_corpus(short, 3)
    quick = slow_newsbot(tmp_path, "index", str(short))
    _, err = quick.communicate(timeout=120)
    assert quick.returncode == 0, err
    assert "embedded " not in err and "%" not in err


def test_a_search_during_the_first_index_run_says_the_run_is_going(tmp_path: Path) -> None:
    corpus = tmp_path / "news"
    make_corpus(corpus, 20)
    hold = tmp_path / "embedding"
    run = slow_newsbot(tmp_path, "index", str(corpus), HOLD_AT=str(hold))
    try:
        deadline = time.monotonic() + 120
        while not hold.exists():  # the run is embedding its first batch
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.1)
        for command in (["search", "harbour works"], ["ask", "What about the harbour?"],
                        ["chat"]):
            said = CliRunner().invoke(cli, command, input="/quit\n")
            assert said.exit_code == 1, said.output
            assert "is empty" not in said.output
            assert ("holds nothing yet: an index run is under way and has committed no "
                    "article so far; ask again in a moment") in said.output
    finally:
        run.send_signal(signal.SIGINT)
        run.communicate(timeout=120)
    said = CliRunner().invoke(cli, ["search", "harbour works"])  # stopped: nothing going
    assert said.exit_code == 1
    assert "is empty; run `newsbot index` first" in said.output


def test_an_interrupted_rebuild_is_finished_by_a_plain_run(tmp_path: Path) -> None:
    demo = slow_newsbot(tmp_path, "index")  # the demo's index: the bundled sample
    assert demo.wait(timeout=120) == 0
    corpus = tmp_path / "news"
    make_corpus(corpus, 300)
    run = slow_newsbot(tmp_path, "index", "--rebuild", str(corpus))
    assert run.stderr is not None
    assert run.stderr.readline().startswith("embedded ")
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=120)
    assert run.returncode == 130
    kept = articles_in(tmp_path)
    assert 0 < kept < 300
    plain = slow_newsbot(tmp_path, "index", "--json")  # no folder: what it is built from
    out, err = plain.communicate(timeout=300)
    assert plain.returncode == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert (summary["added"], summary["chunks_embedded"]) == (300 - kept, 300 - kept)
    assert articles_in(tmp_path) == 300  # the user's folder alone, not the sample again
