from datetime import date

import pytest

from retrieval.search.timewords import parse_time_words

TODAY = date(2024, 6, 12)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "since", "until", "strict"),
    [
        ("What did the senate pass yesterday?", date(2024, 6, 11), date(2024, 6, 11), True),
        ("Who resigned today?", TODAY, TODAY, True),
        ("Which team won in 2023?", date(2023, 1, 1), date(2023, 12, 31), True),
        ("What happened in March 2022 in Kyiv?", date(2022, 3, 1), date(2022, 3, 31), True),
        ("How have prices moved since March?", date(2024, 3, 1), TODAY, True),
        ("What changed since September?", date(2023, 9, 1), TODAY, True),
        ("What did the court decide in the past 3 days?", date(2024, 6, 9), TODAY, True),
        ("Who won the election two weeks ago?", date(2024, 5, 26), date(2024, 6, 1), True),
        ("Who was elected last year?", date(2023, 1, 1), date(2023, 12, 31), True),
        ("Which company announced layoffs this week?", date(2024, 6, 5), TODAY, False),
        ("Who did the president meet last week?", date(2024, 5, 29), TODAY, False),
        ("What was recently discovered on Mars?", date(2024, 5, 29), TODAY, False),
        ("How many films were released this year?", date(2024, 1, 1), TODAY, False),
    ],
)
def test_time_words_become_windows(question: str, since: date, until: date, strict: bool) -> None:
    window = parse_time_words(question, TODAY)
    assert window is not None
    assert (window.since, window.until, window.strict) == (since, until, strict)


@pytest.mark.parametrize("question", [
    "Who may win the next election?",  # 'may' is a verb here
    "Which country hosted the 2022 World Cup?",  # a year as a name, not "in 2022"
    "Who is the CEO of Twitter?",
    "Which two supermarkets plan to merge in 2025?",  # after today: what will happen
    "Which athletes will compete in August 2024?",
])
def test_no_time_words(question: str) -> None:
    assert parse_time_words(question, TODAY) is None
