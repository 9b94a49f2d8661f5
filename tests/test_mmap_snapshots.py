"""A reader beside a writer that commits every 10 writes: 1,000 full reads in a row, each one
exactly the state of one commit, none refused (the version 2 reader gave up in 19 of 20 runs on
a 200,000-key file)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mapbench.impls.mmap_map import MmapMap

KEYS = 10_000  # int keys 0..KEYS-1; commit c rewrites the ten keys of block c % BLOCKS
BLOCKS = KEYS // 10
READS = 1000
TIME_LIMIT = 300.0  # seconds for the 1,000 reads on a loaded 2-core machine (about 20 s at load 5)

WRITER = """
import sys
from mapbench.impls.mmap_map import MmapMap
path, blocks = sys.argv[1], int(sys.argv[2])
with MmapMap(path, create=False) as w:
    print("ready", flush=True)
    c = 0
    while True:
        c += 1
        block = c % blocks
        for k in range(10 * block, 10 * block + 9):
            w[k] = c
        w["n"] = c  # the tenth write: the commit's own number
        w[10 * block + 9] = c
        w.flush()
"""


def expected_value(key: int, commit: int) -> int:
    """What `key` holds after `commit`: the last commit up to it that rewrote its block."""
    last = commit - (commit - key // 10) % BLOCKS
    return last if last >= 1 else -1


def check(state: Any) -> int:
    commit = state["n"]
    assert len(state) == KEYS + 1, len(state)
    for key in range(KEYS):
        assert state[key] == expected_value(key, commit), (key, state[key], commit)
    return int(commit)


@pytest.mark.slow
def test_a_reader_beside_a_writer_committing_every_10_writes_reads_1000_states(
    tmp_path: Path,
) -> None:
    path = tmp_path / "busy.map"
    with MmapMap(path, create=True) as w:
        w.update({k: -1 for k in range(KEYS)})
        w["n"] = 0
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(BLOCKS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        started = time.monotonic()
        commits: list[int] = []
        with MmapMap(path, writer=False) as r:
            for _ in range(READS):
                commits.append(check(r.snapshot()))
                assert time.monotonic() - started < TIME_LIMIT, f"{len(commits)} reads"
            seconds = time.monotonic() - started
            retries = r.retries
        assert writer.poll() is None, "the writer stopped"
    finally:
        writer.kill()
        writer.wait()
    assert commits == sorted(commits), "a read went back in time"
    moved = len(set(commits))
    # The writer really committed during the reads: most reads saw a newer state.
    assert moved > READS // 2, (moved, commits[-1])
    print(f"{READS} reads in {seconds:.1f} s, {commits[-1]} commits, {retries} re-pins")
