"""Peak memory of `mapbench report` on each hostile input of tests/hostile_corpus.py (issue 28).

Each case runs as its own process (`python -m mapbench report CASE -o ...`); its peak RSS is
the kernel's (`wait4`'s ru_maxrss), set against a baseline run on the smallest legal results
file. The bound checked is issue 28's, on what an input adds: peak RSS above that baseline at
most 2x the largest legal input, `MAX_INPUT_BYTES` (256 MiB). Run:
    python scripts/hostile_inputs.py [--no-big]
(the big cases write a 200 MB and a 257 MiB file to a temporary directory).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mapbench.input_files import MAX_INPUT_BYTES

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import hostile_corpus

MIB = 2**20


def peak_rss(args: list[str]) -> tuple[int, int, float, str]:
    """(exit status, peak RSS in bytes, seconds, last line of stderr) of one process."""
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = err.strip().splitlines()
    return (
        proc.returncode,
        usage.ru_maxrss * 1024,
        time.monotonic() - started,
        lines[0] if lines else "",
    )


def main() -> int:
    big = "--no-big" not in sys.argv
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        cases = hostile_corpus.build(where, big=big)
        report = [sys.executable, "-m", "mapbench", "report"]
        out = str(where / "r.html")
        status, baseline, seconds, _ = peak_rss(
            [*report, str(hostile_corpus.GOOD_METRICS), "-o", out]
        )
        name = "baseline (one good file)"
        print(f"{name:22} exit {status} {baseline / MIB:6.1f} MiB {seconds:4.1f} s")
        worst = 0
        for name in cases:
            status, peak, seconds, line = peak_rss([*report, str(where / name), "-o", out])
            worst = max(worst, peak - baseline)
            print(f"{name:22} exit {status} {peak / MIB:6.1f} MiB {seconds:4.1f} s  {line[:110]}")
    bound = 2 * MAX_INPUT_BYTES
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(
        f"largest peak above the baseline: {worst / MIB:.1f} MiB; "
        f"bound 2 x {MAX_INPUT_BYTES // MIB} MiB = {bound // MIB} MiB"
    )
    return 0 if worst <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
