"""asv for `mapbench ci --asv`: run the CI subset of the asv suites for commits, publish the site.

The same commands run on the main branch in .github/workflows/mapbench.yml (with the range NEW);
`commands()` is the one place they are spelled, and the workflow test checks the file against it.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mapbench.errors import MapbenchError
from mapbench.runner.interpreters import available, path_prefix

# The asv benchmarks `mapbench ci --asv` and the main-branch workflow run: the quick CI subset.
DEFAULT_BENCH = "^ci\\."
# Commits one `asv run` benchmarks at most (asv picks them evenly over the range).
MAX_COMMITS = 10


def python_version() -> str:
    """The running interpreter as asv names an environment's Python: "3.12"."""
    return ".".join(platform.python_version_tuple()[:2])


def commands(
    revisions: Sequence[str],
    html_dir: str,
    bench: str = DEFAULT_BENCH,
    python: str | None = None,
) -> list[list[str]]:
    """asv machine, one `asv run` per revision (a range like NEW or `<hash>^!`), asv publish.

    `--steps` caps a first NEW run (no results yet means every commit) at a sample of commits.
    """
    run = ["asv", "run", "--python", python or python_version(), "--bench", bench]
    run += ["--skip-existing", "--steps", str(MAX_COMMITS)]
    return [
        ["asv", "machine", "--yes"],
        *([*run, revision] for revision in revisions),
        ["asv", "publish", "--html-dir", html_dir],
    ]


def run_and_publish(repo: Path, commits: Sequence[str], html_dir: Path, bench: str) -> None:
    """Run asv for exactly these commits in `repo` and publish every result there to `html_dir`."""
    env = {**os.environ, "PATH": os.pathsep.join([path_prefix(available()), os.environ["PATH"]])}
    for cmd in commands([f"{c}^!" for c in commits], str(html_dir.resolve()), bench):
        _asv(cmd, repo, env)


def _asv(cmd: list[str], repo: Path, env: dict[str, str]) -> None:
    # asv installed next to this interpreter (a venv) comes first; then whatever PATH has.
    local = Path(sys.executable).with_name("asv")
    exe = str(local) if local.is_file() else shutil.which("asv")
    if exe is None:
        raise MapbenchError("--asv needs asv: pip install 'mapbench[asv]'")
    try:
        done = subprocess.run(
            [exe, *cmd[1:]], cwd=repo, env=env, capture_output=True, text=True, timeout=3600
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise MapbenchError(f"{' '.join(cmd)}: {exc}") from exc
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise MapbenchError(f"{' '.join(cmd)} failed: {tail}")
