"""Where CPU time's modes come from: the same loop, timed in windows through each process's life.

Each of `--processes` fresh interpreters builds one dict of 100,000 random int keys, then times
10,000 lookups (the thread's CPU time, `time.thread_time_ns`) over and over for `--seconds`;
the life of the process is cut into `--windows` equal windows and each window gives its fastest
lookup (ns). One line per process, then how many processes sat in a slow level the whole time
and how many moved between levels while running the same loop on the same data: a level that
changes inside one process is the machine's state (its core, its neighbours), not the code's.
docs/ci.md ("CPU time in modes") quotes its output.

    python scripts/cpu_modes.py [--processes 16] [--seconds 1.5] [--windows 6]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence

CHILD = """
import random, sys, time
seconds, windows = float(sys.argv[1]), int(sys.argv[2])
table = {random.getrandbits(62): i for i in range(100_000)}
keys = list(table)[:10_000]
random.shuffle(keys)
runs = []
start = time.monotonic()
while time.monotonic() - start < seconds:
    t = time.thread_time_ns()
    for k in keys:
        table[k]
    runs.append((time.monotonic() - start, (time.thread_time_ns() - t) / len(keys)))
best = [min((ns for at, ns in runs if w * seconds / windows <= at < (w + 1) * seconds / windows),
            default=float("nan")) for w in range(windows)]
print(" ".join(f"{x:.1f}" for x in best))
"""

GAP = 0.25  # the mode gap of mapbench._noise: levels 25% or more apart


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--windows", type=int, default=6)
    args = parser.parse_args(argv)
    if args.processes < 1 or args.seconds <= 0 or args.windows < 2:
        print("--processes >= 1, --seconds > 0 and --windows >= 2, please", file=sys.stderr)
        return 2
    lows: list[float] = []
    moved = 0
    for n in range(args.processes):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(args.seconds), str(args.windows)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        best = [float(x) for x in out.split()]
        lows.append(min(best))
        changed = max(best) / min(best) - 1 >= GAP
        moved += changed
        print(f"process {n + 1:2}: " + " ".join(f"{x:6.1f}" for x in best)
              + ("   <- moved between levels" if changed else ""))  # fmt: skip
    floor = min(lows)
    slow = sum(low / floor - 1 >= GAP for low in lows)
    print(
        f"{args.processes} processes: fastest window {floor:.1f} ns/lookup; "
        f"{slow} never came within {GAP:.0%} of it; {moved} moved by {GAP:.0%} or more "
        "between windows of the same loop"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
