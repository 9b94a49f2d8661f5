"""Run a child process with a deadline: a crash, hang or error becomes a status, not a raise.

The one protocol every child of mapbench follows (`ChildLauncher.run_module`): a child is
`python -m <module> ARGS`, run in its own process group in the launcher's private directory
(nothing importable in it), with a deadline, the hash seed pinned before the interpreter starts
and faulthandler on; it dies with its parent and reports a map's failure through
`mapbench._child`; its answer is a file in that directory, named in ARGS. The children: the
measuring worker (`mapbench.measure.worker`, through `mapbench.measure.launch`), the description
of an interpreter or a map (`mapbench.describe`) and `mapbench run`'s pyperf timing pass
(`mapbench.runner._timeworker`, whose pyperf workers are the manager's children).

Nothing mapbench starts outlives it: each child runs in a process group of its own, which is
killed on a deadline, on Ctrl-C and (`terminate_on_signals`) on SIGTERM or SIGHUP; and each child
asks the kernel to kill it if mapbench dies by SIGKILL (`mapbench._child.die_with_parent`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Literal, TypeVar

from mapbench._child import FAILURE_ENV, PARENT_ENV, read_failure

Status = Literal["ok", "failed", "timeout"]
_Launcher = TypeVar("_Launcher", bound="ChildLauncher")

# How much of a failing child's output (stdout and stderr) is kept with the result.
OUTPUT_TAIL_LINES = 40
# The signals that end mapbench gracefully: its children are killed before it exits.
TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Outcome:
    """How a child process ended: status, a one-line error, and the lines that show why.

    `traceback` is the tail of the map's traceback when the child reported its failure, else
    the tail of the child's output; `input_error` says the child could not load the map spec
    (bad input, not a failing map).
    """

    status: Status
    returncode: int | None
    error: str | None
    traceback: str
    elapsed: float
    input_error: bool = False


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised as Ctrl-C raises KeyboardInterrupt, so cleanup runs alike."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """While active, SIGTERM and SIGHUP raise `Terminated` in the main thread.

    A second such signal during the cleanup ends the process at once (the children still die
    with it, by their parent-death signal).
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        for sig in TERMINATING_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        raise Terminated(signum)

    if threading.current_thread() is not threading.main_thread():  # signals reach only it
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in TERMINATING_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def child_environ(hash_seed: str, *, inherit_pythonpath: bool = True) -> dict[str, str]:
    """This environment with the hash seed pinned and faulthandler on (crash tracebacks).

    `inherit_pythonpath=False` drops PYTHONPATH and PYTHONHOME, for interpreters that must import
    only their own environment (a commit's build in `mapbench ci`); otherwise relative
    PYTHONPATH entries are made absolute, since workers run in a private directory.
    """
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = hash_seed
    env["PYTHONFAULTHANDLER"] = "1"
    if not inherit_pythonpath:
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
    elif env.get("PYTHONPATH"):
        parts = env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in parts if p)
    return env


class ChildLauncher:
    """Starts children of mapbench from one private directory (nothing importable in it)."""

    def __init__(self, *, timeout: float, inherit_pythonpath: bool = True) -> None:
        self.timeout = timeout
        self.inherit_pythonpath = inherit_pythonpath
        self.directory = Path(tempfile.mkdtemp(prefix="mapbench-child-"))
        # The children's working directory, apart from their job and answer files: under
        # `python -m` it heads sys.path, and what start-up lists there moves where everything
        # after it lands in memory (and so CPython's address-keyed caches, and instruction counts).
        self.workdir = self.directory / "cwd"
        self.workdir.mkdir()

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self: _Launcher) -> _Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def answer_file(self, name: str) -> Path:
        """A child's answer file, `<name>.json` in the private directory (none there yet)."""
        path = self.directory / f"{name}.json"
        path.unlink(missing_ok=True)
        return path

    def run_module(
        self,
        python: str,
        module: str,
        args: Sequence[str],
        hash_seed: str,
        *,
        prefix: Sequence[str] = (),
        timeout: float | None = None,
    ) -> Outcome:
        """Run `python -m module ARGS` as a child of mapbench (optionally under `prefix`, such
        as valgrind); how it ended. The child writes its answer where ARGS say."""
        return run_isolated(
            [*prefix, python, "-m", module, *args],
            timeout=self.timeout if timeout is None else timeout,
            env=child_environ(hash_seed, inherit_pythonpath=self.inherit_pythonpath),
            cwd=self.workdir,
        )


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
    # In the child's private directory when it has one (one child at a time runs there): a
    # SIGKILL then leaves nothing elsewhere.
    if cwd is None:
        fd, failure_file = tempfile.mkstemp(prefix="mapbench-failure-", suffix=".json")
        os.close(fd)
    else:
        failure_file = os.path.join(cwd, "mapbench-failure.json")
        Path(failure_file).unlink(missing_ok=True)
    child_env = {
        **(os.environ if env is None else env),
        PARENT_ENV: str(os.getpid()),
        FAILURE_ENV: failure_file,
    }
    try:
        return _run(cmd, timeout, child_env, cwd, Path(failure_file))
    finally:
        Path(failure_file).unlink(missing_ok=True)


