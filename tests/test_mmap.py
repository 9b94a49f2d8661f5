"""The mmap map beyond the conformance suite: persistence, locking, readers, compaction, stats."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from mapbench.impls._mmap_format import COUNTER_OFFSET, read_headers
from mapbench.impls.mmap_map import (
    MmapBusyError,
    MmapLockedError,
    MmapMap,
    MmapReader,
    MmapReadOnlyError,
    MmapTruncatedError,
    live_ranges,
)

from mapbench.cli import main
from mapbench.protocol import Persistent, ProbeStatsReporter, capabilities_of
from mapbench.registry import create

MIXED: dict[Any, Any] = {
    1: 2,
    -(2**63): b"min",
    2**63 - 1: -(2**63),
    "1": b"str one",
    b"1": 3,
    "ключ 🙂": b"\x00" * 100,
    b"\xff\x00": b"",
    "": 0,
    "\udcff lone surrogate": 7,
}


def test_registered_with_capabilities(tmp_path: Path) -> None:
    m = create(f"mmap,path='{tmp_path / 'r.map'}'")
    try:
        assert {"persistent", "probe-stats", "presizable"} <= set(capabilities_of(m))
        assert isinstance(m, Persistent) and isinstance(m, ProbeStatsReporter)
    finally:
        m.close()


def test_contents_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    with MmapMap(path) as m:
        m.update(MIXED)
        for i in range(3000):
            m[f"k{i}"] = i
        for i in range(0, 3000, 3):
            del m[f"k{i}"]
    expected = {**MIXED, **{f"k{i}": i for i in range(3000) if i % 3}}
    with MmapMap(path, create=False) as m:
        assert dict(m.items()) == expected
        assert all(type(m[k]) is type(v) for k, v in expected.items())


def test_another_process_reads_the_same_contents(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    with MmapMap(path) as m:
        m.update(MIXED)
    code = (
        "import sys; from mapbench.impls.mmap_map import MmapMap\n"
        "with MmapMap(sys.argv[1], writer=False) as m: print(repr(sorted(m.items(), key=repr)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == repr(sorted(MIXED.items(), key=repr))


def test_temporary_file_is_removed_on_close() -> None:
    m = MmapMap()
    path = m.path
    m[1] = 1
    assert os.path.exists(path)
    m.close()
    assert not os.path.exists(path)
    m.close()  # closing twice is harmless


def test_named_file_is_kept(tmp_path: Path) -> None:
    with MmapMap(tmp_path / "kept.map") as m:
        m[1] = 1
    assert (tmp_path / "kept.map").exists()


def test_create_modes(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    with pytest.raises(FileNotFoundError, match=str(path)):
        MmapMap(path, create=False)
    MmapMap(path, create=True).close()
    with pytest.raises(FileExistsError, match=str(path)):
        MmapMap(path, create=True)
    MmapMap(path, create=False).close()
    assert sorted(os.listdir(tmp_path)) == ["m.map"], "no temporary file is left behind"


def test_an_empty_file_is_an_error_unless_create_is_true(tmp_path: Path) -> None:
    empty = tmp_path / "empty.map"
    empty.touch()
    for kwargs in ({}, {"create": False}, {"writer": False}):
        with pytest.raises(MmapTruncatedError, match=f"{empty}: file is empty"):
            MmapMap(empty, **kwargs)
        assert empty.stat().st_size == 0, "a rejected empty file is left alone"
    with MmapMap(empty, create=True) as m:  # e.g. a file from mkstemp
        m[1] = 1
    with MmapMap(empty, writer=False) as r:
        assert dict(r.items()) == {1: 1}


def test_leftovers_of_killed_compaction_and_creation_go_at_the_next_writer_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.map"
    with MmapMap(path) as m:
        m["k"] = b"v"
    (tmp_path / "m.map.compact").write_bytes(b"half a compaction")
    (tmp_path / "m.map.creating").write_bytes(b"half a creation")  # its creator is dead
    with MmapMap(path, writer=False) as r:  # readers remove nothing
        assert r["k"] == b"v"
    assert len(os.listdir(tmp_path)) == 3
    with MmapMap(path) as m:
        assert m["k"] == b"v"
    assert sorted(os.listdir(tmp_path)) == ["m.map"]


def test_a_creation_left_half_done_is_redone(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    (tmp_path / "m.map.creating").write_bytes(b"\0" * 5000)  # killed while building the file
    with MmapMap(path) as m:
        m[1] = 2
    assert sorted(os.listdir(tmp_path)) == ["m.map"]
    with MmapMap(path, writer=False) as r:
        assert r[1] == 2


def test_errors_name_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "a directory.map"
    directory.mkdir()
    for writer in (False, True):
        with pytest.raises(IsADirectoryError) as info:
            MmapMap(directory, writer=writer)
        assert info.value.filename == str(directory) and str(directory) in str(info.value)
    assert main(["mmap-check", str(directory)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(directory) in err and "directory" in err


def test_closing_the_writer_never_shrinks_the_file(tmp_path: Path) -> None:
    """A reader maps the whole file; a shrink on close would make its next access SIGBUS."""
    path = tmp_path / "m.map"
    code = """
