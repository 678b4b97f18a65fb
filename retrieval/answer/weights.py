"""The fitted answer weights shipped with newsbot (`training/answers.py` writes them): one
JSON file, a section per model (sentences, lead, refusal, reader_lead)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from retrieval.errors import ModelWeightsError

WEIGHTS = Path(__file__).with_name("answer_weights.json")


@lru_cache(maxsize=1)
def shipped_weights() -> dict[str, Any]:
    try:
        data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelWeightsError(f"{WEIGHTS}: the answer weights cannot be read ({exc}); "
                                "reinstall newsbot") from exc
    if not isinstance(data, dict):
        raise ModelWeightsError(f"{WEIGHTS}: not a table of answer weights; reinstall newsbot")
    return data


def shipped_section(name: str) -> tuple[dict, str]:
    """One model's weights and where they are, for errors: (data, "file [name]")."""
    section = optional_section(name)
    if section is None:
        raise ModelWeightsError(f"{WEIGHTS} has no {name!r} weights; reinstall newsbot")
    return section


def optional_section(name: str) -> tuple[dict, str] | None:
    """`shipped_section`, or None for a model the file may leave out (the reader lead)."""
    data = shipped_weights().get(name)
    return None if data is None else (data, f"{WEIGHTS.name} [{name}]")
