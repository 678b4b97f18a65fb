"""Damaged index files are found, explained in one line with what to run, and repaired by
that command: a garbled or partly overwritten SQLite file, a deleted vector store, a full
disk. Real files, real processes (the CLI in-process through click)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import story, write_article
from test_index_incremental import assert_consistent

from bot.cli import cli
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def one_line(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    # Progress lines ("embedded 28/400 articles ...") show on any run longer than 2 s.
    lines = [line for line in result.output.splitlines()
             if line.strip() and not line.startswith("embedded ")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    assert run("index").exit_code == 0  # the sample corpus, into NEWSBOT_INDEX_DIR
    return tmp_path / "index"


def articles() -> int:
    return json.loads(run("stats", "--json").output)["articles"]


def test_a_garbled_manifest_is_explained_and_rebuilt(index_dir: Path) -> None:
    expected = articles()
    manifest = index_dir / "manifest.sqlite"
    manifest.write_bytes(os.urandom(manifest.stat().st_size))
    for command in (["stats"], ["search", "World Cup"], ["index"]):
        assert "newsbot index --rebuild" in one_line(run(*command)), command
    assert run("index", "--rebuild").exit_code == 0
    assert articles() == expected


def test_damage_inside_the_manifest_is_not_reported_as_unchanged(index_dir: Path) -> None:
    manifest = index_dir / "manifest.sqlite"
    data = bytearray(manifest.read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle:middle + 3 * page] = os.urandom(3 * page)
    manifest.write_bytes(bytes(data))
    line = one_line(run("index"))
    assert "damaged" in line and "newsbot index --rebuild" in line
    assert run("index", "--rebuild").exit_code == 0
    assert run("index").output.startswith("added 0, updated 0, removed 0, unchanged 24")


def test_a_deleted_vector_store_is_noticed_and_re_embedded(index_dir: Path) -> None:
    chunks = json.loads(run("stats", "--json").output)["chunks"]
    shutil.rmtree(index_dir / "chroma")
    line = one_line(run("search", "World Cup final"))
    assert f"holds 0 of the {chunks} chunks" in line and "run `newsbot index`" in line
    result = run("index")
    assert result.exit_code == 0 and "added 24" in result.output, result.output
    assert run("search", "World Cup final", "--json").exit_code == 0
    index = NewsIndex(index_dir, HashEmbedder())
    assert_consistent(index)
    index.close()


def mount_small_disk(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True)
    return done.returncode == 0


def test_a_full_disk_says_so_and_keeps_what_was_indexed(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    disk = tmp_path / "small-disk"
    if not mount_small_disk(disk, "6m"):
        pytest.skip("needs root to mount a size-capped tmpfs")
    try:
        monkeypatch.setenv("NEWSBOT_INDEX_DIR", str(disk / "index"))
        assert run("index").exit_code == 0
        before = articles()
        big = tmp_path / "big"
        for i in range(400):
            write_article(big, f"b{i:03d}.md", f"Long report {i}", story(f"topic {i}", 40))
        line = one_line(run("index", str(big)))
        assert "disk holding" in line and "is full" in line
        assert "no transaction is active" not in line
        # What was indexed before is kept, and whatever was committed before the disk
        # filled (batches are committed about every second) is whole.
        assert articles() >= before
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
