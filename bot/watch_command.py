"""`newsbot watch`: the index follows the corpus folders (and the feeds) by itself."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click

from bot.context import error_text, index_dir_option, open_app, settings_of


@click.command()
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@click.option("--no-feeds", is_flag=True, help="Do not poll the feeds, only watch folders.")
@index_dir_option
@click.pass_context
def watch(ctx: click.Context, folders: tuple[Path, ...], no_feeds: bool) -> None:
    """Keep the index in step with FOLDERS (default: the configured corpus) and the feeds.

    Files added, changed or deleted are indexed within seconds of the last change
    (NEWSBOT_WATCH_DEBOUNCE_S); feeds are polled every NEWSBOT_WATCH_POLL_MINUTES.
    A failure is logged and the watch goes on. Ctrl-C or SIGTERM stops it cleanly,
    between two batches of an index run.

    Example: newsbot watch ~/news/
    """
    from retrieval.errors import NewsbotError

    settings = settings_of(ctx)
    targets = list(folders) or [Path(settings.index.corpus_dir)]
    for folder in targets:
        if not folder.expanduser().is_dir():
            raise NewsbotError(f"{folder}: not a folder (newsbot watch follows folders)")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    app = open_app(ctx, create=True)
    from bot.follow_commands import print_notices

    # After each run that changed something: the stories of your follows it brought.
    watcher = app.watcher(targets, with_feeds=not no_feeds, describe=error_text,
                          on_indexed=lambda _: print_notices(app))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: watcher.stop.set())
    click.echo(f"watching {', '.join(str(t) for t in targets)} (Ctrl-C stops)", err=True)
    watcher.run()
    click.echo(f"stopped after {watcher.runs} index run(s)", err=True)
