"""The bot running the watch loop in its own process: it indexes a file dropped into the
corpus folder while it keeps answering, and posts the new headline to the news channel
without pinging anyone."""

from pathlib import Path

from conftest import story, write_article

from bot.discord.client import NewsbotClient
from bot.settings import bot_settings
from retrieval.app import NewsApp
from retrieval.feedback import FeedbackStore
from retrieval.index.embedding import HashEmbedder
from standins.discord_server import ClientThread, FakeDiscord


def test_the_bot_indexes_new_files_and_posts_their_headlines(tmp_path: Path) -> None:
    corpus = tmp_path / "news"
    write_article(corpus, "first.md", "Harbour reopens after the storm", story("harbour"))
    server = FakeDiscord(heartbeat_interval=0.5)
    news_channel = server.channel_id("news")
    settings = bot_settings(corpus_dir=corpus, decline_below=0.0, discord_watch=True,
                            discord_news_channel=news_channel, watch_debounce_s=0.3,
                            discord_user_cooldown=0.0,
                            discord_feedback_db=tmp_path / "feedback.sqlite")
    app = NewsApp.open(settings, embedder=HashEmbedder(), chat_model=None, create=True)
    feedback = FeedbackStore(settings.answers.feedback_db)
    with server.running():
        bot = ClientThread(NewsbotClient(app, settings, feedback, guild_ready_timeout=0.1),
                           server.token).start()
        try:
            posted = server.wait_for_message(
                news_channel, lambda m: "Harbour reopens" in str(m.embeds), timeout=20)
            write_article(corpus, "second.md", "Tram line opens downtown", story("trams"))
            later = server.wait_for_message(
                news_channel, lambda m: "Tram line opens downtown" in str(m.embeds), timeout=20)
            assert posted.allowed_mentions == later.allowed_mentions == {"parse": []}
            assert later.embeds[0]["title"] == "Newly indexed"
            ask = server.slash("ask", {"question": "Which tram line opened downtown?"})
            server.wait_until(lambda: any(m.embeds for m in server.messages_in(
                server.channel_id()) if m.id == ask.original), timeout=20)
        finally:
            bot.stop()
    feedback.close()
    app.close()
