"""`mapbench conform` run as a plug-in author would: from a directory of their own, on maps in
a file of their own. A broken map fails with a message (clause, program, expected and got),
naming the test that caught it; correct ones (raw classes adapted by the registry, a sorted
map as given) and the declared peers pass; nothing is left in the author's directory."""

from __future__ import annotations

import gc
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mapbench.commands.conform import _collector_off_until_tests
from mapbench.conformance import broken

MAPBENCH = str(Path(sys.executable).with_name("mapbench"))


@pytest.fixture(scope="module")
def maps_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("author") / "broken_maps.py"
    path.write_text(inspect.getsource(broken))  # as an author's own file, outside any package
    return path


def conform(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAPBENCH, "conform", *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "clause", "caught_by"),
    [
        ("PopMissingReturnsNone", "pop-missing", "test_every_clause"),
        ("OverwriteLostAt37", "getitem", "test_every_size"),
        ("ReadReordersIteration", "read-during-iteration", "test_every_clause"),
        ("ClearKeepsOverflow", "len", "test_growth_and_shrink_boundaries"),
    ],
)
def test_conform_catches_a_broken_map(
    name: str, clause: str, caught_by: str, maps_file: Path, tmp_path: Path
) -> None:
    done = conform(f"{maps_file}:{name}", cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    assert any(f"{caught_by}[" in line for line in failed), failed
    report = done.stdout.split("= FAILURES =", 1)[1]
    assert f"\n{clause}: " in report and "program (" in report and "expected: " in report
    assert "Traceback" not in report and "conformance/_" not in report, report
    assert not list(tmp_path.iterdir()), "conform left files in the directory it ran in"


@pytest.mark.slow
def test_conform_deep_random_programs_catch_a_bug(maps_file: Path, tmp_path: Path) -> None:
    done = conform(
        f"{maps_file}:PopMissingReturnsNone", "--deep", "--budget=10", "-k", "random",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    assert "test_random_programs[" in done.stdout and "pop-missing: " in done.stdout
    assert "reproduce with --seed " in done.stdout


def test_conform_imports_what_the_suite_needs_before_pytest_quietly(tmp_path: Path) -> None:
    # hypothesis and mapbench are imported before pytest starts (so their asserts are not
    # rewritten on every run): pytest's warning that it cannot rewrite them is not shown.
    done = conform("dict", "-k", "every_clause or stateful", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "2 passed" in done.stdout
    assert "cannot be rewritten" not in done.stdout + done.stderr


def test_conform_leaves_the_garbage_collector_as_it_was() -> None:
    if not gc.isenabled() or gc.get_freeze_count():
        pytest.skip("the collector is already off or frozen in this process")
    with _collector_off_until_tests() as plugin:
        assert not gc.isenabled()  # while pytest starts and collects the suite
        plugin.pytest_collection_finish(None)
        assert gc.isenabled() and gc.get_freeze_count() > 0  # the tests run with it on
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_conform_explains_a_clause(tmp_path: Path) -> None:
    done = conform("--explain", "pop-missing", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("pop-missing: m.pop(k) of a key")
    done = conform("--explain", "nope", cwd=tmp_path)
    assert done.returncode == 2 and "no clause 'nope'; clauses: all, setitem" in done.stderr


@pytest.mark.slow
def test_conform_passes_a_correct_raw_class_and_declared_peers(
    maps_file: Path, tmp_path: Path
) -> None:
    for package in ("sortedcontainers", "cachetools", "immutables"):
        pytest.importorskip(package)
    specs = [
        f"{maps_file}:Correct",
        f"{maps_file}:OpenAddressing",
        "sortedcontainers:SortedDict",  # as given: its keys are compared with each other
        "sortedcontainers",
        "cachetools",
        "immutables",
    ]
    done = conform(*specs, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert "sortedcontainers:SortedDict: assumed " in done.stdout
    assert "keys are compared with each other" in done.stdout
    assert not list(tmp_path.iterdir())


def test_conform_rejects_what_is_not_a_map(tmp_path: Path) -> None:
    pytest.importorskip("immutables")
    done = conform("immutables:Map", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "mapbench conform: error: immutables._map:Map is not a mutable mapping: it lacks "
        "__setitem__, __delitem__ (an immutable mapping needs an adapter that keeps the "
        "current version)"
    ]
    done = conform("no_such_map", cwd=tmp_path)
    assert done.returncode == 2 and "unknown map 'no_such_map'" in done.stderr


@pytest.mark.slow
def test_pytest_map_runs_the_installed_suite_from_any_directory(
    maps_file: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytest_bin = str(Path(sys.executable).with_name("pytest"))
    cache = tmp_path_factory.mktemp("cache")
    env = {**os.environ, "MAPBENCH_CACHE_DIR": str(cache)}

    def run(name: str) -> subprocess.CompletedProcess[str]:
        argv = [pytest_bin, "-q", f"--map={maps_file}:{name}"]  # pytest's cache: not here
        return subprocess.run(
            argv, cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env
        )

    good, bad = run("Correct"), run("SkipsAKey")
    assert good.returncode == 0, good.stdout[-3000:]
    assert " passed" in good.stdout and "FAILED" not in good.stdout
    assert bad.returncode == 1, bad.stdout[-3000:]
    assert "FAILED" in bad.stdout and "test_every_clause[" in bad.stdout
    assert not list(tmp_path.iterdir()), "the plugin left files in the author's directory"
    assert (cache / "pytest").is_dir()
