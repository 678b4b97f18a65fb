"""The sentence-transformers model run by ONNX Runtime: the default embedder on a CPU; and
the session the answer's reader runs on too (its int8 file: `token_int8.py`)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np

from retrieval.errors import EmbeddingModelError
from retrieval.models.files import quiet_loading, resolve_model_path
from retrieval.settings import BUNDLED_MODEL

SENTENCE_BATCH = 16
MANIFEST = "newsbot-model.json"  # marks a model packed as int8 ONNX and int8 weights
BERT_SHAPE = ("hidden_size", "num_hidden_layers", "num_attention_heads", "layer_norm_eps")


def read_manifest(model_dir: Path) -> dict | None:
    """A packed model's manifest: its ONNX file, where its tokenizer comes from (the
    base model's package: fine-tuning keeps the vocabulary), its token limit, and the
    int8 weights and BERT shape that index batches run on in torch (`BertEncoder`)."""
    path = model_dir / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
        bert = manifest["bert"]
        return {"onnx": str(manifest["onnx"]), "tokenizer_from": str(manifest["tokenizer_from"]),
                "max_tokens": int(manifest["max_tokens"]), "weights": str(manifest["weights"]),
                "bert": {key: bert[key] for key in BERT_SHAPE}}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmbeddingModelError(f"{path}: not a readable model manifest ({exc})") from exc


class OnnxEmbedder:
    """The same sentence-transformers model run by ONNX Runtime: identical vectors (mean
    pooling, normalised), about three times faster on a CPU. The ONNX file is exported
    from the torch model once and cached; the tokenizer is read from `tokenizer.json`."""

    def __init__(self, model: str = BUNDLED_MODEL, *, cache_dir: Path,
                 batch_size: int = 4, max_tokens: int = 256, int8_questions: bool = False,
                 index_batch_size: int | None = None) -> None:
        self.name = model
        self.batch_size = batch_size
        self.index_batch_size = index_batch_size or batch_size
        self.max_tokens = max_tokens
        self.int8_questions = int8_questions
        self.cache_dir = Path(cache_dir)  # NEWSBOT_CACHE_DIR's onnx folder, from the caller
        self._session = None
        self._query_session = None
        self._sentence_session = None
        self._query_path: Path | None = None
        self._onnx_file: Path | None = None
        self._tokenizer = None
        self._loading = threading.Lock()  # searches and an index run may start together

    def _model_dir(self) -> Path:
        path = Path(resolve_model_path(self.name)).expanduser()
        if not (path / "tokenizer.json").exists():
            raise EmbeddingModelError(f"{self.name}: no tokenizer.json in {path}; set "
                                      "NEWSBOT_EMBEDDING_BACKEND=torch for this model")
        return path

    def _onnx_path(self, model_dir: Path) -> Path:
        weights = next((model_dir / n for n in ("model.safetensors", "pytorch_model.bin")
                        if (model_dir / n).exists()), model_dir)
        key = hashlib.sha256(f"{model_dir}:{weights.stat().st_mtime_ns}".encode()).hexdigest()
        return self.cache_dir / f"{model_dir.name}-{key[:12]}.onnx"

    def _load(self) -> None:
        from tokenizers import Tokenizer

        packed = Path(resolve_model_path(self.name)).expanduser()
        manifest = read_manifest(packed)
        if manifest is not None:  # already ONNX, weights already int8
            onnx_path = packed / manifest["onnx"]
            model_dir = Path(resolve_model_path(manifest["tokenizer_from"]))
            max_tokens = min(self.max_tokens, manifest["max_tokens"])
            self.int8_questions = False  # nothing to quantize
            if not onnx_path.exists():
                raise EmbeddingModelError(f"{self.name}: {onnx_path} is missing")
        else:
            model_dir = self._model_dir()
            onnx_path = self._onnx_path(model_dir)
            max_tokens = self.max_tokens
            if not onnx_path.exists():
                export_onnx(model_dir, onnx_path)
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer
        self._onnx_file = onnx_path
        self._session = onnx_session(onnx_path)  # last: other threads test this one

    def _feeds(self, texts: list[str]) -> dict[str, np.ndarray]:
        return bert_feeds(self._tokenizer.encode_batch(texts))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        self._ensure_loaded()
        return self._run_sorted(self._session, texts, self.batch_size)

    def embed_index_batch(self, texts: list[str]) -> np.ndarray:
        """An index batch: the same model, in runs of `index_batch_size` similar lengths."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        self._ensure_loaded()
        return self._run_sorted(self._session, texts, self.index_batch_size)

    def _run_sorted(self, session, texts: list[str], batch_size: int) -> np.ndarray:
        """Vectors in the order of `texts`, run in batches of similar length (less
        padding)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[np.ndarray] = [np.empty(0)] * len(texts)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            vectors = session.run(None, self._feeds([texts[i] for i in idx]))[0]
            for i, vec in zip(idx, vectors, strict=True):
                out[i] = vec
        return np.stack(out).astype(np.float32)

    def _ensure_loaded(self) -> None:
        if self._session is None:
            with self._loading:
                if self._session is None:
                    self._load()

    def _ensure_query_session(self) -> None:
        """Loaded on first use: `index` never needs it."""
        self._ensure_loaded()
        with self._loading:
            if self._query_session is not None:
                return
            path = self._onnx_file
            if self.int8_questions:
                path = self._onnx_file.with_suffix(".int8.onnx")
                if not path.exists():
                    quantize_onnx(self._onnx_file, path)
            self._query_path = path
            # One question is no faster on two threads (measured), and one thread leaves
            # the other core to the keyword query that search runs beside it.
            self._query_session = onnx_session(path, threads=1)

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        """Short texts while a question waits (an answer's candidate sentences): the
        question's model file, on every core, in larger batches (short texts pad little)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self._sentence_session is None:
            self._ensure_query_session()
            with self._loading:
                if self._sentence_session is None:
                    # Every core: the search that ran beside it is done by now.
                    self._sentence_session = onnx_session(self._query_path)
        return self._run_sorted(self._sentence_session, texts, SENTENCE_BATCH)

    def embed_query(self, text: str) -> np.ndarray:
        if self._query_session is None:
            self._ensure_query_session()
        return self._query_session.run(None, self._feeds([text]))[0][0].astype(np.float32)


def bert_feeds(encoded: list) -> dict[str, np.ndarray]:
    """A BERT graph's three inputs from a padded batch of `tokenizers` encodings."""
    return {
        "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
    }


def onnx_session(path: Path, threads: int | None = None, spin: bool = True):
    """`spin=False`: idle worker threads sleep instead of spinning, which leaves the cores
    to other threads (a bot's event loop) when many questions run it at once."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
    options.log_severity_level = 3
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def quantize_onnx(onnx_path: Path, int8_path: Path) -> None:
    """Weights to int8 (per channel): questions embed ~40 % faster, cosine >= 0.98 with
    the full-precision vector."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it warns about optional pre-processing, on the root logger
    try:
        # A name of its own: two processes exporting at once never share a half file.
        tmp = int8_path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        quantize_dynamic(str(onnx_path), str(tmp), weight_type=QuantType.QInt8,
                         per_channel=True)
        tmp.replace(int8_path)  # atomic: a killed run never leaves a half file
    finally:
        root.setLevel(level)


def export_onnx(model_dir: Path, onnx_path: Path) -> None:
    """Export the transformer with mean pooling and normalisation folded in."""
    quiet_loading()
    import torch
    from sentence_transformers import SentenceTransformer

    bert = SentenceTransformer(str(model_dir), device="cpu")[0].auto_model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    sample = torch.ones((1, 8), dtype=torch.int64)
    tmp = onnx_path.with_suffix(".tmp")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled().eval(), (sample, sample, torch.zeros_like(sample)), str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"], opset_version=17, dynamo=False,
            dynamic_axes={n: {0: "batch", 1: "tokens"}
                          for n in ("input_ids", "attention_mask", "token_type_ids")},
        )
    tmp.replace(onnx_path)  # atomic: a killed export never leaves a half file


def write_packed_model(model_dir: Path, target: Path, tokenizer_from: str,
                       made_by: str) -> None:
    """A sentence-transformers BERT folder packed for newsbot: int8 ONNX (`model.onnx`,
    for questions), int8 weights (for index batches in torch) and `newsbot-model.json`;
    the tokenizer stays in `tokenizer_from` (fine-tuning keeps the vocabulary)."""
    import tempfile

    from retrieval.models.bert import token_limit, write_int8_weights

    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "model.onnx"
        export_onnx(model_dir, full)
        quantize_onnx(full, target / "model.onnx")
    write_int8_weights(model_dir / "model.safetensors", target / "weights.int8.safetensors")
    config = json.loads((model_dir / "config.json").read_text())
    manifest = {"onnx": "model.onnx", "weights": "weights.int8.safetensors",
                "tokenizer_from": tokenizer_from,
                "max_tokens": token_limit(model_dir),
                "bert": {key: config[key] for key in BERT_SHAPE},
                "made_by": made_by}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
