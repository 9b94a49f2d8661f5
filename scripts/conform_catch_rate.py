"""How often, and how fast, `mapbench conform` catches each broken map and passes each correct
one, from a fresh start, as a plug-in author runs it.

    python scripts/conform_catch_rate.py [--trials 20] [--deep-trials 1] [--budget 60]
        [--only NAME ...] [--rare-trials 20]

Each trial copies `mapbench.conformance.broken` and `mapbench.conformance.correct` into a new
directory and runs `mapbench conform SPEC` there as a separate process: caught means exit 1,
passed exit 0 (anything else stops the script). Times are wall clock per trial, start-up and
shrinking included. The rare-state bug (`OverwriteLostAt37`) gets `--rare-trials` default runs
of its own. Prints the machine, its load before and after, and Markdown tables. A script in
scripts/, not an asv suite; it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mapbench.conformance import DEEP_BUDGET, broken, correct
from mapbench.environment import environment
from mapbench.text_tables import format_markdown_table

RARE = "OverwriteLostAt37"
# Correct maps: outside classes as given (spec, what it is), then the registered peers.
OUTSIDE = (
    ("sortedcontainers:SortedDict", "SortedDict as given (keys compared with each other)"),
    ("cachetools:LRUCache,maxsize=1000000000", "cachetools' LRU cache as given"),
    ("collections:OrderedDict", "OrderedDict as given"),
    ("correct.py:UserDictMap", "a UserDict subclass"),
    ("correct.py:LRUMap", "the README's LRU map (reads reorder it)"),
    ("correct.py:ImmutableMap", "immutables.Map behind an adapter"),
    ("correct.py:make_user_dict", "a factory returning a map without close()"),
    ("broken.py:Correct", "a dict subclass"),
    ("broken.py:OpenAddressing", "a pure-Python open-addressing table"),
    ("immutables", "peer: immutables (HAMT)"),
    ("pyrsistent", "peer: pyrsistent pmap"),
    ("sortedcontainers", "peer: SortedDict, declared"),
    ("cachetools", "peer: LRUCache, declared"),
    ("frozendict", "peer: frozendict"),
)
_CLAUSE = re.compile(r"^([a-z][a-z-]+): ", re.MULTILINE)


@dataclass(frozen=True)
class Trial:
    code: int
    seconds: float
    clause: str


def trial(spec: str, options: list[str]) -> Trial:
    """One fresh run of conform on `spec` from a new directory holding the example maps."""
    mapbench = shutil.which("mapbench") or f"{os.path.dirname(sys.executable)}/mapbench"
    with tempfile.TemporaryDirectory(prefix="mapbench-catch-") as tmp:
        for module in (broken, correct):
            (Path(tmp) / f"{module.__name__.rsplit('.', 1)[1]}.py").write_text(
                inspect.getsource(module), encoding="utf-8"
            )
        target = f"./{spec}" if ".py:" in spec else spec
        start = time.monotonic()
        done = subprocess.run(
            [mapbench, "conform", target, *options], cwd=tmp, capture_output=True, text=True
        )
        seconds = time.monotonic() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"mapbench conform {spec} exited {done.returncode}: {done.stderr}")
    failures = done.stdout.split("= FAILURES =", 1)[-1] if done.returncode else ""
    clauses = _CLAUSE.findall(failures)
    return Trial(done.returncode, seconds, clauses[0] if clauses else "")


def series(spec: str, options: list[str], trials: int) -> list[Trial]:
    return [trial(spec, options) for _ in range(trials)]


def times(results: list[Trial]) -> str:
    seconds = [t.seconds for t in results]
    return f"{statistics.median(seconds):.1f} / {max(seconds):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=20, help="default runs per map")
    parser.add_argument("--deep-trials", type=int, default=1, help="--deep runs per broken map")
    parser.add_argument("--rare-trials", type=int, default=20, help=f"default runs on {RARE}")
    parser.add_argument("--budget", type=float, default=DEEP_BUDGET, help="--deep's budget")
    parser.add_argument("--only", action="append", help="only these maps (names or specs)")
    args = parser.parse_args()
    deep = ["--deep", f"--budget={args.budget:g}"]
    load_before = environment()["load_average"]
    bug_rows = []
    for name in broken.BUGS:
        if args.only and name not in args.only:
            continue
        quick = series(f"broken.py:{name}", [], args.trials)
        thorough = series(f"broken.py:{name}", deep, args.deep_trials)
        clause = Counter(t.clause for t in quick if t.code == 1).most_common(1)
        bug_rows.append(
            (
                f"`{name}`",
                inspect.getdoc(getattr(broken, name)).splitlines()[0],  # type: ignore[union-attr]
                f"{sum(t.code == 1 for t in quick)}/{len(quick)}",
                times(quick),
                clause[0][0] if clause else "",
                f"{sum(t.code == 1 for t in thorough)}/{len(thorough)}" if thorough else "",
            )
        )
    rare = (
        []
        if args.only and RARE not in args.only
        else series(f"broken.py:{RARE}", [], args.rare_trials)
    )
    good_rows = []
    for spec, what in OUTSIDE:
        if args.only and spec not in args.only:
            continue
        runs = series(spec, [], args.trials)
        good_rows.append(
            (f"`{spec}`", what, f"{sum(t.code == 0 for t in runs)}/{len(runs)}", times(runs))
        )
    env = environment()
    print(
        f"mapbench conform, each trial a fresh process; Python {env['python']}, "
        f"{env['cpu_model']} ({env['cpu_count']} cores), load average {load_before} before, "
        f"{env['load_average']} after; {env['timestamp'][:10]}\n"
    )
    headers = (
        "broken map",
        "the bug",
        "default: caught",
        "s (median / max)",
        "clause named",
        "--deep: caught",
    )
    print(format_markdown_table(headers, bug_rows))
    if rare:
        caught = f"caught {sum(t.code == 1 for t in rare)}/{len(rare)}"
        print(
            f"\nrare-state bug ({RARE}), default runs: {caught}, s (median / max) {times(rare)}\n"
        )
    print(
        format_markdown_table(
            ("correct map", "what", "default: passed", "s (median / max)"), good_rows
        )
    )


if __name__ == "__main__":
    main()
