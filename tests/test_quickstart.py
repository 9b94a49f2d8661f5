"""The Quickstart's main job on machines with few Pythons: `nox -s demo` finds whatever
supported interpreter there is (no fixed pyenv root) and writes a report; with none it fails
with one line saying why, instead of skipping with exit status 0."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNSUPPORTED = ("3.9", "3.8", "3.14", "3.15")
NO_PYTHON = "no Python 3.10, 3.11, 3.12, 3.13 found"


def _unsupported_python() -> str | None:
    """Some interpreter mapbench does not support, to run nox with (it must not count)."""
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for version in UNSUPPORTED:
        found = sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"))
        found += [p for p in [shutil.which(f"python{version}")] if p and "shims" not in p]
        if found:
            return found[-1]
    return None


@pytest.fixture(scope="module")
def nox_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nox installed into a venv of an unsupported Python; the bin directory."""
    python = _unsupported_python()
    if python is None:
        pytest.skip(f"needs an unsupported Python ({', '.join(UNSUPPORTED)}) to run nox with")
    venv = tmp_path_factory.mktemp("nox") / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q", "nox>=2024.4,<2025.10"]
    subprocess.run(pip, check=True, timeout=600, capture_output=True)
    return venv / "bin"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this checkout's files (tracked and new ones), as a fresh clone would have."""
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    dest = tmp_path_factory.mktemp("checkout")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _nox(
    bin_dir: Path, cwd: Path, path: str, pyenv_root: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path, "HOME": str(pyenv_root.parent), "PYENV_ROOT": str(pyenv_root)}
    return subprocess.run(
        [str(bin_dir / "python"), "-m", "nox", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@pytest.mark.slow
def test_demo_without_any_supported_python_fails_with_one_line(
    nox_elsewhere: Path, checkout: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "pyenv"
    empty.mkdir()
    done = _nox(nox_elsewhere, checkout, str(nox_elsewhere), empty, "-s", "demo")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if NO_PYTHON in line]
    assert len(lines) == 2, done.stderr  # the notice at start, then the session's one-line error
    assert "aborted" in lines[-1] or "failed" in lines[-1]
    assert not (checkout / "results").exists()


@pytest.mark.slow
def test_demo_with_one_python_in_a_pyenv_root_of_its_own_writes_the_report(
    nox_elsewhere: Path, checkout: Path, tmp_path: Path
) -> None:
    # The interpreter running these tests, under a pyenv root nox was never told about.
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    root = tmp_path / "pyenv"
    (root / "versions").mkdir(parents=True)
    (root / "versions" / f"{version}.0").symlink_to(sys.base_prefix)
    # /usr/bin stays on PATH for the compiler; only unsupported or same-version Pythons there.
    path = os.pathsep.join([str(nox_elsewhere), "/usr/bin", "/bin"])
    args = ["-s", "demo", "--", "--map", "dict", "--workload", "insert"]
    done = _nox(nox_elsewhere, checkout, path, root, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (checkout / "results/demo/report.html").is_file()
    assert "report: " in done.stderr and "Session demo was successful" in done.stderr
