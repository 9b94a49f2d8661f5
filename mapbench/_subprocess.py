"""Run a build or install step and turn its failure into a one-line mapbench error."""

from __future__ import annotations

import subprocess

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
