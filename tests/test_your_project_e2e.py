"""End to end, as a map author: docs/your-project.md's walkthrough, every command of it, in a
scratch repository of a small map package (tests/toymaps_project.py: a pure-Python map and a
compiled C-extension map, nine commits). `mapbench init` at commit 2; `mapbench ci` flags
commit 5 (C map lookups ~10x slower, nothing allocated) and commit 7 (more bytes per insert)
at the right pairs and passes a docs-only range, where a new map is reported as new;
`mapbench bisect` names both commits; asv runs the generated suites over every commit and
publishes with no failed benchmark; `mapbench history` on asv's results finds both change
points; two wheels built from the repository compare like commits.

The walkthrough's `pip install 'mapbench[asv]'` is not run (this mapbench is installed already
and is not on the package index), and `mapbench init` is given `--instrument` with a wheel of
this checkout, which asv's environments install in place of the index's mapbench.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from toymaps_project import TAGS, make_history

from mapbench.builder import STAMP, build_environment, pip_command
from mapbench.compare import compare
from mapbench.results import load
from mapbench.runner.interpreters import available, path_prefix
from mapbench.sources import parse_source
from mapbench.thresholds import Thresholds

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "your-project.md"
INSTALL = "pip install 'mapbench[asv]'"


def walkthrough() -> list[str]:
    """Every `$ ` line of the doc's console blocks, in order."""
    blocks = re.findall(r"```console\n(.*?)```", DOC.read_text(), re.DOTALL)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def _regressions(out: Path) -> set[tuple[str, str, str, str]]:
    """(map, workload, metric, kind) of every regression row of a `ci` output directory."""
    rows = compare(load([out / "results/base"]), load([out / "results/head"]), Thresholds()).rows
    bad = rows[rows["verdict"] == "regression"]
    return set(zip(bad["map"], bad["workload"], bad["metric"], bad["kind"], strict=True))


def _first_bad(stdout: str) -> tuple[str, str]:
    first = re.search(r"^first bad commit: (\w+)", stdout, re.MULTILINE)
    last = re.search(r"^last good commit: (\w+)", stdout, re.MULTILINE)
    assert first and last, stdout
    return first.group(1), last.group(1)


