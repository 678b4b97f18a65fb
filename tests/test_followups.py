"""Follow-ups that name nothing ("Was anyone hurt?", "And the cost?") take their subject
from the conversation, in the terminal chat and through the Discord bot alike, over a
real index of four hand-written articles (the bundled model, the shipped decline point).
Both front ends ask through the core's bounded `Conversation`."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from bot.discord.client import NewsbotClient
from bot.discord.conversation import Conversations
from bot.settings import BotSettings, bot_settings
from retrieval.app import Conversation, NewsApp
from retrieval.settings.index import BUNDLED_MODEL
from standins.discord_server import ClientThread, FakeDiscord

pytestmark = pytest.mark.slow

ARTICLES = {
    "mount-terran.md": ("Mount Terran erupts, forcing thousands from their homes",
                        "Ridge Courier", "2025-03-11",
                        "Mount Terran erupted before dawn on Tuesday, throwing a column of ash "
                        "eight kilometres over the Ostel valley. Civil protection officers "
                        "evacuated 5,400 people from nine villages on the eastern flank within "
                        "six hours. Three hikers were injured by falling stones near the summit "
                        "trail and were flown to hospital in Varna Bay. Regional officials put "
                        "the cost of the clean-up and of repairing the roads at 42 million "
                        "euros."),
    "paint-works.md": ("Fire guts the Brackwell paint works", "Valley Post", "2025-03-08",
                       "A fire tore through the Brackwell paint works on Friday night. "
                       "Fourteen workers were hurt, two of them seriously, when a solvent tank "
                       "exploded. Firefighters needed eleven hours to put out the blaze."),
    "harbour-bridge.md": ("Osterby opens its harbour bridge", "Coastal Ledger", "2025-03-03",
                          "The harbour bridge in Osterby opened to traffic on Monday after four "
                          "years of work. It cost 260 million dollars, shared by the city and "
                          "the national government. About 30,000 vehicles a day are expected "
                          "to cross it."),
    "mayor.md": ("Lena Marsh elected mayor of Quill Harbour", "Coastal Ledger", "2025-02-24",
                 "Lena Marsh won the mayoral election in Quill Harbour on Sunday with 58 per "
                 "cent of the vote. She promised to build 2,000 homes and to reopen the town's "
                 "ferry to the islands."),
    # Two games of the same teams: a follow-up is about the one the answer quoted.
    "owls-overtime.md": ("Pike's 48 carry Kestrel Bay past the Owls in overtime",
                         "Court Report", "2025-03-10",
                         "Dana Pike scored 48 points as Kestrel Bay beat the Harrow Owls "
                         "112-104 in overtime on Monday night. The Owls had led by 15 at "
                         "half-time before Pike made nine of his last ten shots."),
    "owls-rematch.md": ("Owls hold off Kestrel Bay in the rematch", "Court Report",
                        "2025-03-15",
                        "The Harrow Owls beat Kestrel Bay 99-91 on Saturday in the rematch of "
                        "Monday's overtime game. Dana Pike scored 22 points for Kestrel Bay, "
                        "who lost their centre to a knee injury early in the game."),
}
FIRST = "How many people were evacuated after Mount Terran erupted?"
TERRAN = "Mount Terran erupts"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("followups") / "articles"
    folder.mkdir()
    for name, (title, source, day, text) in ARTICLES.items():
        (folder / name).write_text(f'---\ntitle: "{title}"\nsource: "{source}"\n'
                                   f'published_at: "{day}"\nurl: "https://hand.newsbot.example/'
                                   f'{name[:-3]}"\n---\n\n{text}\n', encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def settings(corpus: Path) -> BotSettings:
    return bot_settings(index_dir=corpus.parent / "index", embedding_model=BUNDLED_MODEL,
                        discord_user_cooldown=0.0,
                        discord_guild_per_minute=10_000,
                        discord_feedback_db=corpus.parent / "feedback.sqlite")


@pytest.fixture(scope="module")
def app(corpus: Path, settings: BotSettings) -> Iterator[NewsApp]:
    opened = NewsApp.open(settings, chat_model=None, create=True)
    opened.index([corpus])
    yield opened
    opened.close()


def cited(answer) -> list[str]:
    return [s.title for s in answer.sources]


def test_a_follow_up_naming_nothing_is_asked_about_the_conversation(app: NewsApp) -> None:
    first, conversation = Conversation().ask(app, FIRST)
    assert "5,400" in first.text and cited(first)[0].startswith(TERRAN)
    hurt, after = conversation.ask(app, "Was anyone hurt?")
    assert not hurt.declined and cited(hurt)[0].startswith(TERRAN), hurt.text
    assert "hikers" in hurt.text
    assert "Terran" in hurt.standalone_question  # the subject, spelled out
    cost, _ = after.ask(app, "And the cost?")
    assert "42 million" in cost.text and cited(cost)[0].startswith(TERRAN), cost.text


def test_a_follow_up_stays_with_the_story_the_answer_quoted(app: NewsApp) -> None:
    """Two reports name the same players; the follow-up leans toward the one quoted."""
    first, conversation = Conversation().ask(
        app, "How many points did Dana Pike score against the Harrow Owls?")
    assert not first.declined and cited(first)[0].startswith(("Pike's 48", "Owls hold off"))
    score, _ = conversation.ask(app, "What was the final score?")
    assert not score.declined and cited(score)[0] == cited(first)[0], score.text
    right, wrong = ("112-104", "99-91") if "48" in first.text else ("99-91", "112-104")
    assert right in score.text and wrong not in score.text, score.text


def test_a_follow_up_with_a_subject_of_its_own_is_left_alone(app: NewsApp) -> None:
    _, conversation = Conversation().ask(app, FIRST)
    fire, _ = conversation.ask(app, "How many workers were hurt at the Brackwell paint works?")
    assert fire.standalone_question == fire.question  # nothing of the volcano carried in
    assert cited(fire)[0] == "Fire guts the Brackwell paint works"
    assert "Fourteen" in fire.text


def test_the_conversation_is_bounded(app: NewsApp) -> None:
    conversation = Conversation()
    questions = [FIRST, "Who was elected mayor of Quill Harbour?",
                 "How much did the Osterby harbour bridge cost?",
                 "How many workers were hurt at the Brackwell paint works?",
                 "How many homes did Lena Marsh promise?",
                 "How many vehicles will cross the Osterby bridge each day?",
                 "How long did firefighters fight the Brackwell blaze?"]
    for question in questions:
        answer, conversation = conversation.ask(app, question)
        assert not answer.declined, question
    assert len(conversation.turns) == conversation.limit == 6
    assert [q for q, _ in conversation.turns] == questions[1:]  # the oldest dropped
    # A declined turn is kept without its text: what was asked is still the subject.
    declined = Conversation(limit=2).after(answer.__class__(
        question="Who won the Quill Harbour regatta?", text="The indexed articles don't cover "
        "this.", sources=[], declined=True, standalone_question="Who won the regatta?"))
    assert declined.turns == (("Who won the regatta?", ""),)


def test_discord_threads_keep_the_core_s_bounded_conversation() -> None:
    conversations = Conversations()
    turns = [(f"question {i}?", f"answer {i}.") for i in range(10)]
    conversations.open_thread(1, turns)
    assert conversations.thread_history(1) == turns[-Conversation().limit:]


@pytest.fixture
def chat_env(corpus: Path, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(tmp_path / "index"),
           "NEWSBOT_EMBEDDING_MODEL": BUNDLED_MODEL, "HF_HUB_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False", "HOME": str(tmp_path),
           "NEWSBOT_CHAT_HISTORY_FILE": str(tmp_path / "history.txt"),
           "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "COLUMNS": "160", "LINES": "40"}
    subprocess.run([sys.executable, "-m", "bot", "index", str(corpus)], env=env, check=True,
                   capture_output=True)
    return env


def test_the_terminal_chat_follows_up(chat_env: dict[str, str]) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "bot", "chat"], env=chat_env,
                          encoding="utf-8", timeout=60, dimensions=(40, 160))
    child.expect("you>")
    child.sendline(FIRST)
    child.expect("5,400")
    child.expect("you>")
    child.sendline("Was anyone hurt?")
    # The first source's link, or the decline this used to be.
    declined = child.expect([r"https://hand\.newsbot\.example/([a-z-]+)", "don't cover this"])
    said = child.before
    assert not declined, said
    first_source = child.match.group(1)
    assert "hikers" in said and "Brackwell" not in said, said
    assert first_source == "mount-terran"
    child.expect("you>")
    child.sendline("/quit")
    child.expect(pexpect.EOF)


def test_a_reply_on_discord_follows_up(app: NewsApp, settings: BotSettings) -> None:
    server = FakeDiscord(heartbeat_interval=0.5)
    with server.running():
        client = NewsbotClient(app, settings, None, guild_ready_timeout=0.1)
        bot = ClientThread(client, server.token).start()
        try:
            channel = server.channel_id("news")
            asked = server.message_create(f"<@{server.bot_id}> {FIRST}", mentions_bot=True,
                                          channel_id=channel)
            first = server.wait_for_message(channel, lambda m: bool(m.embeds) and (
                m.message_reference or {}).get("message_id") == asked["id"], timeout=30)
            server.wait_until(lambda: client.conversations.knows(first.id))
            follow = server.message_create(f"<@{server.bot_id}> Was anyone hurt?",
                                           mentions_bot=True, channel_id=channel,
                                           reference=first.id)
            second = server.wait_for_message(channel, lambda m: bool(m.embeds) and (
                m.message_reference or {}).get("message_id") == follow["id"], timeout=30)
        finally:
            bot.stop()
    embed = second.embeds[0]
    assert "hikers" in embed["description"], embed
    assert embed["fields"][0]["name"].startswith("[1] ") and TERRAN in embed["fields"][0]["name"]
