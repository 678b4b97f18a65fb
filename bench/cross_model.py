"""A cross-encoder trained by `train_cross.py` (exported as int8 ONNX with its
`--export`), run as the answer path would run it: the question and a passage read
together, one logit each. The tokenizer is the bundled model's. Not shipped: it does not
beat the search's own order (bench/README.md, "A cross-encoder for answers")."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retrieval.models.files import resolve_model_path
from retrieval.models.onnx import onnx_session
from retrieval.settings import BUNDLED_MODEL

MAX_TOKENS = 256  # question and passage together: a 900-character chunk fits whole
BATCH = 8


class CrossScorer:
    """Scores (question, passage) pairs."""

    def __init__(self, model_file: Path, tokenizer_model: str = BUNDLED_MODEL) -> None:
        from tokenizers import Tokenizer

        folder = Path(resolve_model_path(tokenizer_model)).expanduser()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding()
        self._session = onnx_session(model_file)  # the embedder's, on every core

    def scores(self, question: str, texts: list[str]) -> np.ndarray:
        """One logit per text: higher is likelier to answer `question`."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
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
