"""The span reader (retrieval/answer/reader.py) and the lead chosen from its spans
(reader_lead.py): the plain-torch reader computes what transformers computes from the
same weights; the shipped reader finds a hand-written answer; the lead's features."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from retrieval.answer.answer_types import PERSON, Span
from retrieval.answer.features import Question, Sentence, read_question
from retrieval.answer.reader import READER_FILE, READER_READS, ReadSpan, SpanReader, TorchReader
from retrieval.answer.reader_lead import (
    READER_FEATURES,
    ReaderLeadModel,
    choose_reader_lead,
    reader_candidates,
)
from retrieval.models.files import resolve_model_path
from retrieval.search.question import parse_question
from retrieval.settings import BUNDLED_MODEL

PRIZE = ("The Marlow Book Prize was awarded on Friday to Ada Okafor for her novel about a "
         "lighthouse keeper. The judges praised its quiet humour.")
TRAMS = "Harbor City opened its first tram line in March, after four years of building."


@pytest.mark.slow
def test_plain_reader_matches_transformers_on_the_same_weights(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from training.reader_news_fit import pack

    base = resolve_model_path(BUNDLED_MODEL)
    torch.manual_seed(3)
    model = AutoModelForQuestionAnswering.from_pretrained(base).eval()
    model.save_pretrained(tmp_path / "qa")
    pack(tmp_path / "qa", tmp_path / "reader.int8.safetensors")
    reader = TorchReader(tmp_path / "reader.int8.safetensors")
    question = "Who won the Marlow Book Prize?"
    tokenizer = AutoTokenizer.from_pretrained(base)
    feeds = tokenizer([question] * 2, [PRIZE, TRAMS], truncation="only_second",
                      max_length=256, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**feeds)
    encoded = reader.tokenizer.encode_batch([(question, PRIZE), (question, TRAMS)])
    ids = torch.tensor([e.ids for e in encoded])
    assert torch.equal(ids, feeds["input_ids"])
    got = reader._logits(ids, torch.tensor([e.type_ids for e in encoded]),
                         torch.tensor([e.attention_mask for e in encoded], dtype=torch.bool))
    mask = feeds["attention_mask"].bool()
    # int8 weights (a scale per row) keep the scores within a few hundredths
    assert (got[..., 0] - expected.start_logits)[mask].abs().max() < 0.1
    assert (got[..., 1] - expected.end_logits)[mask].abs().max() < 0.1
    # The ONNX file answers run (exported once, int8) scores as torch does.
    onnx = SpanReader(tmp_path / "reader.int8.safetensors", cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("reader-*.int8.onnx"))) == 1
    exported = onnx.session.run(None, {"input_ids": ids.numpy(),
                                       "token_type_ids": feeds["token_type_ids"].numpy(),
                                       "attention_mask": feeds["attention_mask"].numpy()})[0]
    assert np.abs(exported - got.numpy())[mask.numpy()].max() < 0.3
    spans = onnx.read(question, [PRIZE, TRAMS])
    assert [s.passage for s in spans] == [0, 1]
    # A second reader takes the cached file; a damaged one is made again.
    cached = next((tmp_path / "cache").glob("reader-*.int8.onnx"))
    made = cached.stat().st_mtime_ns
    SpanReader(tmp_path / "reader.int8.safetensors", cache_dir=tmp_path / "cache")
    assert cached.stat().st_mtime_ns == made
    cached.write_bytes(b"not a model")
    again = SpanReader(tmp_path / "reader.int8.safetensors", cache_dir=tmp_path / "cache")
    assert [s.passage for s in again.read(question, [PRIZE, TRAMS])] == [0, 1]
    # Only the first passages are read: the answer's sentences come from more.
    assert [s.passage for s in again.read(question, [TRAMS] * 4 + [PRIZE])] == \
        list(range(READER_READS))
    # A question longer than the reader's window is cut, not refused.
    assert len(again.read("Who won the prize " * 200 + "?", [PRIZE])) == 1


@pytest.mark.slow
@pytest.mark.skipif(not READER_FILE.exists(), reason="the shipped reader is not built")
def test_shipped_reader_marks_the_answer_and_is_surer_where_it_is(tmp_path: Path) -> None:
    reader = SpanReader(cache_dir=tmp_path)
    # Not PRIZE: in "awarded on Friday to Ada Okafor" the shipped reader marks "Friday",
    # at full precision too (its old int8 file found the name only when run beside TRAMS,
    # the batch's scale deciding).
    awarded = PRIZE.replace("on Friday to", "to")
    spans = reader.read("Who won the Marlow Book Prize?", [TRAMS, awarded])
    by_passage = {s.passage: s for s in spans}
    assert "Ada Okafor" in by_passage[1].text and len(by_passage[1].text.split()) <= 4
    assert by_passage[1].margin > by_passage[0].margin


def _question() -> Question:
    question = read_question(parse_question("Who won the Marlow Book Prize?",
                                            date(2026, 6, 9)).with_idf({}))
    assert question.kind == PERSON
    return question


def _sentence(passage: int, text: str, spans: list[Span], score: float) -> Sentence:
    return Sentence(passage, 0, text, spans, score=score)


def test_reader_candidates_weigh_agreement_kind_and_echo() -> None:
    question = _question()
    first = _sentence(0, PRIZE.split(". ")[0] + ".",
                      [Span("Ada Okafor", PERSON, 47, 57)], 0.8)
    second = _sentence(1, "Ada Okafor thanked the Marlow judges.", [], 0.4)
    spans = [ReadSpan(0, 47, 57, "Ada Okafor", 4.0), ReadSpan(1, 0, 10, "Ada Okafor", 2.0),
             ReadSpan(2, 0, 6, "Marlow", 1.0)]  # passage 2 has no ranked sentence
    found = reader_candidates(question, [first, second], spans, {"Ada Okafor": 0.6})
    assert [c.text for c in found] == ["Ada Okafor", "Ada Okafor"]
    lead = found[0].values
    assert lead["agree"] == pytest.approx(0.5)  # one of the two other passages
    assert lead["typed"] == 1.0 and found[1].values["typed"] == 0.0
    assert lead["ahead"] == pytest.approx(3.0) and lead["lead"] == 0.6
    assert lead["best"] == 1.0 and found[0].carrier is first
    echo = reader_candidates(question, [second], [ReadSpan(1, 23, 29, "Marlow", 3.0)], {})
    assert echo[0].values["echo"] == 1.0


def test_the_reader_lead_is_given_only_above_its_threshold() -> None:
    question = _question()
    sentence = _sentence(0, "The prize went to Ada Okafor.", [Span("Ada Okafor", PERSON, 18, 28)],
                         0.7)
    spans = [ReadSpan(0, 18, 28, "Ada Okafor", 3.0)]
    weights = np.zeros(len(READER_FEATURES))
    weights[READER_FEATURES.index("margin")] = 1.0
    ones, zeros = np.ones(len(READER_FEATURES)), np.zeros(len(READER_FEATURES))
    sure = ReaderLeadModel(weights, 0.0, zeros, ones, threshold=0.9)  # chance of 3.0: 0.95
    assert choose_reader_lead(question, [sentence], spans, {}, sure).text == "Ada Okafor"
    unsure = ReaderLeadModel(weights, 0.0, zeros, ones, threshold=0.99)
    assert choose_reader_lead(question, [sentence], spans, {}, unsure) is None
    round_trip = ReaderLeadModel.from_dict(sure.to_dict())
    assert round_trip.threshold == 0.9 and np.allclose(round_trip.weights, weights)


def test_lowest_threshold_keeps_wrong_leads_under_the_share() -> None:
    from training.reader_lead import lowest_threshold

    best = [(0.9, "equal"), (0.8, "equal"), (0.7, "wrong"), (0.6, "equal"), (0.5, "wrong"),
            (0.4, "wrong"), (0.3, ""), (0.2, "overlap")]
    assert lowest_threshold(best, 0.34, least=1) == 0.6   # 1 wrong of 4
    assert lowest_threshold(best, 0.0, least=1) == 0.8
    assert lowest_threshold(best, 0.0, least=3) == 1.0    # none given


def test_the_answer_leads_with_the_readers_span_and_quotes_its_sentence_first() -> None:
    from retrieval.answer.extractive import answer_from, shipped_model

    question = _question()
    other = _sentence(0, "Judges of the Marlow Book Prize met for a week in May.", [], 0.9)
    naming = _sentence(1, "The prize went to Ada Okafor.", [Span("Ada Okafor", PERSON, 18, 28)],
                       0.5)
    weights = np.zeros(len(READER_FEATURES))
    weights[READER_FEATURES.index("margin")] = 1.0
    anyone = ReaderLeadModel(weights, 0.0, np.zeros(len(READER_FEATURES)),
                             np.ones(len(READER_FEATURES)), threshold=0.5)
    spans = [ReadSpan(0, 0, 6, "Judges", -3.0), ReadSpan(1, 18, 28, "Ada Okafor", 2.0)]
    chosen, lead, _ = answer_from(question, [other, naming], shipped_model(), 3,
                                  spans=spans, reader_model=anyone)
    assert lead == "Ada Okafor" and chosen[0] is naming
    # Without spans the sentence lead decides, and the likeliest sentence comes first.
    chosen, lead, _ = answer_from(question, [other, naming], shipped_model(), 3)
    assert chosen[0] is other


def test_a_reader_that_cannot_load_leaves_the_answer_to_the_sentences(tmp_path: Path,
                                                                       caplog) -> None:
    from retrieval.answer.extractive import extract
    from retrieval.answer.reader import LazyReader
    from retrieval.types import Passage

    missing = LazyReader(tmp_path / "none.safetensors", cache_dir=tmp_path)
    assert missing("Who won?", [PRIZE]) is None and missing("Who won?", [PRIZE]) is None
    assert [r.message for r in caplog.records].count(
        "answering without the reader: " + str(tmp_path / "none.safetensors")
        + ": the answer reader's weights are missing; reinstall newsbot, or set "
        "NEWSBOT_ANSWER_READER=false") == 1  # said once, not on every question
    prize = Passage(chunk_id="c0", article_id="a0", text=PRIZE, title="t", url="",
                    source="Test Desk", published_at=None, score=8.0, relevance=8.0)
    found = extract(_question(), [prize], None, read=missing)
    assert found.sentences and "Ada Okafor" in found.sentences[0].text


def test_the_reader_is_loaded_only_when_the_setting_asks(tmp_path: Path) -> None:
    from retrieval.answer.chain import Answerer
    from retrieval.answer.reader import LazyReader
    from retrieval.settings import get_settings

    class NoSearch:
        def sentence_embedder(self) -> None:
            return None

    on = Answerer(NoSearch(), None, get_settings(cache_dir=tmp_path))  # type: ignore[arg-type]
    off = Answerer(NoSearch(), None,  # type: ignore[arg-type]
                   get_settings(cache_dir=tmp_path).replace(answer_reader=False))
    assert isinstance(on.read, LazyReader) and on.read.cache_dir == tmp_path / "onnx"
    assert on.read._reader is None  # nothing loaded before a question needs it
    assert off.read is None


def test_without_a_fitted_reader_lead_the_reader_is_not_loaded(monkeypatch) -> None:
    from retrieval.answer import chain, reader_lead
    from retrieval.settings import get_settings

    class NoSearch:
        def sentence_embedder(self) -> None:
            return None

    monkeypatch.setattr(reader_lead, "shipped_reader_lead", lambda: None)
    assert chain.Answerer(NoSearch(), None, get_settings()).read is None  # type: ignore[arg-type]



def test_reader_signals_say_how_sure_the_reader_is_and_where() -> None:
    from retrieval.answer.reader_refusal import MARGIN_RANGE, reader_signals

    first = _sentence(0, PRIZE.split(". ")[0] + ".", [], 0.8)
    spans = [ReadSpan(0, 47, 57, "Ada Okafor", 4.0), ReadSpan(1, 0, 10, "Ada Okafor", 2.0),
             ReadSpan(2, 0, 6, "Marlow", 1.0)]
    assert reader_signals([first], spans) == {
        "reader_margin": 4.0, "reader_agree": 0.5, "reader_top3": 1.0}
    # Its best span in no likely sentence; an extreme margin is held to the range.
    elsewhere = [ReadSpan(1, 0, 10, "Ada Okafor", 30.0)]
    assert reader_signals([first], elsewhere) == {
        "reader_margin": MARGIN_RANGE[1], "reader_agree": 0.0, "reader_top3": 0.0}
    assert reader_signals([first], [])["reader_margin"] == MARGIN_RANGE[0]


def test_a_refusal_weighs_its_own_signals_and_stores_them_by_name() -> None:
    from retrieval.answer.reader_refusal import READER_SIGNALS, ReaderRefusalModel
    from retrieval.answer.refusal import SIGNALS, RefusalModel

    values = dict.fromkeys(READER_SIGNALS, 0.0) | {"similarity": 0.8, "reader_margin": 4.0}
    weights = np.zeros(len(READER_SIGNALS))
    weights[READER_SIGNALS.index("reader_margin")] = 1.0
    ones, zeros = np.ones(len(READER_SIGNALS)), np.zeros(len(READER_SIGNALS))
    reader = ReaderRefusalModel(weights, 0.0, zeros, ones, 0.5)
    assert reader.confidence(values) == pytest.approx(1 / (1 + np.exp(-4.0)))
    # The plain refusal weighs its own signals only: the similarity, not the margin.
    plain = RefusalModel(np.ones(len(SIGNALS)), 0.0, np.zeros(len(SIGNALS)),
                         np.ones(len(SIGNALS)), 0.5)
    assert plain.confidence(values) == pytest.approx(1 / (1 + np.exp(-0.8)))
    stored = reader.to_dict()
    assert set(stored["weights"]) == set(READER_SIGNALS) and stored["threshold"] == 0.5
    again = ReaderRefusalModel.from_dict(stored)
    assert np.array_equal(again.weights, weights) and again.confidence(values) == \
        reader.confidence(values)


def test_a_sentence_holding_the_readers_span_is_weighed_by_the_readers_chance() -> None:
    from retrieval.answer.extractive import AnswerModel, add_reader_span, extract
    from retrieval.answer.features import FEATURES
    from retrieval.types import Passage

    holds = _sentence(0, "The prize went to Ada Okafor.", [], 0.5)
    elsewhere = _sentence(1, "Trams ran late all week.", [], 0.5)
    add_reader_span([holds, elsewhere], [ReadSpan(0, 18, 28, "Ada Okafor", 2.0),
                                         ReadSpan(1, 0, 6, "Harbor", 5.0)])
    assert holds.values["reader_span"] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert elsewhere.values["reader_span"] == 0.0  # its passage's span is not in it
    add_reader_span([holds], None)
    assert holds.values["reader_span"] == 0.0

    # A model that weighs only the reader's chance ranks the sentence with its span first.
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("reader_span")] = 5.0
    model = AnswerModel(weights, 0.0, np.zeros(len(FEATURES)), np.ones(len(FEATURES)),
                        length_cost=0.0)
    passages = [Passage(chunk_id=f"c{n}", article_id=f"a{n}", text=text, title="t", url="",
                        source="Test Desk", published_at=None, score=8.0, relevance=8.0)
                for n, text in enumerate([TRAMS, PRIZE])]

    def read(question: str, texts: list[str]) -> list[ReadSpan]:
        start = texts[1].index("Ada Okafor")
        return [ReadSpan(0, 0, 6, "Harbor", -4.0),
                ReadSpan(1, start, start + 10, "Ada Okafor", 3.0)]

    found = extract(_question(), passages, None, model=model, read=read)
    assert "Ada Okafor" in found.ranked[0].text
    assert found.ranked[0].values["reader_span"] > 0.9
    unread = extract(_question(), passages, None, model=model)
    assert all(s.values["reader_span"] == 0.0 for s in unread.ranked)


def test_the_reader_refusal_decides_only_where_it_ships_and_the_reader_read(monkeypatch
                                                                           ) -> None:
    from retrieval.answer import reader_refusal
    from retrieval.answer.extractive import extract
    from retrieval.answer.reader_refusal import (
        READER_SIGNALS,
        ReaderRefusalModel,
        answer_declined,
    )
    from retrieval.types import Passage

    passages = [Passage(chunk_id="c0", article_id="a0", text=PRIZE, title="t", url="",
                        source="Test Desk", published_at=None, score=8.0, relevance=8.0)]

    def reading(margin: float):
        def read(question: str, texts: list[str]) -> list[ReadSpan]:
            return [ReadSpan(0, 47, 57, "Ada Okafor", margin)]
        return read

    def alike(texts: list[str]) -> np.ndarray:  # every sentence like the question
        return np.ones((len(texts), 2)) / np.sqrt(2)

    sure = extract(_question(), passages, alike, read=reading(6.0))
    unsure = extract(_question(), passages, alike, read=reading(-9.0))
    unread = extract(_question(), passages, alike)
    assert sure.spans is not None and unread.spans is None
    today = date(2026, 6, 9)
    plain = [answer_declined(f, passages, today, None) for f in (sure, unsure, unread)]
    assert plain[0] == plain[1] == plain[2]  # none shipped: the plain refusal alone

    weights = np.zeros(len(READER_SIGNALS))
    weights[READER_SIGNALS.index("reader_margin")] = 1.0
    model = ReaderRefusalModel(weights, 0.0, np.zeros(len(READER_SIGNALS)),
                               np.ones(len(READER_SIGNALS)), threshold=0.5)
    monkeypatch.setattr(reader_refusal, "shipped_reader_refusal", lambda: model)
    assert not answer_declined(sure, passages, today, None)
    assert answer_declined(unsure, passages, today, None)
    assert answer_declined(unread, passages, today, None) == plain[2]  # nothing read
    assert not answer_declined(unsure, passages, today, 0.0)  # the setting still rules
    assert answer_declined(sure, [], today, None)  # nothing found
