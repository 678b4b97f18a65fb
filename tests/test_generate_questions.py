"""How bench/generate_questions.py judges a written question and what it asks the model
(the model itself is not a newsbot dependency)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from generate_questions import items, prompt, usable

FACT = "The Marlow council named Ada Okafor harbour master after a vote on Tuesday."


def test_a_usable_question_names_the_fact_and_keeps_the_answer_back() -> None:
    assert usable("Whom did the Marlow council name harbour master?", FACT, "Ada Okafor")
    assert not usable("Which country has the largest population?", FACT, "Ada Okafor")
    # Naming the fact but holding the answer gives it away.
    assert not usable("Did the Marlow council name Ada Okafor harbour master?", FACT,
                      "Ada Okafor")


def test_items_drop_markup_and_facts_without_their_answer(tmp_path: Path) -> None:
    rows = [{"question": "Who?", "answer": "Ada Okafor", "date": "2023-08-01",
             "evidence": 'The <a href="https://x.test/a">council</a> named Ada Okafor.'},
            {"question": "Where?", "answer": "Rivermouth", "date": "2023-08-01",
             "evidence": "Nobody said where."}]
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    kept = items(path)
    assert [r["answer"] for r in kept] == ["Ada Okafor"]
    assert kept[0]["evidence"] == "The council named Ada Okafor."
    shot = {"evidence": FACT, "answer": "Ada Okafor", "question": "Who was named?"}
    text = prompt([shot], "Trams ran late.", "late")
    assert text.count("Fact:") == 2 and text.endswith("Answer: late\nQuiz question:")
    assert "Quiz question: Who was named?\n\n" in text
