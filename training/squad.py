"""SQuAD for the reader: examples from its files, and its official scoring.

Stage 1 of the reader learns from SQuAD v1.1 train (questions people wrote about
Wikipedia paragraphs). v1.1 has no unanswerable questions, so each question is also asked
of another paragraph of the same article that does not hold its answer: the reader learns
to say "this passage does not say". It is measured on SQuAD 2.0 dev, as others report it:
answers normalised, the best over the gold answers, "no answer" right only for a question
that has none, and the no-answer threshold chosen on one half of dev, reported on the other.
"""

from __future__ import annotations

import collections
import gzip
import itertools
import json
import random
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Example:
    """A question asked of one context; `span` is the answer's characters, None when the
    context does not answer it. `answers` are every gold text (empty: no answer)."""

    id: str
    question: str
    context: str
    span: tuple[int, int] | None
    answers: tuple[str, ...] = ()
    article: int = 0
    paragraph: int = 0


def read_squad(path: Path) -> list[dict]:
    """The articles of a SQuAD file (`.json` or `.json.gz`)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)["data"]


def training_examples(articles: list[dict], seed: int, no_answer: float = 1.0,
                      removed: float = 0.0, swapped: float = 0.0) -> list[Example]:
    """Every question with its first answer; for a `no_answer` share of them, the same
    question asked of another paragraph of its article that lacks the answer; for a
    `removed` share, asked of its own paragraph with the answer's sentence taken out; and
    for a `swapped` share, asked of its own paragraph with one of its names or numbers
    changed for one the paragraph never says (`swapped_question`). The last two are the
    hard kinds of "no answer": the same subject, the same names, SQuAD 2.0's kind."""
    rng = random.Random(seed)
    out: list[Example] = []
    for n, article in enumerate(articles):
        contexts = [p["context"] for p in article["paragraphs"]]
        pool = names_and_numbers(" ".join(contexts)) if swapped else ([], [])
        for at, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                if not qa["answers"]:
                    continue
                first = qa["answers"][0]
                start = first["answer_start"]
                span = (start, start + len(first["text"]))
                out.append(Example(qa["id"], qa["question"], paragraph["context"], span,
                                   (first["text"],), n))
                if rng.random() < no_answer:
                    other = unanswering_context(contexts, at, first["text"], rng)
                    if other is not None:
                        out.append(Example(qa["id"] + "-none", qa["question"], other, None,
                                           (), n))
                # Only drawn when asked for: a run without it keeps its data order.
                if removed and rng.random() < removed:
                    cut = without_answer(paragraph["context"], span, first["text"])
                    if cut is not None:
                        out.append(Example(qa["id"] + "-cut", qa["question"], cut, None,
                                           (), n))
                if swapped and rng.random() < swapped:
                    changed = swapped_question(qa["question"], paragraph["context"], pool,
                                               rng)
                    if changed is not None:
                        out.append(Example(qa["id"] + "-swap", changed, paragraph["context"],
                                           None, (), n))
    return out


# A run of capitalised words, or a number.
_NAME = re.compile(r"(?<![\w'])[A-Z][\w'-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'-]*)*")
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")


def names_and_numbers(text: str) -> tuple[list[str], list[str]]:
    """The distinct names and numbers of `text`, in order of first mention. A sentence's
    first word is capitalised whatever it is: a name that opens one is taken from its
    second word on."""
    names = []
    for match in _NAME.finditer(text):
        words = match.group().split()
        before = text[:match.start()].rstrip()
        if not before or before[-1] in ".!?\"'“”":
            words = words[1:]
        if words and words[0] not in ("of", "the"):
            names.append(" ".join(words))
    numbers = [m.group() for m in _NUMBER.finditer(text)]
    return list(dict.fromkeys(names)), list(dict.fromkeys(numbers))


