"""The fitted answer weights shipped with newsbot (`bench/train_answers.py` writes them)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

WEIGHTS = Path(__file__).with_name("answer_weights.json")


@lru_cache(maxsize=1)
def shipped_weights() -> dict[str, Any]:
    return json.loads(WEIGHTS.read_text(encoding="utf-8"))
