"""A cross-encoder trained by `train_cross.py` (exported as int8 ONNX with its
`--export`), run as the answer path would run it: the question and a passage read
together, one logit each. The tokenizer is the bundled model's. Not shipped: it does not
beat the search's own order (bench/README.md, "A cross-encoder for answers")."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retrieval.errors import EmbeddingModelError
from retrieval.index.embedding import resolve_model_path
from retrieval.settings import BUNDLED_MODEL

MAX_TOKENS = 256  # question and passage together: a 900-character chunk fits whole
BATCH = 8


class CrossScorer:
    """Scores (question, passage) pairs; thread-safe, loaded on first use."""

    def __init__(self, model_file: Path, tokenizer_model: str = BUNDLED_MODEL,
                 threads: int | None = None) -> None:
        self.model_file = model_file
        self.tokenizer_model = tokenizer_model
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self._session = None
        self._tokenizer = None
        self._loading = threading.Lock()

    def _load(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(resolve_model_path(self.tokenizer_model)).expanduser()
        try:
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.log_severity_level = 3
            session = onnxruntime.InferenceSession(str(self.model_file), options,
                                                   providers=["CPUExecutionProvider"])
        except Exception as exc:  # a missing or damaged file, one message
            raise EmbeddingModelError(
                f"cannot load the answer reranker {self.model_file}: {exc}") from exc
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer
        self._session = session

    def scores(self, question: str, texts: list[str]) -> np.ndarray:
        """One logit per text: higher is likelier to answer `question`."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        if self._session is None:
            with self._loading:
                if self._session is None:
                    self._load()
        out = np.empty(len(texts), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            encoded = self._tokenizer.encode_batch([(question, texts[i]) for i in idx])
            feeds = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            logits = self._session.run(None, feeds)[0].reshape(-1)
            out[idx] = logits
        return out
