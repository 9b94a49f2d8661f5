"""A map author's `[tool.mapbench]` table in pyproject.toml: the maps (and cases) of the project.

    [tool.mapbench]
    maps = ["mymaps:LRUMap", "mymaps.fast:CMap,capacity=1024"]   # specs, or entry-point names
    workloads = ["insert", "lookup-hit", "lookup-miss", "delete"]  # optional
    key-kinds = ["random-int"]                                     # optional
    sizes = [10000]                                                # optional

Every command that takes `--map` reads it when no `--map` is given (`mapbench init` writes it).
A table that is malformed is bad input: one line naming the file, the key and what is wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapbench.errors import MapbenchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TABLE = "tool.mapbench"


class ConfigError(MapbenchError):
    """A `[tool.mapbench]` table that cannot be used."""


@dataclass(frozen=True)
class ProjectConfig:
    """What `[tool.mapbench]` says; empty tuples where it says nothing."""

    maps: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    key_kinds: tuple[str, ...] = ()
    sizes: tuple[int, ...] = ()
    path: Path | None = None


def read_config(directory: Path) -> ProjectConfig:
    """The `[tool.mapbench]` table of `directory`/pyproject.toml (empty if either is missing)."""
    path = directory / "pyproject.toml"
    if not path.is_file():
        return ProjectConfig()
    table = read_toml(path).get("tool", {}).get("mapbench")
    if table is None:
        return ProjectConfig(path=path)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{TABLE}] must be a table")
    unknown = sorted(set(table) - {"maps", "workloads", "key-kinds", "sizes"})
    if unknown:
        raise ConfigError(
            f"{path}: [{TABLE}] has no key {unknown[0]!r} (maps, workloads, key-kinds, sizes)"
        )
    from mapbench.workloads import KEY_KINDS, WORKLOADS  # only where a table names them

    return ProjectConfig(
        maps=_strings(path, table, "maps", None),
        workloads=_strings(path, table, "workloads", list(WORKLOADS)),
        key_kinds=_strings(path, table, "key-kinds", KEY_KINDS),
        sizes=_sizes(path, table),
        path=path,
    )


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; `ConfigError` (one line) when it cannot be read or parsed."""
    try:
        document: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return document


def configured_maps(given: Sequence[str], directory: Path | None = None) -> list[str]:
    """The maps given on the command line, else those of `[tool.mapbench]` in `directory`
    (default: the working directory), else none (the command's own default)."""
    return list(given) or list(read_config(directory or Path.cwd()).maps)


def _strings(
    path: Path, table: dict[str, Any], key: str, known: Sequence[str] | None
) -> tuple[str, ...]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise ConfigError(f"{path}: [{TABLE}] {key} must be a list of non-empty strings")
    if known is not None:
        for value in values:
            if value not in known:
                raise ConfigError(
                    f"{path}: [{TABLE}] {key}: unknown {value!r}; one of {', '.join(known)}"
                )
    return tuple(values)


def _sizes(path: Path, table: dict[str, Any]) -> tuple[int, ...]:
    values = table.get("sizes", [])
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ConfigError(f"{path}: [{TABLE}] sizes must be a list of positive integers")
    return tuple(values)


__all__ = [
    "TABLE",
    "ConfigError",
    "ProjectConfig",
    "configured_maps",
    "read_config",
    "read_toml",
]
