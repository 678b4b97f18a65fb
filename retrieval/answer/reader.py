"""The span reader: the bundled MiniLM with a question-answering head, trained by
`bench/train_reader.py` on news questions, that marks in each of the first passages the
words most likely to answer the question, and how much likelier they are than "this
passage does not say".

Only the encoder layers and the head are shipped (`reader.int8.safetensors`, int8 with a
scale per row); the word embeddings are the bundled model's, which training leaves almost
as they were. On first use the two are joined in plain torch (`BertEncoder`'s layers) and
exported once to an int8 ONNX file in the cache folder; answers run that file in ONNX
Runtime, so asking a question imports no torch.
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import EmbeddingModelError
from retrieval.models.bert import BertEncoder, read_weights
from retrieval.models.files import resolve_model_path
from retrieval.models.onnx import onnx_session, quantize_onnx
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


class TorchReader(BertEncoder):
    """The reader in plain torch: what the ONNX file is exported from."""

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

    def _logits(self, ids, types, mask):
        """Start and end scores of every token: (batch, tokens, 2)."""
        w = self.weights
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        for n in range(self.config["num_hidden_layers"]):
            x = self._layer(x, f"encoder.layer.{n}.", mask[:, None, None, :])
        return self._linear(x, "qa_outputs")

    def export(self, target: Path) -> None:
        """The reader as an int8 ONNX file (logits of input_ids, token_type_ids and
        attention_mask), written atomically."""
        torch = self.torch
        reader = self

        class Graph(torch.nn.Module):
            """The weights as buffers: the export keeps them as initializers, which the
            int8 quantizer then finds (captured tensors would be constants it skips)."""

            def __init__(self) -> None:
                super().__init__()
                self.names = list(reader.weights)
                for i, name in enumerate(self.names):
                    self.register_buffer(f"w{i}", reader.weights[name])

            def forward(self, ids, types, mask):
                held = reader.weights
                reader.weights = {n: getattr(self, f"w{i}") for i, n in enumerate(self.names)}
                try:
                    return reader._logits(ids, types, mask.bool())
                finally:
                    reader.weights = held

        target.parent.mkdir(parents=True, exist_ok=True)
        plain = target.with_suffix(".fp32.tmp")
        sample = torch.ones((1, 8), dtype=torch.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Graph().eval(), (sample, torch.zeros_like(sample), sample), str(plain),
                input_names=["input_ids", "token_type_ids", "attention_mask"],
                output_names=["logits"], opset_version=17, dynamo=False,
                dynamic_axes={n: {0: "batch", 1: "tokens"}
                              for n in ("input_ids", "token_type_ids", "attention_mask")})
        try:
            quantize_onnx(plain, target)
        finally:
            plain.unlink(missing_ok=True)


def onnx_file(weights: Path, cache_dir: Path) -> Path:
    """Where the reader exported from `weights` is cached: named by their content."""
    key = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    return cache_dir / f"reader-{key}.int8.onnx"


class SpanReader:
    """Reads passages for a question's answer span, with the int8 ONNX reader (exported
    on first use)."""

    def __init__(self, weights: Path = READER_FILE, cache_dir: Path | None = None,
                 base: str = BUNDLED_MODEL) -> None:
        from tokenizers import Tokenizer

        if not weights.exists():
            raise EmbeddingModelError(f"{weights}: the answer reader's weights are missing")
        cache_dir = cache_dir or Path.home() / ".cache" / "newsbot" / "onnx"
        path = onnx_file(weights, cache_dir)
        if not path.exists():
            TorchReader(weights, base).export(path)
        self.session = onnx_session(path)
        self.tokenizer = Tokenizer.from_file(
            str(Path(resolve_model_path(base)) / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="only_second")
        self.tokenizer.enable_padding()

    def read(self, question: str, passages: list[str]) -> list[ReadSpan]:
        """Each passage's likeliest span, in passage order."""
        if not passages:
            return []
        encoded = self.tokenizer.encode_batch([(question, p) for p in passages])
        logits = self.session.run(None, {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        })[0]
        return [span for i, (e, text) in enumerate(zip(encoded, passages, strict=True))
                if (span := best_span(i, e, text, logits[i])) is not None]


def best_span(passage: int, encoded, text: str, logits: np.ndarray) -> ReadSpan | None:
    """The passage's likeliest span of at most `LONGEST_SPAN` tokens, with its margin over
    the "no answer" score (the first token's)."""
    inside = np.array([t for t, s in enumerate(encoded.sequence_ids) if s == 1])
    if not len(inside):
        return None
    start, end = logits[:, 0], logits[:, 1]
    pair = start[inside][:, None] + end[inside][None, :]
    width = inside[None, :] - inside[:, None]
    pair[(width < 0) | (width >= LONGEST_SPAN)] = -np.inf
    a, b = np.unravel_index(int(np.argmax(pair)), pair.shape)
    first, last = encoded.offsets[inside[a]][0], encoded.offsets[inside[b]][1]
    return ReadSpan(passage, first, last, text[first:last],
                    float(pair[a, b] - start[0] - end[0]))


class LazyReader:
    """A `SpanReader` made on the first question that needs it (the first ever also
    exports it, some seconds), shared by threads."""

    def __init__(self, weights: Path = READER_FILE, cache_dir: Path | None = None) -> None:
        self.weights = weights
        self.cache_dir = cache_dir
        self._reader: SpanReader | None = None
        self._loading = threading.Lock()

    def __call__(self, question: str, passages: list[str]) -> list[ReadSpan]:
        if self._reader is None:
            with self._loading:
                if self._reader is None:
                    self._reader = SpanReader(self.weights, self.cache_dir)
        return self._reader.read(question, passages[:READS])
