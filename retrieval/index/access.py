"""The vector store as one process may use it. An embedded Chroma store is opened only
while this process holds its lease (`lease.py`), shared by every thread here, and closed
again when another process asks for it and nothing here needs it: an index run keeps
it for the whole run, a search only while it runs. A Chroma server is shared by design
and needs none of this."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from retrieval.errors import IndexBusy, VectorStoreError, VectorStoreUnreachable
from retrieval.index.gate import Gate
from retrieval.index.lease import StoreLease
from retrieval.index.vectors import VectorStore, discard_local_store, open_client, probe

WRITER_WAIT_S = 60.0  # an index run waits this long for searches elsewhere to let go
READER_WAIT_S = 3.0   # a search waits this long, then answers from the keyword side
WATCH_EVERY_S = 0.1


class VectorAccess:
    def __init__(self, index_dir: Path, client: Any = None, collection: str = "newsbot"
                 ) -> None:
        self.index_dir = index_dir
        self.gate = Gate()  # searches in flight, against closing the store under them
        self._client = client
        self._collection = collection
        self._lease = StoreLease(index_dir) if client is None else None
        self._store: VectorStore | None = None
        self._pins = 0
        self._lock = threading.RLock()  # opening and closing
        self._closed = threading.Event()
        self._watcher: threading.Thread | None = None
        self.discard_damaged = False  # a rebuild: a local store that fails to open is redone

    # --- using it -----------------------------------------------------------------------
    @property
    def store(self) -> VectorStore:
        """The open store, waiting for other processes to let go of it if need be."""
        with self._lock:
            if self._store is None:
                self._open(WRITER_WAIT_S, "tool")
            assert self._store is not None
            return self._store

    @contextmanager
    def reading(self, wait_s: float = READER_WAIT_S) -> Iterator[VectorStore | None]:
        """The store for one search, or None when an index run in another process has it
        (or it is not let go within `wait_s`): then the search is keyword-only."""
        with self.gate.shared():
            store = self._store
            if store is None:
                with self._lock:
                    store = self._store
                    if store is None and not (self._lease and self._lease.index_run_elsewhere()):
                        store = self._open_for_search(wait_s)
            yield store

    @property
    def on_server(self) -> bool:
        """Whether the vectors are on a Chroma server (shared, with no lease)."""
        return self._lease is None

    def _open_for_search(self, wait_s: float) -> VectorStore | None:
        """None when the store is busy elsewhere, or a Chroma server is not answering
        (the search is then keyword-only; the next one tries again)."""
        try:
            return self._open(wait_s, "search", required=False)
        except VectorStoreUnreachable:
            return None

    @contextmanager
    def pinned(self) -> Iterator[VectorStore]:
        """The store for an index run: kept until the run ends, whoever asks."""
        with self._lock:
            self._pins += 1
        try:
            with self._lock:
                if self._store is None:
                    self._open(WRITER_WAIT_S, "index")
                elif self._lease:
                    self._lease.announce("index")
                assert self._store is not None
                store = self._store
            yield store
        finally:
            with self._lock:
                self._pins -= 1
                last = self._pins == 0
            if last:  # let others in at once: this process reopens it when it searches next
                self.release()

    def _open(self, wait_s: float, role: str, required: bool = True) -> VectorStore | None:
        if self._lease and not self._lease.acquire(wait_s, role):
            if not required:
                return None
            holder = self._lease.holder() or {}
            raise IndexBusy(
                f"the vector store in {self.index_dir} is in use by process "
                f"{holder.get('pid', '?')} ({holder.get('role', 'unknown')}) and was not "
                f"let go within {wait_s:g} s; try again when it has finished")
        try:
            self._store = self._connect()
        except BaseException:
            if self._lease:
                self._lease.release()
            raise
        if self._lease and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name="newsbot-store-lease")
            self._watcher.start()
        return self._store

    def _connect(self) -> VectorStore:
        """The store, under the lease. On a rebuild, a local store too damaged to open or
        read is deleted and started afresh (the rebuild re-embeds everything anyway)."""
        if self._client is not None:
            return VectorStore(self._client, self._collection)
        try:
            store = VectorStore(open_client(self.index_dir), self._collection)
            if self.discard_damaged:
                probe(store)
            return store
        except VectorStoreUnreachable:
            raise
        except VectorStoreError:
            if not self.discard_damaged:
                raise
        discard_local_store(self.index_dir)
        return VectorStore(open_client(self.index_dir), self._collection)

    # --- letting go ----------------------------------------------------------------------
    def release(self, timeout: float | None = None) -> bool:
        """Close an embedded store and let other processes have it, once no search here
        uses it. False when searches kept it for longer than `timeout`."""
        if self._lease is None:
            return True
        with self.gate.exclusive(timeout) as free:
            if not free:
                return False
            with self._lock:
                if self._pins:
                    return False
                if self._store is not None:
                    self._store.close()
                    self._store = None
                self._lease.release()
        return True

    def _watch(self) -> None:
        while not self._closed.wait(WATCH_EVERY_S):
            lease = self._lease
            if lease and lease.held and not self._pins and lease.wanted_by_another():
                self.release(timeout=WATCH_EVERY_S)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            if self._lease:
                self._lease.release()
