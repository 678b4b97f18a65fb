"""A new user's questions, through `newsbot ask --json` end to end with the real bundled
model, on a hand-written corpus of eight invented articles (tests/hand_corpus/, dated
2023 and 2024): the bold lead names the answer, archive questions are answered whatever
today's date is, questions the corpus cannot answer are declined, and only sentences of
the answer's own story join it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CORPUS = Path(__file__).resolve().parent / "hand_corpus"
REPO = CORPUS.parent.parent


def _env(index_dir: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(index_dir.parent), "HF_HUB_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False", "NEWSBOT_INDEX_DIR": str(index_dir),
            "PYTHONPATH": str(REPO)}  # this checkout's code, wherever the test runs


@pytest.fixture(scope="module")
def hand_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("hand") / "index"
    done = subprocess.run([sys.executable, "-m", "bot", "index", str(CORPUS)],
                          env=_env(index_dir), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "failed 0" in done.stdout
    return index_dir


def ask(index_dir: Path, question: str, today: str | None = None) -> dict:
    """`newsbot ask QUESTION --json`, asked today (no --today: the real date)."""
    when = ["--today", today] if today else []
    done = subprocess.run([sys.executable, "-m", "bot", "ask", question, "--json", *when],
                          env=_env(index_dir), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# One-phrase answers: the answer holds it, and a bold lead, when one is given, is the
# answer itself word for word ("**Quay Street**" for the mayor was the bug). Whether a
# lead is given is the fitted threshold's call: fitted on news-dev it is high
# (bench/README.md), so the test does not demand one.
LEADS = {
    "Who won the Marlow Book Prize?": "Edith Carrow",
    "How many qubits does the Aurora processor have?": "412",
    "Who is the mayor of Harbor City?": "Dana Whitfield",
    "How much did the Harbor City tram line cost to build?": "310 million dollars",
    "How many residents were evacuated after Mount Keld erupted?": "3,200",
}


@pytest.mark.parametrize("question", list(LEADS))
def test_the_answer_and_its_lead_name_the_answer(hand_index: Path, question: str) -> None:
    answer = ask(hand_index, question)
    assert not answer["declined"], answer["text"]
    lead, expected = answer["short_answer"], LEADS[question]
    assert lead in (None, expected), answer["text"]
    assert expected in answer["text"]
    if lead:
        assert answer["text"].startswith(f"**{lead}** — ")
    assert answer["citations_verified"] == answer["citations_total"] >= 1


# Archive questions, asked with today's real date (years after the articles): what the
# articles say is the answer, not how old they are.
ARCHIVE = {
    "What did regulators do in March 2023?": ("regulators", "fined Coastline Bank"),
    "What happened at Mount Keld in January 2024?": ("volcano", "Mount Keld erupted"),
    "Which novel won the Marlow Book Prize in 2024?": ("book-prize", "The Salt Orchard"),
}


@pytest.mark.parametrize("question", list(ARCHIVE))
def test_archive_questions_are_answered_whatever_the_date(hand_index: Path,
                                                          question: str) -> None:
    article, words = ARCHIVE[question]
    answer = ask(hand_index, question)
    assert not answer["declined"], answer["text"]
    assert words in answer["text"]
    assert answer["sources"][0]["url"].endswith(f"/{article}")


# Questions about what no article tells, sharing words or names with one that does
# ("won", "prize", "Tarsk"). Asked today and the week after the newest article: the
# articles' age is no reason to decline, nor their freshness one to answer. (Still
# answered, from the article that shares the name: "Who won the Harbor City marathon?",
# "How much did the Rivermouth bridge cost?"; bench/README.md says what is missing.)
OFF_CORPUS = [
    "Which team won the Stanley Cup?",
    "Who won the Tour de France?",
    "Who won the Nobel Prize in Literature?",
    "How many people died in the Tarsk earthquake?",
]


@pytest.mark.parametrize("today", [None, "2024-02-20"])
def test_questions_the_corpus_cannot_answer_are_declined(hand_index: Path,
                                                         today: str | None) -> None:
    answered = {}
    for question in OFF_CORPUS:
        answer = ask(hand_index, question, today)
        if not answer["declined"] or answer["sources"]:
            answered[question] = answer["text"]
    assert answered == {}


def test_only_sentences_of_the_same_story_join(hand_index: Path) -> None:
    """The tram's cost is not followed by the library's (another Harbor City article
    that also names a sum), nor the eruption by another coast's rescue."""
    tram = ask(hand_index, "How much did the Harbor City tram line cost to build?")
    assert "310 million dollars" in tram["text"]
    assert "45 million dollars" not in tram["text"]
    assert {s["url"].rsplit("/", 1)[1] for s in tram["sources"]} == {"tram"}
    volcano = ask(hand_index, "How many residents were evacuated after Mount Keld erupted?")
    assert "3,200 residents" in volcano["text"]
    assert "Rivermouth" not in volcano["text"] and "fishermen" not in volcano["text"]
