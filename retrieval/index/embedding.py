"""Text embedders. The real one wraps sentence-transformers and loads lazily, offline;
`HashEmbedder` is a tiny deterministic stand-in for fast tests."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.errors import EmbeddingModelError
from retrieval.models.bert import BertEncoder, plain_bert
from retrieval.models.files import quiet_loading, resolve_model_path
from retrieval.settings import BUNDLED_MODEL, Settings


class Embedder(Protocol):
    name: str

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """The model in torch, loaded on first use with the Hub switched off: the bundled
    model's shape by `BertEncoder`, others by sentence-transformers. `device="auto"` takes
    a GPU when torch sees one; `bfloat16` halves the weights where the chip computes in
    bfloat16 natively (a GPU, or a CPU with AMX / AVX-512 BF16)."""

    def __init__(self, model: str = BUNDLED_MODEL, device: str = "cpu", batch_size: int = 4,
                 bfloat16: bool = False) -> None:
        self.name = model
        self.device = device
        self.batch_size = batch_size
        self.bfloat16 = bfloat16
        self._model = None
        self._loading = threading.Lock()

    @property
    def model(self):
        with self._loading:
            return self._load()

    def _load(self):
        if self._model is None:
            path = resolve_model_path(self.name)
            try:
                self._model = self._open(path)
            except EmbeddingModelError:
                raise
            except Exception as exc:  # many libraries, one message
                raise EmbeddingModelError(
                    f"cannot load embedding model {self.name!r} from {path}: {exc}"
                ) from exc
        return self._model

    def _open(self, path: str):
        """The bundled model's shape runs as plain torch (`BertEncoder`: no
        sentence-transformers import, less padding); any other through sentence-transformers."""
        device = pick_device(self.device)
        bf16 = self.bfloat16 and native_bf16(device)
        from retrieval.models.onnx import read_manifest

        packed = read_manifest(Path(path))
        if packed is not None:  # a packed ONNX model: its int8 weights, in torch
            packed["tokenizer_dir"] = resolve_model_path(packed["tokenizer_from"])
            return BertEncoder(Path(path), "bfloat16" if bf16 else "float32", device, packed)
        if plain_bert(Path(path)):
            return BertEncoder(Path(path), "bfloat16" if bf16 else "float32", device)
        quiet_loading()
        from sentence_transformers import SentenceTransformer

        kwargs = {"torch_dtype": "bfloat16"} if bf16 else {}
        return SentenceTransformer(path, device=device, model_kwargs=kwargs)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self.model
        if isinstance(model, BertEncoder):
            return model.embed(texts)
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_tensor=True, show_progress_bar=False)
        return vectors.float().cpu().numpy()  # numpy has no bfloat16

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


_TOKEN = re.compile(r"\w+")


class HashEmbedder:
    """Bag of hashed words, L2-normalised: deterministic, instant, no model.

    Texts sharing words get similar vectors, which is enough for tests of indexing and
    search plumbing. Not for real use.
    """

    def __init__(self, dimension: int = 256) -> None:
        self.dimension = dimension
        self.name = f"hash:{dimension}"
        self.calls = 0  # texts embedded so far; tests use it to prove nothing was re-embedded

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for word in _TOKEN.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self.dimension
            vec[index] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, 0))

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def native_bf16(device: str) -> bool:
    """bfloat16 is only fast where the hardware computes it; elsewhere it is emulated."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return device == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def sentence_embedder(embedder: Embedder):
    """What embeds an answer's candidate sentences: the embedder's quick path for short
    texts when it has one."""
    small = getattr(embedder, "small", embedder)
    return getattr(small, "embed_sentences", embedder.embed_documents)


