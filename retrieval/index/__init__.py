"""The index: the catalog and keyword index (SQLite here, PostgreSQL in server mode) beside
the Chroma vectors, kept in step by `NewsIndex`. The core reaches a backend only through
the interfaces in `stores.py`."""
