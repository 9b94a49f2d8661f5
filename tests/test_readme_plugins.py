"""The README's plug-in section, run as a user would: its code blocks are executed, not copied.

The LRUMap file is saved where the README says (under a temporary home), every command of its
shell blocks runs, and the entry-point snippet becomes a real package installed with pip
(into a directory of its own, put on PYTHONPATH), which `mapbench list` and `mapbench conform`
then find by its entry point name.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTION = re.compile(r"^## Plugging in your own map\n(.*?)^## ", re.S | re.M)


def _blocks(language: str) -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = SECTION.search(readme)
    assert found, "the README has no plug-in section"
    return re.findall(rf"```{language}\n(.*?)```", found.group(1), re.S)


def _commands(block: str) -> list[list[str]]:
    """Each command line of a shell block, without its comment."""
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def _mapbench(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    assert args[0] == "mapbench", args
    return subprocess.run(
        [sys.executable, "-m", "mapbench", *args[1:]],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=home,
        env={**os.environ, "HOME": str(home), **env},
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home directory holding ~/maps/lru.py exactly as the README shows it."""
    (python,) = _blocks("python")
    first = python.splitlines()[0]
    assert first.startswith("# ~/maps/lru.py")
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "lru.py").write_text(python)
    return tmp_path


@pytest.mark.slow
def test_every_plug_in_command_of_the_readme_works(home: Path) -> None:
    commands = [c for block in _blocks("sh") for c in _commands(block)]
    assert any("sortedcontainers:SortedDict" in " ".join(c) for c in commands)
    assert any("~/maps/lru.py:LRUMap" in " ".join(c) for c in commands)
    for command in commands:
        done = _mapbench(command, home)
        assert done.returncode == 0, f"{shlex.join(command)}:\n{done.stdout[-2000:]}{done.stderr}"


@pytest.mark.slow
def test_the_readme_entry_point_package_installs_and_is_found(home: Path) -> None:
    (toml,) = _blocks("toml")
    package = home / "mymaps"
    (package / "mymaps").mkdir(parents=True)
    (package / "mymaps" / "__init__.py").write_text("")
    (package / "mymaps" / "lru.py").write_text((home / "maps" / "lru.py").read_text())
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "mymaps"\nversion = "1.0"\n\n' + toml
    )
    site = home / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--target", str(site), str(package)]
    subprocess.run(pip, check=True, capture_output=True, timeout=600)
    listed = _mapbench(["mapbench", "list", "--json"], home, PYTHONPATH=str(site))
    assert listed.returncode == 0, listed.stderr
    assert '"name": "lru"' in listed.stdout and "mymaps.lru:LRUMap" in listed.stdout
    conform = _mapbench(["mapbench", "conform", "lru"], home, PYTHONPATH=str(site))
    assert conform.returncode == 0, conform.stdout[-3000:] + conform.stderr
