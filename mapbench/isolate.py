"""Run a child process with a deadline: a crash, hang or error becomes a status, not a raise."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "failed", "timeout"]

# How much of a failing child's stderr is kept with the result (the tail holds the traceback).
STDERR_TAIL_LINES = 40


@dataclass(frozen=True)
class Outcome:
    """How a child process ended: status, a one-line error, and the tail of its stderr."""

    status: Status
    returncode: int | None
    error: str | None
    stderr_tail: str
    elapsed: float


def run_isolated(
    cmd: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Outcome:
    """Run `cmd` in its own process group, killing the whole group after `timeout` seconds.

    A new session means pyperf's worker grandchildren die with it instead of hanging on as orphans.
    """
    start = time.monotonic()
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _, err = proc.communicate()
        tail = _tail(_text(err))
        return Outcome("timeout", None, f"timed out after {timeout:g} s", tail, _since(start))
    except BaseException:  # Ctrl-C: never leave a benchmark running behind us
        _kill_group(proc)
        proc.wait()
        raise
    text = _text(err)
    if proc.returncode == 0:
        return Outcome("ok", 0, None, _tail(text), _since(start))
    error = describe_failure(proc.returncode, text)
    return Outcome("failed", proc.returncode, error, _tail(text), _since(start))


def describe_failure(returncode: int, stderr: str) -> str:
    """One line saying why a child failed: a fatal signal, a Python error, or its exit status."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = _fatal_error(lines)
    if returncode < 0:
        return f"killed by {_signal_name(-returncode)}" + (f" ({fatal})" if fatal else "")
    # pyperf's manager ends with its own RuntimeError about the worker; the worker's error is
    # the last traceback line before it, which is the more useful one.
    errors = [line for line in lines if _looks_like_exception(line)]
    worker_errors = [e for e in errors if "failed with exit code" not in e]
    if errors and not worker_errors:
        code = errors[-1].rsplit(" ", 1)[-1]
        if code.lstrip("-").isdigit() and int(code) < 0:
            return f"worker killed by {_signal_name(-int(code))}" + (f" ({fatal})" if fatal else "")
    if fatal:
        return fatal
    if errors:
        return (worker_errors or errors)[-1][:500]
    return f"exit status {returncode}" + (f": {lines[-1][:300]}" if lines else "")


def _fatal_error(lines: list[str]) -> str | None:
    """faulthandler's "Fatal Python error" line, with the innermost frame it printed after it."""
    for i, line in enumerate(lines):
        if line.startswith("Fatal Python error"):
            frames = [f for f in lines[i + 1 : i + 4] if f.startswith("File ")]
            return line + (f" at {frames[0]}" if frames else "")
    return None


def _looks_like_exception(line: str) -> bool:
    head, sep, _ = line.partition(":")
    return bool(sep) and head.replace(".", "").isidentifier() and head[:1].isupper()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def _tail(text: str) -> str:
    return "\n".join(text.splitlines()[-STDERR_TAIL_LINES:])


def _since(start: float) -> float:
    return time.monotonic() - start
