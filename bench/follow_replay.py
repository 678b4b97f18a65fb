"""Follows replayed: labelled topics against news-dev articles arriving in date order,
through the real index and the real follow matching, with a restart half way.

    python -m bench.follow_replay [--topics bench/follow_topics.json] [--batch 20]

Prints precision and recall per topic and overall (on the weeks the threshold was not
fitted on, and on all), notices per story and follow, notices repeated across the
restart, seconds from an article's arrival (the start of the index run that brought it)
to its notice, and what matching costs an index run at 20 follows. `--fit` also prints
the weights and threshold that fit the earlier weeks best (to ship in
retrieval/follows/match.py); the figures reported are always those of the shipped ones.
A notice is right when its story holds an article labelled for its topic; a topic's
stories are those holding such an article.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import DATA, REPO, print_table, read_records
from corpus.article import Article
from corpus.readers import read_record
from retrieval.app import NewsApp
from retrieval.follows.match import ArticleMatch, calibration_for
from retrieval.settings import get_settings


@dataclass
class Replay:
    """What one replay saw."""

    week_of: dict[str, str] = field(default_factory=dict)   # article id -> week
    dataset_id: dict[str, str] = field(default_factory=dict)  # article id -> news-dev id
    notices: list[tuple[str, str, str, float, bool]] = field(default_factory=list)
    # (topic, story, article, seconds from arrival, after the restart)
    run_s: list[float] = field(default_factory=list)
    match_s: list[float] = field(default_factory=list)
    pairs: list[tuple[str, str, ArticleMatch]] = field(default_factory=list)  # for --fit
    story_of: dict[str, str] = field(default_factory=dict)  # article id -> story id
    model: str = ""  # the embedder's name


def arrivals(spec: dict) -> tuple[list[Article], dict[str, str], dict[str, str]]:
    """The articles of the spec's weeks in date order, with their week and news-dev id."""
    path = DATA / spec["data"] / "articles.jsonl.gz"
    weeks = set(spec["weeks"])
    records = [r for r in read_records(path) if r["retrieved_at"] in weeks]
    records.sort(key=lambda r: (r["retrieved_at"], r["id"]))
    articles, week_of, dataset_id = [], {}, {}
    for number, record in enumerate(records, start=1):
        article = read_record(record, path, number)
        articles.append(article)
        week_of[article.id], dataset_id[article.id] = record["retrieved_at"], record["id"]
    return articles, week_of, dataset_id


def open_app(index_dir: Path, replay: Replay) -> NewsApp:
    """The app over the replay's index, its follow matching timed."""
    app = NewsApp.open(get_settings(index_dir=index_dir), chat_model=None, create=True)
    matching = app.index_store.on_update

    def timed(report: object) -> None:
        started = time.perf_counter()
        matching(report)
        replay.match_s.append(time.perf_counter() - started)

    app.index_store.on_update = timed
    return app


def score_pairs(app: NewsApp, topics: list[str], ids: list[str], replay: Replay) -> None:
    """Every (topic, article) score of a batch, for fitting (outside the timed run)."""
    matcher = app.follows.matcher
    parsed = matcher.topics(topics)
    batch = matcher.articles(ids)
    for topic in topics:
        for chunks in batch.chunks.values():
            replay.pairs.append((topic, chunks[0].article_id,
                                 matcher.score(parsed[topic], chunks, batch)))


def replay_all(spec: dict, index_dir: Path, batch_size: int, fit: bool) -> Replay:
    articles, week_of, dataset_id = arrivals(spec)
    replay = Replay(week_of, dataset_id)
    topics = [t["topic"] for t in spec["topics"]]
    app = open_app(index_dir, replay)
    for topic in topics + spec.get("extra_follows", []):
        app.follows.add(topic)
    batches = [articles[i:i + batch_size] for i in range(0, len(articles), batch_size)]
    restarted = False
    for number, batch in enumerate(batches):
        if number == len(batches) // 2:  # a restart half way: nothing may be posted twice
            app.close()
            app, restarted = open_app(index_dir, replay), True
        arrived = time.perf_counter()
        report = app.index_articles(batch)
        replay.run_s.append(time.perf_counter() - arrived)
        for notice in app.follows.take():
            replay.notices.append((notice.topic, notice.story_id, notice.article_id,
                                   time.perf_counter() - arrived, restarted))
        if fit:
            score_pairs(app, topics, report.added_ids, replay)
        print(f"batch {number + 1}/{len(batches)}: {report.added} added in "
              f"{replay.run_s[-1]:.1f} s (matching {replay.match_s[-1]:.2f} s)", flush=True)
    replay.model = app.index_store.embedder.name
    rows = app.index_store.db.rows("SELECT id, story_id FROM articles")
    replay.story_of = {r[0]: r[1] or r[0] for r in rows}
    app.close()
    return replay


def wanted_stories(spec: dict, replay: Replay) -> dict[str, set[str]]:
    """Each topic's stories: those holding an article labelled for it."""
    by_dataset = {d: a for a, d in replay.dataset_id.items()}
    story_of = replay.story_of
    return {t["topic"]: {story_of.get(by_dataset[i], by_dataset[i]) for i in t["articles"]
                         if i in by_dataset} for t in spec["topics"]}


def story_weeks(replay: Replay) -> dict[str, str]:
    """The week each story first arrived in."""
    first: dict[str, str] = {}
    for article, week in sorted(replay.week_of.items(), key=lambda kv: kv[1]):
        first.setdefault(replay.story_of.get(article, article), week)
    return first


