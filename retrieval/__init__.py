"""Chunking, embedding, the index (Chroma + SQLite), hybrid search and the answer chain.

Modules import their heavy dependencies (chromadb, onnxruntime, torch) only when used.
"""
