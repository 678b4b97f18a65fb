"""The plain-torch BERT that embeds index batches: the same vectors as
sentence-transformers, batched by length, and only for models of its shape."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.index.embedding import SentenceTransformerEmbedder
from retrieval.models.bert import BertEncoder, length_batches, plain_bert, token_limit
from retrieval.models.files import resolve_model_path
from retrieval.settings import BUNDLED_MODEL

REPO = Path(__file__).resolve().parent.parent
TEXTS = ["Argentina beat France on penalties in the World Cup final in Qatar.",
         "Rates.",
         "The central bank raised interest rates by a quarter point on Wednesday, its "
         "tenth rise in a row, and said more could follow if prices kept climbing."] * 3


def test_length_batches_keep_order_and_the_token_budget() -> None:
    lengths = [3, 3, 5, 8, 8, 8, 200, 256, 256]
    batches = length_batches(lengths, max_tokens=520, max_rows=4)
    assert [i for b in batches for i in b] == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 4
        assert len(batch) * lengths[batch[-1]] <= 520 or len(batch) == 1
    assert length_batches([], 100) == []
    assert length_batches([300], 100) == [[0]]  # one text longer than the budget still runs


def test_only_a_mean_pooled_bert_takes_the_plain_path(tmp_path: Path) -> None:
    bundled = Path(resolve_model_path(BUNDLED_MODEL))
    assert plain_bert(bundled)
    copy = tmp_path / "model"
    shutil.copytree(bundled, copy, ignore=shutil.ignore_patterns("model.safetensors"))
    (copy / "model.safetensors").symlink_to(bundled / "model.safetensors")
    assert plain_bert(copy)
    pooling = copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.write_text(json.dumps({**config, "pooling_mode_mean_tokens": False,
                                   "pooling_mode_cls_token": True}))
    assert not plain_bert(copy)  # CLS pooling: left to sentence-transformers
    assert not plain_bert(tmp_path / "nowhere")
    # sentence-transformers 5 writes one pooling mode by name (a model it trained or saved)
    pooling.write_text(json.dumps({"embedding_dimension": 384, "pooling_mode": "mean"}))
    assert plain_bert(copy)
    pooling.write_text(json.dumps({"embedding_dimension": 384, "pooling_mode": "cls"}))
    assert not plain_bert(copy)


def test_the_token_limit_is_read_from_either_shape_of_folder(tmp_path: Path) -> None:
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 200}')
    (tmp_path / "tokenizer_config.json").write_text('{"model_max_length": 384}')
    assert token_limit(tmp_path) == 200
    (tmp_path / "sentence_bert_config.json").write_text('{"transformer_task": "x"}')
    assert token_limit(tmp_path) == 384  # sentence-transformers 5: the tokenizer's


@pytest.mark.slow
def test_plain_bert_gives_sentence_transformers_vectors() -> None:
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(BUNDLED_MODEL)
    reference = SentenceTransformer(path, device="cpu").encode(
        TEXTS, normalize_embeddings=True, batch_size=4)
    full = BertEncoder(Path(path), "float32").embed(TEXTS)
    assert full.shape == reference.shape == (len(TEXTS), 384)
    assert np.abs(full - reference).max() < 1e-5  # padded or not, the same numbers
    half = BertEncoder(Path(path), "bfloat16").embed(TEXTS)
    assert (half * reference).sum(axis=1).min() > 0.999
    embedder = SentenceTransformerEmbedder(bfloat16=True)
    assert isinstance(embedder.model, BertEncoder)


@pytest.mark.slow
def test_an_index_run_imports_neither_sentence_transformers_nor_transformers(
        tmp_path: Path) -> None:
    code = ("import sys; from retrieval.index.embedding import SentenceTransformerEmbedder;"
            "e = SentenceTransformerEmbedder(bfloat16=True);"
            "v = e.embed_documents(['one text', 'and another, longer text']);"
            "print(v.shape, 'sentence_transformers' in sys.modules, 'transformers' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                               "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["(2,", "384)", "False", "False"]
