"""The exact-query check (bench/same_answers.py): two eval files of the same questions
compared answer by answer and passage by passage."""

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO

from bench.same_answers import compare


def record(qid: str, text: str, urls: list[str], lead: str | None = None,
           score: float = 1.0) -> dict:
    return {"id": qid,
            "passages": [{"url": u, "title": "", "text": f"text of {u}", "score": score}
                         for u in urls],
            "answer": {"text": text, "short_answer": lead, "declined": False,
                       "sources": [{"url": u} for u in urls[:1]]}}


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_the_same_runs_compare_equal_and_exit_0(tmp_path: Path) -> None:
    rows = [record("q1", "The harbour reopened [1].", ["a", "b"], "Tuesday"),
            record("q2", "Rain fell [1].", ["c"])]
    before, after = write(tmp_path / "b.jsonl", rows), write(tmp_path / "a.jsonl", rows)
    assert compare(before, after) == {}
    run = subprocess.run([sys.executable, "-m", "bench.same_answers", str(before), str(after)],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0 and "all 2 questions the same" in run.stdout


def test_each_kind_of_difference_is_named(tmp_path: Path) -> None:
    before = write(tmp_path / "b.jsonl", [
        record("q1", "The harbour reopened [1].", ["a", "b"], "Tuesday"),
        record("q2", "Rain fell [1].", ["c", "d"]),
        record("q3", "Trams ran [1].", ["e"], score=0.5),
        record("q4", "Gone [1].", ["f"])])
    after = write(tmp_path / "a.jsonl", [
        record("q1", "The harbour reopened on Tuesday [1].", ["a", "b"], None),
        record("q2", "Rain fell [1].", ["c", "x"]),
        record("q3", "Trams ran [1].", ["e"], score=0.5001)])
    report = compare(before, after)
    assert set(report["q1"]) == {"answer", "lead"}
    assert report["q2"] == {"passages": "first differs at 2 of 2 / 2"}
    assert set(report["q3"]) == {"passage scores"}
    assert "only in" in report["q4"]["question"]
    assert compare(before, after, places=3).get("q3") is None  # within three places
    run = subprocess.run([sys.executable, "-m", "bench.same_answers", str(before), str(after)],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 1 and "4 of 4 questions differ" in run.stderr
