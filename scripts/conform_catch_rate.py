"""How often, and how fast, `mapbench conform` catches each broken map, from a fresh start.

    python scripts/conform_catch_rate.py [--trials 20] [--deep] [--budget 60] [-k stateful]
        [--bug DropsBigOverwrite ...]

Each trial copies `mapbench.conformance.broken` into a new directory and runs
`mapbench conform FILE:BUG` there as a separate process (hypothesis's database is never used:
every search starts fresh). A trial catches the bug when conform exits 1; its time includes
start-up and shrinking the failing program. A script in scripts/, which asv does not
scan; it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import inspect
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from mapbench._table import format_markdown_table
from mapbench.conformance import DEEP_BUDGET, broken
from mapbench.environment import environment
from mapbench.measure.timing import time_call


def trial(bug: str, options: list[str]) -> tuple[bool, float]:
    """One fresh run of conform on `bug`: (caught, seconds)."""
    mapbench = shutil.which("mapbench") or f"{os.path.dirname(sys.executable)}/mapbench"
    with tempfile.TemporaryDirectory(prefix="mapbench-catch-") as tmp:
        source = Path(tmp) / "author_maps.py"
        source.write_text(inspect.getsource(broken), encoding="utf-8")
        codes: list[int] = []

        def run() -> None:
            argv = [mapbench, "conform", f"{source}:{bug}", *options]
            codes.append(subprocess.run(argv, cwd=tmp, capture_output=True).returncode)

        seconds = time_call(run)
    if codes[0] not in (0, 1):
        raise SystemExit(f"mapbench conform {bug} exited {codes[0]}")
    return codes[0] == 1, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--deep", action="store_true")
    parser.add_argument("--budget", type=float, default=DEEP_BUDGET)
    parser.add_argument("-k", dest="select", help="only these tests (as pytest -k)")
    parser.add_argument("--bug", action="append", choices=broken.BUGS, help="default: all")
    args = parser.parse_args()
    options = ["--deep", f"--budget={args.budget}"] if args.deep else []
    options += ["-k", args.select] if args.select else []
    load_before = environment()["load_average"]
    rows = []
    for bug in args.bug or broken.BUGS:
        results = [trial(bug, options) for _ in range(args.trials)]
        times = [s for _, s in results]
        rows.append(
            (
                bug,
                f"{sum(c for c, _ in results)}/{args.trials}",
                f"{min(times):.1f}",
                f"{statistics.median(times):.1f}",
                f"{max(times):.1f}",
            )
        )
    env = environment()
    profile = f"--deep --budget {args.budget:g}" if args.deep else "quick"
    print(
        f"mapbench conform ({profile}{', -k ' + args.select if args.select else ''}); "
        f"Python {env['python']}, {env['cpu_model']} ({env['cpu_count']} cores), load average "
        f"{load_before} before, {env['load_average']} after; {env['timestamp'][:10]}"
    )
    headers = ("broken map", "caught", "s (min)", "s (median)", "s (max)")
    print(format_markdown_table(headers, rows))


if __name__ == "__main__":
    main()
