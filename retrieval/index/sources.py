"""What an index was built from: the folders and files its runs were given (the feeds
folder among them once feeds were fetched). Kept in `sources.json` beside the index, not
inside its database, so that a rebuild from a damaged database still knows them and never
falls back on the bundled sample unless that is what the index holds."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from corpus.errors import UnusableFile
from corpus.loader import SAMPLE_DIR
from retrieval.errors import InvalidRequest
from retrieval.settings.index import IndexSettings

FILE_NAME = "sources.json"


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def _inside(path: Path, folder: Path) -> bool:
    return path != folder and path.is_relative_to(folder)


def recorded_sources(index_dir: Path) -> list[Path]:
    """The folders and files this index was built from; empty when it records none (an
    index made before they were recorded, or one never indexed)."""
    try:
        data = json.loads((Path(index_dir) / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    paths = data.get("paths") if isinstance(data, dict) else None
    return [Path(p) for p in paths if isinstance(p, str)] if isinstance(paths, list) else []


def _write(index_dir: Path, paths: list[Path]) -> None:
    """Written whole and renamed into place: a killed run leaves the old list or the new."""
    target = Path(index_dir) / FILE_NAME
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps({"paths": [str(p) for p in paths]}, indent=1) + "\n",
                         encoding="utf-8")
    os.replace(temporary, target)


def record_sources(index_dir: Path, paths: Iterable[Path], *, replace: bool = False
                   ) -> list[str]:
    """Add `paths` (those that exist) to what the index records, or with `replace` (a
    rebuild) record only them. A path inside a recorded folder adds nothing; a folder
    takes the place of the recorded paths inside it. Returns a note for the user when
    their own articles just joined the bundled sample's (the demo's index, say)."""
    before = recorded_sources(index_dir)
    kept = [] if replace else list(before)
    for path in (_absolute(p) for p in paths):
        if not path.exists() or path in kept or any(_inside(path, k) for k in kept):
            continue
        kept = [k for k in kept if not _inside(k, path)] + [path]
    if kept != before:
        Path(index_dir).mkdir(parents=True, exist_ok=True)
        _write(index_dir, kept)
    if only_the_sample(before) and len(kept) > 1:
        return [f"this index also holds the bundled sample's articles ({SAMPLE_DIR}); "
                "`newsbot index --rebuild FOLDER` keeps only yours, or `--index-dir DIR` "
                "starts an index of their own"]
    return []


def only_the_sample(paths: list[Path]) -> bool:
    """Whether these sources are the bundled sample corpus alone."""
    return [_absolute(p) for p in paths] == [_absolute(SAMPLE_DIR)]



def sources_to_index(setting: IndexSettings, index_dir: Path, paths: list[Path],
                     rebuild: bool) -> tuple[list[Path], list[UnusableFile]]:
    """What an index run reads, and the recorded sources left out because they are gone.
    Without `paths`, a rebuild reads what the index was built from; a run reads
    NEWSBOT_CORPUS_DIR when it is set, else the same; an index that records nothing reads
    the setting (the bundled sample by default). A path that does not exist stops a
    rebuild (a typo must not cost the whole index) and a setting that names none."""
    targets, gone = paths, []
    recorded = [] if paths else recorded_sources(index_dir)
    if recorded and (rebuild or "corpus_dir" not in setting.model_fields_set):
        targets = [p for p in recorded if p.exists()]
        gone = [UnusableFile(p, "this index was built from it, but it is gone")
                for p in recorded if not p.exists()]
        if rebuild and not targets:
            raise InvalidRequest(f"{recorded[0]}, which this index was built from, is gone; "
                                 "nothing was rebuilt: name what to rebuild from, "
                                 "newsbot index --rebuild FOLDER")
    elif not paths:
        targets = [Path(setting.corpus_dir)]
        if not Path(setting.corpus_dir).expanduser().exists():
            raise InvalidRequest(f"{setting.env_name('corpus_dir')}={setting.corpus_dir}: no "
                                 "such file or folder; set it to your articles' folder, or "
                                 "name one: newsbot index FOLDER")
    missing = [str(p) for p in targets if not p.expanduser().exists()]
    if rebuild and missing:
        raise InvalidRequest(f"{missing[0]}: no such file or folder; nothing was rebuilt")
    return targets, gone
