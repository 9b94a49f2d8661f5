"""Child process: describe the interpreter, or one map, as JSON in a file.

`python -m mapbench.describe --output F [--commit-dir D] [--spec SPEC [--list]]`, run in
the interpreter that will run the benchmarks, and by `mapbench list` for every plugin: a map
that crashes, hangs or exits while it is imported or created takes down only this child. A
spec that cannot be loaded exits 2, a map that cannot be created exits 1, each reported to the
parent through `mapbench._child`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mapbench._child import die_with_parent, exit_reporting
from mapbench.isolate import ChildLauncher, Outcome
from mapbench.protocol import capabilities_of, check_key, semantics_of
from mapbench.registry import MapSpec, parse_spec
from mapbench.spec import MapSpecError

MODULE = "mapbench.describe"


def described(
    launcher: ChildLauncher, python: str, args: Sequence[str], timeout: float, hash_seed: str = "0"
) -> tuple[Any, Outcome]:
    """Run this module in `python` with `args` as a child; the JSON it wrote, or None (and why)."""
    out = launcher.answer_file("described")
    outcome = launcher.run_module(
        python, MODULE, [*args, f"--output={out}"], hash_seed, timeout=timeout
    )
    if outcome.status != "ok":
        return None, outcome
    try:
        return json.loads(out.read_text(encoding="utf-8")), outcome
    except (OSError, ValueError) as exc:
        return None, Outcome("failed", 0, f"no result written: {exc}", outcome.traceback, 0.0)


def describe_map(spec: MapSpec, *, workloads: bool = True) -> dict[str, Any]:
    """What `mapbench list` shows of a map and, with `workloads`, which workloads and key kinds
    a fresh instance supports; capabilities come from a real instance, closed after."""
    row = unexamined(spec.label, spec.info.source, spec.info.unavailable or "")
    row.update(description=spec.info.description, defaults=dict(spec.info.defaults))
    if not spec.info.available:
        return row
    m = spec.create()
    try:
        row["capabilities"] = list(capabilities_of(m))
        declared = semantics_of(m)  # a raw class's defaults included
        row["key_types"] = [t.__name__ for t in declared.key_types]
        row["value_types"] = [t.__name__ for t in declared.value_types]
        row["mixed_key_types"] = declared.mixed_key_types
        row["key_order"] = declared.key_order
        if workloads:
            row.update(_support(m))
    finally:
        m.close()
    return row


def unexamined(name: str, source: str, unavailable: str = "") -> dict[str, Any]:
    """The description of a map that was not (or could not be) created."""
    return {
        "name": name,
        "source": source,
        "available": not unavailable,
        "reason": unavailable,
        "description": "",
        "defaults": {},
        "capabilities": [],
        "key_types": [],
        "value_types": [],
        "mixed_key_types": True,
        "key_order": "",
    }


def _support(m: Any) -> dict[str, Any]:
    from mapbench.values import VALUE_KINDS
    from mapbench.workloads import KEY_KINDS, WORKLOADS

    return {
        "workloads": {name: w.supports(m) for name, w in WORKLOADS.items()},
        "workload_key_kinds": {name: list(w.key_kinds) for name, w in WORKLOADS.items()},
        "key_kinds": {kind: _stores(m, kind) for kind in KEY_KINDS},
        "workload_value_kinds": {name: list(w.value_kinds) for name, w in WORKLOADS.items()},
        "value_kinds": {kind: _holds(m, kind) for kind in VALUE_KINDS},
    }


def _holds(m: Any, kind: str) -> bool:
    """Whether `m` stores values of `kind`, as objects or as their bytes."""
    from mapbench.values import ValueKindError, values_for

    try:
        values_for(kind, m)
    except ValueKindError:
        return False
    return True


def _stores(m: Any, kind: str) -> bool:
    from mapbench.workloads import make_keys

    try:
        check_key(m, make_keys(kind, 1)[0])
    except (TypeError, OverflowError):
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    die_with_parent()
    parser = argparse.ArgumentParser(prog=MODULE)
    parser.add_argument("--output", required=True)
    parser.add_argument("--commit-dir")
    parser.add_argument("--spec")
    parser.add_argument("--list", action="store_true", help="only what `mapbench list` shows")
    args = parser.parse_args(argv)
    if args.spec is None:
        from mapbench.environment import environment

        data = environment(args.commit_dir)
    else:
        try:
            spec = parse_spec(args.spec)
        except MapSpecError as exc:
            return exit_reporting(exc, input_error=True)
        try:
            data = describe_map(spec, workloads=not args.list)
        except (Exception, SystemExit) as exc:
            return exit_reporting(exc)
    Path(args.output).write_text(json.dumps(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
