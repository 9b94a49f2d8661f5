"""Child process: describe the interpreter, or what one map supports, as JSON in a file.

Run in the interpreter that will run the benchmarks: `python -m mapbench.runner._probe
--output F [--commit-dir D] [--spec SPEC]`. A map that crashes on creation kills only this child.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mapbench.environment import environment
from mapbench.protocol import capabilities_of, check_key
from mapbench.registry import parse_spec
from mapbench.workloads import KEY_KINDS, WORKLOADS, make_keys


def describe_map(spec_text: str) -> dict[str, Any]:
    """Capabilities, and which workloads and key kinds a fresh instance of the map supports."""
    m = parse_spec(spec_text).create()
    try:
        return {
            "capabilities": list(capabilities_of(m)),
            "workloads": {name: w.supports(m) for name, w in WORKLOADS.items()},
            "workload_key_kinds": {name: list(w.key_kinds) for name, w in WORKLOADS.items()},
            "key_kinds": {kind: _stores(m, kind) for kind in KEY_KINDS},
        }
    finally:
        m.close()


def _stores(m: Any, kind: str) -> bool:
    try:
        check_key(m, make_keys(kind, 1)[0])
    except (TypeError, OverflowError):
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mapbench.runner._probe")
    parser.add_argument("--output", required=True)
    parser.add_argument("--commit-dir")
    parser.add_argument("--spec")
    args = parser.parse_args(argv)
    data = describe_map(args.spec) if args.spec else environment(args.commit_dir)
    Path(args.output).write_text(json.dumps(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
