"""The reader's trainer (`training/`): SQuAD's examples and official scoring, windows over
long passages, and a training run that resumes where it stopped."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from training.loop import Schedule, same_run, train
from training.squad import (
    Example,
    best_over_gold,
    dev_trained,
    f1,
    names_and_numbers,
    normalise,
    swapped_question,
    training_examples,
    without_answer,
)
from training.squad_report import report
from training.windows import length_batches, make_windows, tokenizer_for

ARTICLE = {"title": "Harbour", "paragraphs": [
    {"context": "The Tidewater bridge opened in 1931 and was painted green by Mara Velt.",
     "qas": [{"id": "q1", "question": "Who painted the bridge?",
              "answers": [{"text": "Mara Velt", "answer_start": 61}]}]},
    {"context": "Ferries crossed the harbour every hour until the bridge opened.",
     "qas": [{"id": "q2", "question": "How often did ferries cross?",
              "answers": [{"text": "every hour", "answer_start": 28}]}]},
    {"context": "Mara Velt also designed the lighthouse on the northern pier.",
     "qas": []},
]}


@pytest.fixture(scope="module")
def tokenizer():
    from training.reader_model import base_dir

    return tokenizer_for(base_dir())


def test_answers_are_compared_the_official_way() -> None:
    assert normalise("The  Eiffel Tower!") == "eiffel tower"
    assert best_over_gold("eiffel tower", ["The Eiffel Tower", "Paris"]) == (1.0, 1.0)
    assert f1("the old Eiffel Tower", "Eiffel Tower") == pytest.approx(2 * (2 / 3) * 1 / (5 / 3))
    # A question without an answer is right only when nothing is said.
    assert best_over_gold("", []) == (1.0, 1.0)
    assert best_over_gold("Paris", []) == (0.0, 0.0)
    assert best_over_gold("", ["Paris"]) == (0.0, 0.0)


def test_each_question_is_also_asked_of_a_paragraph_without_its_answer() -> None:
    examples = training_examples([ARTICLE], seed=1, no_answer=1.0)
    answered = [e for e in examples if e.span is not None]
    assert [e.context[e.span[0]:e.span[1]] for e in answered] == ["Mara Velt", "every hour"]
    unanswered = [e for e in examples if e.span is None]
    by_question = {e.question: e.context for e in unanswered}
    # "Mara Velt" is in the third paragraph too: never the no-answer context for q1.
    assert by_question["Who painted the bridge?"] == ARTICLE["paragraphs"][1]["context"]
    assert "every hour" not in by_question["How often did ferries cross?"]
    assert training_examples([ARTICLE], seed=1, no_answer=0.0) == answered


def test_the_hard_no_answer_takes_the_answers_sentence_out_of_its_own_paragraph() -> None:
    context = ("The Tidewater bridge opened in 1931. It was painted green by Mara Velt. "
               "Ferries stopped running that year.")
    start = context.index("Mara Velt")
    cut = without_answer(context, (start, start + 9), "Mara Velt")
    assert cut == "The Tidewater bridge opened in 1931. Ferries stopped running that year."
    assert without_answer(context[:context.index(" Ferries")], (start, start + 9),
                          "Mara Velt") is None  # one sentence would be left
    again = context + " Mara Velt lived nearby."
    assert without_answer(again, (start, start + 9), "Mara Velt") is None  # still said

    paragraph = {"context": context, "qas": [
        {"id": "q1", "question": "Who painted the bridge?",
         "answers": [{"text": "Mara Velt", "answer_start": start}]}]}
    article = {"title": "Bridge", "paragraphs": [paragraph]}
    plain = training_examples([article], seed=1)
    assert training_examples([article], seed=1, removed=0.0) == plain  # nothing drawn
    hard = [e for e in training_examples([article], seed=1, removed=1.0)
            if e.id.endswith("-cut")]
    assert [(e.context, e.span, e.answers) for e in hard] == [(cut, None, ())]


def test_a_swapped_question_names_what_its_own_paragraph_never_says() -> None:
    context = ("The Tidewater bridge opened in 1931. It was painted green by Mara Velt. "
               "In June the ferries of Port Anwen stopped.")
    other = "Otto Brill built the Kessel tower of The Hague in 1950."
    names, numbers = names_and_numbers(f"{context} {other}")
    # A sentence's capitalised first word is not taken for a name.
    assert names == ["Tidewater", "Mara Velt", "June", "Port Anwen", "Brill", "Kessel",
                     "The Hague"]
    assert numbers == ["1931", "1950"]
    rng = random.Random(3)
    asked = {swapped_question("Who painted the Tidewater bridge in 1931?", context,
                              (names, numbers), rng) for _ in range(40)}
    # Only what the paragraph says is changed, and only for a name about as long that it
    # never says.
    assert asked == {"Who painted the Brill bridge in 1931?",
                     "Who painted the Kessel bridge in 1931?",
                     "Who painted the The Hague bridge in 1931?",
                     "Who painted the Tidewater bridge in 1950?"}
    assert swapped_question("Who painted the bridge?", context, (names, numbers), rng) is None

    article = {"title": "Bridge", "paragraphs": [
        {"context": context, "qas": [
            {"id": "q1", "question": "Who painted the Tidewater bridge?",
             "answers": [{"text": "Mara Velt", "answer_start": context.index("Mara")}]}]},
        {"context": other, "qas": []}]}
    plain = training_examples([article], seed=1)
    assert training_examples([article], seed=1, swapped=0.0) == plain  # nothing drawn
    hard = [e for e in training_examples([article], seed=1, swapped=1.0)
            if e.id.endswith("-swap")]
    assert len(hard) == 1 and (hard[0].context, hard[0].span, hard[0].answers) == (
        context, None, ())
    assert hard[0].question in {"Who painted the Brill bridge?", "Who painted the Kessel bridge?",
                                "Who painted the The Hague bridge?"}


def test_a_long_passage_is_read_in_overlapping_windows_that_label_the_answer(tokenizer) -> None:
    filler = " ".join(f"Sentence {i} says nothing about the race." for i in range(60))
    context = filler + " The race was won by Ilse Brandauer of Graz."
    start = context.index("Ilse Brandauer")
    example = Example("x", "Who won the race?", context, (start, start + len("Ilse Brandauer")))
    windows = make_windows(tokenizer, [example])
    assert len(windows) > 2 and all(len(w.ids) <= 256 for w in windows)
    labelled = [w for w in windows if w.start]
    assert labelled, "the last window holds the answer"
    for w in labelled:
        first, last = w.offsets[w.start][0], w.offsets[w.end][1]
        assert context[first:last] == "Ilse Brandauer"
    assert windows[0].start == windows[0].end == 0  # the first window lacks it


def test_batches_hold_similar_lengths_and_cover_every_window_once(tokenizer) -> None:
    examples = [Example(str(i), "What?", "word " * (5 + 7 * i), None) for i in range(40)]
    windows = make_windows(tokenizer, examples)
    batches = length_batches(windows, 4, seed=3, pool=5)
    assert sorted(i for b in batches for i in b) == list(range(len(windows)))
    spread = [max(len(windows[i].ids) for i in b) - min(len(windows[i].ids) for i in b)
              for b in batches]
    assert np.mean(spread) < 0.25 * (max(len(w.ids) for w in windows) - 10)
    assert batches == length_batches(windows, 4, seed=3, pool=5)


def test_the_no_answer_threshold_is_fitted_on_one_half_and_reported_on_the_other() -> None:
    examples, predictions = [], []
    for article in range(4):
        examples.append(Example(f"a{article}", "q", "c", (0, 1), ("Ada Lovelace",), article))
        predictions.append(("Ada Lovelace", 3.0 + article))
        examples.append(Example(f"n{article}", "q", "c", None, (), article))
        predictions.append(("Charles", -2.0 - article))
    figures = report(examples, predictions)
    assert figures["questions"] == 4 and figures["answerable"] == 2
    assert -4.0 < figures["threshold"] <= 3.0
    assert figures["all_f1"] == 100.0 and figures["answerable_f1"] == 100.0
    assert figures["unanswerable_declined"] == 100.0
    assert figures["all_f1_always_no_answer"] == 50.0


def test_a_reader_trained_on_devs_fit_half_is_thresholded_on_what_it_did_not_see() -> None:
    dev = [Example(f"{a}-{p}", "q", "c", None, (), a, p) for a in range(4) for p in range(10)]
    trained = {(e.article, e.paragraph) for e in dev if dev_trained(e)}
    # Never the reported half (odd articles); every fifth paragraph left for the threshold.
    assert trained == {(a, p) for a in (0, 2) for p in (0, 1, 2, 3, 5, 6, 7, 8)}

    # Margins on what it learnt from are far surer than on anything else: a threshold
    # chosen there would take back every held-out answer.
    examples, predictions = [], []
    for e in dev:
        seen = dev_trained(e)
        examples.append(Example(e.id + "a", "q", "c", (0, 1), ("Ada",), e.article, e.paragraph))
        predictions.append(("Ada", 20.0 if seen else 2.0))
        examples.append(Example(e.id + "n", "q", "c", None, (), e.article, e.paragraph))
        predictions.append(("Bob", 10.0 if seen else -2.0))
    assert report(examples, predictions)["all_f1"] < 60
    figures = report(examples, predictions, trained_on_dev=True)
    assert -2.0 < figures["threshold"] <= 2.0 and figures["all_f1"] == 100.0


def tiny_reader(tokenizer):
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, max_position_embeddings=256)
    return BertForQuestionAnswering(config)


def test_a_stopped_run_resumes_to_the_weights_of_one_never_stopped(tmp_path: Path,
                                                                   tokenizer) -> None:
    import torch

    examples = training_examples([ARTICLE] * 6, seed=2)
    windows = make_windows(tokenizer, examples)
    schedule = Schedule(epochs=2, batch=4, lr=1e-3, bf16=False, save_every=0.0)
    whole = tiny_reader(tokenizer)
    train(whole, windows, tmp_path / "whole", schedule)

    class Stop(Exception):
        pass

    def stop_at_three(step: int) -> None:
        if step == 3:
            raise Stop

    stopped = tiny_reader(tokenizer)
    with pytest.raises(Stop):
        train(stopped, windows, tmp_path / "resumed", schedule, stop_at_three, every_steps=1)
    assert torch.load(tmp_path / "resumed" / "checkpoint.pt")["step"] == 3
    resumed = tiny_reader(tokenizer)  # a new process: fresh weights, then the checkpoint
    train(resumed, windows, tmp_path / "resumed", schedule)
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(),
                            strict=True):
        assert torch.allclose(a, b, atol=1e-6), name


def test_a_run_folder_refuses_other_settings(tmp_path: Path) -> None:
    same_run(tmp_path, {"lr": 1e-4, "epochs": 1})
    same_run(tmp_path, {"lr": 1e-4, "epochs": 1})
    with pytest.raises(SystemExit, match="other settings \\(lr\\)"):
        same_run(tmp_path, {"lr": 3e-4, "epochs": 1})
