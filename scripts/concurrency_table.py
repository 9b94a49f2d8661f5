"""The concurrent map designs side by side (issue 30), printed as a Markdown table for the README.

    python scripts/concurrency_table.py [--size 10000] [--repeats 5] [--threads 4]
        [--map NAME ...] [--workload NAME ...] [--json PATH]

Maps: syncmap (Go's sync.Map), rwlock (a reader-writer lock, writer-preferring), sharded (32
shards, a lock each), locked (one dict, one mutex) and cow (copy-on-write). Workloads, all with
`--threads` threads on one shared map of `--size` random int keys: the 95/5 and 50/50 mixed plans
(`concurrent-95-5`, `concurrent-50-50`) and a long-running writer (`long-writer-update`: one
thread updates every key in one `update()` call, four times, while the others read).

For every case and repetition, interleaved (each repetition runs every case once, in turn):
- one timed run (mapbench's timing loop, GC paused): its wall time and its CPU time (every
  thread's: the process's CPU clock); throughput is the run's operations over its CPU time, which
  a busy machine's waiting for a core does not inflate, as it does the wall time;
- one latency pass (`mapbench.measure.latency`, GC on): every operation of every thread timed
  alone, reads and writes apart: read p99 and max, write p50 (for the long writer: its hold of
  the map, one whole `update()`);
- the map's own event counters over one more run (syncmap: locked misses and promotions; rwlock:
  acquisitions that waited), exact.
With `--deletes`, a second table instead: per-key `delete` against `delete-iterate` (iterate over
the map and delete every key met, as Go's Range with Delete inside), CPU time per deleted key
(one thread: its CPU clock does not count waiting for a core) at 10^3 ... 10^6 keys, minimum of
the repetitions (cow only up to 10^4: each
of its deletes copies the map).

The table shows the throughput of the run with the least CPU time, the minimum and median CPU
and wall time per run and the medians of the latency figures over the repetitions. The first
lines say where and when, with the interpreter's GIL state and switch interval, and the load
average before and after.
A script in scripts/, which asv does not scan; it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from mapbench.case import CaseId
from mapbench.environment import environment, load_average
from mapbench.formatting import MISSING, value
from mapbench.measure import open_case
from mapbench.measure.latency import Latency
from mapbench.measure.timing import gc_paused, time_runs
from mapbench.protocol import EventCounters
from mapbench.text_tables import format_markdown_table
from mapbench.workloads import Case

MAPS = ("syncmap", "rwlock", "sharded", "locked", "cow")
WORKLOADS = ("concurrent-95-5", "concurrent-50-50", "long-writer-update")
LATENCY = ("latency_read_p99", "latency_read_max", "latency_write_p50")


@dataclass
class Row:
    """What the repetitions of one case measured."""

    map: str
    workload: str
    ops: int
    run_seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    latency: dict[str, list[float]] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)


def events_per_run(case: Case) -> dict[str, int]:
    """The map's own counters over one run (empty for a map without counters)."""
    with gc_paused():
        case.reset()
        m = case.map
        if not isinstance(m, EventCounters):
            return {}
        before = dict(m.counters())
        case.run()
        after = m.counters()
    return {name: after[name] - before[name] for name in after}


def measure(names: Sequence[str], workloads: Sequence[str], size: int, repeats: int) -> list[Row]:
    cases = {(m, w): open_case(CaseId(m, w, "random-int", size)) for m in names for w in workloads}
    rows = {key: Row(key[0], key[1], case.ops) for key, case in cases.items()}
    try:
        for key, case in cases.items():
            rows[key].events = events_per_run(case)
        for rep in range(repeats):
            for key, case in cases.items():
                runs = time_runs(case, reps=1, warmups=1 if rep == 0 else 0)
                rows[key].run_seconds.append(runs.wall[0])
                rows[key].cpu_seconds.append(runs.cpu[0])
                for m in Latency().collect(case):
                    if m.name in LATENCY:
                        rows[key].latency.setdefault(m.name, []).append(m.value)
            print(f"  repetition {rep + 1}/{repeats} done, load {load()}", file=sys.stderr)
    finally:
        for case in cases.values():
            case.close()
    return list(rows.values())


