"""The files of one run for one interpreter, rewritten atomically after every case.

`pyperf-<tag>.json` holds pyperf's timings, `metrics-<tag>.json` the mapbench results file
(`mapbench.schema`) with every case's status, so a run that is killed keeps what it finished;
the results file says `"complete": false` until the run ends. A run never touches an earlier
run's files: when `<tag>` is taken it writes `<tag>-2` (`-3`, ...), and with `overwrite` it
renames its files over the earlier ones only once it has completed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyperf

from mapbench._atomic import create_atomic, write_atomic, write_bytes_atomic
from mapbench.schema import CaseResult, MetricsFile, encode


def result_paths(directory: Path, stem: str) -> tuple[Path, Path]:
    """(metrics file, pyperf file) of a run filed under `stem` in `directory`."""
    return directory / f"metrics-{stem}.json", directory / f"pyperf-{stem}.json"


class ResultStore:
    """Accumulates one interpreter's results in `directory` and keeps both files current."""

    def __init__(
        self, directory: Path, tag: str, environment: Mapping[str, Any], *, overwrite: bool = False
    ) -> None:
        self.final_paths = result_paths(directory, tag)
        self.overwrite = overwrite
        self.environment = dict(environment)
        self.results: list[CaseResult] = []
        self.complete = False
        self._suite: pyperf.BenchmarkSuite | None = None
        self.metrics_path, self.pyperf_path = _reserve(directory, tag, self._metrics_bytes())

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
        """Mark the run complete (every planned case has its result); with `overwrite`, its
        files then replace the earlier run's."""
        self.complete = True
        self._write_metrics()
        final_metrics, final_pyperf = self.final_paths
        if not self.overwrite or self.metrics_path == final_metrics:
            return
        # The timings first: until the metrics file moves too, both runs stay loadable.
        if self.pyperf_path.exists():
            os.replace(self.pyperf_path, final_pyperf)
        else:
            final_pyperf.unlink(missing_ok=True)
        os.replace(self.metrics_path, final_metrics)
        self.metrics_path, self.pyperf_path = self.final_paths

    def _dump_suite(self, tmp: str) -> None:
        assert self._suite is not None
        self._suite.dump(tmp, replace=True)

    def _write_metrics(self) -> None:
        write_bytes_atomic(self.metrics_path, self._metrics_bytes())

    def _metrics_bytes(self) -> bytes:
        document = MetricsFile(
            environment=self.environment, results=tuple(self.results), complete=self.complete
        )
        return encode(document)


def _reserve(directory: Path, tag: str, first: bytes) -> tuple[Path, Path]:
    """The first free pair of file names for `tag`: `<tag>`, else `<tag>-2`, `<tag>-3`, ...

    Creating the metrics file (holding `first`) claims the pair, even against a concurrent run.
    """
    for n in range(1, 10_000):
        metrics, timings = result_paths(directory, tag if n == 1 else f"{tag}-{n}")
        if not timings.exists() and create_atomic(metrics, first):
            return metrics, timings
    raise FileExistsError(f"{directory} holds 10,000 runs of Python {tag} already")
