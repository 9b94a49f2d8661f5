"""`mapbench conform` run as a plug-in author would: from a directory of their own, on maps in
a file of their own. Each broken map must fail, naming the test that caught it; a correct one
(a raw dict subclass, adapted by the registry) and the declared peers must pass."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MAPBENCH = str(Path(sys.executable).with_name("mapbench"))

BROKEN_MAPS = textwrap.dedent(
    '''
    """Maps with one bug each, as a plug-in author might write them."""


    class Correct(dict):
        """No bug: a plain dict subclass (mapbench adds close() and the declarations)."""


    class NoOpDelete(dict):
        """del m[k] does nothing for a stored key."""

        def __delitem__(self, key):
            if key not in self:
                raise KeyError(key)


    class OffByOneLen(dict):
        """len() is one short once the map holds more than 8 keys."""

        def __len__(self):
            n = super().__len__()
            return n - 1 if n > 8 else n


    class SkipsAKey(dict):
        """Iteration leaves out the last key once the map holds more than 8 keys."""

        def __iter__(self):
            keys = list(super().__iter__())
            return iter(keys[:-1] if len(keys) > 8 else keys)


    def _text(key):
        return key.decode("latin-1") if isinstance(key, bytes) else key


    class TextAndBytesOneKey(dict):
        """Keys are stored as text, so 'x' and b'x' are one key."""

        def __setitem__(self, key, value):
            super().__setitem__(_text(key), value)

        def __getitem__(self, key):
            return super().__getitem__(_text(key))

        def __delitem__(self, key):
            super().__delitem__(_text(key))

        def __contains__(self, key):
            return super().__contains__(_text(key))

        def get(self, key, default=None):
            return super().get(_text(key), default)

        def update(self, other=(), /, **kwargs):
            for key, value in dict(other, **kwargs).items():
                self[key] = value


    class DropsBigOverwrite(dict):
        """An overwrite of an int key above 2**62 is silently dropped."""

        def __setitem__(self, key, value):
            if isinstance(key, int) and key > 2**62 and key in self:
                return
            super().__setitem__(key, value)
    '''
)


@pytest.fixture(scope="module")
def maps_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("author") / "broken_maps.py"
    path.write_text(BROKEN_MAPS)
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
