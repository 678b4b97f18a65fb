"""The reader as a transformers model, for training and measuring: the bundled MiniLM
with a span head, a trained model folder, or a packed file as the product ships it; and
the packing of a trained model into that file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from training.squad import Example
from training.windows import Window, best_span, make_windows, tensors


def base_dir() -> Path:
    from retrieval.models.files import resolve_model_path
    from retrieval.settings import BUNDLED_MODEL

    return Path(resolve_model_path(BUNDLED_MODEL))


def load_reader(source: Path | None = None):
    """A BertForQuestionAnswering: from a trained model folder, from a packed
    `.safetensors` file over the bundled model, or (None) the bundled model with a new
    head. The word embeddings stay frozen: the product reads them from the bundled model."""
    import transformers
    from transformers import AutoModelForQuestionAnswering

    transformers.logging.set_verbosity_error()
    if source is not None and source.is_dir():
        model = AutoModelForQuestionAnswering.from_pretrained(str(source))
    else:
        model = AutoModelForQuestionAnswering.from_pretrained(str(base_dir()))
        if source is not None:
            from retrieval.models.bert import read_weights

            packed = {"bert." + k if not k.startswith("qa_outputs") else k: v
                      for k, v in read_weights(source).items()}
            missing = set(packed) - set(model.state_dict())
            if missing:
                raise SystemExit(f"{source}: not a reader's weights ({sorted(missing)[:3]} ...)")
            model.load_state_dict(packed, strict=False)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


def predict(model, tokenizer, examples: list[Example], longest: int = 30,
            batch: int = 64) -> list[tuple[str, float]]:
    """For each example: its best span's text, and that span's score less the no-answer
    score (the least no-answer score over the example's windows)."""
    import torch

    windows = make_windows(tokenizer, examples)
    best: list[tuple[float, str]] = [(-np.inf, "")] * len(examples)
    null = [np.inf] * len(examples)
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
    model.eval()
    for lo in range(0, len(order), batch):
        part: list[Window] = [windows[i] for i in order[lo:lo + batch]]
        ids, types, mask, _, _ = tensors(part)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(input_ids=ids, token_type_ids=types, attention_mask=mask)
        starts, ends = out.start_logits.float().numpy(), out.end_logits.float().numpy()
        for row, window in enumerate(part):
            n = len(window.ids)
            score, a, b, none = best_span(window, starts[row, :n], ends[row, :n], longest)
            e = window.example
            null[e] = min(null[e], none)
            if score > best[e][0]:
                best[e] = (score, examples[e].context[a:b])
    return [(text, score - none) for (score, text), none in zip(best, null, strict=True)]


def pack(model, target: Path) -> None:
    """The trained reader as the product reads it (`retrieval/answer/reader.py`): every
    weight but the word embeddings (the bundled model's serve) and the pooler, matrices
    in int8 with a scale per row."""
    from safetensors.torch import save_file

    from retrieval.models.bert import write_int8_weights

    weights = {name.removeprefix("bert."): tensor.detach().float().contiguous()
               for name, tensor in model.state_dict().items()
               if "word_embeddings" not in name and "pooler" not in name
               and not name.endswith("position_ids")}
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.safetensors"
        save_file(weights, str(plain))
        write_int8_weights(plain, target)
