"""Questions and passages as token windows for the reader: long passages cut into
overlapping windows (a stride), each window's answer tokens, and batches of windows of
similar length so little of a batch is padding."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.squad import Example

MAX_TOKENS = 256   # question and passage together, as the product reads them
OVERLAP = 96       # tokens two windows of one long passage share


@dataclass
class Window:
    example: int                      # index into the examples tokenised
    ids: np.ndarray                   # int32 token ids
    types: np.ndarray                 # int8 segment of each token
    offsets: np.ndarray               # (tokens, 2) characters of the context; 0, 0 outside
    start: int = 0                    # answer's first and last token; 0, 0: no answer
    end: int = 0


def tokenizer_for(model_dir: Path):
    """A fast tokenizer of the model folder, for (question, passage) pairs."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_dir))


def make_windows(tokenizer, examples: list[Example], max_tokens: int = MAX_TOKENS,
                 overlap: int = OVERLAP, chunk: int = 2000) -> list[Window]:
    """Every example's windows, with the answer's tokens where the window holds it all."""
    out: list[Window] = []
    for lo in range(0, len(examples), chunk):
        part = examples[lo:lo + chunk]
        encoded = tokenizer([e.question for e in part], [e.context for e in part],
                            truncation="only_second", max_length=max_tokens, stride=overlap,
                            return_overflowing_tokens=True, return_offsets_mapping=True)
        for w, source in enumerate(encoded["overflow_to_sample_mapping"]):
            sides = encoded.sequence_ids(w)
            offsets = [o if s == 1 else (0, 0)
                       for o, s in zip(encoded["offset_mapping"][w], sides, strict=True)]
            window = Window(lo + source, np.array(encoded["input_ids"][w], dtype=np.int32),
                            np.array(encoded["token_type_ids"][w], dtype=np.int8),
                            np.array(offsets, dtype=np.int32).reshape(-1, 2))
            span = part[source].span
            if span is not None:
                window.start, window.end = answer_tokens(offsets, sides, span)
            out.append(window)
    return out


def answer_tokens(offsets: list[tuple[int, int]], sides: list[int | None],
                  span: tuple[int, int]) -> tuple[int, int]:
    """The first and last token of `span` in a window, or (0, 0) when the window does not
    hold all of it."""
    inside = [t for t, s in enumerate(sides) if s == 1]
    if not inside or offsets[inside[0]][0] > span[0] or offsets[inside[-1]][1] < span[1]:
        return 0, 0
    first = next(t for t in inside if offsets[t][1] > span[0])
    last = max(t for t in inside if offsets[t][0] < span[1])
    return (first, last) if last >= first else (0, 0)


def length_batches(windows: list[Window], size: int, seed: int, pool: int = 64
                   ) -> list[list[int]]:
    """Batches of window indices: shuffled, then sorted by length inside pools of `pool`
    batches (similar lengths together, little padding), and the batches shuffled again."""
    rng = random.Random(seed)
    order = list(range(len(windows)))
    rng.shuffle(order)
    batches = []
    for lo in range(0, len(order), size * pool):
        group = sorted(order[lo:lo + size * pool], key=lambda i: len(windows[i].ids))
        batches += [group[i:i + size] for i in range(0, len(group), size)]
    rng.shuffle(batches)
    return batches


def tensors(windows: list[Window], pad: int = 0):
    """input_ids, token_type_ids, attention_mask, start and end positions (torch)."""
    import torch

    width = max(len(w.ids) for w in windows)
    ids = np.full((len(windows), width), pad, dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for row, w in enumerate(windows):
        ids[row, :len(w.ids)] = w.ids
        types[row, :len(w.types)] = w.types
        mask[row, :len(w.ids)] = 1
    return (torch.from_numpy(ids), torch.from_numpy(types), torch.from_numpy(mask),
            torch.tensor([w.start for w in windows]), torch.tensor([w.end for w in windows]))


def best_span(window: Window, start: np.ndarray, end: np.ndarray, longest: int
              ) -> tuple[float, int, int, float]:
    """(span score, first char, last char, no-answer score) of a window's best span of at
    most `longest` tokens inside the passage."""
    inside = np.flatnonzero(window.offsets[:, 1] > 0)
    null = float(start[0] + end[0])
    if not len(inside):
        return -np.inf, 0, 0, null
    pair = start[inside][:, None] + end[inside][None, :]
    width = inside[None, :] - inside[:, None]
    pair[(width < 0) | (width >= longest)] = -np.inf
    a, b = np.unravel_index(int(np.argmax(pair)), pair.shape)
    return (float(pair[a, b]), int(window.offsets[inside[a], 0]),
            int(window.offsets[inside[b], 1]), null)
