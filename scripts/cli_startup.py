"""How long `mapbench --version`, `--help` and `list` take, next to a bare `python -c pass`.

    python scripts/cli_startup.py [--repeats 10]

Targets (README): `--version` at most 0.1 s and `list` at most 0.3 s more than `python -c pass`.
Every command runs as a fresh process, interleaved (A B C D A B C D ...), so a burst of noise
hits all of them, after one untimed run of each that writes the bytecode caches (as installing
with pip does); the table shows the minimum and median wall time of each and the difference of
the minimums.
A script in scripts/, which asv does not scan; it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from mapbench.environment import environment
from mapbench.registry import builtin_maps
from mapbench.text_tables import format_markdown_table

# Bytecode is written and read as after a normal install (pip compiles it): a start-up figure
# must not include compiling every module.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(cmd: list[str], cwd: str) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of `cmd` in a fresh process."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(cmd, cwd=cwd, capture_output=True, check=True, env=_ENV)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    mapbench = shutil.which("mapbench") or f"{os.path.dirname(sys.executable)}/mapbench"
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "mapbench --version": [mapbench, "--version"],
        "mapbench --help": [mapbench, "--help"],
        "mapbench list": [mapbench, "list"],
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as neutral:  # no checkout on sys.path
        for cmd in commands.values():  # untimed: writes the bytecode caches
            _run(cmd, neutral)
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                runs[name].append(_run(cmd, neutral))
    base = [min(x[i] for x in runs["python -c pass"]) for i in (0, 1)]
    rows = []
    for name, timed in runs.items():
        wall, cpu = ([x[i] for x in timed] for i in (0, 1))
        rows.append((
            name,
            f"{min(wall) * 1e3:.0f}",
            f"{statistics.median(wall) * 1e3:.0f}",
            f"{(min(wall) - base[0]) * 1e3:+.0f}",
            f"{min(cpu) * 1e3:.0f}",
            f"{(min(cpu) - base[1]) * 1e3:+.0f}",
        ))  # fmt: skip
    env = environment()
    print(f"Python {env['python']} on {env['machine']}, load {env['load_average']}, "
          f"{env['timestamp']}, {len(builtin_maps())} built-in maps")  # fmt: skip
    headers = ("command", "min ms", "median ms", "min over python -c pass", "min CPU ms",
               "CPU over python -c pass")  # fmt: skip
    print(format_markdown_table(headers, rows))


if __name__ == "__main__":
    main()
