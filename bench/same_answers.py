"""The exact-query check: two `newsbot eval --answers --out` files of the same questions,
one made before a change and one after, compared question by question. A refactor that
should change nothing must give the same answers word for word (text, lead, declined,
cited urls) and the same passages in the same order (url and text; scores to --places).

    newsbot eval news-dev-small/questions.jsonl --answers --out before.jsonl   # old code
    newsbot eval news-dev-small/questions.jsonl --answers --out after.jsonl    # new code
    python -m bench.same_answers before.jsonl after.jsonl

Both runs must search the same index (a copy of one, so that each side opens its own):
two builds of an index can differ in Chroma's neighbours. Prints what matched, the first
difference of each question that did not, and exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.common import print_table, read_records

PARTS = ("answer", "lead", "declined", "cited urls", "passages", "passage scores")


def answer_parts(record: dict) -> dict[str, object]:
    """What must stay the same of one answer (absent when the file has no answers)."""
    answer = record.get("answer") or {}
    return {"answer": answer.get("text"), "lead": answer.get("short_answer"),
            "declined": answer.get("declined"),
            "cited urls": [s.get("url") for s in answer.get("sources", [])]}


def differences(before: dict, after: dict, places: int) -> dict[str, str]:
    """Each part that differs between two records of one question, with its first
    difference in words."""
    found = {}
    old, new = answer_parts(before), answer_parts(after)
    for part in old:
        if old[part] != new[part]:
            found[part] = f"{old[part]!r} -> {new[part]!r}"
    shown = [(p["url"], p["text"]) for p in before["passages"]]
    now = [(p["url"], p["text"]) for p in after["passages"]]
    if shown != now:
        at = next((i for i, (a, b) in enumerate(zip(shown, now, strict=False)) if a != b),
                  min(len(shown), len(now)))
        found["passages"] = f"first differs at {at + 1} of {len(shown)} / {len(now)}"
    elif [round(p["score"], places) for p in before["passages"]] != \
            [round(p["score"], places) for p in after["passages"]]:
        found["passage scores"] = f"a score differs beyond {places} places"
    return found


def compare(before: Path, after: Path, places: int = 6) -> dict[str, dict[str, str]]:
    """Question id -> its differing parts; a question in one file only is a difference."""
    old = {r["id"]: r for r in read_records(before)}
    new = {r["id"]: r for r in read_records(after)}
    report = {qid: {"question": "only in " + (str(before) if qid in old else str(after))}
              for qid in old.keys() ^ new.keys()}
    for qid in old.keys() & new.keys():
        if found := differences(old[qid], new[qid], places):
            report[qid] = found
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--places", type=int, default=6,
                        help="decimal places of the passage scores that must agree")
    args = parser.parse_args()
    report = compare(args.before, args.after, args.places)
    total = len({r["id"] for r in read_records(args.before)}
                | {r["id"] for r in read_records(args.after)})
    print_table(["part", "same"],
                [[part, f"{total - sum(part in d for d in report.values())}/{total}"]
                 for part in PARTS])
    for qid, found in sorted(report.items()):
        for part, what in found.items():
            print(f"{qid}: {part}: {what}")
    if report:
        print(f"{len(report)} of {total} questions differ", file=sys.stderr)
        sys.exit(1)
    print(f"all {total} questions the same")


if __name__ == "__main__":
    main()
