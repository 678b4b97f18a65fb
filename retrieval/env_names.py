"""Settings as users meet them, by their variable names: a malformed value said in one
line, retired names, and `NEWSBOT_*` variables that no setting reads (misspellings)."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError


def one_line_error(error: ValidationError, env_name: Callable[[str], str]) -> str:
    """A validation error as one line naming each variable and what it accepts."""
    problems = []
    for item in error.errors():
        message = item["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
        if not item["loc"]:  # a rule across fields: its message names them
            problems.append(message)
            continue
        name = env_name(str(item["loc"][0]))
        secret = any(word in name for word in ("TOKEN", "KEY", "DATABASE_URL"))
        shown = "(secret)" if secret else repr(item.get("input"))
        problems.append(f"{name}={shown} is not accepted: it should be {message}")
    return "; ".join(problems)


# Settings whose meaning changed: a value meant for the old one must not pass silently.
RETIRED = {
    "NEWSBOT_REFUSE_BELOW": "set NEWSBOT_DECLINE_BELOW instead, a confidence from 0 to 1 "
    "(unset: the fitted point)",
}


log = logging.getLogger("newsbot.settings")
_warned: set[str] = set()  # each misspelled name warned about once per process


def _dotenv_names(path: Path) -> list[str]:
    """The variable names a .env file sets (read as pydantic-settings reads it)."""
    if not path.is_file():
        return []
    from dotenv import dotenv_values

    try:
        return [name for name in dotenv_values(path) if name]
    except (OSError, UnicodeDecodeError):
        return []  # the settings source reports a file it cannot read


def warn_unknown_names(known: set[str]) -> None:
    """One line per `NEWSBOT_*` variable (environment or .env) that is not in `known`
    but close to a name in it: a misspelled name would otherwise be ignored silently."""
    names = [*os.environ, *_dotenv_names(Path(".env"))]
    settings = [k[8:] for k in sorted(known) if k.startswith("NEWSBOT_")]
    for name in names:
        upper = name.upper()
        if not upper.startswith("NEWSBOT_") or upper in known or name in _warned:
            continue
        # Compared without the shared prefix, which would make every pair look alike.
        close = difflib.get_close_matches(upper[8:], settings, n=1, cutoff=0.8)
        if close:  # far from every setting: some other tool's variable, not a typo
            _warned.add(name)  # (only then: a later, larger set of settings may match it)
            log.warning("%s is not a newsbot setting; did you mean NEWSBOT_%s?", name,
                        close[0])
