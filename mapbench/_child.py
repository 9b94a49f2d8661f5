"""The child side of every process mapbench starts: die with the parent, say why a map failed.

A child (a map probe, a pyperf manager and its workers, a measuring worker) calls
`die_with_parent()` first: it then dies when the process that started it dies, even by SIGKILL,
and it re-points `PARENT_ENV` at itself for its own children (pyperf's workers inherit it).
When a map raises, `report_failure()` writes `module.Type: message` and the traceback's tail
to the file named by `FAILURE_ENV`, where the parent (`mapbench.isolate`) reads it: a child's
stderr says only how the process ended, and pyperf's manager hides its worker's error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

PARENT_ENV = "MAPBENCH_PARENT_PID"
FAILURE_ENV = "MAPBENCH_FAILURE_FILE"
# A map loaded from a file (`my_maps.py:MyMap`) lives in a module named `<prefix><stem>_<hash>`;
# people see it as `<stem>`, the file they wrote.
USER_MODULE_PREFIX = "mapbench_user_"
_USER_MODULE = re.compile(rf"^{USER_MODULE_PREFIX}(\w+)_[0-9a-f]+$")
# How many lines of a failing map's traceback are kept with its result.
TRACEBACK_LINES = 12
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class Failure:
    """Why a map failed, as a child reports it: one line, the traceback's tail, and whether
    the cause is the input (a spec that cannot be loaded) rather than the map."""

    error: str
    traceback: str = ""
    input_error: bool = False


def user_module_name(module: str) -> str:
    """A module name as its author knows it (a file loaded from a spec has a unique name)."""
    return _USER_MODULE.sub(r"\1", module)


def describe_exception(exc: BaseException) -> str:
    """`module.Type: message`, as one line (any exception class, `SystemExit` included)."""
    cls = type(exc)
    module = user_module_name(cls.__module__)
    name = cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
    message = str(exc).strip().splitlines()
    return f"{name}: {message[0]}" if message else name


def traceback_tail(exc: BaseException) -> str:
    """The last lines of `exc`'s traceback, where a map's failure shows."""
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies; exit now if it already has.

    Does nothing outside a mapbench child (no `PARENT_ENV`) or where prctl is missing (not
    Linux): there, SIGTERM, SIGHUP and SIGINT to mapbench still end its children, SIGKILL not.
    """
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit():
        return
    import ctypes  # only children need it, not every command line

    with contextlib.suppress(OSError, AttributeError):  # no libc prctl: not Linux
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(parent):  # the parent died before the request took effect
        os._exit(1)
    os.environ[PARENT_ENV] = str(os.getpid())


def report_failure(exc: BaseException, *, input_error: bool = False) -> None:
    """Tell the parent why the map failed (if it asked, through `FAILURE_ENV`)."""
    path = os.environ.get(FAILURE_ENV)
    if not path:
        return
    error = str(exc) if input_error else describe_exception(exc)
    failure = Failure(error, traceback_tail(exc), input_error)
    with contextlib.suppress(OSError):  # the report is a courtesy; the exit status still tells
        Path(path).write_text(json.dumps(failure.__dict__), encoding="utf-8")


def read_failure(path: Path) -> Failure | None:
    """What a child reported through `report_failure`, if it did."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Failure(str(data["error"]), str(data["traceback"]), bool(data["input_error"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def exit_reporting(exc: BaseException, *, input_error: bool = False) -> int:
    """Report `exc` as the map's failure and print it the way Python would; the exit status."""
    report_failure(exc, input_error=input_error)
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return 2 if input_error else 1
