"""The results file of one run for one interpreter, rewritten atomically after every case.

`metrics-<tag>.json` is the mapbench results file (`mapbench.schema`) with every case's status
and measurements (pyperf's timings among them), so a run that is killed keeps what it finished;
it says `"complete": false` until the run ends. A run never touches an earlier run's file: when
`<tag>` is taken it writes `<tag>-2` (`-3`, ...), and with `overwrite` it renames its file over
the earlier one only once it has completed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mapbench.atomic_files import create_atomic, write_bytes_atomic
from mapbench.schema import CaseResult, MetricsFile, encode, legacy_sibling


def result_path(directory: Path, stem: str) -> Path:
    """The results file of a run filed under `stem` in `directory`."""
    return directory / f"metrics-{stem}.json"


class ResultStore:
    """Accumulates one interpreter's results in `directory` and keeps its file current."""

    def __init__(
        self, directory: Path, tag: str, environment: Mapping[str, Any], *, overwrite: bool = False
    ) -> None:
        self.final_path = result_path(directory, tag)
        self.overwrite = overwrite
        self.environment = dict(environment)
        self.results: list[CaseResult] = []
        self.complete = False
        self.metrics_path = _reserve(directory, tag, self._metrics_bytes())

    def add(self, result: CaseResult) -> None:
        """Record one case and save the file."""
        self.results.append(result)
        self._write_metrics()

    def finish(self) -> None:
        """Mark the run complete (every planned case has its result); with `overwrite`, its
        file then replaces the earlier run's (and the pyperf file of an earlier format goes)."""
        self.complete = True
        self._write_metrics()
        if not self.overwrite or self.metrics_path == self.final_path:
            return
        legacy_sibling(self.final_path).unlink(missing_ok=True)
        os.replace(self.metrics_path, self.final_path)
        self.metrics_path = self.final_path

    def _write_metrics(self) -> None:
        write_bytes_atomic(self.metrics_path, self._metrics_bytes())

    def _metrics_bytes(self) -> bytes:
        document = MetricsFile(
            environment=self.environment, results=tuple(self.results), complete=self.complete
        )
        return encode(document)


def _reserve(directory: Path, tag: str, first: bytes) -> Path:
    """The first free file name for `tag`: `<tag>`, else `<tag>-2`, `<tag>-3`, ...

    Creating the file (holding `first`) claims the name, even against a concurrent run; a name
    whose legacy pyperf file remains is taken too.
    """
    for n in range(1, 10_000):
        path = result_path(directory, tag if n == 1 else f"{tag}-{n}")
        if not legacy_sibling(path).exists() and create_atomic(path, first):
            return path
    raise FileExistsError(f"{directory} holds 10,000 runs of Python {tag} already")