def swapped_question(question: str, context: str, pool: tuple[list[str], list[str]],
                     rng: random.Random) -> str | None:
    """`question` with one name or number that `context` says changed for another of the
    article's (`pool`) that `context` never says: asked of `context`, it has no answer
    there. None when the question has no such name or number, or the article no other."""
    said = context.lower()
    names, numbers = pool
    choices = []
    for pattern, kind in ((_NAME, names), (_NUMBER, numbers)):
        for match in pattern.finditer(question):
            if match.start() == 0 or match.group().lower() not in said:
                continue
            others = [o for o in kind if o.lower() not in said
                      and o.lower() not in question.lower()]
            # Another name about as long reads as a question someone might ask.
            alike = [o for o in others
                     if abs(len(o.split()) - len(match.group().split())) <= 1]
            if alike:
                choices.append((match, alike))
    if not choices:
        return None
    match, others = rng.choice(choices)
    return question[:match.start()] + rng.choice(others) + question[match.end():]


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+")


def without_answer(context: str, span: tuple[int, int], answer: str) -> str | None:
    """`context` less the sentences the answer's `span` touches; None when that leaves
    under two sentences or the answer is still said elsewhere in it."""
    cuts = [0, *(m.end() for m in _SENTENCE_END.finditer(context)), len(context)]
    sentences = [(a, b) for a, b in itertools.pairwise(cuts) if b > a]
    kept = [context[a:b] for a, b in sentences if b <= span[0] or a >= span[1]]
    if len(kept) < 2 or len(kept) == len(sentences):
        return None
    text = "".join(kept).strip()
    return None if answer.lower() in text.lower() else text


def unanswering_context(contexts: list[str], own: int, answer: str, rng: random.Random
                        ) -> str | None:
    """A paragraph of the same article, not `own`, that does not contain `answer`."""
    others = [i for i in range(len(contexts)) if i != own]
    rng.shuffle(others)
    for i in others[:8]:
        if answer.lower() not in contexts[i].lower():
            return contexts[i]
    return None


def dev_examples(articles: list[dict]) -> list[Example]:
    """SQuAD 2.0 dev as examples: every gold answer kept, none for an impossible one."""
    out = []
    for n, article in enumerate(articles):
        for at, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa["answers"] if a["text"].strip())
                impossible = qa.get("is_impossible", False) or not answers
                span = None
                if not impossible:
                    first = qa["answers"][0]
                    span = (first["answer_start"], first["answer_start"] + len(first["text"]))
                out.append(Example(qa["id"], qa["question"], paragraph["context"], span,
                                   () if impossible else answers, n, at))
    return out


def reported(example: Example) -> bool:
    """Whether a SQuAD 2.0 dev question is in the half its figures are reported on (the
    odd-numbered articles); the other half only chooses the no-answer threshold."""
    return example.article % 2 == 1


def dev_trained(example: Example) -> bool:
    """Whether a run with `--dev-fit` learns from this SQuAD 2.0 dev question: those of
    the threshold half but every fifth paragraph's, which stay unseen to choose the
    threshold on; the reported half is never trained on. Its human-written "no answer"
    questions are asked of the paragraph they seem to be about, unlike v1.1's, and no
    rule-made kind has matched them."""
    return not reported(example) and example.paragraph % 5 != 4


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalise(text: str) -> str:
    """Lower case, punctuation and the articles a/an/the dropped, spaces collapsed: the
    form in which SQuAD's official script compares answers."""
    text = "".join(c for c in text.lower() if c not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact(prediction: str, gold: str) -> float:
    return float(normalise(prediction) == normalise(gold))


def f1(prediction: str, gold: str) -> float:
    """Token overlap of the normalised texts; two empty texts agree."""
    said, wanted = normalise(prediction).split(), normalise(gold).split()
    if not said or not wanted:
        return float(said == wanted)
    common = sum((collections.Counter(said) & collections.Counter(wanted)).values())
    if not common:
        return 0.0
    precision, recall = common / len(said), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def best_over_gold(prediction: str, answers: Iterable[str]) -> tuple[float, float]:
    """(exact match, F1) of a prediction, the best over the gold answers; a question
    without answers is right only when the prediction is empty ("no answer")."""
    golds = list(answers) or [""]
    return (max(exact(prediction, g) for g in golds), max(f1(prediction, g) for g in golds))
