"""The span reader's news stage (training/reader_news*.py): cloze questions, quiz examples
and the answer's tokens; the rerank orders; and the reader lead's candidates made from an
answer dump (training/reader_lead.py)."""

import gzip
import json
import random
from pathlib import Path

import pytest

from training.reader_news_data import WH, as_examples, cloze, make_cloze, quiz_examples


def test_cloze_turns_a_span_into_its_wh_word() -> None:
    sentence = "The council named Maria Okafor as the new harbour master on Tuesday."
    made = cloze(sentence, random.Random(1))
    assert made is not None
    question, answer, start = made
    assert sentence[start:start + len(answer)] == answer and answer not in question
    assert question.endswith("?")
    assert sentence.replace(answer, "").split()[0] in question  # the rest is kept
    assert cloze("nothing here is a name or a number at all.", random.Random(1)) is None


def test_quiz_examples_take_gold_passages_and_as_many_without_the_answer() -> None:
    row = {"question": "Who won the Marlow prize?", "answer": "Ada Brook", "answerable": True,
           "passages": [
               {"text": "The prize went to ada brook on Friday.", "hit": True},
               {"text": "Ada  Brook was also named elsewhere.", "hit": False},
               {"text": "Rain fell all week.", "hit": False},
               {"text": "Trams ran late.", "hit": False}]}
    examples = quiz_examples([row], random.Random(0))
    spans = [e for e in examples if e[2] is not None]
    assert len(spans) == 1 and len(examples) == 2  # the non-gold mention is left out
    text, (start, end) = spans[0][1], spans[0][2]
    assert text[start:end] == "ada brook"


def test_news_examples_become_windows_that_mark_the_answers_tokens() -> None:
    from training.reader_model import base_dir
    from training.windows import make_windows, tokenizer_for

    tokenizer = tokenizer_for(base_dir())
    context = "After a long count, the harbour master named Ada Brook the winner."
    start = context.index("Ada Brook")
    windows = make_windows(tokenizer, as_examples([("Who won?", context, (start, start + 9)),
                                                   ("Who won?", "Rain fell.", None)]))
    first = windows[0]
    assert tokenizer.decode(first.ids[first.start:first.end + 1].tolist()) == "ada brook"
    assert (windows[1].start, windows[1].end) == (0, 0)
    assert [w.example for w in windows] == [0, 1]


def test_make_cloze_counts_answered_examples_and_marks_their_spans(tmp_path: Path) -> None:
    body = " ".join(f"Sentence {i} says that the council of Harbor City met Maria Okafor "
                    f"on Tuesday to talk about {i + 2} new trams." for i in range(20))
    path = tmp_path / "articles.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for n, day in enumerate(["2023-05-01", "2023-06-01", "2023-06-02", "2023-08-01"]):
            handle.write(json.dumps({"text": f"{body} Article {n}.",
                                     "retrieved_at": day}) + "\n")
    made = make_cloze(path, 3, seed=1, split="2023-07-01")
    answered = [e for e in made if e[2] is not None]
    assert 3 <= len(answered) <= 4  # two an article at most: it stops at the one passing 3
    for question, context, (start, end) in answered:
        answer = context[start:end]
        # The question is a sentence of the context with the span turned into its wh-word.
        assert answer and question.endswith("?")
        assert any(question[:-1].replace(wh, answer, 1) + "." in context for wh in WH.values())
    assert all("Article 3." not in e[1] for e in made)  # a forward article is never used


def test_rerank_orders_keep_or_replace_the_searchs_passages_by_the_readers_margin() -> None:
    from training.reader_news_fit import RERANKS

    margins = [-5.0, 1.0, -2.0, 4.0, -9.0, 7.0, 0.5]

    def first(name: str, top: int = 5) -> list[int]:
        key = RERANKS[name]
        return sorted(range(len(margins)), key=lambda i: key(i, margins[i]))[:top]

    assert first("search") == [0, 1, 2, 3, 4]
    assert first("reader") == [5, 3, 1, 6, 2]
    assert first("search 3, then reader") == [0, 1, 2, 5, 3]


