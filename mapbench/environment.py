"""What a result was measured on: interpreter, GC settings, hash seed, machine and commit."""

from __future__ import annotations

import datetime as _dt
import gc
import os
import platform
import socket
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path
from typing import Any

from mapbench import __version__, _cflags
from mapbench.git import GitError, git


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


def build_info() -> dict[str, str]:
    """How the C library was compiled (this interpreter's CC and CFLAGS, which setuptools
    uses, plus the package's own flags) and the pyperf version that times the runs."""
    cc = str(sysconfig.get_config_var("CC") or "")
    version = ""
    if cc and sys.platform != "win32":
        try:
            out = subprocess.run(
                [cc.split()[0], "--version"], capture_output=True, text=True, timeout=10, check=True
            ).stdout
            version = out.splitlines()[0].strip() if out else ""
        except (OSError, subprocess.SubprocessError):
            version = ""
    flags = [str(sysconfig.get_config_var("CFLAGS") or ""), *_cflags.EXTRA_COMPILE_ARGS]
    try:
        pyperf = metadata.version("pyperf")
    except metadata.PackageNotFoundError:
        pyperf = ""
    return {
        "c_compiler": cc,
        "c_compiler_version": version,
        "c_flags": " ".join(f for f in flags if f),
        "pyperf_version": pyperf,
    }


def free_threaded_build() -> bool:
    """Whether this interpreter was built without the GIL (3.13t and later)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def python_label() -> str:
    """The Python version results are filed under: `3.13.0`, or `3.13.0t` for a free-threaded
    build (as CPython names it), so its results sit beside the GIL build's, never pooled."""
    return platform.python_version() + ("t" if free_threaded_build() else "")


def gil_enabled() -> bool:
    """Whether the GIL is on now: `sys._is_gil_enabled()` where it exists (3.13+), else True."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return True if probe is None else bool(probe())


def threading_info() -> dict[str, Any]:
    """What decides how threads share the interpreter: whether this is a free-threaded build,
    whether the GIL is on (a free-threaded build may turn it back on), and how often a thread
    holding it is asked to let another run (`sys.getswitchinterval()`, seconds)."""
    return {
        "free_threaded_build": free_threaded_build(),
        "gil_enabled": gil_enabled(),
        "switch_interval": sys.getswitchinterval(),
    }


def git_commit(path: str | os.PathLike[str] = ".") -> tuple[str | None, str | None]:
    """(commit hash, ISO commit date) of the checkout at `path`, or (None, None) outside git."""
    try:
        out = git(Path(path), "log", "-1", "--format=%H %cI", timeout=10).split()
    except GitError:
        return None, None
    return (out[0], out[1]) if len(out) == 2 else (None, None)


def environment(commit_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A JSON-ready description of this process's environment, recorded with every result."""
    commit, commit_date = git_commit(commit_dir or Path.cwd())
    return {
        "python": python_label(),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        **threading_info(),
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
        **build_info(),
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
