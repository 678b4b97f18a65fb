"""The answer chain: question (plus history) -> standalone question -> passages -> cited
answer. Built from LangChain Runnables; the answerer is extractive unless a chat model
is given."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from retrieval.answer import prompts
from retrieval.answer.bounded import LLMReply, call_before
from retrieval.answer.citations import CheckedAnswer, check_citations
from retrieval.answer.extractive import Extract, compose, extract
from retrieval.answer.features import passage_age
from retrieval.answer.followup import History, condense
from retrieval.answer.llm import MARKS_ITS_END, describe_failure, ends_reply, model_where
from retrieval.answer.refusal import asks_about_now, shipped_refusal, signals, staleness
from retrieval.errors import LLMError
from retrieval.index.embedding import sentence_embedder
from retrieval.search.searcher import Searcher, SearchResult
from retrieval.settings import Settings, get_settings
from retrieval.text import content_terms
from retrieval.types import Answer, Passage, SearchFilters, Source, day_of

OnToken = Callable[[str], None]
log = logging.getLogger(__name__)
NO_LLM_NOTE = ("⚠️ The language model did not answer, so this answer is the "
               "passages' own sentences.")
CUT_OFF_NOTE = "⚠️ The language model stopped mid-answer; this is what it wrote before."


def format_passages(passages: list[Passage]) -> str:
    return "\n\n".join(
        prompts.PASSAGE.format(n=n, title=p.title, source=p.source or "unknown outlet",
                               date=day_of(p.published_at), text=p.text)
        for n, p in enumerate(passages, start=1))


class Answerer:
    def __init__(self, searcher: Searcher, chat_model: Any = None,
                 settings: Settings | None = None) -> None:
        self.searcher = searcher
        self.chat_model = chat_model
        self.settings = settings or get_settings()
        self.embed = sentence_embedder(searcher.index.embedder)
        # A model run in this process (llama.cpp) is not safe to call from two threads.
        self._llm_lock = (threading.Lock() if self.settings.llm_provider == "llamacpp"
                          else contextlib.nullcontext())
        self.chain: Runnable = (
            RunnablePassthrough.assign(standalone=RunnableLambda(self._condense))
            | RunnablePassthrough.assign(search=RunnableLambda(self._retrieve))
            | RunnableLambda(self._compose)
        )

    # --- public ----------------------------------------------------------------------
    def answer(self, question: str, history: History | None = None,
               filters: SearchFilters | None = None, today: date | None = None,
               on_token: OnToken | None = None) -> Answer:
        started = time.perf_counter()
        answer: Answer = self.chain.invoke({
            "question": question, "history": history or [], "filters": filters,
            "today": today, "on_token": on_token,
            # One deadline for every model call of the question, however many there are.
            "deadline": time.monotonic() + self.settings.llm_timeout,
        })
        answer.seconds = round(time.perf_counter() - started, 3)
        return answer

    def coverage(self) -> str:
        stats = self.searcher.index.catalog.stats()
        return prompts.CANNOT_ANSWER.format(
            articles=stats["articles"] - stats["duplicates"],
            last_date=(stats["last_published"] or "an unknown date")[:10])

    # --- chain steps -----------------------------------------------------------------
    def _condense(self, state: dict[str, Any]) -> str:
        question, history = state["question"], state["history"]
        if not history:
            return question
        if self.chat_model is None:
            return condense(question, history)
        convo = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history[-3:])
        user = prompts.CONDENSE_USER.format(history=convo, question=question)
        reply = self._call_llm([("system", prompts.CONDENSE_SYSTEM), ("human", user)],
                               None, state["deadline"])
        if not reply.complete:
            log.warning("condensing without the model: %s", reply.failure)
            return condense(question, history)
        rewritten = reply.text.strip().split("\n")[0].strip()
        return rewritten or condense(question, history)

    def _retrieve(self, state: dict[str, Any]) -> SearchResult:
        return self.searcher.search(state["standalone"], k=self.settings.answer_passages,
                                    filters=state["filters"], today=state["today"])

    def _compose(self, state: dict[str, Any]) -> Answer:
        result = state["search"]
        passages: list[Passage] = result.passages
        base = Answer(question=state["question"], text="", sources=[], declined=True,
                      standalone_question=state["standalone"],
                      answerer="extractive" if self.chat_model is None else "llm",
                      timings={k: round(v, 4) for k, v in result.timings.items()})
        if result.keyword_only:
            base.notes.append(f"ℹ️ keyword search only: {result.keyword_only_why}.")
        today = state["today"] or date.today()
        found = self._extract(state["standalone"], passages, today)
        if self._decline(found, passages, today):
            base.text = self.coverage()
            return base
        if self.chat_model is None:
            checked = self._extractive(found, passages, base)
        else:
            checked = self._generate(state, passages, found, base)
            if checked is None:
                return base
        return self._finish(base, checked)

    # --- answerers ---------------------------------------------------------------------
    def _extract(self, question: str, passages: list[Passage], today: date) -> Extract:
        """The best sentences (the extractive answer), and the signals for declining."""
        idf, _ = self.searcher.idf(content_terms(question))
        return extract(question, passages, idf, self.embed, self.settings.answer_max_sentences,
                       today=today)

    def _decline(self, found: Extract, passages: list[Passage], today: date) -> bool:
        if not passages or not found.sentences:
            return True
        model = shipped_refusal()
        threshold = self.settings.decline_below
        ages = [passage_age(p, today) for p in passages[:3]]
        confidence = model.confidence(signals(
            found.ranked, [p.relevance for p in passages], found.question.kind,
            staleness(ages), asks_about_now(found.question.text)))
        return confidence < (model.threshold if threshold is None else threshold)

    def _extractive(self, found: Extract, passages: list[Passage], base: Answer
                    ) -> CheckedAnswer:
        base.short_answer = found.lead
        return check_citations(compose(found.sentences, found.lead), passages, self.embed)

    def _generate(self, state: dict[str, Any], passages: list[Passage], found: Extract,
                  base: Answer) -> CheckedAnswer | None:
        messages = [("system", prompts.ANSWER_SYSTEM),
                    ("human", prompts.ANSWER_USER.format(passages=format_passages(passages),
                                                         question=state["standalone"]))]
        reply = self._call_llm(messages, state["on_token"], state["deadline"])
        text = reply.text.strip()
        if reply.complete and not text:
            reply.failure = "the language model returned an empty reply"
        if reply.complete:
            if text.lower().startswith(prompts.LLM_DECLINED.lower()):
                base.text = self.coverage()
                return None
            return check_citations(text, passages, self.embed)
        return self._without_the_model(reply, passages, found, base)

    def _without_the_model(self, reply: LLMReply, passages: list[Passage], found: Extract,
                           base: Answer) -> CheckedAnswer:
        """The model failed or ran out of time: keep what it wrote if a citation of it is
        verified, else answer extractively; say which, and log why (with its URL)."""
        log.warning("answering without the model: %s", reply.failure)
        kept = check_citations(reply.text.strip(), passages, self.embed) if reply.text.strip() \
            else None
        if kept is not None and kept.verified:
            base.notes.append(CUT_OFF_NOTE)
            return kept
        base.answerer = "extractive"
        base.notes.append(NO_LLM_NOTE)
        return self._extractive(found, passages, base)

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
            if not finished and self.settings.llm_provider in MARKS_ITS_END:
                raise LLMError(f"{model_where(self.settings)} stopped mid-answer: its stream "
                               "closed before the reply was finished")
            return "".join(parts)
        except LLMError:
            raise
        except Exception as exc:  # providers raise many kinds
            raise LLMError(describe_failure(self.settings, exc)) from exc

    @staticmethod
    def _finish(base: Answer, checked: CheckedAnswer) -> Answer:
        base.text = checked.text
        base.sources = [
            Source(n=c.n, title=c.passage.title, source=c.passage.source,
                   published_at=c.passage.published_at, url=c.passage.url, quote=c.quote,
                   passage=c.passage.text, chunk_id=c.passage.chunk_id,
                   also_in=list(c.passage.also_in))
            for c in checked.citations
        ]
        base.citations_verified = checked.verified
        base.citations_total = checked.total
        base.unsupported = checked.unsupported
        base.declined = not checked.text
        return base
