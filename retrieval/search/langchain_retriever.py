"""newsbot search as a LangChain `BaseRetriever`, for the answer chain and any LangChain user."""

from __future__ import annotations

from datetime import date
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.search.searcher import Searcher
from retrieval.types import Passage, SearchFilters


def passage_document(passage: Passage) -> Document:
    meta = passage.to_dict()
    text = meta.pop("text")
    return Document(page_content=text, metadata=meta, id=passage.chunk_id)


class NewsRetriever(BaseRetriever):
    """Hybrid, reranked news search. `today` sets what time words count from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Searcher
    k: int = 10
    filters: SearchFilters = SearchFilters()
    today: date | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        result = self.searcher.search(query, k=kwargs.get("k", self.k),
                                      filters=kwargs.get("filters", self.filters),
                                      today=kwargs.get("today", self.today))
        return [passage_document(p) for p in result.passages]
