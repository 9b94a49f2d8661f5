"""`mapbench measure MAP`: one workload on one map, every collector in its own pass, one table.

The output has the environment first, then one row per measurement with its unit and kind;
`--json` prints the same as a mapbench metrics document (format "mapbench-metrics", version 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from mapbench import metrics
from mapbench._table import format_table
from mapbench.environment import environment
from mapbench.errors import UsageError
from mapbench.measurement import Measurement
from mapbench.registry import parse_spec
from mapbench.workloads import KEY_KINDS, WORKLOADS, Case, get_workload

_SCALES = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_BYTE_SCALES = ((2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"))
_HISTOGRAM_SHOWN = 8


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("map", metavar="MAP", help="map spec, e.g. dict or sharded,shards=8")
    parser.add_argument("--workload", default="insert", choices=list(WORKLOADS))
    parser.add_argument("--size", type=int, default=100_000, help="entries (default 100000)")
    parser.add_argument("--key-kind", default="random-int", choices=KEY_KINDS)
    parser.add_argument("--seed", type=int, default=0, help="key and plan seed (default 0)")
    parser.add_argument(
        "--collector",
        dest="collectors",
        action="append",
        choices=list(metrics.COLLECTORS),
        help="run only this collector (repeatable; default: all)",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs for time_per_op (default 5; 0: none)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_measure(args: argparse.Namespace) -> int:
    if args.size < 1 or args.repeat < 0:
        raise UsageError("--size must be >= 1 and --repeat >= 0")
    spec = parse_spec(args.map)
    workload = get_workload(args.workload)
    names = args.collectors or list(metrics.COLLECTORS)
    _progress(args, f"preparing {args.size} {args.key_kind} keys for {workload.name}")
    case = workload.prepare(spec.create, args.size, args.key_kind, args.seed)
    measurements: list[Measurement] = []
    try:
        if args.repeat:
            _progress(args, f"timing {args.repeat} runs")
            measurements += time_per_op(case, args.repeat)
        for name in names:
            _progress(args, f"collector pass: {name}")
            measurements += metrics.collect(case, [name])
    finally:
        case.close()
    result: dict[str, Any] = {
        "map": spec.label,
        "workload": workload.name,
        "size": args.size,
        "key_kind": args.key_kind,
        "params": {"seed": args.seed, "ops": case.ops, **workload.params},
        "status": "ok",
        "error": None,
        "metrics": [m.to_json() for m in measurements],
    }
    env = environment()
    if args.json:
        doc = {"format": "mapbench-metrics", "version": 1, "environment": env, "results": [result]}
        print(json.dumps(doc, indent=2))
    else:
        print(render(env, result, measurements))
    return 0


def time_per_op(case: Case, repeat: int) -> list[Measurement]:
    """Wall time per operation over `repeat` plain runs (no collector active)."""
    per_op = []
    for _ in range(repeat):
        case.reset()
        t0 = time.perf_counter()
        case.run()
        per_op.append((time.perf_counter() - t0) / case.ops)
    note = f"{repeat} runs of {case.ops} ops, perf_counter; `mapbench run` gives pyperf statistics"
    return [
        Measurement("time_per_op_min", min(per_op), "s", "noisy", tuple(per_op), note),
        Measurement("time_per_op_median", statistics.median(per_op), "s", "noisy", (), note),
    ]


def render(env: dict[str, Any], result: dict[str, Any], measurements: list[Measurement]) -> str:
    """The environment and the measurements as two plain-text tables."""
    head = (
        f"{result['map']} / {result['workload']} / {result['key_kind']} / {result['size']} "
        f"({result['params']['ops']} ops per run, seed {result['params']['seed']})"
    )
    env_rows = [(k, _env_value(v)) for k, v in env.items()]
    rows = [(m.name, format_value(m.value, m.unit), m.kind, _detail(m)) for m in measurements]
    return "\n\n".join(
        [
            head,
            format_table(("environment", "value"), env_rows),
            format_table(("metric", "value", "kind", "note"), rows),
        ]
    )


def format_value(value: float, unit: str) -> str:
    """A value in a readable unit: seconds scaled to ms/µs/ns, bytes to KiB/MiB/GiB."""
    if unit == "s" and value:
        factor, name = next(((f, n) for f, n in _SCALES if abs(value) >= f), _SCALES[-1])
        return f"{value / factor:.4g} {name}"
    if unit == "B" and abs(value) >= 1024:
        factor, name = next((f, n) for f, n in _BYTE_SCALES if abs(value) >= f)
        return f"{value / factor:.4g} {name}"
    text = f"{int(value)}" if float(value).is_integer() else f"{value:.4g}"
    return f"{text} {unit}".rstrip()


def _detail(m: Measurement) -> str:
    if m.name.endswith("_histogram") and m.samples:
        shown = [f"{i}:{int(c)}" for i, c in enumerate(m.samples) if c][:_HISTOGRAM_SHOWN]
        more = " ..." if sum(1 for c in m.samples if c) > _HISTOGRAM_SHOWN else ""
        return f"length:count {' '.join(shown)}{more}"
    return m.note


def _env_value(value: Any) -> str:
    return "-" if value is None else str(value)


def _progress(args: argparse.Namespace, text: str) -> None:
    if not args.json and sys.stderr.isatty():
        print(f"mapbench measure: {text}...", file=sys.stderr, flush=True)
