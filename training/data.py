"""Where training data lives: `../shared/data/` beside the checkout, or the folder named
by `NEWSBOT_SHARED_DIR`'s `data/`. Training data is read from there, never committed."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def shared_data() -> Path:
    """The shared data folder (which may not exist on a user's machine)."""
    return Path(os.environ.get("NEWSBOT_SHARED_DIR", REPO.parent / "shared")) / "data"


def runs_dir() -> Path:
    """Where training runs keep their checkpoints: outside the checkout, so a fresh clone
    or a `git clean` never loses hours of training."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "newsbot" / "training"