def precision_recall(spec: dict, replay: Replay, weeks: set[str]) -> list[list[object]]:
    """Per topic and overall, on stories that first arrived in `weeks`."""
    wanted, week = wanted_stories(spec, replay), story_weeks(replay)
    rows, totals = [], Counter()
    for t in spec["topics"]:
        topic = t["topic"]
        sent = {s for tp, s, *_ in replay.notices if tp == topic and week.get(s) in weeks}
        truth = {s for s in wanted[topic] if week.get(s) in weeks}
        right = len(sent & truth)
        totals.update(sent=len(sent), truth=len(truth), right=right)
        rows.append([topic[:44], len(truth), len(sent), right,
                     f"{right / len(sent):.3f}" if sent else "-",
                     f"{right / len(truth):.3f}" if truth else "-"])
    rows.append(["all topics", totals["truth"], totals["sent"], totals["right"],
                 f"{totals['right'] / max(1, totals['sent']):.3f}",
                 f"{totals['right'] / max(1, totals['truth']):.3f}"])
    return rows


def fit_threshold(spec: dict, replay: Replay) -> None:
    """The weights and threshold with the best F1 on the fit weeks' (topic, article)s."""
    labels = {(t["topic"], i) for t in spec["topics"] for i in t["articles"]}
    fit_weeks = set(spec["fit_weeks"])
    scored = [(m, (topic, replay.dataset_id[a]) in labels) for topic, a, m in replay.pairs
              if replay.week_of[a] in fit_weeks and topic in {t["topic"] for t in spec["topics"]}]
    best = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    for cover_w in (0.0, 0.25, 0.5, 0.75, 1.0):
        for title_w in (0.0, 0.25, 0.5):
            values = sorted(((m.dense + cover_w * m.coverage + title_w * m.title_coverage, good)
                             for m, good in scored), reverse=True)
            positives = sum(good for _, good in values)
            right = 0
            for n, (value, good) in enumerate(values, start=1):
                right += good
                f1 = 2 * right / (n + positives)
                if f1 > best[0]:
                    best = (f1, cover_w, title_w, value, right / n, right / positives)
    f1, cover_w, title_w, value, precision, recall = best
    print(f"\nfit on {sorted(fit_weeks)} ({len(scored)} topic-article pairs): coverage "
          f"weight {cover_w}, title weight {title_w}, threshold {value:.3f} "
          f"(F1 {f1:.3f}, precision {precision:.3f}, recall {recall:.3f})")


def report(spec: dict, replay: Replay) -> None:
    fit_weeks = set(spec["fit_weeks"])
    later = set(spec["weeks"]) - fit_weeks
    shipped = calibration_for(replay.model)
    print(f"\nshipped calibration of {replay.model}: coverage weight "
          f"{shipped.coverage_weight}, title weight {shipped.title_weight}, threshold "
          f"{shipped.threshold} (fitted on {sorted(fit_weeks)} only; the figures reported "
          "are those of the later weeks, which it never saw)")
    header = ["topic", "stories", "notices", "right", "precision", "recall"]
    for title, weeks in ((f"later weeks {sorted(later)} (reported)", later),
                         ("all weeks", set(spec["weeks"]))):
        print(f"\n{title}")
        print_table(header, precision_recall(spec, replay, weeks))
    per_story = Counter((tp, s) for tp, s, *_ in replay.notices)
    before = {(tp, s) for tp, s, _, _, after in replay.notices if not after}
    repeated = sum(1 for tp, s, _, _, after in replay.notices if after and (tp, s) in before)
    waits = sorted(w for *_, w, _ in replay.notices)
    spread = dict(sorted(Counter(per_story.values()).items()))
    print(f"\nnotices {len(replay.notices)}, for {len(per_story)} (follow, story) pairs; "
          f"pairs by notices each: {spread}; most notices for one story and follow: "
          f"{max(per_story.values(), default=0)}; repeated after the restart: {repeated}")
    if waits:
        print(f"seconds from arrival to notice: median {waits[len(waits) // 2]:.1f}, "
              f"max {waits[-1]:.1f}")
    matching, runs = sum(replay.match_s), sum(replay.run_s)
    print(f"index runs {len(replay.run_s)}: {runs:.1f} s in all, of which matching "
          f"{len(spec['topics']) + len(spec.get('extra_follows', []))} follows took "
          f"{matching:.1f} s: +{100 * matching / max(1e-9, runs - matching):.1f} % over the "
          "runs without it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", type=Path, default=REPO / "bench" / "follow_topics.json")
    parser.add_argument("--batch", type=int, default=20, help="Articles per index run.")
    parser.add_argument("--fit", action="store_true", help="Also fit the threshold.")
    parser.add_argument("--keep", type=Path, help="Build the index here (kept), not in a "
                        "temporary folder.")
    args = parser.parse_args()
    spec = json.loads(args.topics.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="follow-replay-") as tmp:
        replay = replay_all(spec, args.keep or Path(tmp) / "index", args.batch, args.fit)
    if args.fit:
        fit_threshold(spec, replay)
    report(spec, replay)
    found = defaultdict(list)
    for topic, _, article, _, _ in replay.notices:
        found[topic].append(replay.dataset_id.get(article, article))
    print("\nnoticed, by topic (news-dev ids):")
    for topic, ids in found.items():
        print(f"  {topic}: {' '.join(ids)}")


if __name__ == "__main__":
    main()
