"""What several tests share: git in a scratch repository, the checkout committed in one, and
mapbench run as a user runs it (a command in a process of its own)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
# An identity and no signing: commits work whatever the user's git configuration says.
_GIT = [
    "git",
    *("-c", "user.name=mapbench test", "-c", "user.email=test@invalid"),
    *("-c", "commit.gpgsign=false"),
]


# The longest files (minutes each on 2 cores), started before every other file.
LONGEST_FIRST = (
    "test_your_project_e2e.py",
    "test_history_e2e.py",
    "test_ci_e2e.py",
    "test_runner_e2e.py",
    "test_conform_cli.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, then the other files holding slow tests, each file's tests kept
    together and in order: pytest-xdist hands whole files out in collection order, and a long
    one handed out last would run alone at the end."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> tuple[int, int]:
        name = item.path.name
        return (item.path not in slow, LONGEST_FIRST.index(name) if name in LONGEST_FIRST else 99)

    items.sort(key=rank)


Git = Callable[..., str]
Mapbench = Callable[..., "subprocess.CompletedProcess[str]"]


def _git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """`git -C repo ARGS` (extra environment variables in `env`); its output, stripped."""
    return subprocess.run(
        [*_GIT, "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    ).stdout.strip()


def _copy_checkout(dest: Path) -> None:
    """The checkout's files as a working tree sees them (tracked plus new, never ignored)."""
    listed = subprocess.run(
        [
            "git",
            "-C",
            str(CHECKOUT),
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = CHECKOUT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _checkout_repo(root: Path, message: str = "base", env: Mapping[str, str] | None = None) -> Path:
    """`root/repo`: a git repository whose first commit on main (`message`, with extra
    environment variables such as GIT_COMMITTER_DATE in `env`) is the checkout."""
    repo = root / "repo"
    repo.mkdir()
    _copy_checkout(repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, env=env)
    return repo


def _mapbench(*args: str, cwd: Path, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """`python -m mapbench ARGS` in `cwd`, output captured; the caller checks the exit status."""
    return subprocess.run(
        [sys.executable, "-m", "mapbench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


@pytest.fixture(scope="session")
def git() -> Git:
    """`git(repo, *args, env=None)`: run git in a scratch repository, return its output."""
    return _git


@pytest.fixture(scope="session")
def checkout_repo() -> Callable[..., Path]:
    """`checkout_repo(root, message="base", env=None)`: the checkout committed in `root/repo`."""
    return _checkout_repo


@pytest.fixture(scope="session")
def copy_checkout() -> Callable[[Path], None]:
    """`copy_checkout(dest)`: the checkout's files as a working tree sees them, copied to dest."""
    return _copy_checkout


@pytest.fixture(scope="session")
def run_mapbench() -> Mapbench:
    """`run_mapbench(*args, cwd=..., timeout=1800)`: the command in a process of its own."""
    return _mapbench
