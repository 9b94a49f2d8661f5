"""How long `mapbench list` takes to start, next to a bare `python -c pass` (target: +0.3 s).

    python scripts/cli_startup.py [--repeats 10]

Both commands run as fresh processes, interleaved (A B A B ...), so a burst of noise hits both;
the table shows the minimum and median wall time of each and the difference of the minimums.
A script in scripts/, which asv does not scan; it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from mapbench._table import format_markdown_table
from mapbench.environment import environment
from mapbench.measure.timing import time_call


def _run(cmd: list[str], cwd: str) -> None:
    subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    mapbench = shutil.which("mapbench") or f"{os.path.dirname(sys.executable)}/mapbench"
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "mapbench list": [mapbench, "list"],
        "mapbench --help": [mapbench, "--help"],
    }
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as neutral:  # no checkout on sys.path
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                seconds[name].append(time_call(lambda cmd=cmd: _run(cmd, neutral)))
    base = min(seconds["python -c pass"])
    rows = [
        (
            name,
            f"{min(v) * 1e3:.0f}",
            f"{statistics.median(v) * 1e3:.0f}",
            f"{(min(v) - base) * 1e3:+.0f}",
        )
        for name, v in seconds.items()
    ]
    env = environment()
    load = env["load_average"]
    print(f"Python {env['python']} on {env['machine']}, load {load}, {env['timestamp']}")
    print(
        format_markdown_table(
            ("command", "min ms", "median ms", "min over python -c pass, ms"), rows
        )
    )


if __name__ == "__main__":
    main()
