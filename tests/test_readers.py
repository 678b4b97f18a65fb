import gzip
import json
from pathlib import Path

from conftest import DEV_SMALL, SEED, needs_dev_small, needs_seed

from corpus import SAMPLE_DIR, load_articles
from corpus.loader import read_file


@needs_seed
def test_txt_raw_format_seed() -> None:
    result = read_file(SEED)
    assert result.errors == []
    (article,) = result.articles
    assert article.title == "Carney set to attend Ukraine peace talks in Paris"
    assert article.section == "National"
    assert article.source == "The Canadian Press"
    assert article.body.startswith("Prime Minister Mark Carney will be in Paris")


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(
        "---\ntitle: Dam opens\nurl: https://example.org/2024/05/01/dam\nsource: River Post\n"
        "author: [Ann Lee, Bo Chan]\npublished_at: 2024-05-01T08:00:00+02:00\n"
        "section: Local\n---\n\nThe new dam opened on Wednesday. It holds [much](http://x) water.\n"
    )
    (article,) = read_file(path).articles
    assert article.title == "Dam opens"
    assert article.source == "River Post"
    assert article.author == "Ann Lee, Bo Chan"
    assert article.published_at.isoformat() == "2024-05-01T08:00:00+02:00"
    assert article.section == "Local"
    assert "It holds much water." in article.body  # link syntax gone, text kept


def test_markdown_heading_is_title_without_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "b.md"
    path.write_text("# Storm hits coast\n\nWinds reached 120 km/h overnight.\n")
    (article,) = read_file(path).articles
    assert article.title == "Storm hits coast"
    assert article.body == "Winds reached 120 km/h overnight."


def test_html_metadata_from_json_ld_and_open_graph() -> None:
    (article,) = read_file(SAMPLE_DIR / "maui-wildfire.html").articles
    assert article.title == "Wildfire destroys historic Lahaina on Maui"
    assert article.source == "Pacific Current"
    assert article.author == "Kai Nakamura"
    assert article.published_at.isoformat() == "2023-08-10T09:15:00-10:00"
    assert article.url == "https://sample.newsbot.example/us/2023/08/10/lahaina-wildfire"
    assert "banyan tree" in article.body
    assert "inbox" not in article.body and "Home" not in article.body.split()[0]


def test_json_document_and_field_aliases(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps({"articles": [
        {"headline": "One", "content": "First story text.", "link": "https://a.example/1",
         "publisher": {"name": "A Wire"}, "pubDate": "Tue, 02 Jan 2024 10:00:00 GMT"},
        {"title": "Two", "text": "Second story text.", "site_name": "B News",
         "authors": [{"name": "Cy"}], "date": "2024-01-03"},
    ]}))
    one, two = read_file(path).articles
    assert (one.title, one.url, one.source) == ("One", "https://a.example/1", "A Wire")
    assert one.published_at.isoformat() == "2024-01-02T10:00:00+00:00"
    assert (two.source, two.author, two.published_at.date().isoformat()) == (
        "B News", "Cy", "2024-01-03")
    assert one.id != two.id


def test_jsonl_gz_records(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        for i in range(3):
            handle.write(json.dumps({"id": f"r{i}", "title": f"T{i}", "body": f"Body {i}."}) + "\n")
    result = read_file(path)
    assert [a.id for a in result.articles] == ["r0", "r1", "r2"]
    assert result.complete and result.errors == []


@needs_dev_small
def test_reads_shared_benchmark_articles_as_they_are() -> None:
    result = load_articles([DEV_SMALL / "articles.jsonl.gz"])
    assert result.errors == []
    assert len(result.articles) == 669
    sources = {a.source for a in result.articles}
    assert {"CNN", "USA TODAY", "The Week"} <= sources
    dated = [a for a in result.articles if a.published_at]
    assert len(dated) > 600  # from the url or a dateline in the text
    assert all(a.published_at.tzinfo for a in dated)


def test_sample_corpus_is_varied_and_complete() -> None:
    result = load_articles([SAMPLE_DIR])
    assert result.errors == []
    assert 20 <= len(result.articles) <= 40
    assert {Path(f).suffix for f in result.files} >= {".txt", ".md", ".html", ".jsonl"}
    assert all(a.source and a.published_at and a.url for a in result.articles)
