"""Questions read together (retrieval/answer/reader_batch.py): callers waiting at once
share a run and each gets its own result or the run's failure; and the reader's scores of
a question's passages are the same alone and in a run with another question's."""

import threading
from pathlib import Path

import numpy as np
import pytest

from retrieval.answer.reader import READER_FILE, SpanReader, best_span, run_sorted
from retrieval.answer.reader_batch import Coalescer


class HeldRuns:
    """A run function whose first run waits until `release` is set, so that the callers
    started meanwhile queue behind it; it records each run's items and thread."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.runs: list[list[int]] = []
        self.threads: list[str] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, items: list[int]) -> list[int]:
        self.runs.append(list(items))
        self.threads.append(threading.current_thread().name)
        self.started.set()
        assert self.release.wait(10)
        if self.fail_on in items:
            raise ValueError(f"item {self.fail_on} cannot be read")
        return [i * 10 for i in items]


def _ask_all(batches: Coalescer, items: list[int]) -> dict[int, object]:
    got: dict[int, object] = {}

    def ask(i: int) -> None:
        try:
            got[i] = batches(i)
        except ValueError as exc:
            got[i] = exc

    threads = [threading.Thread(target=ask, args=(i,), name=f"asker-{i}") for i in items]
    threads[0].start()
    run = batches._run
    assert run.started.wait(10)  # the first caller's run is under way
    for t in threads[1:]:
        t.start()
    while len(batches._queue) < len(items) - 1:  # every other caller waits in the queue
        threading.Event().wait(0.01)
    run.release.set()
    for t in threads:
        t.join(10)
    return got


def test_a_lone_caller_runs_at_once_in_its_own_thread() -> None:
    run = HeldRuns()
    run.release.set()
    assert Coalescer(run, most=4)(7) == 70
    assert run.runs == [[7]] and run.threads == [threading.current_thread().name]


def test_callers_waiting_together_share_runs_and_get_their_own_results() -> None:
    run = HeldRuns()
    got = _ask_all(Coalescer(run, most=4), list(range(10)))
    assert got == {i: i * 10 for i in range(10)}
    assert run.runs[0] == [0]                       # the first ran alone, at once
    assert sorted(i for r in run.runs for i in r) == list(range(10))  # each item once
    assert max(len(r) for r in run.runs) == 4       # the rest together, at most 4 a run
    assert len(run.runs) == 1 + 3                   # 9 waiting: runs of 4, 4 and 1


def test_a_failed_run_reaches_every_caller_in_it_and_no_other() -> None:
    run = HeldRuns(fail_on=3)
    batches = Coalescer(run, most=4)
    got = _ask_all(batches, list(range(6)))
    failed = next(r for r in run.runs if 3 in r)
    for i in range(6):
        if i in failed:
            assert isinstance(got[i], ValueError) and "item 3" in str(got[i])
        else:
            assert got[i] == i * 10
    assert len(failed) > 1  # the failure was shared, not only the culprit's
    assert batches(8) == 80  # and the next caller is read as before


def test_a_run_must_give_one_result_per_item() -> None:
    short = Coalescer(lambda items: items[:-1], most=2)
    with pytest.raises(RuntimeError, match="a batch of 1 gave 0 results"):
        short(1)


@pytest.mark.slow
@pytest.mark.skipif(not READER_FILE.exists(), reason="the shipped reader is not built")
def test_a_questions_scores_are_the_same_alone_and_read_with_another(tmp_path: Path) -> None:
    reader = SpanReader(cache_dir=tmp_path)
    prize = ["The Marlow Book Prize went to Ada Okafor on Friday. " * k for k in (1, 3, 6)]
    trams = ["Harbor City opened its first tram line in March, after four years. " * k
             for k in (2, 9, 14)]  # longer: a run with them pads the prize passages more
    mine = reader.tokenizer.encode_batch([("Who won the Marlow Book Prize?", p)
                                          for p in prize])
    other = reader.tokenizer.encode_batch([("When did the trams open?", p) for p in trams])
    run = reader.session
    alone = run_sorted(run, mine, per_run=len(mine))  # one run, padded to its longest
    together = run_sorted(run, other + mine, per_run=6)[len(other):]  # padded to the other's
    single = run_sorted(run, mine, per_run=1)  # no padding at all
    assert len(together[0]) > len(alone[0]) > len(single[0])
    for passage, e in enumerate(mine):
        n = sum(e.attention_mask)
        assert np.abs(together[passage][:n] - alone[passage][:n]).max() < 1e-4
        assert np.abs(single[passage][:n] - alone[passage][:n]).max() < 1e-4
    # The spans a caller gets are those of either run.
    spans = reader.read("Who won the Marlow Book Prize?", prize)
    assert len(spans) == len(prize)
    batched = [best_span(i, e, prize[i], together[i]) for i, e in enumerate(mine)]
    assert [s.text for s in batched] == [s.text for s in spans]
    assert [s.margin for s in batched] == pytest.approx([s.margin for s in spans], abs=1e-4)
    # Readers asking at once (answer threads) each get their own question's spans.
    asks = [("Who won the Marlow Book Prize?", prize), ("When did the trams open?", trams)] * 3
    got: dict[int, list] = {}
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, reader.read(*asks[i])))
               for i in range(len(asks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, (question, passages) in enumerate(asks):
        expected = reader.read(question, passages)
        assert [s.text for s in got[i]] == [s.text for s in expected]
        assert [s.margin for s in got[i]] == pytest.approx([s.margin for s in expected],
                                                           abs=1e-4)