import sys
from mapbench.impls.mmap_map import MmapMap
with MmapMap(sys.argv[1], writer=False) as r:
    print(r._size, flush=True)
    sys.stdin.readline()  # the writer closes meanwhile
    assert bytes(r._mm)[: len(b"MAPBMMAP")] == b"MAPBMMAP"  # touches every mapped page
    print(len(r))
"""
    with MmapMap(path) as w:
        for i in range(3000):
            w[i] = b"x" * 100  # the file grows past what is committed at close
        w.flush()
        reader = subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert reader.stdout is not None
        mapped = int(reader.stdout.readline())
        size = os.path.getsize(path)
        assert mapped == size > w._hdr.alloc_end
    assert os.path.getsize(path) == size
    out, _ = reader.communicate("go\n", timeout=60)
    assert reader.returncode == 0 and int(out) == 3000


def test_second_writer_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    with MmapMap(path):
        with pytest.raises(MmapLockedError, match="another writer"):
            MmapMap(path)
        with MmapMap(path, writer=False):  # readers are always welcome
            pass


def test_second_writer_waits_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    first = MmapMap(path)
    first["x"] = 1
    got: list[Any] = []

    def wait_for_lock() -> None:
        with MmapMap(path, wait=True) as second:
            got.append(second["x"])

    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    time.sleep(0.2)
    assert not got, "the second writer must block while the first holds the lock"
    first.close()
    thread.join(timeout=10)
    assert got == [1]


def test_a_reader_snapshot_is_one_read_only_state(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    with MmapMap(path) as w, MmapMap(path, writer=False) as r:
        w.update({1: b"one", "two": 2})
        w.flush()
        snap = r.snapshot()
        w[3] = 3
        w.flush()
        assert dict(snap) == {1: b"one", "two": 2} and len(r) == 3
        with pytest.raises(TypeError):
            snap[4] = 4  # type: ignore[index]
        assert "snapshot" in capabilities_of(r) and "snapshot" not in capabilities_of(w)


def test_reader_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    MmapMap(path).close()
    with MmapMap(path, writer=False) as r:
        assert isinstance(r, MmapReader)
        for write in (
            lambda: r.__setitem__(1, 1),
            lambda: r.__delitem__(1),
            r.clear,
            lambda: r.update({1: 1}),
            lambda: r.reserve(100),
            r.compact,
        ):
            with pytest.raises(MmapReadOnlyError):
                write()


def test_reader_sees_each_flush_and_only_flushed_writes(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    with MmapMap(path) as w, MmapMap(path, writer=False) as r:
        w["a"] = 1
        assert "a" not in r and len(r) == 0, "unflushed writes are invisible to readers"
        w.flush()
        assert r["a"] == 1
        for i in range(5000):  # several resizes: the reader must follow to the new table
            w[i] = i
        del w["a"]
        w.flush()
        assert len(r) == 5000 and r[4999] == 4999 and "a" not in r
        assert r.probe_stats().capacity == w.probe_stats().capacity


def test_reader_in_another_process_while_writer_commits(tmp_path: Path) -> None:
    """A reader polling during many commits always sees one complete flushed state."""
    path = tmp_path / "m.map"
    code = """
