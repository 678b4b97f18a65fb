"""Hybrid search: dense and keyword candidates, one BM25 (`bm25.py`), a local reranker,
filters and passage picking."""