def test_lead_candidates_are_made_from_an_answer_dump_without_searching(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="the train extra fits these (pip install '.[train]')")
    from training.reader_lead import from_dumps

    prize = ("The Marlow Book Prize was awarded on Friday to Ada Okafor for her novel about a "
             "lighthouse keeper. The judges praised its quiet humour.")
    trams = "Harbor City opened its first tram line in March, after four years of building."
    start = prize.index("Ada Okafor")
    line = {"id": "q1", "week": "2023-05-07", "question": "Who won the Marlow Book Prize?",
            "answer": "Ada Okafor", "answerable": True, "kind": "person",
            "relevances": [8.0, 2.0], "passages": [prize, trams],
            "published": ["2023-05-05", None], "date": "2023-05-06",
            "idf": {"marlow": 5.0, "book": 2.0, "prize": 3.0, "won": 1.0}, "names": [],
            "passage_gold": [True, False], "ages": [1, None], "sentences": [],
            "spans": [{"passage": 0, "start": start, "end": start + 10, "text": "Ada Okafor",
                       "margin": 4.0},
                      {"passage": 1, "start": 0, "end": 11, "text": "Harbor City",
                       "margin": -6.0}]}
    dump = tmp_path / "fit.jsonl.gz"
    with gzip.open(dump, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
        handle.write(json.dumps({**line, "id": "q0", "date": "2023-03-01"}) + "\n")
    out = tmp_path / "spans.jsonl.gz"
    from_dumps([dump], out, since="2023-04-01")
    with gzip.open(out, "rt", encoding="utf-8") as handle:
        rows = [json.loads(row) for row in handle]
    assert [r["id"] for r in rows] == ["q1"]  # the question before --since is left out
    verdicts = {c["text"]: c["verdict"] for c in rows[0]["candidates"]}
    assert verdicts["Ada Okafor"] == "equal"
    assert "margin" in rows[0]["candidates"][0]["values"]

    without = tmp_path / "plain.jsonl.gz"
    with gzip.open(without, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({k: v for k, v in line.items() if k != "spans"}) + "\n")
    with pytest.raises(SystemExit, match="without --reader"):
        from_dumps([without], tmp_path / "none.jsonl.gz", since="2023-04-01")


def test_the_shipped_lead_is_refit_on_every_week_from_fit_from(tmp_path: Path,
                                                                monkeypatch) -> None:
    pytest.importorskip("sklearn", reason="the train extra fits these (pip install '.[train]')")
    from training import reader_lead

    weights = tmp_path / "answer_weights.json"
    weights.write_text(json.dumps({"kept": 1}), encoding="utf-8")
    monkeypatch.setattr(reader_lead, "WEIGHTS", weights)
    rng = random.Random(3)

    def row(day: str, sure: float) -> dict:
        candidates = []
        for right in (True, False):
            values = {name: rng.random() for name in reader_lead.READER_FEATURES}
            values["margin"] = sure if right else -sure
            candidates.append({"values": values, "verdict": "equal" if right else "wrong"})
        return {"date": day, "answerable": True, "candidates": candidates,
                "shipped_lead": None, "answer": "x"}

    # The margin tells right from wrong only on the forward weeks: a refit on them alone
    # can weigh it more than the fit on the weeks before.
    rows = ([row(f"2023-05-{d:02d}", 0.1 * (-1) ** d) for d in range(1, 29)]
            + [row(f"2023-08-{d:02d}", 3.0) for d in range(1, 29)])
    spans = tmp_path / "spans.jsonl.gz"
    with gzip.open(spans, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    reader_lead.fit(spans, "2023-04-01", 0.13, write=False)
    assert json.loads(weights.read_text(encoding="utf-8")) == {"kept": 1}
    early = reader_lead.fitted(rows[:28], 0.13)
    reader_lead.fit(spans, "2023-04-01", 0.13, write=False, write_fit_weeks=True)
    assert json.loads(weights.read_text(encoding="utf-8"))["reader_lead"] == early.to_dict()
    reader_lead.fit(spans, "2023-04-01", 0.13, write=True)
    written = json.loads(weights.read_text(encoding="utf-8"))
    assert written["kept"] == 1
    margin = reader_lead.READER_FEATURES.index("margin")
    everything = reader_lead.fitted(rows, 0.13)
    assert written["reader_lead"] == everything.to_dict()
    assert everything.weights[margin] > early.weights[margin]


@pytest.mark.slow
def test_spans_are_added_to_a_dump_as_the_reader_reads_its_first_passages(tmp_path: Path
                                                                          ) -> None:
    from retrieval.answer.reader import READER_FILE, READER_READS, SpanReader
    from training.answer_rows import load
    from training.answer_spans import add_spans

    if not READER_FILE.exists():
        pytest.skip("the shipped reader is not built")
    awarded = ("The Marlow Book Prize was awarded to Ada Okafor for her novel about a "
               "lighthouse keeper. The judges praised its quiet humour.")
    trams = [f"Harbor City opened tram line {n} in March, after four years of building."
             for n in range(5)]
    line = {"id": "q1", "week": "2023-05-07", "question": "Who won the Marlow Book Prize?",
            "answer": "Ada Okafor", "answerable": True, "kind": "person",
            "relevances": [8.0] * 6, "passages": [awarded, *trams],
            "published": [None] * 6, "date": "2023-05-06", "idf": {}, "names": [],
            "passage_gold": [True] + [False] * 5, "ages": [], "sentences": []}
    source, out = tmp_path / "plain.jsonl.gz", tmp_path / "read.jsonl.gz"
    with gzip.open(source, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    assert add_spans(source, out, SpanReader(cache_dir=tmp_path)) == 1
    (asked,) = load(out)
    assert asked.spans is not None
    # the ones the answer reads
    assert [s.passage for s in asked.spans] == list(range(READER_READS))
    assert "Ada Okafor" in asked.spans[0].text
    holding = [s for s in asked.sentences if "Ada Okafor" in s.text]
    assert holding and holding[0].values["reader_span"] > 0.0
    # The answer fit keeps the spans for the refusal but fits the sentences without them.
    (fitted,) = load(out, span_feature=False)
    assert fitted.spans == asked.spans
    assert {s.values["reader_span"] for s in fitted.sentences} == {0.0}


def test_a_stopped_answer_dump_resumes_after_its_whole_lines(tmp_path: Path) -> None:
    from training.answer_data import resume

    out = tmp_path / "fit.jsonl.gz"
    assert resume(out) == set()
    raw = out.open("wb")
    handle = gzip.GzipFile(fileobj=raw, mode="wb")
    for n in (1, 2):
        handle.write((json.dumps({"id": f"q{n}", "passages": ["x" * 500]}) + "\n").encode())
        handle.flush()
    handle.write(b'{"id": "q3", "passages": ["cut off')
    handle.flush()
    raw.close()  # stopped: no end of the gzip stream, the last line unfinished
    assert resume(out) == {"q1", "q2"}
    with gzip.open(out, "rt", encoding="utf-8") as again:
        assert [json.loads(line)["id"] for line in again] == ["q1", "q2"]
    with gzip.open(out, "at", encoding="utf-8") as more:
        more.write(json.dumps({"id": "q3"}) + "\n")
    assert resume(out) == {"q1", "q2", "q3"}
