"""Background load for sensitivity runs and tests: N busy-loop processes, always stopped.

A busy loop keeps one core runnable all the time, the way another CI job on a shared runner
does. `busy_loops(n)` starts them, yields their process ids, and kills every one of them when
the block ends, whether it ends normally, by an exception or by Ctrl-C; a loop whose parent dies
without cleaning up (killed) stops by itself.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

# A loop that never sleeps and never allocates: pure CPU demand, no memory traffic. Between
# stretches of about a millisecond it checks that its parent still runs, so it also stops when
# the parent is killed without a chance to clean up (SIGTERM, SIGKILL).
# The parent's pid comes as an argument: a parent killed while the loop starts is noticed too.
_BUSY = (
    "import os, sys\n"
    "parent = int(sys.argv[1])\n"
    "while os.getppid() == parent:\n"
    "    for _ in range(20000):\n"
    "        pass\n"
)


@contextlib.contextmanager
def busy_loops(n: int) -> Iterator[tuple[int, ...]]:
    """Run `n` busy-loop processes for the duration of the block; their pids."""
    if n < 0:
        raise ValueError(f"the number of busy loops must be >= 0, not {n}")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-S", "-c", _BUSY, str(os.getpid())],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        yield tuple(p.pid for p in procs)
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


__all__ = ["busy_loops"]
