"""The files of one run for one interpreter, rewritten atomically after every case.

`pyperf-<tag>.json` holds pyperf's timings, `metrics-<tag>.json` the mapbench results file
(`mapbench.schema`) with every case's status, so a run that is killed keeps what it finished;
the results file says `"complete": false` until the run ends.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyperf

from mapbench.schema import CaseResult, MetricsFile, encode


class ResultStore:
    """Accumulates one interpreter's results in `directory` and keeps both files current."""

    def __init__(self, directory: Path, tag: str, environment: Mapping[str, Any]) -> None:
        self.pyperf_path = directory / f"pyperf-{tag}.json"
        self.metrics_path = directory / f"metrics-{tag}.json"
        self.environment = dict(environment)
        self.results: list[CaseResult] = []
        self.complete = False
        self._suite: pyperf.BenchmarkSuite | None = None
        # A fresh run replaces this interpreter's files from an earlier run in the same directory.
        self.pyperf_path.unlink(missing_ok=True)
        self._write_metrics()

    def add(self, result: CaseResult, timings: Sequence[pyperf.Benchmark] = ()) -> None:
        """Record one case (and its pyperf timings, if any) and save both files."""
        for bench in timings:
            if self._suite is None:
                self._suite = pyperf.BenchmarkSuite([bench])
            else:
                self._suite.add_benchmark(bench)
        if timings:
            write_atomic(self.pyperf_path, self._dump_suite)
        self.results.append(result)
        self._write_metrics()

    def finish(self) -> None:
        """Mark the run complete (every planned case has its result)."""
        self.complete = True
        self._write_metrics()

    def _dump_suite(self, tmp: str) -> None:
        assert self._suite is not None
        self._suite.dump(tmp, replace=True)

    def _write_metrics(self) -> None:
        data = encode(
            MetricsFile(
                environment=self.environment, results=tuple(self.results), complete=self.complete
            )
        )
        write_atomic(self.metrics_path, lambda tmp: Path(tmp).write_bytes(data))


def write_atomic(path: Path, write: Callable[[str], object]) -> None:
    """Write through a temporary file in the same directory, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