def _run(
    cmd: Sequence[str],
    timeout: float,
    env: dict[str, str],
    cwd: str | os.PathLike[str] | None,
    failure_file: Path,
) -> Outcome:
    start = time.monotonic()
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,  # pyperf prints its errors to stdout: keep them with stderr's
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        tail = _tail(_text(_rest_of_output(proc)))
        return Outcome("timeout", None, f"timed out after {timeout:g} s", tail, _since(start))
    except BaseException:  # Ctrl-C, SIGTERM: never leave a benchmark running behind us
        _kill_group(proc)
        proc.wait()
        raise
    finally:
        _kill_group(proc)  # whatever the child left behind in its group goes with it
    text = _text(output)
    if proc.returncode == 0:
        return Outcome("ok", 0, None, _tail(text), _since(start))
    reported = read_failure(failure_file)
    if reported is not None:
        crash = f" ({describe_failure(proc.returncode, text)})" if proc.returncode < 0 else ""
        return Outcome(
            "failed", proc.returncode, reported.error + crash, reported.traceback,
            _since(start), reported.input_error,
        )  # fmt: skip
    error = describe_failure(proc.returncode, text)
    return Outcome("failed", proc.returncode, error, _tail(text), _since(start))


def describe_failure(returncode: int, output: str) -> str:
    """One line saying why a child failed (from its exit status and its output, for a child
    that reported nothing itself): a fatal signal, a Python error, or the exit status."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    fatal = _fatal_error(lines)
    if returncode < 0:
        return f"killed by {_signal_name(-returncode)}" + (f" ({fatal})" if fatal else "")
    # pyperf's manager ends with its own RuntimeError about the worker; the worker's error is
    # the last traceback line before it, which is the more useful one.
    errors = _exception_lines(output)
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


def _exception_lines(output: str) -> list[str]:
    """The lines that name an exception: each traceback's last line, and `Type: message`."""
    found = []
    in_traceback = False
    for raw in output.splitlines():
        line = raw.strip()
        if raw.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and raw[:1] not in (" ", "\t", ""):
            found.append(line)  # `AssertionError`, `MemoryError`: no message, no colon
            in_traceback = False
        elif not in_traceback and _looks_like_exception(line):
            found.append(line)
    return found


def _looks_like_exception(line: str) -> bool:
    """`Type: ...` or `package.module.Type: ...` (`f.<locals>.Type` too)."""
    head, sep, _ = line.partition(":")
    parts = head.split(".")
    names = all(part.isidentifier() or part == "<locals>" for part in parts)
    return bool(sep) and names and parts[-1][:1].isupper()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # Already gone; or, once the group is empty, its number may be another user's.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _rest_of_output(proc: subprocess.Popen[bytes]) -> bytes:
    """What a killed child wrote; not waiting for a process that escaped its group (setsid)
    and still holds the pipe."""
    try:
        output, _ = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return b""
    return output


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def _tail(text: str) -> str:
    return "\n".join(text.splitlines()[-OUTPUT_TAIL_LINES:])


def _since(start: float) -> float:
    return time.monotonic() - start
