"""Copies of one story in a corpus: how many articles fold into stories at each MinHash
threshold, the time it takes, and a sample of groups to check by hand.

    python -m bench.stories_bench [--data news-dev] [--sample 50] [--out groups.md]

Articles are read and cleaned as `newsbot index` reads them; the grouping is the one the
indexer does (retrieval/index/stories.py), in file order.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from pathlib import Path

from bench.common import DATA
from corpus import load_articles
from retrieval.index.stories import StoryFinder, signature


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="news-dev")
    parser.add_argument("--thresholds", default="0.4,0.5,0.6,0.7,0.8")
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--out", type=Path, help="Write the sampled groups as Markdown, for "
                        "checking by hand.")
    parser.add_argument("--sample-at", type=float, help="The threshold whose groups are "
                        "sampled (default: the shipped one).")
    args = parser.parse_args()
    started = time.perf_counter()
    loaded = load_articles([DATA / args.data / "articles.jsonl.gz"])
    articles = loaded.articles
    print(f"{args.data}: {len(articles)} articles read in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    signatures = [signature(a.body) for a in articles]
    per_article_ms = 1000 * (time.perf_counter() - started) / max(1, len(articles))
    print(f"signatures: {per_article_ms:.2f} ms an article")
    from retrieval.index.stories import THRESHOLD

    for threshold in [float(t) for t in args.thresholds.split(",")]:
        started = time.perf_counter()
        finder = StoryFinder({}, threshold)
        stories: dict[str, list[int]] = defaultdict(list)
        for i, (article, values) in enumerate(zip(articles, signatures, strict=True)):
            stories[finder.assign(article.id, values)].append(i)
        seconds = time.perf_counter() - started
        groups = [members for members in stories.values() if len(members) > 1]
        folded = sum(len(g) - 1 for g in groups)
        print(f"threshold {threshold:.1f}: {len(groups)} stories with copies, {folded} "
              f"articles folded ({100 * folded / len(articles):.1f} %), "
              f"{1000 * seconds / len(articles):.2f} ms an article to group")
        if args.out and abs(threshold - (args.sample_at or THRESHOLD)) < 1e-9:
            sample = random.Random(7).sample(groups, min(args.sample, len(groups)))
            with open(args.out, "w", encoding="utf-8") as handle:
                for n, members in enumerate(sample, start=1):
                    handle.write(f"## Group {n} ({len(members)} articles)\n\n")
                    for i in members[:4]:
                        a = articles[i]
                        flat = " ".join(a.body.split())
                        handle.write(f"- **{a.title}** ({a.source or '?'}, {a.date_iso[:10]}) "
                                     f"{a.url}\n  > {flat[:300]}\n")
                    handle.write("\n")
            print(f"wrote {len(sample)} sampled groups to {args.out}")


if __name__ == "__main__":
    main()
