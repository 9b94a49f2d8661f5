"""`mapbench run --shard K/N`: a fixed, covering partition; shards merged equal one whole run."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mapbench.case import CaseId
from mapbench.errors import UsageError
from mapbench.results import load
from mapbench.runner.plan import (
    DEFAULT_PLAN,
    make_cases,
    parse_shard,
    select_maps,
    shard,
    shard_of,
)


def test_a_case_s_shard_depends_only_on_its_name() -> None:
    # Pinned: SHA-256 is the same on every machine and Python (hash() is salted per process).
    pinned = {
        "dict/insert/random-int/1000": [1, 2, 2],
        "c-linear/lookup-hit/short-str/10000": [1, 3, 7],
        "sharded/delete/random-int/1000": [1, 1, 2],
    }
    for name, shards in pinned.items():
        assert [shard_of(CaseId.parse(name), n) for n in (2, 3, 7)] == shards


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_partition_the_cases(count: int) -> None:
    maps, _ = select_maps([])
    cases = make_cases(maps, DEFAULT_PLAN.workloads, DEFAULT_PLAN.key_kinds, DEFAULT_PLAN.sizes)
    parts = [shard(cases, k, count) for k in range(1, count + 1)]
    assert sorted(c for part in parts for c in part) == sorted(cases)  # each case exactly once
    for part in parts:
        assert part == [c for c in cases if c in part]  # original order kept
    # A machine missing some maps still puts every other case in the same shard.
    fewer = [c for c in cases if c.map != "dict"]
    assert [shard(fewer, k, count) for k in range(1, count + 1)] == [
        [c for c in part if c.map != "dict"] for part in parts
    ]


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", ""])
def test_a_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="K/N"):
        parse_shard(text)


RunMapbench = Callable[..., "subprocess.CompletedProcess[str]"]  # the conftest fixture


def _run(run_mapbench: RunMapbench, output: Path, *args: str) -> None:
    """`mapbench run --quick ARGS -o OUTPUT`, which must succeed."""
    done = run_mapbench("run", "--quick", *args, "-o", str(output), cwd=output.parent)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _cases_and_exact_values(directories: list[Path]) -> tuple[set[tuple], dict[tuple, float]]:
    frame = load(directories).frame
    key = ["map", "workload", "key_kind", "size"]
    cases = {tuple(r) for r in frame[[*key, "status"]].drop_duplicates().itertuples(index=False)}
    exact = frame[frame["kind"] == "deterministic"]
    values = {
        (*row[:4], row[4]): row[5]
        for row in exact[[*key, "metric", "value"]].itertuples(index=False)
    }
    assert exact[[*key, "metric"]].duplicated().sum() == 0  # each case ran in one shard only
    return cases, values


# Four maps of four kinds (a dict, dicts inside, C, a file) and three workloads (one a batch
# workload, skipped by the maps without batch calls): every kind of result a shard can hold.
# The exact metrics are compared, so two timing processes a case are enough.
MAPS = ("--map", "dict", "--map", "sharded", "--map", "c-linear", "--map", "mmap")
PLAN = ("--workload", "insert,insert-batch,lookup-hit", "--processes", "2")


@pytest.mark.slow
def test_three_shards_merged_equal_one_whole_quick_run(
    tmp_path: Path, run_mapbench: RunMapbench
) -> None:
    for k in (1, 2, 3):
        _run(run_mapbench, tmp_path / f"shard-{k}", *MAPS, *PLAN, "--shard", f"{k}/3")
    _run(run_mapbench, tmp_path / "whole", *MAPS, *PLAN)
    shards = [tmp_path / f"shard-{k}" for k in (1, 2, 3)]
    merged_cases, merged_values = _cases_and_exact_values(shards)
    whole_cases, whole_values = _cases_and_exact_values([tmp_path / "whole"])
    assert merged_cases == whole_cases and len(whole_cases) >= 5
    assert merged_values == whole_values and len(whole_values) > 0
    for k, directory in enumerate(shards, start=1):
        environment = load([directory]).environments
        assert all(e["run"]["shard"] == f"{k}/3" for e in environment.values())
