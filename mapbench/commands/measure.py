"""`mapbench measure MAP`: one workload on one map, timed and through every collector, one table.

The case runs in the measuring worker (`mapbench.measure.worker`), a child process with the hash
seed pinned, exactly as `mapbench run` and `mapbench ci` measure it: a map that crashes takes
only the child down, and the figures are those the other runners would record. `--json` prints
the mapbench results file (`mapbench.schema`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mapbench.case import CaseId
from mapbench.errors import UsageError
from mapbench.formatting import value
from mapbench.measure.collectors import COLLECTORS
from mapbench.schema import CaseResult, Measurement
from mapbench.text_tables import format_table
from mapbench.values import DEFAULT_VALUE_KIND, VALUE_KINDS
from mapbench.workloads import KEY_KINDS, WORKLOADS

_HISTOGRAM_SHOWN = 8


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("map", metavar="MAP", help="map spec, e.g. dict or sharded,shards=8")
    parser.add_argument("--workload", default="insert", choices=list(WORKLOADS))
    parser.add_argument("--size", type=int, default=100_000, help="entries (default 100000)")
    parser.add_argument("--key-kind", default="random-int", choices=KEY_KINDS)
    parser.add_argument(
        "--value-kind",
        default=DEFAULT_VALUE_KIND,
        choices=VALUE_KINDS,
        help="what is stored with each key (default int; C and mmap maps store the same data "
        "as bytes)",
    )
    parser.add_argument("--seed", type=int, default=0, help="key and plan seed (default 0)")
    parser.add_argument(
        "--collector",
        dest="collectors",
        action="append",
        choices=list(COLLECTORS),
        help="run only this collector (repeatable; default: all)",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs for time per op (default 5; 0: none)"
    )
    parser.add_argument(
        "--hash-seed",
        default="0",
        metavar="N",
        help="PYTHONHASHSEED of the measuring process (default 0, as in run and ci)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="deadline of the measuring process, s (600)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_measure(args: argparse.Namespace) -> int:
    from mapbench.describe import described
    from mapbench.environment import environment
    from mapbench.measure.launch import WorkerLauncher
    from mapbench.measure.worker import WorkerJob
    from mapbench.runner.plan import select_maps
    from mapbench.schema import MetricsFile, encode

    if args.size < 1 or args.repeat < 0:
        raise UsageError("--size must be >= 1 and --repeat >= 0")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, not {args.timeout:g}")
    check_hash_seed(args.hash_seed)
    [(label, spec)] = select_maps([args.map])[0]
    case = CaseId(label, args.workload, args.key_kind, args.size, args.seed, spec, args.value_kind)
    job = WorkerJob(
        (case,),
        args.hash_seed,
        reps=args.repeat,
        collectors=tuple(args.collectors) if args.collectors else None,
    )
    with WorkerLauncher(timeout=args.timeout) as launcher:
        _progress(args, f"loading {label} in a child process")
        _, loaded = described(launcher, sys.executable, [f"--spec={spec}"], args.timeout)
        if loaded.input_error:  # an unloadable spec is bad input, not a failed measurement
            raise UsageError(loaded.error or f"cannot load map spec {label!r}")
        _progress(args, f"measuring {case} in a worker process")
        done = launcher.run(sys.executable, job)
    [result] = done.results
    if result.status == "skipped":
        raise UsageError(result.error)
    env = {**environment(), **done.environment}
    if args.json:
        print(encode(MetricsFile(environment=env, results=(result,))).decode())
    else:
        print(render(env, result))
    return 0 if result.status == "ok" else 1


def check_hash_seed(value: str) -> None:
    """PYTHONHASHSEED accepts 0..4294967295; refuse anything else up front."""
    if not value.isdigit() or int(value) > 4294967295:
        raise UsageError(f"--hash-seed must be an integer from 0 to 4294967295, not {value!r}")


def render(env: dict[str, Any], result: CaseResult) -> str:
    """The environment and the measurements as plain-text tables, failures and gaps said."""
    values = f"{result.value_kind} values" + (
        f" as {result.params['value_form']}" if "value_form" in result.params else ""
    )
    head = (
        f"{result.map} / {result.workload} / {result.key_kind} / {result.size} "
        f"(seed {result.seed}, {values})"
    )
    env_rows = [(k, "-" if v is None else str(v)) for k, v in env.items()]
    rows = [
        (m.name, value(m.value, m.unit), m.kind, m.gc or "-", _detail(m)) for m in result.metrics
    ]
    parts = [
        head,
        format_table(("environment", "value"), env_rows),
        format_table(("metric", "value", "kind", "gc", "note"), rows),
    ]
    parts += [f"not measured by {name}: {why}" for name, why in result.unavailable.items()]
    if result.status != "ok":
        parts.append(f"{result.status}: {result.error}\n{result.traceback}".rstrip())
    return "\n\n".join(parts)


def _detail(m: Measurement) -> str:
    if m.name.endswith("_histogram") and m.samples:
        shown = [f"{i}:{int(c)}" for i, c in enumerate(m.samples) if c][:_HISTOGRAM_SHOWN]
        more = " ..." if sum(1 for c in m.samples if c) > _HISTOGRAM_SHOWN else ""
        return f"length:count {' '.join(shown)}{more}"
    return m.note


def _progress(args: argparse.Namespace, text: str) -> None:
    if not args.json and sys.stderr.isatty():
        print(f"mapbench measure: {text}...", file=sys.stderr, flush=True)
