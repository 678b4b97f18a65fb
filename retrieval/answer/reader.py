"""The span reader: the bundled MiniLM with a question-answering head, trained by
`training/` (`training.reader`, `training.reader_news`) on reading questions, that marks
in each of the first passages the words most likely to answer the question, and how much
likelier they are than "this passage does not say".

Only the encoder layers and the head are shipped (`reader.int8.safetensors`, int8 with a
scale per row); the word embeddings are the bundled model's, which training leaves almost
as they were. On first use the two are joined in plain torch (`BertEncoder`'s layers) and
exported once to an int8 ONNX file in the cache folder (int8 per token: a passage scores
the same whatever it is run with, `retrieval/models/token_int8.py`); answers run that file
in ONNX Runtime, so asking a question imports no torch. Questions waiting together are
read in one run (`reader_batch.py`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.answer.reader_batch import Coalescer
from retrieval.errors import EmbeddingModelError
from retrieval.models.bert import BertEncoder, read_weights
from retrieval.models.files import resolve_model_path
from retrieval.models.onnx import onnx_session
from retrieval.models.token_int8 import quantize_per_token
from retrieval.settings import BUNDLED_MODEL

if TYPE_CHECKING:
    from tokenizers import Encoding

log = logging.getLogger(__name__)

READER_FILE = Path(__file__).with_name("reader.int8.safetensors")
EXPORT_VERSION = 2  # bump when `TorchReader.export` changes what it writes (2: per token)
MAX_TOKENS = 256    # question and passage together, as trained
LONGEST_SPAN = 12   # tokens: an answer is a name, a number, a date, a title
MOST_QUESTIONS = 4  # questions read together (their first passages each): bounds memory
# Passages the reader reads, best first (the answer's sentences come from `READ`): on the
# weeks it was chosen on, a fourth and fifth passage cost two thirds more reading and
# made the lead worse (docs/bench-notes.md, "The reader retrained on SQuAD").
READER_READS = 3
# Passages a model run. One: no padding at all, which on two cores reads 20 waiting
# questions in 6.8 s against 8.3 s in runs of 8 by length and 9.7 s one run a question
# (bench/README.md); where more cores make batches pay, raise it: scores stay the same.
PER_RUN = 1


@dataclass(frozen=True)
class ReadSpan:
    passage: int   # index into the passages read
    start: int     # character offsets in the passage's text
    end: int
    text: str
    margin: float  # the span's score less the passage's "no answer" score


class TorchReader(BertEncoder):
    """The reader in plain torch: what the ONNX file is exported from. It sets the
    attributes `BertEncoder`'s layers read (torch, dtype, device, config, weights) from
    two files instead of one model folder."""

    def __init__(self, weights: Path = READER_FILE, base: str = BUNDLED_MODEL) -> None:
        import torch
        from safetensors.torch import load_file

        base_dir = Path(resolve_model_path(base))
        self.torch, self.dtype, self.device = torch, torch.float32, "cpu"
        self.config = json.loads((base_dir / "config.json").read_text())
        merged = load_file(str(base_dir / "model.safetensors"))
        merged.update(read_weights(weights))
        self.weights = {k: v.float() for k, v in merged.items()
                        if not k.endswith("position_ids")}
        self.tokenizer = pair_tokenizer(base_dir)

    def _logits(self, ids, types, mask):  # torch tensors: (batch, tokens) each
        """Start and end scores of every token: (batch, tokens, 2)."""
        w = self.weights
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        for n in range(self.config["num_hidden_layers"]):
            x = self._layer(x, f"encoder.layer.{n}.", mask[:, None, None, :])
        return self._linear(x, "qa_outputs")

    def export(self, target: Path, quantize: Callable[[Path, Path], None] = quantize_per_token
               ) -> None:
        """The reader as a per-token int8 ONNX file (logits of input_ids, token_type_ids and
        attention_mask), written atomically; `quantize` (fp32 file, target) makes it (a
        benchmark passes another, to compare)."""
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
        plain = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.fp32.tmp")
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
            quantize(plain, target)
        finally:
            plain.unlink(missing_ok=True)


def pair_tokenizer(base_dir: Path):
    """The base model's tokenizer for (question, passage) pairs cut to `MAX_TOKENS`: the
    longer of the two loses tokens first, so a passage is cut (as in training) and a
    question longer than the limit is too, instead of failing."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")
    tokenizer.enable_padding()
    return tokenizer


def onnx_file(weights: Path, base_dir: Path, cache_dir: Path) -> Path:
    """Where the reader exported from `weights` is cached: named by their content, the
    base model's files (its word embeddings go in too) and the export's version."""
    digest = hashlib.sha256(weights.read_bytes())
    base = base_dir / "model.safetensors"
    digest.update(f"{base.resolve()}:{base.stat().st_mtime_ns}:{EXPORT_VERSION}".encode())
    return cache_dir / f"reader-{digest.hexdigest()[:12]}.int8.onnx"


