"""The `newsbot` command line: a thin client over `retrieval`.

Heavy libraries (torch, chromadb) are imported inside commands, so `--help` is instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from corpus.errors import NewsbotError


class NewsbotGroup(click.Group):
    """Turns domain errors into a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NewsbotError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=NewsbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsbot")
@click.option("--index-dir", type=click.Path(path_type=Path), envvar="NEWSBOT_INDEX_DIR",
              help="Index folder (default: NEWSBOT_INDEX_DIR or ~/.local/share/newsbot/index).")
@click.pass_context
def cli(ctx: click.Context, index_dir: Path | None) -> None:
    """newsbot: ask questions about news articles and get answers with cited passages."""
    ctx.obj = {"index_dir": index_dir}


def _settings(ctx: click.Context):  # noqa: ANN202 - retrieval.settings.Settings
    from retrieval.settings import get_settings

    return get_settings(index_dir=ctx.obj.get("index_dir"))


def _open_index(ctx: click.Context):  # noqa: ANN202 - retrieval.index.NewsIndex
    from retrieval.index import NewsIndex

    return NewsIndex.open(_settings(ctx))


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Delete the index first (e.g. to switch models).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_context
def index(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, as_json: bool) -> None:
    """Index articles from PATHS (files or folders; default: the configured corpus).

    New articles are embedded, changed ones re-embedded, removed ones deleted and
    unchanged ones skipped. Reads .txt, .md, .html, .json, .jsonl and .jsonl.gz.

    Example: newsbot index ~/news/ feeds/today.jsonl.gz
    """
    from corpus.loader import load_articles
    from retrieval.index import NewsIndex

    settings = _settings(ctx)
    targets = list(paths) or [settings.corpus_dir]
    news_index = NewsIndex.open(settings)
    try:
        if rebuild:
            news_index.rebuild()
        else:
            news_index.check_model()
        loaded = load_articles(targets, settings.max_file_mb)
        for error in loaded.errors:
            click.secho(f"skipped {error}", fg="yellow", err=True)
        with _progress_bar(as_json) as progress:
            report = news_index.update(loaded, targets, progress=progress)
    finally:
        news_index.close()
    summary = report.as_dict()
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            "added {added}, updated {updated}, removed {removed}, unchanged {unchanged}, "
            "duplicates {duplicates}, failed {failed} ({chunks_embedded} chunks embedded "
            "in {seconds:.1f} s)".format(**summary)
        )
    if report.failed:
        ctx.exit(1)