DELETE_SIZES = (1_000, 10_000, 100_000, 1_000_000)
COPYING = {"cow": 10_000}  # maps whose every write copies the map: the largest size they run


def deletes(names: Sequence[str], repeats: int) -> str:
    """ns per deleted key, per-key delete against iterate-and-delete, at each size."""
    headers = ["map", "deletes", *(f"{n:,} keys" for n in DELETE_SIZES)]
    out = []
    for name in names:
        for workload in ("delete", "delete-iterate"):
            cells = []
            for n in DELETE_SIZES:
                if n > COPYING.get(name, n):
                    cells.append(MISSING)
                    continue
                case = open_case(CaseId(name, workload, "random-int", n))
                try:
                    best = min(time_runs(case, reps=repeats).cpu) / case.ops
                finally:
                    case.close()
                cells.append(value(best, "s"))
            out.append((f"`{name}`", f"`{workload}`", *cells))
        print(f"  {name} done, load {load()}", file=sys.stderr)
    return format_markdown_table(headers, out)


def load() -> str:
    loads = load_average()
    return "/".join(f"{x:.1f}" for x in loads) if loads else "unknown"


def _events(events: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in events.items() if n) or MISSING


def _spread(seconds: Sequence[float]) -> str:
    return f"{value(min(seconds), 's')} / {value(statistics.median(seconds), 's')}"


def table(rows: Sequence[Row]) -> str:
    headers = (
        "workload", "map", "Mops per CPU-second", "CPU per run, min / median",
        "wall per run, min / median", "read p99", "read max", "write p50", "events per run",
    )  # fmt: skip
    out = []
    for r in rows:
        lat = {name: statistics.median(v) for name, v in r.latency.items()}
        out.append(
            (
                f"`{r.workload}`",
                f"`{r.map}`",
                f"{r.ops / min(r.cpu_seconds) / 1e6:.2f}",
                _spread(r.cpu_seconds),
                _spread(r.run_seconds),
                *(value(lat.get(name), "s") for name in LATENCY),
                _events(r.events),
            )
        )
    return format_markdown_table(headers, out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=10_000, help="keys in the map (10000)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repetitions (5)")
    parser.add_argument("--threads", type=int, default=4, help="threads per case (4)")
    parser.add_argument("--map", action="append", help=f"a map (repeatable; {', '.join(MAPS)})")
    parser.add_argument(
        "--workload", action="append", help=f"a workload (repeatable; {', '.join(WORKLOADS)})"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument(
        "--deletes", action="store_true", help="per-key delete against iterate-and-delete instead"
    )
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeats < 1 or args.threads < 2:
        parser.error("--size and --repeats must be positive, --threads at least 2")
    chosen = args.workload or WORKLOADS
    workloads = [w if args.threads == 4 else f"{w}-t{args.threads}" for w in chosen]
    env = environment()
    print(
        f"Python {env['python']} on {env['platform']}, {env['cpu_count']} CPUs, "
        f"{env['timestamp']}; GIL {'on' if env['gil_enabled'] else 'off'} "
        f"(free-threaded build: {env['free_threaded_build']}), switch interval "
        f"{env['switch_interval'] * 1e3:g} ms"
    )
    if args.deletes:
        print(f"load average at start: {load()}; random int keys, one thread")
        print()
        print(deletes(args.map or MAPS, args.repeats))
        print(f"\nfinished {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average {load()}")
        return 0
    print(f"load average at start: {load()}; {args.size} random int keys, {args.threads} threads")
    rows = measure(args.map or MAPS, workloads, args.size, args.repeats)
    print()
    print(table(rows))
    print(f"\nfinished {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average {load()}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"environment": env, "rows": [asdict(r) for r in rows]}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
