"""`newsbot eval`: retrieval (and answer) metrics on a question file, through the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bot.context import index_dir_option, open_app


@click.command(name="eval")
@click.argument("questions", type=click.Path(path_type=Path))
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(min=1),
              help="Passages per question.")
@click.option("--out", type=click.Path(path_type=Path), help="Write one JSON line a question.")
@click.option("--answers", is_flag=True,
              help="Also answer each question (as `newsbot ask`) and score the answers.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@index_dir_option
@click.pass_context
def eval_(ctx: click.Context, questions: Path, k: int, out: Path | None, answers: bool,
          as_json: bool) -> None:
    """Measure retrieval on a question file: hits@1/5/10, MRR@10, latency.

    QUESTIONS is a JSON Lines file, one question a line: {"id": "q1", "date":
    "2023-03-12", "question": "...", "answer": "...", "gold_urls": ["https://..."]}.
    Only `question` is required; `date` is "today" for time words; `answer` and
    `gold_urls` are used for scoring only (a hit is a passage from a gold url that
    contains the answer). With --answers, each question is also answered: the share of
    answers containing the gold answer, decline rates (answerable questions and those
    with no gold url) and citations verified.

    Example: newsbot eval my-questions.jsonl --out results.jsonl --answers
    """
    from retrieval.app import AnswerReport, evaluate, read_questions
    from retrieval.errors import NewsbotError

    items = list(read_questions(questions))
    app = open_app(ctx)
    answer_report = AnswerReport()
    try:
        handle = open(out, "w", encoding="utf-8") if out else None  # noqa: SIM115
    except OSError as exc:
        raise NewsbotError(f"{out}: cannot write ({exc.strerror})") from None

    def write(question: Any, passages: list[Any]) -> None:
        record: dict[str, Any] = {"id": question.id, "passages": [
            {"url": p.url, "title": p.title, "text": p.text, "score": p.score}
            for p in passages]}
        if answers:
            answer = app.answer(question.question, today=question.date)
            answer_report.add(question, answer)
            record["answer"] = answer.to_dict()
        if handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    try:
        report = evaluate(app, items, k=k, on_result=write)
    finally:
        if handle:
            handle.close()
    metrics = report.as_dict()
    if answers:
        metrics.update(answer_report.as_dict())
    if as_json:
        click.echo(json.dumps(metrics))
        return
    click.echo(f"{metrics['questions']} questions, {metrics['answerable']} answerable")
    for key in ("hits@1", "hits@5", "hits@10", "mrr@10"):
        click.echo(f"{key:<8} {metrics[key]:.3f}")
    click.echo(f"latency  p50 {metrics['latency_p50_ms']:.1f} ms, "
               f"p95 {metrics['latency_p95_ms']:.1f} ms")
    click.echo(f"passages mean {metrics['mean_passage_chars']} characters")
    if answers:
        click.echo(f"answers  contain the gold answer {metrics['answer_contains_gold']:.3f}; "
                   f"declined {metrics['decline_rate_answerable']:.3f} of answerable, "
                   f"{metrics['decline_rate_probes']:.3f} of {metrics['probes']} probes; "
                   f"citations verified {metrics['citations_verified']}/"
                   f"{metrics['citations_total']}")