import sys
from mapbench.impls.mmap_map import MmapMap
with MmapMap(sys.argv[1], writer=False) as r:
    print("ready", flush=True)
    checks = 0
    while True:
        n = r.get("round", -1)
        if n == -2:
            break
        if n >= 0:
            values = [r.get(i) for i in range(0, 400, 7)]
            assert values == [n] * len(values) or r.get("round") != n, (n, values)
            checks += 1
    print(checks)
"""
    with MmapMap(path) as w:
        w["round"] = -1
        w.flush()
        reader = subprocess.Popen(
            [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert reader.stdout is not None and reader.stdout.readline() == "ready\n"
        for n in range(60):
            for i in range(400 + 40 * n):  # the table keeps growing while the reader reads
                w[i] = n
            w["round"] = n
            w.flush()
        w["round"] = -2
        w.flush()
        out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0
    assert int(out) > 0


def test_a_reader_s_snapshot_is_left_alone_by_any_number_of_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty commits (and a growth) land during one listing: it still returns the state it
    began on, without a retry, and the writer took one table more than usual, not thirty."""
    path = tmp_path / "m.map"
    with MmapMap(path) as w, MmapMap(path, writer=False) as r:
        w.update({i: 0 for i in range(100)})
        w.flush()
        assert len(r) == 100  # the reader pins the state of this commit
        listing = MmapReader._live_slots

        def commits_first(self: MmapReader) -> Any:
            for n in range(1, 31):
                w.update({i: n for i in range(100)})
                if n == 20:  # growth: a new pair of tables, the pinned one still left alone
                    w.update({i: n for i in range(100, 400)})
                w.flush()
            return listing(self)

        monkeypatch.setattr(MmapReader, "_live_slots", commits_first)
        assert dict(r.items()) == {i: 0 for i in range(100)} and r.retries == 0
        monkeypatch.undo()
        assert dict(r.items()) == {i: 30 if i < 100 else 20 for i in range(400)}
        assert len(w._tables) <= 3  # the pair of the current size, one more while pinned


def test_a_writer_opening_the_file_leaves_a_reader_s_pinned_table_alone(tmp_path: Path) -> None:
    """A reader holds an old state while one writer closes and another opens (and recovers):
    the new writer's working table is not the pinned one."""
    path = tmp_path / "m.map"
    with MmapMap(path) as w:
        w.update({i: 0 for i in range(50)})
    with MmapMap(path, writer=False) as r:
        assert len(r) == 50  # pins the table of this state
        pinned = r._pin
        with MmapMap(path) as w:
            w.update({i: 1 for i in range(50)})
        with MmapMap(path) as w:  # its committed header names the pinned table as the spare
            assert w._w != pinned and pinned in w._tables
            w.update({i: 2 for i in range(50)})
            w.flush()
            listing = MmapReader._live_slots(r)  # the reader's pinned snapshot, read as it stands
            assert set(listing[2]) == {0}
        assert dict(r.items()) == {i: 2 for i in range(50)}


def test_a_reader_of_a_version_2_file_checks_each_read_and_gives_up_when_all_are_torn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version 2 writer knows no pins: each read is checked against its commit counter."""
    path = tmp_path / "v2.map"
    shutil.copy(Path(__file__).parent / "fixtures" / "mmap" / "v2.map", path)
    with MmapMap(path, create=False, writer=False) as r:
        assert r[3] == 9
        probe = MmapReader._slot_words
        commits: list[int] = []

        def commit_during_probe(self: MmapReader, key: Any) -> Any:
            found = probe(self, key)
            if len(commits) < MmapReader.attempts:  # what a version 2 writer's commit does
                commits.append(bump(path))
            return found

        monkeypatch.setattr(MmapReader, "_slot_words", commit_during_probe)
        with pytest.raises(MmapBusyError, match=f"{path}: the writer committed during each"):
            r[3]
        assert r.retries == MmapReader.attempts
        del commits[0]  # one more torn read, then a clean one
        assert r[3] == 9 and r.retries == MmapReader.attempts + 1


def bump(path: Path) -> int:
    """Move the file's commit counter, as a writer does after each commit."""
    with open(path, "r+b") as f:
        f.seek(COUNTER_OFFSET)
        n = int.from_bytes(f.read(8), "little") + 1
        f.seek(COUNTER_OFFSET)
        f.write(n.to_bytes(8, "little"))
    return n