class _progress_bar:  # noqa: N801 - used as a context manager like a function
    """A rich progress bar on a terminal. When stderr is a log file, a line now and then
    instead (a large corpus takes hours on a laptop: the log should say how far it got)."""

    log_every_s = 30.0

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = None
        self.task = None

    def __enter__(self):  # noqa: ANN204
        if self.quiet:
            return None
        if not sys.stderr.isatty():
            return self._log_lines()
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.bar.__enter__()

        def update(done: int, total: int) -> None:
            if self.task is None:
                self.task = self.bar.add_task("embedding articles", total=total)
            self.bar.update(self.task, completed=done, total=total)

        return update

    def _log_lines(self):  # noqa: ANN202 - Progress
        import time

        started = time.monotonic()
        last = started

        def update(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if done >= total or now - last < self.log_every_s:  # the summary says the end
                return
            last = now
            elapsed = now - started
            left = elapsed * (total - done) / done if done else 0.0
            click.echo(f"embedded {done}/{total} articles ({100 * done / max(1, total):.0f} %) "
                       f"in {elapsed / 60:.1f} min, about {left / 60:.0f} min left", err=True)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Show what the index holds: articles, chunks, sources, dates, model, size.

    Example: newsbot stats --json
    """
    from retrieval.manifest import Manifest

    settings = _settings(ctx)
    path = Path(settings.index_dir).expanduser() / "manifest.sqlite"
    if not path.exists():
        raise NewsbotError(f"no index at {path.parent}; run `newsbot index` first")
    # The manifest alone answers this, so stats needs neither Chroma nor the model.
    manifest = Manifest(path)
    try:
        data = manifest.describe()
    finally:
        manifest.close()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    first = (data["first_published"] or "?")[:10]
    last = (data["last_published"] or "?")[:10]
    click.echo(f"articles   {data['articles']} ({data['duplicates']} exact duplicates)")
    click.echo(f"chunks     {data['chunks']}")
    click.echo(f"sources    {len(data['sources'])}: " + ", ".join(
        f"{s} ({n})" for s, n in list(data["sources"].items())[:8]))
    click.echo(f"published  {first} .. {last}")
    click.echo(f"model      {data['model']}")
    click.echo(f"size       {data['size_bytes'] / 1e6:.1f} MB in {data['index_dir']}")


def _open_searcher(ctx: click.Context):  # noqa: ANN202 - retrieval.search.Searcher
    from retrieval.search import Searcher

    news_index = _open_index(ctx)
    news_index.check_model()
    if news_index.manifest.stats()["chunks"] == 0:
        raise NewsbotError(f"the index in {news_index.index_dir} is empty; run `newsbot index`")
    return Searcher(news_index)


def filter_options(command):  # noqa: ANN001, ANN201 - a click decorator
    """--source, --since, --until and --today, shared by search and ask."""
    for option in reversed([
        click.option("--source", "sources", multiple=True,
                     help="Only this outlet (repeatable)."),
        click.option("--since", help="Only articles published on or after this date "
                     "(YYYY-MM-DD)."),
        click.option("--until", help="Only articles published on or before this date "
                     "(YYYY-MM-DD)."),
        click.option("--today", help="The date time words such as 'last week' count from."),
    ]):
        command = option(command)
    return command


def _date_option(value: str | None, name: str):  # noqa: ANN202 - date | None
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2023-03-31", param_hint=name) \
            from None


@cli.command()
@click.argument("question")
@click.option("-k", "k", default=10, show_default=True, help="How many passages.")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, best first.")
@click.pass_context
def search(ctx: click.Context, question: str, k: int, sources: tuple[str, ...],
           since: str | None, until: str | None, today: str | None, as_json: bool) -> None:
    """Find the passages that best match QUESTION.

    Dense and keyword search are fused and reranked; time words in the question
    ("last week", "in 2023", "since March") narrow or favour dates.

    Example: newsbot search "Who won the World Cup final?" -k 5 --source "Touchline Press"
    """
    from retrieval.search import SearchFilters

    filters = SearchFilters(tuple(sources), _date_option(since, "--since"),
                            _date_option(until, "--until"))
    searcher = _open_searcher(ctx)
    result = searcher.search(question, k=k, filters=filters,
                             today=_date_option(today, "--today"))
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in result.passages], indent=2,
                              ensure_ascii=False))
        return
    if result.window:
        span = f"{result.window.since or '…'} .. {result.window.until or '…'}"
        kind = "only" if result.window.strict else "preferring"
        click.secho(f"'{result.window.phrase}': {kind} articles from {span}", dim=True)
    if not result.passages:
        click.echo("No passages found.")
    for n, p in enumerate(result.passages, start=1):
        day = (p.published_at or "undated")[:10]
        click.secho(f"[{n}] {p.title}", bold=True)
        click.secho(f"    {p.source} · {day} · score {p.score:.3f} · {p.url}", dim=True)
        flat = " ".join(p.text.split())
        text = flat if len(flat) <= 300 else flat[:300].rsplit(" ", 1)[0] + " …"
        click.echo(f"    {text}\n")


@cli.command(name="eval")
@click.argument("questions", type=click.Path(path_type=Path))
@click.option("-k", "k", default=10, show_default=True, help="Passages per question.")
@click.option("--out", type=click.Path(path_type=Path), help="Write one JSON line a question.")
@click.option("--answers", is_flag=True,
              help="Also answer each question (as `newsbot ask`) and score the answers.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.pass_context
def eval_(ctx: click.Context, questions: Path, k: int, out: Path | None, answers: bool,
          as_json: bool) -> None:
    """Measure retrieval on a question file: hits@1/5/10, MRR@10, latency.

    Each question goes through exactly the search the chat uses, with its `date` as
    "today"; answers and gold urls are used for scoring only. With --answers, each
    question is also answered: the share of answers containing the gold answer, decline
    rates (answerable questions and questions with no gold url) and citations verified.

    Example: newsbot eval ../shared/data/news-dev-small/questions.jsonl --out results.jsonl
    """
    from retrieval.evaluation import AnswerReport, evaluate, read_questions

    items = list(read_questions(questions))
    answerer = build_answerer(ctx) if answers else None
    searcher = answerer.searcher if answerer else _open_searcher(ctx)
    answer_report = AnswerReport()
    handle = open(out, "w", encoding="utf-8") if out else None  # noqa: SIM115

    def write(question, passages) -> None:  # noqa: ANN001
        record: dict = {"id": question.id, "passages": [
            {"url": p.url, "title": p.title, "text": p.text, "score": p.score}
            for p in passages]}
        if answerer:
            answer = answerer.answer(question.question, today=question.date)
            answer_report.add(question, answer)
            record["answer"] = answer.to_dict()
        if handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    try:
        report = evaluate(searcher, items, k=k, on_result=write)
    finally:
        if handle:
            handle.close()
    metrics = report.as_dict()
    if answerer:
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
    if answerer:
        click.echo(f"answers  contain the gold answer {metrics['answer_contains_gold']:.3f}; "
                   f"declined {metrics['decline_rate_answerable']:.3f} of answerable, "
                   f"{metrics['decline_rate_probes']:.3f} of {metrics['probes']} probes; "
                   f"citations verified {metrics['citations_verified']}/"
                   f"{metrics['citations_total']}")


def build_answerer(ctx: click.Context):  # noqa: ANN201 - retrieval.chain.Answerer
    from retrieval.chain import Answerer
    from retrieval.llm import make_chat_model

    settings = _settings(ctx)
    return Answerer(_open_searcher(ctx), make_chat_model(settings), settings)


@cli.command()
@click.argument("question")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the whole answer as JSON.")
@click.pass_context
def ask(ctx: click.Context, question: str, sources: tuple[str, ...], since: str | None,
        until: str | None, today: str | None, as_json: bool) -> None:
    """Answer QUESTION from the indexed articles, citing passages as [n].

    Without an LLM configured the answer is extractive: the best passage sentences,
    word for word. With NEWSBOT_LLM_PROVIDER set, a chat model writes it and every
    citation is checked against its passage.

    Example: newsbot ask "Who won the World Cup final in Qatar?"
    """
    from rich.console import Console

    from bot.render import print_answer
    from retrieval.search import SearchFilters

    filters = SearchFilters(tuple(sources), _date_option(since, "--since"),
                            _date_option(until, "--until"))
    answerer = build_answerer(ctx)
    console = Console(highlight=False)
    streamed = answerer.chat_model is not None and not as_json and console.is_terminal
    on_token = (lambda t: console.print(t, end="", markup=False)) if streamed else None
    answer = answerer.answer(question, filters=filters, today=_date_option(today, "--today"),
                             on_token=on_token)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    if streamed:
        console.print()
    print_answer(console, answer, streamed=streamed)


@cli.command()
@click.pass_context
def chat(ctx: click.Context) -> None:
    """A terminal chat: ask, ask follow-ups, see the sources.

    Commands inside the chat: /sources, /reset, /help, /quit. Ctrl-C cancels an
    answer, Ctrl-D or /quit leaves.

    Example: newsbot chat
    """
    from bot.chat import run_chat

    run_chat(build_answerer(ctx), _settings(ctx))


def main() -> None:
    cli(prog_name="newsbot")
