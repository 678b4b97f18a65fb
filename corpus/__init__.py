"""Reading news articles from files and cleaning their text.

This package knows nothing about indexes or chat: it turns files into `Article`s.
"""

from corpus.article import Article
from corpus.errors import ArticleReadError, NewsbotError
from corpus.loader import SAMPLE_DIR, LoadResult, load_articles

__all__ = [
    "SAMPLE_DIR",
    "Article",
    "ArticleReadError",
    "LoadResult",
    "NewsbotError",
    "load_articles",
]
