"""The Chroma side of the index. We always pass our own embeddings (Chroma's default
embedding function would try to download a model) and keep telemetry off."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr

from corpus.article import Article
from retrieval.errors import Fix, VectorStoreError, VectorStoreUnreachable
from retrieval.index.chunking import Chunk


def open_client(index_dir: Path, host: str | None = None, port: int = 8000,
                token: SecretStr | None = None, ssl: bool = False) -> Any:
    """A Chroma server's client if `host` is set (HTTPS with `ssl`), else the store in
    INDEX_DIR/chroma."""
    return _connect(str(index_dir / "chroma"), host, port, token, ssl)


def _connect(path: str, host: str | None = None, port: int = 8000,
             token: SecretStr | None = None, ssl: bool = False) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if host:
            headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else None
            return chromadb.HttpClient(host=host, port=port, ssl=ssl, headers=headers,
                                       settings=chroma_settings)
        return chromadb.PersistentClient(path=path, settings=chroma_settings)
    except Exception as exc:  # chromadb raises many types
        where = f"{host}:{port}" if host else path
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if host:
            raise VectorStoreError(f"cannot open the Chroma store at {where}: {detail}") from exc
        # A local store that does not open is damaged: a rebuild starts it afresh.
        raise VectorStoreError(f"cannot open the Chroma store at {where} (damaged?): "
                               f"{detail}", fix=Fix.REBUILD) from exc


def discard_local_store(index_dir: Path) -> None:
    """Delete the embedded Chroma store (a rebuild from damage starts it afresh)."""
    shutil.rmtree(index_dir / "chroma", ignore_errors=True)


def probe(store: VectorStore) -> None:
    """Read the store once: a damaged file may open and fail only at its first read."""
    try:
        store.count()
    except VectorStoreError:
        raise
    except Exception as exc:  # chromadb raises many types
        raise VectorStoreError(f"the Chroma store cannot be read (damaged?): "
                               f"{str(exc).splitlines()[0] if str(exc) else exc!r}",
                               fix=Fix.REBUILD) from exc


def chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": article.id, "ord": chunk.ord, "title": article.title,
        "url": article.url, "source": article.source,
    }
    if article.published_at:
        meta["published_at"] = article.date_iso
        meta["published_ts"] = article.published_at.timestamp()
    return meta


class VectorStore:
    """One Chroma collection of chunk vectors, with their article metadata."""

    def __init__(self, client: Any, collection: str = "newsbot") -> None:
        self.client = client
        self.name = collection
        with self._reaching():
            self.collection = self._open_collection()
            self.max_batch = max(1, min(int(client.get_max_batch_size()), 4000))

    def _open_collection(self) -> Any:
        return self.client.get_or_create_collection(
            self.name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    def close(self) -> None:
        """Release an embedded store (its files may then be moved or deleted)."""
        if self.client.get_settings().is_persistent:
            self.client.close()

    def _call(self, method: str, **kwargs: Any) -> Any:
        """A method of the collection. On a Chroma server another machine's rebuild may
        have replaced the collection since it was opened: then open it again and retry.
        A server that cannot be reached is a `VectorStoreUnreachable`."""
        from chromadb.errors import NotFoundError

        with self._reaching():
            try:
                return getattr(self.collection, method)(**kwargs)
            except NotFoundError:
                self.collection = self._open_collection()
                return getattr(self.collection, method)(**kwargs)

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """A failure to reach the server (refused, reset, timed out) as one domain error."""
        import httpx

        try:
            yield
        except (httpx.TransportError, OSError) as exc:
            where = self.client.get_settings().chroma_server_host or "the Chroma server"
            port = self.client.get_settings().chroma_server_http_port
            raise VectorStoreUnreachable(
                f"the Chroma server at {where}:{port} did not answer: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc

    def count(self) -> int:
        return self._call("count")

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        try:
            yield
        except VectorStoreUnreachable:
            raise
        except Exception as exc:  # chromadb raises many types
            raise VectorStoreError(f"writing to the Chroma store failed while {what}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else exc!r}") from exc

    def upsert(self, ids: Sequence[str], vectors: np.ndarray,
               metadatas: Sequence[dict[str, Any]], documents: Sequence[str]) -> None:
        with self._writing("adding vectors"):
            for start in range(0, len(ids), self.max_batch):
                end = start + self.max_batch
                self._call(
                    "upsert",
                    ids=list(ids[start:end]),
                    embeddings=vectors[start:end],
                    metadatas=list(metadatas[start:end]),
                    documents=list(documents[start:end]),
                )

    def delete(self, ids: Sequence[str]) -> None:
        with self._writing("deleting vectors"):
            for start in range(0, len(ids), self.max_batch):
                self._call("delete", ids=list(ids[start : start + self.max_batch]))

    def iter_ids(self, page: int = 5000) -> Iterator[str]:
        """All ids, paged: one large get() fails with "too many SQL variables"."""
        offset = 0
        while True:
            got = self._call("get", include=[], limit=page, offset=offset)
            if not got["ids"]:
                return
            yield from got["ids"]
            offset += len(got["ids"])

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by chunk id. Ids Chroma cannot find (removed since the keyword
        query ran) are left out rather than failing all."""
        from chromadb.errors import ChromaError

        if not ids:
            return {}
        try:
            got = self._call("get", ids=list(ids), include=["embeddings"])
        except ChromaError:
            found = {}
            for i in ids:
                try:
                    one = self.collection.get(ids=[i], include=["embeddings"])
                except ChromaError:
                    continue
                found.update(zip(one["ids"], one["embeddings"], strict=True))
            return found
        return dict(zip(got["ids"], got["embeddings"], strict=True))

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
              ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) pairs, best first."""
        try:
            found = self._call(
                "query", query_embeddings=[vector], n_results=k, where=where or None,
                include=["distances"])
        except VectorStoreUnreachable:
            raise
        except Exception as exc:  # chromadb raises many types
            raise VectorStoreError(f"the Chroma query failed: {exc}".splitlines()[0]) from exc
        return [(i, 1.0 - d) for i, d in zip(found["ids"][0], found["distances"][0], strict=True)]

    def reset(self) -> None:
        with self._reaching():
            self.client.delete_collection(self.name)
            self.collection = self._open_collection()
