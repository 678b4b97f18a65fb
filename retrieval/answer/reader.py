"""The span reader: the bundled MiniLM with a question-answering head, trained by
`bench/train_reader.py` on news questions, that marks in each of the first passages the
words most likely to answer the question, and how much likelier they are than "this
passage does not say".

Only the encoder layers and the head are shipped (`reader.int8.safetensors`, int8 with a
scale per row); the word embeddings are the bundled model's, which training leaves almost
as they were. Run in plain torch (`BertEncoder`'s layers), not through transformers: an
answer waits for it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import EmbeddingModelError
from retrieval.index.bert import BertEncoder, read_weights
from retrieval.index.embedding import resolve_model_path
from retrieval.settings import BUNDLED_MODEL

READER_FILE = Path(__file__).with_name("reader.int8.safetensors")
READS = 5           # passages read: those the answer's sentences come from
MAX_TOKENS = 256    # question and passage together, as trained
LONGEST_SPAN = 12   # tokens: an answer is a name, a number, a date, a title


@dataclass(frozen=True)
class ReadSpan:
    passage: int   # index into the passages read
    start: int     # character offsets in the passage's text
    end: int
    text: str
    margin: float  # the span's score less the passage's "no answer" score


class SpanReader(BertEncoder):
    """Reads passages for a question's answer span. Loads on first use."""

    def __init__(self, weights: Path = READER_FILE, base: str = BUNDLED_MODEL) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        base_dir = Path(resolve_model_path(base))
        if not weights.exists():
            raise EmbeddingModelError(f"{weights}: the answer reader's weights are missing")
        self.torch, self.dtype, self.device = torch, torch.float32, "cpu"
        self.config = json.loads((base_dir / "config.json").read_text())
        merged = load_file(str(base_dir / "model.safetensors"))
        merged.update(read_weights(weights))
        self.weights = {k: v.float() for k, v in merged.items()
                        if not k.endswith("position_ids")}
        self.tokenizer = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="only_second")
        self.tokenizer.enable_padding()

    def read(self, question: str, passages: list[str]) -> list[ReadSpan]:
        """Each passage's likeliest span, in passage order."""
        if not passages:
            return []
        encoded = self.tokenizer.encode_batch([(question, p) for p in passages])
        torch = self.torch
        ids = torch.tensor([e.ids for e in encoded])
        types = torch.tensor([e.type_ids for e in encoded])
        mask = torch.tensor([e.attention_mask for e in encoded], dtype=torch.bool)
        with torch.inference_mode():
            logits = self._logits(ids, types, mask).numpy()
        out = []
        for i, (e, text) in enumerate(zip(encoded, passages, strict=True)):
            inside = np.array([t for t, s in enumerate(e.sequence_ids) if s == 1])
            if not len(inside):
                continue
            start, end = logits[i, :, 0], logits[i, :, 1]
            pair = start[inside][:, None] + end[inside][None, :]
            width = inside[None, :] - inside[:, None]
            pair[(width < 0) | (width >= LONGEST_SPAN)] = -np.inf
            a, b = np.unravel_index(int(np.argmax(pair)), pair.shape)
            first, last = e.offsets[inside[a]][0], e.offsets[inside[b]][1]
            out.append(ReadSpan(i, first, last, text[first:last],
                                float(pair[a, b] - start[0] - end[0])))
        return out

    def _logits(self, ids, types, mask):
        """Start and end scores of every token: (batch, tokens, 2)."""
        w = self.weights
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        attn_mask = None if bool(mask.all()) else mask[:, None, None, :]
        for n in range(self.config["num_hidden_layers"]):
            x = self._layer(x, f"encoder.layer.{n}.", attn_mask)
        return self._linear(x, "qa_outputs")


class LazyReader:
    """A `SpanReader` made on the first question that needs it (importing torch and
    reading the weights takes a second or two), shared by threads."""

    def __init__(self, weights: Path = READER_FILE) -> None:
        self.weights = weights
        self._reader: SpanReader | None = None
        self._loading = threading.Lock()

    def __call__(self, question: str, passages: list[str]) -> list[ReadSpan]:
        if self._reader is None:
            with self._loading:
                if self._reader is None:
                    self._reader = SpanReader(self.weights)
        return self._reader.read(question, passages[:READS])
