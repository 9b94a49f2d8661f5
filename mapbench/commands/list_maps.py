"""`mapbench list`: every known map with its source, availability, capabilities and types."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mapbench._table import format_table
from mapbench.protocol import capabilities_of, semantics_of
from mapbench.registry import MapInfo, parse_spec, registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map",
        dest="specs",
        action="append",
        default=[],
        metavar="SPEC",
        help="also describe this map spec (e.g. ./my_map.py:MyMap or sharded,shards=8)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def describe(info: MapInfo, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A plain description of one map; capabilities come from a real (closed) instance."""
    row: dict[str, Any] = {
        "name": info.name,
        "source": info.source,
        "available": info.available,
        "reason": info.unavailable or "",
        "description": info.description,
        "defaults": dict(info.defaults),
        "capabilities": [],
        "key_types": [],
        "value_types": [],
        "mixed_key_types": True,
        "key_order": "",
    }
    if not info.available:
        return row
    try:
        m = info.create(**(options or {}))
    except Exception as exc:  # a map that cannot be built is unavailable, with the reason
        row.update(available=False, reason=f"{type(exc).__name__}: {exc}")
        return row
    try:
        row["capabilities"] = list(capabilities_of(m))
        declared = semantics_of(m)  # a raw class's defaults included
        row["key_types"] = [t.__name__ for t in declared.key_types]
        row["value_types"] = [t.__name__ for t in declared.value_types]
        row["mixed_key_types"] = declared.mixed_key_types
        row["key_order"] = declared.key_order
    finally:
        m.close()
    return row


def cmd_list(args: argparse.Namespace) -> int:
    rows = [describe(info) for info in registry().values()]
    for text in args.specs:
        spec = parse_spec(text)
        rows.append({**describe(spec.info, dict(spec.options)), "name": spec.label})
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
