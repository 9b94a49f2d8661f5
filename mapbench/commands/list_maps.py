"""`mapbench list`: every known map with its source, availability, capabilities and types.

Built-in maps are described in this process. Plugins (entry points) and `--map` specs are
third-party code: each is imported and created in a child process with a deadline
(`mapbench.describe`), so one that raises, exits, crashes or hangs is listed as
unavailable with the reason instead of taking `list` down.
"""

from __future__ import annotations

import argparse
import json
import sys
from types import MappingProxyType
from typing import Any

from mapbench._child import describe_exception
from mapbench.describe import describe_map, described, unexamined
from mapbench.errors import UsageError
from mapbench.isolate import ChildLauncher
from mapbench.project import configured_maps
from mapbench.registry import (
    MapSpec,
    builtin_maps,
    entry_point_source,
    plugin_entry_points,
    plugin_warnings,
)
from mapbench.text_tables import format_table

DEFAULT_TIMEOUT = 10.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map",
        dest="specs",
        action="append",
        default=[],
        metavar="SPEC",
        help="also describe this map spec (e.g. ./my_map.py:MyMap or sharded,shards=8); default: "
        "the maps of pyproject.toml's [tool.mapbench]",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="deadline to import and create each plugin or --map spec, in a child process "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def describe(spec: MapSpec) -> dict[str, Any]:
    """A plain description of one map (in this process); a map that fails is unavailable."""
    try:
        return describe_map(spec, workloads=False)
    except Exception as exc:
        return unexamined(spec.label, spec.info.source, describe_exception(exc))


def cmd_list(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, not {args.timeout:g}")
    given = _loadable(configured_maps(args.specs))  # bad input: exit 2 at once
    rows = [describe(MapSpec(n, i, MappingProxyType({}))) for n, i in builtin_maps().items()]
    plugins = list(plugin_entry_points())
    extra: list[dict[str, Any]] = []
    if given or plugins:  # third-party code: each in a child process (the launcher's scratch dir)
        with ChildLauncher(timeout=args.timeout) as launcher:
            extra = [_isolated(launcher, args.timeout, text, loadable) for text, loadable in given]
            rows += [
                _isolated(launcher, args.timeout, ep.name, ep.name, entry_point_source(ep))
                for ep in plugins
            ]
    for line in plugin_warnings():
        print(f"mapbench list: warning: {line}", file=sys.stderr)
    rows += extra
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [
        (
            r["name"],
            r["source"],
            "yes" if r["available"] else f"no: {r['reason']}",
            ", ".join(r["capabilities"]) or "-",
            "/".join(r["key_types"]) + ("" if r["mixed_key_types"] else " (one type)") or "-",
            "/".join(r["value_types"]) or "-",
            r["key_order"] or "-",
        )
        for r in rows
    ]
    headers = ("map", "source", "available", "capabilities", "keys", "values", "order")
    print(format_table(headers, table))
    return 0


def _loadable(specs: list[str]) -> list[tuple[str, str]]:
    """(spec as given, spec a child can load) of each `--map`; a bad one raises UsageError."""
    if not specs:
        return []
    from mapbench.runner.plan import loadable_spec  # loads the case plan, for --map only

    return [(text, loadable_spec(text)) for text in specs]


def _isolated(
    launcher: ChildLauncher, timeout: float, label: str, loadable: str, source: str = "spec"
) -> dict[str, Any]:
    """One map described in a child process; unavailable, with why, if that fails.

    A `--map` spec (source "spec") the child cannot load is bad input: `UsageError`.
    """
    row, outcome = described(launcher, sys.executable, [f"--spec={loadable}", "--list"], timeout)
    if row is not None:
        return {**row, "name": label}
    if source == "spec" and outcome.input_error:
        raise UsageError(outcome.error or f"cannot load map spec {label!r}")
    why = outcome.error or "failed"
    if outcome.status == "timeout":
        why = f"importing or creating it {why}"
    return unexamined(label, source, why)
