"""The answer chain: a LangChain Runnable of five named steps, read top-down. Each step
takes the record the one before made and adds its own part to it:

    condense  Asked     -> Condensed  a follow-up spelled out as a standalone question
    retrieve  Condensed -> Retrieved  the search, which parses the question once
    select    Retrieved -> Selected   the sentences that best answer it, or a decline
    compose   Selected  -> Draft      those sentences, or what the LLM writes from the passages
    verify    Draft     -> Answer     every citation checked against its passage

The answerer is extractive unless a chat model is given. A model that fails or outlasts
NEWSBOT_LLM_TIMEOUT leaves the extractive answer, with a note saying so."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, TypeVar

from langchain_core.runnables import Runnable, RunnableLambda

from retrieval.answer import extractive, prompts
from retrieval.answer.bounded import LLMReply, call_before
from retrieval.answer.citations import CheckedAnswer, check_citations
from retrieval.answer.extractive import Extract
from retrieval.answer.features import read_question
from retrieval.answer.followup import History, condense, lean
from retrieval.answer.lead import shipped_lead
from retrieval.answer.llm import MARKS_ITS_END, describe_failure, ends_reply, model_where
from retrieval.answer.reader import LazyReader
from retrieval.answer.reader_lead import reads_spans
from retrieval.answer.reader_refusal import answer_declined, shipped_reader_refusal
from retrieval.answer.refusal import shipped_refusal
from retrieval.errors import LLMError
from retrieval.search.lean import Lean
from retrieval.search.searcher import IndexExtent, Searcher, SearchResult
from retrieval.settings import Settings
from retrieval.text import content_terms
from retrieval.types import Answer, Passage, SearchFilters, Source, day_of

OnToken = Callable[[str], None]
log = logging.getLogger(__name__)
NO_LLM_NOTE = ("⚠️ The language model did not answer, so this answer is the "
               "passages' own sentences.")
CUT_OFF_NOTE = "⚠️ The language model stopped mid-answer; this is what it wrote before."


# --- what each step hands the next ------------------------------------------------------
@dataclass(frozen=True)
class Asked:
    """What the user sent."""
    question: str
    history: History
    filters: SearchFilters | None
    today: date | None  # the day time words count from (None: today)
    on_token: OnToken | None  # receives an LLM's answer as it is written
    deadline: float  # time.monotonic() by which every model call of the question is done


@dataclass(frozen=True)
class Condensed(Asked):
    standalone: str  # the question with what a follow-up refers to spelled out


@dataclass(frozen=True)
class Retrieved(Condensed):
    result: SearchResult  # the passages, and the question as search parsed it


@dataclass(frozen=True)
class Selected(Retrieved):
    found: Extract  # the best sentences, and the answer's reading of the question
    declined: bool  # the passages are unlikely to hold the answer


@dataclass(frozen=True)
class Draft(Selected):
    text: str  # with [n] markers numbered by passage; "" when declined
    answerer: str  # "extractive" or "llm": who wrote it
    lead: str | None = None  # the bold short answer, quoted from the first sentence
    notes: tuple[str, ...] = ()  # said under the answer
    fallback: Draft | None = None  # what stands if no citation of `text` verifies


Step = TypeVar("Step", bound=Asked)


def _extend(record: Asked, step: type[Step], **added: Any) -> Step:
    return step(**{f.name: getattr(record, f.name) for f in fields(record)}, **added)


def format_passages(passages: list[Passage]) -> str:
    return "\n\n".join(
        prompts.PASSAGE.format(n=n, title=p.title, source=p.source or "unknown outlet",
                               date=day_of(p.published_at), text=p.text)
        for n, p in enumerate(passages, start=1))


def cannot_answer(extent: IndexExtent) -> str:
    """The reply when the index does not hold the answer: what it does hold."""
    return prompts.CANNOT_ANSWER.format(
        articles=extent.articles, last_date=(extent.last_published or "an unknown date")[:10])


class Answerer:
    """Answers questions from what `searcher` finds; thread-safe (each question's records
    are its own)."""

    def __init__(self, searcher: Searcher, chat_model: Any, settings: Settings) -> None:
        self.searcher = searcher
        self.chat_model = chat_model
        self.settings = settings
        self.embed = searcher.sentence_embedder()
        # Read every fitted model now: weights missing or fitted for other features are an
        # error when the app opens, not on the first question.
        extractive.shipped_model(), shipped_lead(), shipped_refusal(), shipped_reader_refusal()
        self.read = (LazyReader(cache_dir=self.settings.embedding.onnx_dir)
                     if reads_spans(self.settings) else None)
        # A model run in this process (llama.cpp) is not safe to call from two threads.
        self._llm_lock = (threading.Lock() if self.settings.llm.provider == "llamacpp"
                          else contextlib.nullcontext())
        self.chain: Runnable[Asked, Answer] = (
            RunnableLambda(self.condense, name="condense")
            | RunnableLambda(self.retrieve, name="retrieve")
            | RunnableLambda(self.select, name="select")
            | RunnableLambda(self.compose, name="compose")
            | RunnableLambda(self.verify, name="verify")
        )

    def answer(self, question: str, history: History | None = None,
               filters: SearchFilters | None = None, today: date | None = None,
               on_token: OnToken | None = None) -> Answer:
        started = time.perf_counter()
        # One deadline for every model call of the question, however many there are.
        deadline = time.monotonic() + self.settings.llm.timeout
        answer = self.chain.invoke(Asked(question, history or [], filters, today, on_token,
                                         deadline))
        answer.seconds = round(time.perf_counter() - started, 3)
        return answer

    # --- the steps, in order ----------------------------------------------------------
    def condense(self, asked: Asked) -> Condensed:
        return _extend(asked, Condensed, standalone=self._standalone(asked))

    def retrieve(self, turn: Condensed) -> Retrieved:
        result = self.searcher.search(turn.standalone, k=self.settings.answers.passages,
                                      filters=turn.filters, today=turn.today,
                                      lean=_lean(turn))
        return _extend(turn, Retrieved, result=result)

    def select(self, turn: Retrieved) -> Selected:
        """The best sentences (the extractive answer), and whether to decline."""
        passages, question = turn.result.passages, turn.result.question
        read = read_question(question)
        if turn.standalone != turn.question:  # a follow-up spelled out with its subject:
            # the subject finds the story; what it asks is in the user's own words
            read = replace(read, asked=content_terms(turn.question) or read.asked)
        toward = _lean(turn)
        found = extractive.extract(read, passages, self.embed,
                                   self.settings.answers.max_sentences, read=self.read,
                                   lean=toward.sentence_bonus if toward else None)
        return _extend(turn, Selected, found=found,
                       declined=answer_declined(found, passages, question.today,
                                                 self.settings.answers.decline_below))

    def compose(self, turn: Selected) -> Draft:
        if turn.declined:
            return _extend(turn, Draft, text="", answerer=self._answerer)
        if self.chat_model is None:
            return self._extractive(turn)
        reply = self._generate(turn)
        text = reply.text.strip()
        if reply.complete and text:
            declined = text.lower().startswith(prompts.LLM_DECLINED.lower())
            return _extend(turn, Draft, text="" if declined else text, answerer="llm")
        # The model failed, ran out of time or said nothing: what it wrote stands if a
        # citation of it verifies, else the extractive answer.
        log.warning("answering without the model: %s",
                    reply.failure or "the language model returned an empty reply")
        without = self._extractive(turn, (NO_LLM_NOTE,))
        if not text:
            return without
        return _extend(turn, Draft, text=text, answerer="llm", notes=(CUT_OFF_NOTE,),
                       fallback=without)

    def verify(self, draft: Draft) -> Answer:
        result = draft.result
        answer = Answer(question=draft.question, text="", sources=[], declined=True,
                        standalone_question=draft.standalone, answerer=draft.answerer,
                        timings={k: round(v, 4) for k, v in result.timings.items()})
        if result.keyword_only:
            answer.notes.append(f"ℹ️ keyword search only: {result.keyword_only_why}.")
        if not draft.text:
            answer.text = cannot_answer(result.extent)
            return answer
        checked = check_citations(draft.text, result.passages, self.embed)
        if draft.fallback is not None and not checked.verified:
            return self.verify(draft.fallback)
        answer.notes.extend(draft.notes)
        answer.short_answer = draft.lead
        return _finish(answer, checked)

    # --- what the steps use -----------------------------------------------------------
    @property
    def _answerer(self) -> str:
        return "extractive" if self.chat_model is None else "llm"

    def _standalone(self, asked: Asked) -> str:
        question, history = asked.question, asked.history
        if not history:
            return question
        if self.chat_model is None:
            return condense(question, history)
        convo = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history[-3:])
        user = prompts.CONDENSE_USER.format(history=convo, question=question)
        reply = self._call_llm([("system", prompts.CONDENSE_SYSTEM), ("human", user)],
                               None, asked.deadline)
        if not reply.complete:
            log.warning("condensing without the model: %s", reply.failure)
            return condense(question, history)
        rewritten = reply.text.strip().split("\n")[0].strip()
        return rewritten or condense(question, history)

    def _extractive(self, turn: Selected, notes: tuple[str, ...] = ()) -> Draft:
        found = turn.found
        return _extend(turn, Draft, text=extractive.compose(found.sentences, found.lead),
                       answerer="extractive", lead=found.lead, notes=notes)

    def _generate(self, turn: Selected) -> LLMReply:
        """The LLM's answer from the passages, or what it wrote before it stopped."""
        messages = [("system", prompts.ANSWER_SYSTEM),
                    ("human", prompts.ANSWER_USER.format(
                        passages=format_passages(turn.result.passages),
                        question=turn.standalone))]
        return self._call_llm(messages, turn.on_token, turn.deadline)

    def _call_llm(self, messages: list[tuple[str, str]], on_token: OnToken | None,
                  deadline: float) -> LLMReply:
        def call(relay: OnToken | None) -> str:
            with self._llm_lock:
                return self._ask_llm(messages, relay)

        return call_before(deadline, call, on_token,
                           lambda: describe_failure(self.settings, TimeoutError("timed out")))

    def _ask_llm(self, messages: list[tuple[str, str]], on_token: OnToken | None) -> str:
        try:
            if on_token is None:
                reply = self.chat_model.invoke(messages)
                return str(reply.content)
            parts, finished = [], False
            for chunk in self.chat_model.stream(messages):
                piece = str(chunk.content)
                finished = finished or ends_reply(chunk)
                if piece:
                    parts.append(piece)
                    on_token(piece)
            if not finished and self.settings.llm.provider in MARKS_ITS_END:
                raise LLMError(f"{model_where(self.settings)} stopped mid-answer: its stream "
                               "closed before the reply was finished")
            return "".join(parts)
        except LLMError:
            raise
        except Exception as exc:  # providers raise many kinds
            raise LLMError(describe_failure(self.settings, exc)) from exc


def _lean(turn: Condensed) -> Lean | None:
    """A follow-up spelled out leans toward the story the previous answer quoted."""
    return lean(turn.question, turn.history) if turn.standalone != turn.question else None


def _finish(answer: Answer, checked: CheckedAnswer) -> Answer:
    answer.text = checked.text
    answer.sources = [
        Source(n=c.n, title=c.passage.title, source=c.passage.source,
               published_at=c.passage.published_at, url=c.passage.url, quote=c.quote,
               passage=c.passage.text, chunk_id=c.passage.chunk_id,
               also_in=list(c.passage.also_in))
        for c in checked.citations
    ]
    answer.citations_verified = checked.verified
    answer.citations_total = checked.total
    answer.unsupported = checked.unsupported
    answer.declined = not checked.text
    return answer
