"""The bundled MiniLM (a 6-layer BERT with mean pooling) written out in plain torch, for
index batches: the same vectors as sentence-transformers, without importing it. (The
answer's reader reuses its layers: `retrieval/answer/reader.py`.)

Why: a whole `newsbot index` process spent seconds importing sentence-transformers and
transformers (with scipy, pandas, sympy behind them) before embedding anything, and their
BERT pads every batch to its longest text and masks attention. Here texts are batched by
token count (little padding; no mask when a batch has none), and only torch,
safetensors and tokenizers are imported. Models of another shape go to sentence-transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

BATCH_TOKENS = 16384  # padded tokens per forward pass (64 full-length chunks)


def plain_bert(model_dir: Path) -> bool:
    """Whether `model_dir` is a BERT with mean pooling and normalisation (the bundled
    model's shape), which `BertEncoder` computes exactly."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
        modules = json.loads((model_dir / "modules.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and kinds == ["Transformer", "Pooling", "Normalize"]
            and mean_pooling(pooling)
            and (model_dir / "model.safetensors").exists()
            and (model_dir / "tokenizer.json").exists())


def mean_pooling(pooling: dict) -> bool:
    """A pooling config of mean tokens alone, as sentence-transformers writes it: one flag
    per mode up to version 4, `"pooling_mode": "mean"` from version 5."""
    if "pooling_mode" in pooling:
        return pooling["pooling_mode"] == "mean"
    return pooling.get("pooling_mode_mean_tokens") is True and not any(
        v for k, v in pooling.items()
        if k.startswith("pooling_mode") and k != "pooling_mode_mean_tokens")


def token_limit(model_dir: Path) -> int:
    """The folder's max_seq_length: in sentence_bert_config.json up to sentence-transformers
    4, the tokenizer's model_max_length from version 5."""
    sbert = json.loads((model_dir / "sentence_bert_config.json").read_text())
    if "max_seq_length" in sbert:
        return int(sbert["max_seq_length"])
    try:
        tokenizer = json.loads((model_dir / "tokenizer_config.json").read_text())
    except (OSError, ValueError):
        return 256
    # Tokenizers with no limit of their own write a huge number; BERT has 512 positions.
    return min(int(tokenizer.get("model_max_length", 256)), 512)


class BertEncoder:
    """Embeds texts with the weights of `model_dir` in `dtype` (bfloat16 on chips that
    compute it natively)."""

    def __init__(self, model_dir: Path, dtype: str = "bfloat16", device: str = "cpu",
                 packed: dict | None = None) -> None:
        """`model_dir` is a sentence-transformers folder, or with `packed` (the manifest of
        a packed model: int8 ONNX and int8 weights) that model's folder, with the tokenizer
        read from the manifest's `tokenizer_dir`."""
        import torch
        from tokenizers import Tokenizer

        self.torch = torch
        self.dtype = getattr(torch, dtype)
        self.device = device
        if packed is not None:
            self.config = packed["bert"]
            weights = read_weights(model_dir / packed["weights"])
            tokenizer_dir, limit = Path(packed["tokenizer_dir"]), packed["max_tokens"]
        else:
            from safetensors.torch import load_file

            self.config = json.loads((model_dir / "config.json").read_text())
            weights = load_file(str(model_dir / "model.safetensors"))
            tokenizer_dir, limit = model_dir, token_limit(model_dir)
        self.weights = {k: v.to(device=device, dtype=self.dtype) for k, v in weights.items()
                        if not k.endswith("position_ids")}
        self.tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=limit)
        self.tokenizer.no_padding()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors in the order of `texts`."""
        encoded = [e.ids for e in self.tokenizer.encode_batch(texts)]
        out = np.zeros((len(texts), self.config["hidden_size"]), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        with self.torch.inference_mode():
            for idx in length_batches([len(encoded[i]) for i in order], BATCH_TOKENS):
                rows = [order[i] for i in idx]
                width = len(encoded[rows[-1]])
                ids = self.torch.zeros((len(rows), width), dtype=self.torch.long)
                mask = self.torch.zeros((len(rows), width), dtype=self.torch.bool)
                for r, i in enumerate(rows):
                    ids[r, : len(encoded[i])] = self.torch.tensor(encoded[i])
                    mask[r, : len(encoded[i])] = True
                vectors = self._forward(ids.to(self.device), mask.to(self.device))
                out[rows] = vectors.float().cpu().numpy()
        return out

    def _forward(self, ids, mask):
        """One batch, padded to its longest text; the mask is left out when none is
        padded (attention without a mask takes torch's faster kernel)."""
        f, w, cfg = self.torch.nn.functional, self.weights, self.config
        size = cfg["hidden_size"]
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        attn_mask = None if bool(mask.all()) else mask[:, None, None, :]
        for n in range(cfg["num_hidden_layers"]):
            x = self._layer(x, f"encoder.layer.{n}.", attn_mask)
        weights = mask[:, :, None].to(self.torch.float32)
        mean = (x.float() * weights).sum(dim=1) / weights.sum(dim=1)
        return f.normalize(mean, dim=-1).reshape(-1, size)

    def _linear(self, x, name: str):
        return self.torch.nn.functional.linear(x, self.weights[name + ".weight"],
                                               self.weights[name + ".bias"])

    def _norm(self, x, name: str):
        return self.torch.nn.functional.layer_norm(
            x, (self.config["hidden_size"],), self.weights[name + ".weight"],
            self.weights[name + ".bias"], self.config["layer_norm_eps"])

    def _layer(self, x, prefix: str, attn_mask):
        """One encoder layer, as BERT computes it (post-norm, exact GELU)."""
        f = self.torch.nn.functional
        batch, length, size = x.shape
        heads = self.config["num_attention_heads"]
        q, k, v = (self._linear(x, f"{prefix}attention.self.{name}")
                   .view(batch, length, heads, size // heads).transpose(1, 2)
                   for name in ("query", "key", "value"))
        context = f.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        context = context.transpose(1, 2).reshape(batch, length, size)
        x = self._norm(x + self._linear(context, prefix + "attention.output.dense"),
                       prefix + "attention.output.LayerNorm")
        hidden = f.gelu(self._linear(x, prefix + "intermediate.dense"))
        return self._norm(x + self._linear(hidden, prefix + "output.dense"),
                          prefix + "output.LayerNorm")


def length_batches(lengths: list[int], max_tokens: int, max_rows: int = 128
                   ) -> list[list[int]]:
    """Positions of `lengths` (sorted ascending) cut into runs whose padded size
    (rows x longest) stays within `max_tokens`: neighbours in length pad little."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i, length in enumerate(lengths):
        if current and (len(current) >= max_rows or (len(current) + 1) * length > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def write_int8_weights(model_file: Path, target: Path) -> None:
    """A BERT's weights with every matrix in int8 (one scale per row, symmetric) and the
    rest (biases, layer norms) in float32: a quarter of the size, and as close to the
    original as the int8 ONNX model that embeds questions."""
    import torch
    from safetensors.torch import load_file, save_file

    out = {}
    for name, tensor in load_file(str(model_file)).items():
        if name.endswith("position_ids"):
            continue
        tensor = tensor.float()
        if tensor.dim() == 2:
            scale = tensor.abs().amax(dim=1).clamp(min=1e-12) / 127
            out[name] = torch.round(tensor / scale[:, None]).to(torch.int8)
            out[name + ".scale"] = scale
        else:
            out[name] = tensor
    save_file(out, str(target))
    target.chmod(0o644)  # a model folder others read


def read_weights(path: Path) -> dict:
    """`write_int8_weights`' file back as float32 tensors."""
    from safetensors.torch import load_file

    stored = load_file(str(path))
    return {name: tensor.float() * stored[name + ".scale"][:, None]
            if name + ".scale" in stored else tensor
            for name, tensor in stored.items() if not name.endswith(".scale")}
