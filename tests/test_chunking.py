from corpus import SAMPLE_DIR, load_articles
from corpus.article import Article
from retrieval.index.chunking import chunk_article, pack_sentences, split_sentences


def test_sentences_respect_abbreviations_and_quotes() -> None:
    text = 'Mr. Smith flew to the U.S. on Jan. 5. He said "We won." Then he left.'
    assert split_sentences(text) == [
        "Mr. Smith flew to the U.S. on Jan. 5.", 'He said "We won."', "Then he left."]


def test_chunks_end_on_sentence_boundaries_and_fit() -> None:
    for article in load_articles([SAMPLE_DIR]).articles:
        sentences = split_sentences(article.body)
        for chunk in chunk_article(article, max_chars=300):
            assert len(chunk.text) <= 300 * 1.25
            assert chunk.text.split()[-1] in " ".join(sentences)
            # each chunk is a run of whole sentences
            assert any(chunk.text.endswith(s) for s in sentences)
            assert any(chunk.text.startswith(s) for s in sentences)


def test_overlong_sentence_is_cut_at_words() -> None:
    chunks = pack_sentences(["word " * 300], max_chars=200)
    assert all(len(c) <= 200 for c in chunks)
    assert " ".join(chunks).split() == ["word"] * 300


def test_chunk_ids_are_deterministic_and_follow_content() -> None:
    a = Article(id="x1", title="T", body="One sentence here. Another one there.")
    b = Article(id="x1", title="T", body="One sentence here. Another one changed.")
    assert [c.id for c in chunk_article(a, 1000)] == [c.id for c in chunk_article(a, 1000)]
    assert chunk_article(a, 1000)[0].id != chunk_article(b, 1000)[0].id


def test_a_long_article_hashes_its_body_once(monkeypatch) -> None:
    # A 19 MB file took minutes when every chunk id hashed the whole body again.
    calls = {"n": 0}
    original = Article.content_hash

    def counted(self: Article) -> str:
        calls["n"] += 1
        return original.fget(self)

    monkeypatch.setattr(Article, "content_hash", property(counted))
    body = "\n\n".join(f"Paragraph {i} says the council met again on day {i}." for i in range(500))
    chunks = chunk_article(Article(id="long", title="Long", body=body), 1000)
    assert len(chunks) > 20 and calls["n"] == 1