class Walk:
    """Runs the walkthrough's commands in the repository, as a shell would."""

    def __init__(self, root: Path, instrument: Path) -> None:
        self.root = root
        self.repo = root / "toymaps"
        shims = root / "bin"
        shims.mkdir()
        pip = shims / "pip"  # `pip` as the walkthrough uses it: this interpreter's pip
        pip.write_text(f'#!/bin/sh\nexec {" ".join(pip_command())} "$@"\n')
        pip.chmod(0o755)
        path = [str(shims), str(Path(sys.executable).parent), path_prefix(available())]
        self.env = {**os.environ, "PATH": os.pathsep.join([*path, os.environ["PATH"]])}
        self.instrument = instrument
        self.done: list[str] = []

    def run(self, command: str, *, expect: int = 0) -> subprocess.CompletedProcess[str]:
        shell = command
        if command.startswith("mapbench init "):
            shell += f" --instrument {self.instrument}"
        done = subprocess.run(
            ["bash", "-e", "-c", shell],
            cwd=self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == expect, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        self.done.append(command)
        return done


def _instrument_wheel(root: Path, copy_checkout: Callable[[Path], None]) -> Path:
    """This checkout as a wheel, for asv's environments (the generated install_command)."""
    source = root / "mapbench-src"
    source.mkdir()
    copy_checkout(source)
    wheels = root / "wheels"
    cmd = [*pip_command(), "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    return next(wheels.glob("mapbench-*.whl"))


def test_the_walkthrough_runs_as_written(
    tmp_path: Path, copy_checkout: Callable[[Path], None]
) -> None:
    commands = walkthrough()
    assert commands[0] == INSTALL
    walk = Walk(tmp_path, _instrument_wheel(tmp_path, copy_checkout))
    init, tag = commands[1], commands[2]
    assert init.startswith("mapbench init") and "git tag v1.0" in tag
    commits = make_history(walk.repo, lambda _: (walk.run(init), walk.run(tag)))
    by_tag = {"v1.0": commits[1], **{tag: commits[n - 1] for n, tag in TAGS.items()}}
    checks: dict[str, Callable[[subprocess.CompletedProcess[str]], None]] = {}
    out = walk.repo / "ci-report"  # each `ci` of the walkthrough names its own (-o)

    # Time rows of other cases may be judged either way on a loaded machine (the walkthrough's
    # few rounds); exact metrics are exact.
    def slow_lookups(_: subprocess.CompletedProcess[str]) -> None:
        found = _regressions(out)
        assert {f[:2] for f in found if f[3] == "noisy"} >= {("toymaps:CMap", "lookup-hit")}
        assert not {f for f in found if f[3] == "deterministic"}, found

    def grown_inserts(_: subprocess.CompletedProcess[str]) -> None:
        exact = {f[:3] for f in _regressions(out) if f[3] == "deterministic"}
        assert ("toymaps:PyMap", "insert", "alloc_net_bytes") in exact
        assert {m for m, _, _ in exact} == {"toymaps:PyMap"}, exact

    def new_map(_: subprocess.CompletedProcess[str]) -> None:
        summary = (out / "summary.md").read_text()
        assert "**New at head** (measured on one side only): toymaps.extra:ExtraMap" in summary

    def bisected(tag: str) -> Callable[[subprocess.CompletedProcess[str]], None]:
        def check(done: subprocess.CompletedProcess[str]) -> None:
            first, last = _first_bad(done.stdout)
            good = commits[commits.index(by_tag[tag]) - 1]
            assert (first, last) == (by_tag[tag], good), done.stdout

        return check

    def asv_ok(done: subprocess.CompletedProcess[str]) -> None:
        assert "failed" not in done.stdout.lower(), done.stdout[-3000:]

    def history(_: subprocess.CompletedProcess[str]) -> None:
        found = walk.run("mapbench history history.duckdb --json")
        import json

        points = json.loads(found.stdout)
        lookups = ("toymaps:CMap", "lookup-hit", "time")
        slow = [p["commit"] for p in points if (p["map"], p["workload"], p["metric"]) == lookups]
        grown = [p["commit"] for p in points if p["metric"] == "alloc_net_bytes"]
        assert slow == [by_tag["v1.1"]] and grown == [by_tag["v1.3"]], points

    def wheels_compared(_: subprocess.CompletedProcess[str]) -> None:
        summary = (out / "summary.md").read_text()
        assert "dist/v1.0/toymaps-" in summary and "dist/v1.1/toymaps-" in summary
        slow_lookups(_)

    checks = {
        "mapbench ci v1.0 v1.1": slow_lookups,
        "mapbench ci v1.2 v1.3": grown_inserts,
        "mapbench ci v1.3 main": new_map,
        "mapbench bisect v1.0 main --metric time": bisected("v1.1"),
        "mapbench bisect v1.0 main --metric alloc": bisected("v1.3"),
        "asv run": asv_ok,
        "asv publish": asv_ok,
        "mapbench history": history,
        "mapbench ci dist/": wheels_compared,
    }
    failing = ("mapbench ci v1.0 v1.1", "mapbench ci v1.2 v1.3", "mapbench ci dist/")
    for command in commands[3:]:
        named = re.findall(r" -o (\S+)", command)
        if named:
            out = walk.repo / named[0]
        done = walk.run(command, expect=1 if command.startswith(failing) else 0)
        for prefix, check in checks.items():
            if command.startswith(prefix):
                check(done)
    assert (walk.repo / ".asv/html/index.html").is_file()
    assert (walk.repo / "history.html").is_file()
    assert set(walk.done) >= set(commands[1:])
    # A commit built once is found in the cache, not built again.
    source = parse_source("v1.0", walk.repo)
    first = build_environment([source], walk.repo / ".mapbench-ci")
    stamp = (first.venv / STAMP).stat().st_mtime_ns
    assert build_environment([source], walk.repo / ".mapbench-ci").venv == first.venv
    assert (first.venv / STAMP).stat().st_mtime_ns == stamp