def test_compaction_reclaims_space_and_keeps_contents(tmp_path: Path) -> None:
    path = tmp_path / "m.map"
    with MmapMap(path) as m:
        for i in range(4000):
            m[f"key {i}"] = b"v" * 50
        for i in range(3000):
            del m[f"key {i}"]
        before = m.summary()
        with MmapMap(path, writer=False) as r:
            m.compact()
            after = m.summary()
            assert dict(r.items()) == dict(m.items()), "a reader follows the rename"
        assert after.dead_bytes < before.dead_bytes // 4
        assert after.file_bytes < before.file_bytes
        m["after"] = 1
    assert os.path.getsize(path) < before.file_bytes
    with MmapMap(path) as m:
        assert len(m) == 1001 and m["key 3999"] == b"v" * 50 and m["after"] == 1
    assert sorted(os.listdir(tmp_path)) == ["m.map"]


def test_rejects_bad_types_without_changing_the_file(tmp_path: Path) -> None:
    with MmapMap(tmp_path / "m.map") as m:
        with pytest.raises(OverflowError):
            m[1] = 2**63
        with pytest.raises(TypeError, match="supported"):
            m[1] = "str value"
        with pytest.raises(TypeError, match="supported"):
            m[1.0] = 1
        assert len(m) == 0 and 1.0 not in m and True not in m


def test_probe_stats_match_a_brute_force_count(tmp_path: Path) -> None:
    with MmapMap(tmp_path / "m.map", seed=12345) as m:
        for i in range(3000):
            m[i * 7919 % 100_003] = i
        for i in range(0, 3000, 5):
            del m[i * 7919 % 100_003]
        stats = m.probe_stats()
        tags = m._Q[m._base : m._stop : 3].tolist()
        cap, shift = len(tags), m._shift
        hits = [0] * (cap + 2)
        misses = [0] * (cap + 2)
        for i, t in enumerate(tags):
            if t & 3:  # walk from the home slot to the key
                home = t >> shift
                hits[(i - home) % cap + 1] += 1
            probes = 1  # from each home, count slots until an empty one, inclusive
            while tags[(i + probes - 1) % cap]:
                probes += 1
            misses[probes] += 1
        assert list(stats.hit_histogram) == hits[: len(stats.hit_histogram)]
        assert sum(hits) == stats.size == len(m) == 2400
        assert list(stats.miss_histogram) == misses[: len(stats.miss_histogram)]
        assert sum(misses) == stats.capacity == cap
        assert stats.tombstones == m._tomb and stats.resizes > 0


def test_same_seed_same_layout(tmp_path: Path) -> None:
    def stats(name: str, seed: int) -> Any:
        with MmapMap(tmp_path / name, seed=seed) as m:
            for i in range(2000):
                m[f"s{i}"] = i
            return m.probe_stats()

    assert stats("a.map", 7) == stats("b.map", 7)
    assert stats("c.map", 7).hit_histogram != stats("d.map", 8).hit_histogram


def test_cli_mmap_check_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.map", tmp_path / "bad.map"
    with MmapMap(good) as m:
        m.update(MIXED)
    assert main(["mmap-check", str(good)]) == 0
    assert f"{len(MIXED)}" in capsys.readouterr().out
    data = bytearray(good.read_bytes())
    header, _ = read_headers(memoryview(data), len(data))
    last_blob = max(live_ranges(memoryview(data), header))
    data[last_blob[1] - 1] ^= 0xFF
    bad.write_bytes(data)
    assert main(["mmap-check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fails its checksum" in err
    assert main(["mmap-check", str(tmp_path / "missing.map")]) == 2
