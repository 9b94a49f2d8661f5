"""Each run's environment: a one-row-per-run summary table, and every recorded field per file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from mapbench.reports.tables import Cell, Table

from mapbench import formatting
from mapbench.compare import Comparison
from mapbench.results import ResultSet

Environments = Mapping[str, Mapping[str, Any]]
# (header, environment key) of the summary: what a timing or GC figure depends on.
_SUMMARY = (
    ("implementation", "implementation"),
    ("CPU", "cpu_model"),
    ("CPUs", "cpu_count"),
    ("load average (1, 5, 15 min)", "load_average"),
    ("machine", "machine"),
    ("platform", "platform"),
    ("C compiler", "c_compiler_version"),
    ("C flags", "c_flags"),
    ("pyperf", "pyperf_version"),
    ("mapbench", "mapbench_version"),
    ("GC threshold", "gc_threshold"),
    ("GC enabled", "gc_enabled"),
    ("hash seed", "hash_seed"),
    ("commit", "commit"),
    ("commit date", "commit_date"),
)


@dataclass(frozen=True)
class EnvironmentBlock:
    title: str
    items: tuple[tuple[str, str], ...]


def sides(results: ResultSet, comparison: Comparison | None) -> list[tuple[str, Environments]]:
    """(label, environments) of each side of a comparison, or ("", all of them)."""
    if comparison is None:
        return [("", results.environments)]
    return [
        (comparison.base_label, comparison.base_environments),
        (comparison.candidate_label, comparison.candidate_environments),
    ]


def summary_table(labelled: Sequence[tuple[str, Environments]]) -> Table | None:
    """Fields as rows, one column per distinct environment (a run's files share one)."""
    runs: dict[tuple[str, str], list[str]] = {}
    envs: dict[tuple[str, str], Mapping[str, Any]] = {}
    for label, environments in labelled:
        for path, env in sorted(environments.items()):
            key = (label, repr(sorted((k, repr(v)) for k, v in env.items())))
            runs.setdefault(key, []).append(PurePath(path).name)
            envs[key] = env
    if not runs:
        return None
    headers = [""]
    for label, _ in runs:
        python = envs[(label, _)].get("python") or "?"
        headers.append(f"{label}: Python {python}" if label else f"Python {python}")
    rows = [
        (Cell(header), *(Cell(_summary_text(name, envs[k]), css="wrap") for k in runs))
        for header, name in _SUMMARY
    ]
    rows.append((Cell("files"), *(Cell(", ".join(files), css="wrap") for files in runs.values())))
    return Table(tuple(headers), tuple(rows), tuple(False for _ in headers), sortable=False)


def _summary_text(name: str, env: Mapping[str, Any]) -> str:
    value = env.get(name)
    if name == "commit" and value:
        return formatting.short_commit(str(value))
    if name == "c_compiler_version" and not value:
        value = env.get("c_compiler")  # the version could not be asked
    return env_text(value)


def blocks(labelled: Sequence[tuple[str, Environments]]) -> Iterable[EnvironmentBlock]:
    """Every recorded field, per file."""
    for label, environments in labelled:
        for path, env in sorted(environments.items()):
            title = f"{label}: {path}" if label else path
            items = tuple((str(k), env_text(v)) for k, v in sorted(env.items()))
            yield EnvironmentBlock(title, items)


def env_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items())) or formatting.MISSING
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return formatting.MISSING if value is None or value == "" else str(value)
