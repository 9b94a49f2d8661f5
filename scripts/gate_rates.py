"""How often the whole `mapbench ci` gate fails identical code and catches real slowdowns.

    python scripts/gate_rates.py measure --trials 20 --busy 0 --busy 2 --busy 4 -o rates.jsonl
    python scripts/gate_rates.py measure --trials 30 --change identical -o rates.jsonl
    python scripts/gate_rates.py table rates.jsonl        # the README's table, from the records

`measure` builds a scratch git repository from this checkout with four commits: base; a
README-only change (identical code); `ShardedMap.__getitem__` plus a local variable and a
5-iteration loop (no allocation; about +15% time); and the same with a 2-iteration loop (about
+7%, judged at `--threshold 0.03`). Each trial runs the real `mapbench ci base <commit>` (sharded
· lookup-hit · random-int · 2,000 keys) for each change in turn, the changes taking turns in
each trial so that every one meets the same changes of machine load, and records one JSON line:
the change, the load level asked for, the 1-minute load average before and after, the exit
status, the time row's metric, verdict, change and note, and every exact metric that changed.
`--change` runs only the changes named (more identical-code trials, for the false-alarm rate).

Load levels are the busy-loop processes started for the whole level: `--busy 0` starts nothing
(idle only if the machine is otherwise quiet), `--busy 2` two (load about 3 on two cores),
`--busy 4` four (load 5 and more). The 1-minute load average before and after every trial is
recorded: the table shows the load actually seen, never the level's name alone. `table` groups
the records by level and change and counts: exit 0/1/4, flagged
on time (or on instructions, labelled), any exact-metric change, the median measured change,
and the load averages seen; under the table, per change over every level, how often the gate
failed the build, with its exact 95% binomial interval (`mapbench.stats.rate_interval`). A
script in scripts/, which asv does not scan.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mapbench import formatting
from mapbench.ci.background import busy_loops
from mapbench.environment import cpu_model, load_average
from mapbench.stats import rate_interval

CHECKOUT = Path(__file__).resolve().parents[1]
GIT = ["git", "-c", "user.name=gate rates", "-c", "user.email=rates@invalid"]
GIT += ["-c", "commit.gpgsign=false"]
LOOKUP = "    def __getitem__(self, key: Any) -> Any:\n        i = self._index(key)\n"
# A local variable and a loop of `n` iterations: no allocation (small ints are cached).
SPIN = "        spin = 0\n        while spin < {n}:\n            spin += 1\n"
CASE = [
    *("--map", "sharded", "--workload", "lookup-hit", "--key-kind", "random-int"),
    *("--size", "2000"),
]
# change name -> (commit subject, extra `mapbench ci` arguments)
CHANGES = {
    "identical": ("README only", ()),
    "+15% (local + 5-iteration loop)": ("spin 5", ()),
    "+7% (2-iteration loop), --threshold 0.03": ("spin 2", ("--threshold", "0.03")),
}
_TIME = ("time", "cpu_time")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True)
    return done.stdout.decode().strip()


def scratch_repository(root: Path) -> dict[str, str]:
    """A git repository of this checkout's files with base and one commit per change; the
    commit of each change (and "base")."""
    repo = root / "repo"
    repo.mkdir()
    listed = subprocess.run(
        ["git", "-C", str(CHECKOUT), "ls-files", "-z", "--cached", "--others",
         "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (CHECKOUT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(CHECKOUT / name, repo / name)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    commits = {"base": _git(repo, "rev-parse", "HEAD")}
    sharded = repo / "impls" / "sharded.py"
    original = sharded.read_text()
    if original.count(LOOKUP) != 1:
        raise SystemExit("ShardedMap.__getitem__ moved: update LOOKUP in this script")
    for change, (subject, _) in CHANGES.items():
        _git(repo, "checkout", "-q", commits["base"])
        _git(repo, "checkout", "-q", "-B", subject.replace(" ", "-"))
        if subject == "README only":
            (repo / "README.md").write_text((repo / "README.md").read_text() + "\n")
        else:
            n = int(subject.split()[-1])
            sharded.write_text(original.replace(LOOKUP, LOOKUP + SPIN.format(n=n)))
        _git(repo, "commit", "-q", "-am", subject)
        commits[change] = _git(repo, "rev-parse", "HEAD")
    return commits


def _one_minute() -> float:
    loads = load_average()
    return loads[0] if loads else float("nan")


def trial(repo: Path, work: Path, base: str, commit: str, extra: Sequence[str]) -> dict[str, Any]:
    """One real `mapbench ci base commit`: its exit status and what it said."""
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    before, start = _one_minute(), time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mapbench", "ci", base, commit, *CASE, *extra,
         "--repo", str(repo), "--work-dir", str(work / "envs"), "-o", str(out)],
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    record: dict[str, Any] = {"exit": done.returncode, "load_before": before}
    record["seconds"] = round(time.monotonic() - start, 1)
    record["load_after"] = _one_minute()
    if done.returncode not in (0, 1, 4):
        record["error"] = done.stderr.strip().splitlines()[-3:]
        return record
    rows = _verdict_rows(out)
    time_rows = [r for r in rows if r["metric"] in _TIME]
    if time_rows:
        row = time_rows[0]
        record.update(
            metric=row["metric"], verdict=row["verdict"], ratio=row["ratio"], note=row["note"]
        )
        record["on_instructions"] = row["note"].startswith("judged on instructions")
    record["exact_changes"] = [
        r["metric"] for r in rows if r["kind"] == "deterministic" and r["verdict"] != "no change"
    ]
    return record


def _verdict_rows(out: Path) -> list[dict[str, Any]]:
    """The verdict rows `ci` gave, after confirmation and the instruction fallback."""
    rows: list[dict[str, Any]] = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    return rows


def measure(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="gate-rates-") as tmp:
        root = Path(tmp)
        commits = scratch_repository(root)
        for level in args.busy:
            with busy_loops(level):
                for t in range(args.trials):
                    order = args.change if t % 2 == 0 else args.change[::-1]
                    for change in order:
                        record = trial(
                            root / "repo", root, commits["base"], commits[change],
                            CHANGES[change][1],
                        )  # fmt: skip
                        record.update(level=level, change=change, trial=t + 1)
                        if args.besides:
                            record["besides"] = args.besides
                        print(
                            f"{level} busy loops, trial {t + 1}/{args.trials}, {change}: exit "
                            f"{record['exit']} ({record.get('verdict', '?')}, load "
                            f"{record['load_after']:.1f})",
                            file=sys.stderr,
                            flush=True,
                        )
                        yield record


def table(records: Sequence[dict[str, Any]]) -> str:
    """The README table: one row per load level and change."""
    dates = sorted({r["date"] for r in records if "date" in r})
    machine = next((r["machine"] for r in records if "machine" in r), "")
    lines = [
        f"Measured {', '.join(dates)} on {machine}. Each trial: one real `mapbench ci` "
        "(sharded · lookup-hit · random-int · 2,000 keys, 10 interleaved rounds x 5 runs, 10 "
        "more where the time interval was too wide, confirmation and instruction fallback on).",
        "",
        "| busy loops started | change | trials | exit 0 / 1 / 4 | flagged (of which on "
        "instructions) | exact-metric change reported | median time change | 1-min load seen "
        "| seconds per run (median, max) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def started(r: dict[str, Any]) -> str:
        return f"{r['level']} + {r['besides']}" if r.get("besides") else str(r["level"])

    keys = sorted({(started(r), r["change"]) for r in records})
    for level, change in keys:
        cell = [r for r in records if started(r) == level and r["change"] == change]
        exits = [r["exit"] for r in cell]
        flagged = [r for r in cell if r.get("verdict") == "regression"]
        on_insn = sum(1 for r in flagged if r.get("on_instructions"))
        exact = sum(1 for r in cell if r.get("exact_changes"))
        ratios = [r["ratio"] for r in cell if isinstance(r.get("ratio"), float)]
        loads = [x for r in cell for x in (r["load_before"], r["load_after"]) if x == x]
        median = f"{statistics.median(ratios) - 1:+.1%}" if ratios else formatting.MISSING
        seen = f"{min(loads):.1f} to {max(loads):.1f}" if loads else formatting.MISSING
        seconds = [r["seconds"] for r in cell]
        lines.append(
            f"| {level} | {change} | {len(cell)} | {exits.count(0)} / {exits.count(1)} / "
            f"{exits.count(4)} | {len(flagged)} ({on_insn}) | {exact} | {median} | {seen} | "
            f"{statistics.median(seconds):.0f}, {max(seconds):.0f} |"
        )
    lines.append("")
    for change in CHANGES:
        cell = [r for r in records if r["change"] == change]
        if cell:
            failed = sum(1 for r in cell if r["exit"] == 1)
            low, high = rate_interval(failed, len(cell), 0.95)
            lines.append(
                f"- {change}, every load: the build failed in {failed} of {len(cell)} "
                f"({failed / len(cell):.1%}; 95% interval {low:.1%} to {high:.1%})."
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("measure", help="run the trials, one JSON line each")
    run.add_argument("--trials", type=int, default=20)
    run.add_argument("--busy", type=int, action="append", help="busy loops of a level (repeat)")
    run.add_argument("-o", "--output", type=Path, required=True, help="JSON lines, appended")
    run.add_argument(
        "--besides", default="", help="what else the machine ran, recorded (e.g. 'an asv run')"
    )
    run.add_argument(
        "--change", action="append", choices=list(CHANGES), help="only this change (repeat)"
    )
    show = sub.add_parser("table", help="the README table from recorded trials")
    show.add_argument("records", type=Path)
    args = parser.parse_args(argv)
    if args.command == "table":
        lines = args.records.read_text(encoding="utf-8").splitlines()
        print(table([json.loads(line) for line in lines if line.strip()]))
        return 0
    args.busy = args.busy or [0, 2, 4]
    args.change = args.change or list(CHANGES)
    if args.trials < 1 or min(args.busy) < 0:
        print("--trials must be at least 1 and --busy at least 0", file=sys.stderr)
        return 2
    stamp = {
        "date": _dt.date.today().isoformat(),
        "machine": f"{platform.node()} ({cpu_model()}, {os.cpu_count()} CPUs), "
        f"Python {platform.python_version()}",
    }
    with args.output.open("a", encoding="utf-8") as out:
        for record in measure(args):
            out.write(json.dumps({**stamp, **record}) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
