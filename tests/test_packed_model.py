"""A model packed as int8 ONNX with int8 weights (what `bench/train_embedder.py --export`
writes for an adapted embedder), made here from the bundled model: it loads from its
folder offline, runs questions without torch, and an index of another model asks for a
rebuild in one line."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_article

from bot.cli import cli
from retrieval.errors import EmbeddingModelError
from retrieval.index.embedding import (
    RoutedEmbedder,
    SentenceTransformerEmbedder,
    embed_for_index,
    fast_bulk,
    make_embedder,
    onnx_only,
)
from retrieval.models.files import resolve_model_path
from retrieval.models.onnx import MANIFEST, OnnxEmbedder, read_manifest, write_packed_model
from retrieval.settings import BUNDLED_MODEL

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["Argentina beat France on penalties in the World Cup final in Qatar.",
         "The central bank raised interest rates by a quarter point on Wednesday.",
         "A wildfire forced thousands to leave their homes on the Greek island of Rhodes."]


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("packed") / "minilm-int8"
    write_packed_model(Path(resolve_model_path(BUNDLED_MODEL)), folder, BUNDLED_MODEL, "test")
    return folder


def test_the_folder_holds_int8_files_and_a_manifest(packed: Path) -> None:
    manifest = read_manifest(packed)
    assert manifest["tokenizer_from"] == BUNDLED_MODEL and manifest["max_tokens"] == 256
    assert manifest["bert"]["num_hidden_layers"] == 6
    assert (packed / manifest["onnx"]).stat().st_size < 40e6  # int8: a quarter of float32
    assert (packed / manifest["weights"]).stat().st_size < 40e6
    assert onnx_only(str(packed)) and not onnx_only(BUNDLED_MODEL)


def test_questions_on_onnx_and_index_batches_on_its_weights_agree(
        packed: Path, tmp_path: Path) -> None:
    """Index batches run its int8 weights in torch where that is faster (bfloat16 or a
    GPU), else the same ONNX model; either way the vectors agree with the questions'."""
    embedder = make_embedder(str(packed), device="cpu", cache_dir=tmp_path)
    assert isinstance(embedder, RoutedEmbedder) == fast_bulk("cpu")
    alone = make_embedder(str(packed), device="cpu", cache_dir=tmp_path, fast_indexing=False)
    assert isinstance(alone, OnnxEmbedder)
    documents = embedder.embed_documents(TEXTS)
    assert documents.shape == (3, 384)
    assert np.allclose(np.linalg.norm(documents, axis=1), 1, atol=1e-3)
    for indexer in (embedder, alone):
        indexed = embed_for_index(indexer, TEXTS * 8)
        assert (indexed[:3] * documents).sum(axis=1).min() > 0.985
    torch_side = SentenceTransformerEmbedder(str(packed)).embed_documents(TEXTS)
    stock = SentenceTransformerEmbedder(BUNDLED_MODEL).embed_documents(TEXTS)
    assert (torch_side * stock).sum(axis=1).min() > 0.995  # int8 weights, nothing else
    assert list(tmp_path.iterdir()) == []  # nothing exported or quantized at run time
    question = embedder.embed_query("Which island did a wildfire force people off?")
    scores = documents @ question
    assert int(np.argmax(scores)) == 2 and scores[2] > scores[0] + 0.2


def test_a_search_with_it_never_imports_torch(packed: Path, tmp_path: Path) -> None:
    code = ("import sys; from retrieval.index.embedding import make_embedder; "
            f"e = make_embedder({str(packed)!r}, cache_dir={str(tmp_path)!r}); "
            "e.embed_query('a question'); "
            "e.embed_documents(['a passage']); print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={"PATH": "/usr/bin:/bin",
                                                      "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False"]


def test_a_broken_manifest_is_one_line_naming_the_file(packed: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    manifest = json.loads((packed / MANIFEST).read_text())
    del manifest["bert"]
    (broken / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(EmbeddingModelError, match=f"{broken / MANIFEST}: not a readable"):
        OnnxEmbedder(str(broken), cache_dir=tmp_path).embed_query("a question")


def test_an_index_of_another_model_asks_for_a_rebuild_in_one_line(
        packed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_article(tmp_path / "news", "dam.md", "River dam opens",
                  "The Lakeside dam opened on Monday after ten years of building.")
    monkeypatch.setenv("NEWSBOT_CORPUS_DIR", str(tmp_path / "news"))
    runner = CliRunner()
    built = runner.invoke(cli, ["index"])  # conftest's `hash` model
    assert built.exit_code == 0, built.output
    monkeypatch.setenv("NEWSBOT_EMBEDDING_MODEL", str(packed))
    refused = runner.invoke(cli, ["search", "dam"])
    assert refused.exit_code != 0
    lines = refused.output.strip().splitlines()
    assert len(lines) == 1, refused.output
    assert f"built with embedding model 'hash:256', not '{packed}'" in lines[0]
    assert lines[0].endswith("run `newsbot index --rebuild`")
    rebuilt = runner.invoke(cli, ["index", "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    found = runner.invoke(cli, ["search", "dam"])
    assert found.exit_code == 0 and "Lakeside dam" in found.output
