"""Run a build or install step (its failure one line), or an environment's own interpreter."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mapbench.errors import MapbenchError


def check_call(
    cmd: list[str], what: str, error: type[MapbenchError], timeout: float = 1800
) -> None:
    """Run `cmd`; on failure raise `error("could not <what>: <last lines of its output>")`."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        raise error(f"could not {what}: {exc}") from exc
    if done.returncode != 0:
        # The last lines say why; pip's warnings about ignored index locations do not.
        lines = (done.stderr or done.stdout).strip().splitlines()
        tail = " | ".join([line for line in lines if not line.startswith("WARNING:")][-5:])
        raise error(f"could not {what}: {tail}")


def run_python(
    python: str | Path, args: Sequence[str], *, timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python ARGS` as the environment sees itself: without PYTHONPATH or PYTHONHOME, and in
    `cwd` or a new empty directory, so that no checkout in the working directory shadows what
    is installed. Raises `OSError` or `subprocess.SubprocessError` as `subprocess.run` does."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    with tempfile.TemporaryDirectory(prefix="mapbench-probe-") as neutral:
        return subprocess.run(
            [str(python), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or neutral,
            env=env,
        )
