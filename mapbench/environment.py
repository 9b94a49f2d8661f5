"""What a result was measured on: interpreter, GC settings, hash seed, machine and commit."""

from __future__ import annotations

import datetime as _dt
import gc
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from mapbench import __version__


def hash_seed() -> str:
    """PYTHONHASHSEED as this process runs with it ("random" when unset: str hashes vary)."""
    value = os.environ.get("PYTHONHASHSEED", "")
    return value if value else "random"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (runnable processes), where the OS reports them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(path: str | os.PathLike[str] = ".") -> tuple[str | None, str | None]:
    """(commit hash, ISO commit date) of the checkout at `path`, or (None, None) outside git."""
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "log", "-1", "--format=%H %cI"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None, None
    return (out[0], out[1]) if len(out) == 2 else (None, None)


def environment(commit_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A JSON-ready description of this process's environment, recorded with every result."""
    commit, commit_date = git_commit(commit_dir or Path.cwd())
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "free_threaded": not getattr(sys, "_is_gil_enabled", lambda: True)(),
        "gc_threshold": list(gc.get_threshold()),
        "gc_enabled": gc.isenabled(),
        "hash_seed": hash_seed(),
        "machine": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average": load_average(),
        "commit": commit,
        "commit_date": commit_date,
        "mapbench_version": __version__,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