class SpanReader:
    """Reads passages for a question's answer span, with the int8 ONNX reader (exported
    on first use)."""

    def __init__(self, weights: Path = READER_FILE, *, cache_dir: Path,
                 base: str = BUNDLED_MODEL) -> None:
        if not weights.exists():
            raise EmbeddingModelError(f"{weights}: the answer reader's weights are missing; "
                                      "reinstall newsbot, or set NEWSBOT_ANSWER_READER=false")
        base_dir = Path(resolve_model_path(base))
        path = onnx_file(weights, base_dir, cache_dir)
        if path.exists():
            try:
                self.session = onnx_session(path, spin=False)
            except Exception:  # a damaged file (a disk fault): made again below
                path.unlink(missing_ok=True)
        if not path.exists():
            TorchReader(weights, base).export(path)
            self.session = onnx_session(path, spin=False)
        self.tokenizer = pair_tokenizer(base_dir)
        self._runs: Coalescer[list[Encoding], list[np.ndarray]] = Coalescer(
            self._run, MOST_QUESTIONS)

    def read(self, question: str, passages: list[str]) -> list[ReadSpan]:
        """The likeliest span of each of the first `READER_READS` passages, in order."""
        passages = passages[:READER_READS]
        if not passages:
            return []
        encoded = self.tokenizer.encode_batch([(question, p) for p in passages])
        # One run at a time on every core, with the questions that wait beside this one:
        # many runs at once (a busy Discord server) would share the cores worse and starve
        # the thread that keeps the bot connected.
        logits = self._runs(encoded)
        return [span for i, (e, text) in enumerate(zip(encoded, passages, strict=True))
                if (span := best_span(i, e, text, logits[i])) is not None]

    def _run(self, questions: list[list[Encoding]]) -> list[list[np.ndarray]]:
        """Each question's logits (a (tokens, 2) array a passage) from runs over them all."""
        logits = run_sorted(self.session, [e for q in questions for e in q])
        bounds = np.cumsum([0] + [len(q) for q in questions])
        return [logits[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def run_sorted(session, encoded: list[Encoding], per_run: int = PER_RUN) -> list[np.ndarray]:
    """Each encoding's logits, from runs of up to `per_run` encodings of similar length
    (padding costs as much as the tokens it pads: `bench/reader_speed.py`)."""
    order = sorted(range(len(encoded)), key=lambda i: sum(encoded[i].attention_mask))
    out: list[np.ndarray] = [np.empty(0)] * len(encoded)
    for at in range(0, len(order), per_run):
        rows = order[at:at + per_run]
        logits = session.run(None, padded_feeds([encoded[i] for i in rows]))[0]
        for i, row in zip(rows, logits, strict=True):
            out[i] = row
    return out


def padded_feeds(encoded: list[Encoding]) -> dict[str, np.ndarray]:
    """The graph's three inputs, each encoding's tokens (less the padding it came with:
    the tokenizer pads a question's passages to their longest) padded to the longest;
    padding is masked, and changes no score."""
    width = max(sum(e.attention_mask) for e in encoded)
    feeds = {name: np.zeros((len(encoded), width), dtype=np.int64)
             for name in ("input_ids", "token_type_ids", "attention_mask")}
    for row, e in enumerate(encoded):
        n = sum(e.attention_mask)  # the tokenizer pads on the right
        feeds["input_ids"][row, :n] = e.ids[:n]
        feeds["token_type_ids"][row, :n] = e.type_ids[:n]
        feeds["attention_mask"][row, :n] = e.attention_mask[:n]
    return feeds


def best_span(passage: int, encoded: Encoding, text: str, logits: np.ndarray
              ) -> ReadSpan | None:
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
    exports it, some seconds), shared by threads. A reader that cannot load is logged
    once and left out: answers go on with the sentences' own lead."""

    def __init__(self, weights: Path = READER_FILE, *, cache_dir: Path) -> None:
        self.weights = weights
        self.cache_dir = cache_dir
        self._reader: SpanReader | None = None
        self._failed = False
        self._loading = threading.Lock()

    def __call__(self, question: str, passages: list[str]) -> list[ReadSpan] | None:
        """The spans of the first passages, or None without a reader."""
        if self._reader is None and not self._failed:
            with self._loading:
                if self._reader is None and not self._failed:
                    try:
                        self._reader = SpanReader(self.weights, cache_dir=self.cache_dir)
                    except Exception as exc:  # any failure: the answer goes on without it
                        self._failed = True
                        log.warning("answering without the reader: %s", exc)
        if self._reader is None:
            return None
        return self._reader.read(question, passages)
