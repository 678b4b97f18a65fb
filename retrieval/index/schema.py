"""The catalog's tables, in each backend's DDL (types, the chunk key and the story columns
differ; the statements that read and write them are one set, in `catalog.py`). SQLite
indexes reached stories by a later migration step (`sqlite.py`); a PostgreSQL index has
them from its first."""

CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    duplicate_of TEXT,
    origin TEXT NOT NULL,
    origin_file TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL,
    section TEXT NOT NULL,
    published_at TEXT,
    published_ts REAL,
    chars INTEGER NOT NULL,
    indexed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_origin_file ON articles(origin_file);
CREATE INDEX IF NOT EXISTS articles_body_hash ON articles(body_hash);
CREATE INDEX IF NOT EXISTS articles_duplicate_of ON articles(duplicate_of);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
-- Chunk ids that may exist in Chroma without being committed here (a run in flight, or
-- one that was killed): the next run deletes those still unknown to `chunks`.
CREATE TABLE IF NOT EXISTS pending_chunks (id TEXT PRIMARY KEY);
"""


STORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS article_minhash (article_id TEXT PRIMARY KEY, sig BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
"""


POSTGRES_CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id text PRIMARY KEY,
    content_hash text NOT NULL,
    body_hash text NOT NULL,
    duplicate_of text,
    origin text NOT NULL,
    origin_file text NOT NULL,
    title text NOT NULL,
    url text NOT NULL,
    source text NOT NULL,
    author text NOT NULL,
    section text NOT NULL,
    published_at text,
    published_ts double precision,
    chars integer NOT NULL,
    indexed_at text NOT NULL,
    story_id text
);
CREATE INDEX IF NOT EXISTS articles_origin_file ON articles(origin_file);
CREATE INDEX IF NOT EXISTS articles_body_hash ON articles(body_hash);
CREATE INDEX IF NOT EXISTS articles_duplicate_of ON articles(duplicate_of);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_source ON articles(lower(source));
CREATE TABLE IF NOT EXISTS chunks (
    key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    article_id text NOT NULL,
    ord integer NOT NULL,
    text text NOT NULL,
    stems text
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
-- Chunk ids that may exist in Chroma without being committed here (a run in flight, or
-- one that was killed): the next run deletes those still unknown to `chunks`.
CREATE TABLE IF NOT EXISTS pending_chunks (id text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS article_minhash (article_id text PRIMARY KEY, sig bytea NOT NULL);
"""
