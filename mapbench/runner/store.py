"""The files of one run for one interpreter, rewritten atomically after every benchmark.

`pyperf-<tag>.json` holds pyperf's timings, `metrics-<tag>.json` the mapbench metrics JSON (format
in mapbench.results) with every case's status, so a run that is killed keeps what it finished.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyperf

# mapbench metrics JSON. History of "version":
#   1 - environment + results[{map, workload, size, key_kind, params, status, error, metrics}]
FORMAT = "mapbench-metrics"
VERSION = 1


class ResultStore:
    """Accumulates one interpreter's results in `directory` and keeps both files current."""

    def __init__(self, directory: Path, tag: str, environment: Mapping[str, Any]) -> None:
        self.pyperf_path = directory / f"pyperf-{tag}.json"
        self.metrics_path = directory / f"metrics-{tag}.json"
        self.environment = dict(environment)
        self.results: list[dict[str, Any]] = []
        self._suite: pyperf.BenchmarkSuite | None = None
        # A fresh run replaces this interpreter's files from an earlier run in the same directory.
        self.pyperf_path.unlink(missing_ok=True)
        self._write_metrics()

    def add(self, result: Mapping[str, Any], timings: Sequence[pyperf.Benchmark] = ()) -> None:
        """Record one case (and its pyperf timings, if any) and save both files."""
        for bench in timings:
            if self._suite is None:
                self._suite = pyperf.BenchmarkSuite([bench])
            else:
                self._suite.add_benchmark(bench)
        if timings:
            _atomic(self.pyperf_path, self._dump_suite)
        self.results.append(dict(result))
        self._write_metrics()

    def _dump_suite(self, tmp: str) -> None:
        assert self._suite is not None
        self._suite.dump(tmp, replace=True)

    def _write_metrics(self) -> None:
        data = {
            "format": FORMAT,
            "version": VERSION,
            "environment": self.environment,
            "results": self.results,
        }
        text = json.dumps(data, indent=1)
        _atomic(self.metrics_path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _atomic(path: Path, write: Callable[[str], object]) -> None:
    """Write through a temporary file in the same directory, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