def embed_for_index(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """An index batch: through the embedder's bulk path when it has one."""
    bulk = getattr(embedder, "embed_index_batch", None)
    return bulk(texts) if bulk is not None else embedder.embed_documents(texts)


class RoutedEmbedder:
    """Questions and the sentences an answer weighs go to the quick-starting `small`
    embedder (ONNX Runtime, no torch import, so searches start fast and stay small);
    index batches go to `bulk` (torch in bfloat16 or on a GPU, several times faster per
    chunk). Both run the same model: their vectors agree to a cosine of about 0.999."""

    def __init__(self, small: Embedder, bulk: Embedder) -> None:
        self.name = small.name
        self.small = small
        self.bulk = bulk

    def embed_index_batch(self, texts: list[str]) -> np.ndarray:
        return self.bulk.embed_documents(texts)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.small.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.small.embed_query(text)


def onnx_available() -> bool:
    return all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx", "tokenizers"))


def make_embedder(model: str, device: str = "auto", batch_size: int = 4,
                  backend: str = "onnx", *, cache_dir: Path,
                  int8_questions: bool = False, fast_indexing: bool = True,
                  index_batch_size: int = 32) -> Embedder:
    """`onnx` (the default) falls back to torch when ONNX Runtime is not installed or a
    GPU device is asked for; both give the same vectors. With `fast_indexing`, index
    batches go to torch on a GPU or in bfloat16 where the CPU computes it natively."""
    if model == "hash" or model.startswith("hash:"):
        _, _, size = model.partition(":")
        return HashEmbedder(int(size) if size else 256)
    if onnx_only(model):
        from retrieval.models.onnx import OnnxEmbedder

        if not onnx_available():
            raise EmbeddingModelError(f"{model} runs on ONNX Runtime, which is not installed: "
                                      "pip install onnxruntime tokenizers")
        # Questions on its int8 ONNX; index batches on its int8 weights in torch where that
        # is faster (bfloat16 or a GPU), else on the ONNX model in longer runs.
        small = OnnxEmbedder(model, cache_dir=cache_dir, batch_size=batch_size,
                             index_batch_size=index_batch_size)
        if fast_indexing and fast_bulk(device):
            return RoutedEmbedder(small, SentenceTransformerEmbedder(
                model, device=device, batch_size=index_batch_size, bfloat16=True))
        return small
    bulk = SentenceTransformerEmbedder(model, device=device, batch_size=index_batch_size,
                                       bfloat16=True)
    if backend == "onnx" and device in ("cpu", "auto") and onnx_available():
        from retrieval.models.onnx import OnnxEmbedder

        small = OnnxEmbedder(model, cache_dir=cache_dir, batch_size=batch_size,
                             int8_questions=int8_questions)
        return RoutedEmbedder(small, bulk) if fast_indexing and fast_bulk(device) else small
    if fast_indexing:
        return bulk
    return SentenceTransformerEmbedder(model, device=device, batch_size=batch_size)


def onnx_only(model: str) -> bool:
    """A model folder of int8 ONNX and int8 weights with a manifest (as
    `bench/train_embedder.py --export` writes): nothing to export, no sentence-transformers."""
    from retrieval.models.onnx import MANIFEST

    try:
        return (Path(resolve_model_path(model)).expanduser() / MANIFEST).exists()
    except EmbeddingModelError:  # the bundled package missing: said when it is loaded
        return False


def fast_bulk(device: str) -> bool:
    """Whether torch beats ONNX Runtime for index batches here: a GPU, or a CPU with
    native bfloat16. Read from /proc/cpuinfo so that searches never import torch."""
    if device not in ("cpu", "auto"):
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        flags = ""
    if re.search(r"\b(amx_bf16|avx512_bf16)\b", flags):
        return True
    return device == "auto" and _nvidia_present()


def _nvidia_present() -> bool:
    return Path("/proc/driver/nvidia/version").exists()


def embedder_from_settings(settings: Settings) -> Embedder:
    return make_embedder(
        settings.embedding.model, settings.embedding.device, settings.embedding.batch_size,
        settings.embedding.backend, cache_dir=settings.embedding.onnx_dir,
        int8_questions=settings.embedding.int8_questions,
        fast_indexing=settings.embedding.fast_indexing,
        index_batch_size=settings.embedding.index_batch_size)
