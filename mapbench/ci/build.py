"""Build one commit into an environment of its own: export the tree, build a wheel, make a venv.

A commit's venv holds only that commit's mapbench (its Python code and its compiled C maps); the
third-party dependencies come from the running environment through a `.pth` line, so building
needs no network beyond the wheel build's own requirements and takes seconds. Venvs are cached by
commit hash under the work directory and reused.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mapbench._subprocess import check_call
from mapbench.errors import MapbenchError

# Written last into a finished venv: a venv without it (an interrupted build) is rebuilt.
_STAMP = "mapbench-ci-commit"


class BuildError(MapbenchError):
    """A revision that does not resolve, or a commit that cannot be built or installed."""


@dataclass(frozen=True)
class Build:
    """A commit installed in its own venv: run `python` to import that commit's mapbench."""

    commit: str
    python: str
    venv: Path


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return its stripped output; failures become `BuildError`."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildError(f"git {' '.join(args)}: {exc}") from exc
    if done.returncode != 0:
        raise BuildError(f"git {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout.strip()


def resolve(repo: Path, revision: str) -> str:
    """The full hash of `revision` (a branch, tag, hash or expression like HEAD~1)."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except BuildError:
        raise BuildError(f"{revision!r} is not a commit of the git repository {repo}") from None


def build(repo: Path, commit: str, work_dir: Path, *, log: bool = True) -> Build:
    """The cached venv of `commit`, building it first if it is missing or half-built."""
    venv = work_dir / "envs" / commit[:16]
    python = venv / "bin" / "python"
    stamp = venv / _STAMP
    if stamp.is_file() and stamp.read_text().strip() == commit and python.is_file():
        return Build(commit, str(python), venv)
    shutil.rmtree(venv, ignore_errors=True)
    _say(log, f"building {commit[:12]} into {venv}")
    with tempfile.TemporaryDirectory(prefix="mapbench-ci-") as tmp:
        source = Path(tmp) / "src"
        _export(repo, commit, source)
        wheels = Path(tmp) / "wheels"
        check_call(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "-w",
                str(wheels),
                str(source),
            ],
            f"build a wheel of {commit[:12]}",
            BuildError,
        )
        check_call(
            [sys.executable, "-m", "venv", "--without-pip", str(venv)], "create a venv", BuildError
        )
        wheel = next(wheels.glob("*.whl"))
        check_call(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(python),
                "install",
                "-q",
                "--no-deps",
                "--no-index",
                str(wheel),
            ],
            f"install {commit[:12]} into its venv",
            BuildError,
        )
        # Only now: with the running environment's packages visible, pip would find the running
        # mapbench (same version) there, call the requirement satisfied and install nothing.
        _inherit_dependencies(python)
        _check_own_mapbench(python, venv)
    stamp.write_text(commit + "\n")
    return Build(commit, str(python), venv)


def _export(repo: Path, commit: str, dest: Path) -> None:
    """The commit's tracked files (no untracked or ignored ones, no .git) in `dest`."""
    try:
        data = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", commit],
            capture_output=True,
            timeout=300,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildError(f"cannot export {commit[:12]} with git archive: {exc}") from exc
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        if hasattr(tarfile, "data_filter"):  # 3.12+ (and patched 3.10/3.11): refuse odd members
            tar.extractall(dest, filter="data")
        else:
            tar.extractall(dest)  # our own repository's archive


def _check_own_mapbench(python: Path, venv: Path) -> None:
    """Refuse a venv whose `import mapbench` would not measure the commit it was built from."""
    probe = [str(python), "-c", "import mapbench; print(mapbench.__file__)"]
    try:
        # cwd: the venv, so that no checkout in the working directory can shadow the install.
        done = subprocess.run(probe, capture_output=True, text=True, timeout=60, cwd=venv)
        found = done.stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildError(f"could not import mapbench in {venv}: {exc}") from exc
    if not Path(found).resolve().is_relative_to(venv.resolve()):
        raise BuildError(f"{venv} imports mapbench from {found or 'nowhere'}, not its own build")


def _inherit_dependencies(python: Path) -> None:
    """Let the venv import this environment's packages, after its own (which come first)."""
    venv_purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(venv_purelib, "mapbench-ci-inherit.pth").write_text("\n".join(ours) + "\n")


def _say(log: bool, message: str) -> None:
    if log:
        print(f"mapbench ci: {message}", file=sys.stderr, flush=True)
