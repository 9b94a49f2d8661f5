"""`mapbench conform` run as a plug-in author would: from a directory of their own, on maps in
a file of their own. Each broken map must fail, naming the test that caught it; a correct one
(a raw dict subclass, adapted by the registry) and the declared peers must pass."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

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
    ("name", "caught_by"),
    [
        ("NoOpDelete", "test_growth_delete_and_reinsert"),
        ("OffByOneLen", "test_iteration_yields_each_key_once"),
        ("SkipsAKey", "test_iteration_yields_each_key_once"),
        ("TextAndBytesOneKey", "test_keys_of_different_types_are_distinct"),
    ],
)
def test_conform_catches_a_broken_map(
    name: str, caught_by: str, maps_file: Path, tmp_path: Path
) -> None:
    done = conform(f"{maps_file}:{name}", cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    assert any(f"{caught_by}[" in line for line in failed), failed
    assert "test_stateful_against_dict[" in "\n".join(failed), "the stateful test missed it"
    assert not list(tmp_path.iterdir()), "conform left files in the directory it ran in"


@pytest.mark.slow
def test_conform_deep_catches_a_dropped_overwrite_above_2_62(
    maps_file: Path, tmp_path: Path
) -> None:
    done = conform(
        f"{maps_file}:DropsBigOverwrite", "--deep", "--budget=20", "-k", "stateful", cwd=tmp_path
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    assert "FAILED" in done.stdout and "test_stateful_against_dict[" in done.stdout
    assert "did not land" in done.stdout or "!=" in done.stdout  # the shrunk program's failure


@pytest.mark.slow
def test_conform_quick_catches_it_too_deterministically(maps_file: Path, tmp_path: Path) -> None:
    done = conform(f"{maps_file}:DropsBigOverwrite", "-k", "not stateful", cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    assert "test_every_sample_key_and_value[" in done.stdout  # the overwrite of every edge key


@pytest.mark.slow
def test_conform_passes_a_correct_raw_class_and_declared_peers(
    maps_file: Path, tmp_path: Path
) -> None:
    for package in ("sortedcontainers", "cachetools", "immutables"):
        pytest.importorskip(package)
    specs = [f"{maps_file}:Correct", "sortedcontainers", "cachetools", "immutables"]
    done = conform(*specs, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout
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
    maps_file: Path, tmp_path: Path
) -> None:
    pytest_bin = str(Path(sys.executable).with_name("pytest"))

    def run(name: str) -> subprocess.CompletedProcess[str]:
        argv = [pytest_bin, "-p", "no:cacheprovider", "-q", f"--map={maps_file}:{name}"]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=900)

    good, bad = run("Correct"), run("SkipsAKey")
    assert good.returncode == 0, good.stdout[-3000:]
    assert " passed" in good.stdout and "test_stateful" not in good.stdout  # no failure lines
    assert bad.returncode == 1, bad.stdout[-3000:]
    assert "FAILED" in bad.stdout and "test_iteration_yields_each_key_once[" in bad.stdout
