from conftest import DEV_SMALL, SEED, needs_dev_small, needs_seed

from corpus import load_articles
from corpus.cleaning import clean_text


@needs_seed
def test_seed_boilerplate_removed_and_story_kept() -> None:
    raw = SEED.read_text(encoding="utf-8")
    cleaned = clean_text("\n".join(raw.split("\n")[1:]))
    assert "Get daily world news" not in cleaned.text
    assert "delivered to your inbox" not in cleaned.text
    assert "©" not in cleaned.text
    assert cleaned.outlet == "The Canadian Press"
    # Every other line of the story survives, word for word.
    boilerplate = ("Get daily world news", "Get the day", "©")
    story_lines = [
        line.strip() for line in raw.split("\n")[1:]
        if line.strip() and not line.strip().startswith(boilerplate)
    ]
    assert len(story_lines) > 15
    for line in story_lines:
        assert line in cleaned.text


def test_rules_do_not_touch_story_sentences_that_mention_the_words() -> None:
    story = (
        "The council said the newsletter it mails to residents will now be printed locally.\n"
        "Officials would not share details of the advertisement campaign before Friday.\n"
        "Copyright lawyers for the band argued the song was original."
    )
    assert clean_text(story).text == story


def test_share_prompts_cookie_notices_ads_and_menus() -> None:
    menu = "\n".join(["Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado",
                      "Connecticut", "Delaware", "Florida"])
    raw = (
        "Advertisement\nShare this article\nWe use cookies to improve your experience.\n"
        f"{menu}\nThe river rose two metres overnight.\nFollow Jo Smith on Twitter: @jo\n"
        "© 2024 River Post. All rights reserved."
    )
    cleaned = clean_text(raw)
    assert cleaned.text == "The river rose two metres overnight."
    assert cleaned.outlet == "River Post"


def test_outlet_from_each_spelling_of_a_copyright_line() -> None:
    lines = {
        "© 2024 River Post. All rights reserved.": "River Post",
        "Copyright © 2021-2024 Hill Gazette": "Hill Gazette",
        "© Copyright 2023, Lakeside Register and Tribune Co.": "Lakeside Register and Tribune Co",
        "(c) 2022 Valley Times": "Valley Times",
    }
    for line, outlet in lines.items():
        assert clean_text(f"The bridge reopened on Monday.\n{line}").outlet == outlet, line


@needs_dev_small
def test_real_articles_lose_their_boilerplate() -> None:
    articles = load_articles([DEV_SMALL / "articles.jsonl.gz"]).articles
    bodies = "\n".join(a.body for a in articles)
    for phrase in ("How relevant is this ad to you?", "please tick here",
                   "Would you like to receive The WeekDay newsletter",
                   "delivered to your inbox daily. Sign up here"):
        assert phrase not in bodies
    # A story sentence from the same data that must stay.
    assert any("Damar Hamlin" in a.body and "breathing tube" in a.body for a in articles)
