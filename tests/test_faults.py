"""Fault injection: maps that raise, exit, hang, crash or exhaust memory; broken plugins; signals
at random points of a run; re-runs into the same directory; bad paths and empty inputs.

Each test asserts that nothing is lost (earlier results unchanged, every saved file loadable),
nothing is left running (no process of the run a few seconds after it ends), and each message
names its cause, exactly as a user sees it (issue 16's twelve cases are marked "case N").
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapbench import schema
from mapbench.cli import main
from mapbench.compare import compare
from mapbench.isolate import describe_failure
from mapbench.results import load

TAG = f"{sys.version_info[0]}.{sys.version_info[1]}"
MARK_ENV = "MAPBENCH_FAULT_TEST"
FIXTURES = Path(__file__).parent / "fixtures"
# The smallest run of one case: a pyperf pass of its quick settings, no collectors.
# Two processes: these tests check what survives a fault, not a verdict.
TINY_RUN = [
    *("--workload=insert", "--key-kind=random-int", "--size=50", "--quick", "--processes=2"),
    "--no-metrics",
]

FAULTY = textwrap.dedent(
    """
    import ctypes
    import sys
    import time
    import tracemalloc


    class Plain(dict):
        key_types = (object,)
        value_types = (object,)

        def close(self):
            pass


    class Asserts(Plain):
        def __setitem__(self, key, value):
            assert False


    class NoMemory(Plain):
        def __setitem__(self, key, value):
            self.spare = bytearray(1 << 60)  # an exbibyte: more than any machine can give


    class Exits(Plain):
        def __setitem__(self, key, value):
            sys.exit("the map gave up")


    def make_local():
        class LocalError(Exception):
            pass

        class Local(Plain):
            def __setitem__(self, key, value):
                raise LocalError("from a local class")

        return Local


    Local = make_local()


    class HangsOnInsert(Plain):
        def __setitem__(self, key, value):
            while True:
                time.sleep(0.05)


    class HangsOnCreate(Plain):
        def __init__(self):
            while True:
                time.sleep(0.05)


    class Segfault(Plain):
        def __setitem__(self, key, value):
            ctypes.CFUNCTYPE(None)(0)()  # a call through a null function pointer


    class RefusesTracing(Plain):
        def __setitem__(self, key, value):
            if tracemalloc.is_tracing():
                raise RuntimeError("not under tracemalloc")
            super().__setitem__(key, value)
    """
)
TABLE_FULL = textwrap.dedent(
    """
    class TableFullError(Exception):
        pass


    class Full(dict):
        key_types = (object,)
        value_types = (object,)

        def __setitem__(self, key, value):
            raise TableFullError("table full at 3 entries")

        def close(self):
            pass
    """
)


@pytest.fixture
def maps(tmp_path: Path) -> Path:
    """faulty.py and the package mymaps.x (on PYTHONPATH) in a directory of their own."""
    where = tmp_path / "maps"
    (where / "mymaps").mkdir(parents=True)
    (where / "faulty.py").write_text(FAULTY)
    (where / "mymaps" / "__init__.py").write_text("")
    (where / "mymaps" / "x.py").write_text(TABLE_FULL)
    return where


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a mapbench under test: marked, so that its processes can be found,
    with its scratch directories (which a SIGKILL leaves behind) under the test's own."""
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = {**os.environ, MARK_ENV: str(tmp_path), "TMPDIR": str(scratch), **extra}
    env.pop("PYTHONHASHSEED", None)
    return env


def mapbench(
    tmp_path: Path, *args: str, timeout: float = 180, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mapbench", *args],
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def spawn(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """mapbench as a terminal starts it: with Ctrl-C's default action even when this test runs
    in a background job (which ignores SIGINT, and Python then keeps ignoring it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "mapbench", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def processes_of(tmp_path: Path) -> list[str]:
    """Every live process started for this test: its command line or environment names it
    (pyperf's workers get a trimmed environment, but their command line holds the map spec)."""
    mark = str(tmp_path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile
            continue
        if mark in cmdline or mark in environ:
            command = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {command}")
    return found


def assert_nothing_left(tmp_path: Path, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while (left := processes_of(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"still running {within:g} s after the run ended: {left}"


def wait_for(what: str, check: object, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def hanging_worker_running(tmp_path: Path) -> bool:
    """Whether a pyperf worker is timing (so hanging in) the map HangsOnInsert."""
    return any("--worker" in p and "HangsOnInsert" in p for p in processes_of(tmp_path))


def saved(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def assert_all_loadable(directory: Path) -> dict[str, schema.Decoded]:
    """Every file in `directory` is a whole results file (none half-written, none hidden);
    the metrics files decoded, by name."""
    decoded = {}
    for path in sorted(directory.iterdir()):
        assert not path.name.startswith("."), f"a temporary file was left behind: {path.name}"
        assert path.name.startswith("metrics-"), path.name
        decoded[path.name] = schema.decode(path.read_bytes())
    return decoded


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    return lines[0]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed run of dict (one tiny case), to re-run into."""
    base = tmp_path_factory.mktemp("first")
    done = mapbench(base, "run", "--map=dict", *TINY_RUN, "-o", str(base / "results"))
    assert done.returncode == 0, done.stderr
    return base / "results"


@pytest.fixture
def earlier(first_run: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the first run's directory for this test."""
    out = tmp_path / "results"
    shutil.copytree(first_run, out)
    yield out


# -- case 1: a new run never removes earlier results ---------------------------------------


def test_rerun_writes_new_files_and_overwrite_replaces_only_at_the_end(
    earlier: Path, tmp_path: Path
) -> None:
    before = saved(earlier)
    again = mapbench(tmp_path, "run", "--map=dict", *TINY_RUN, "-o", str(earlier))
    assert again.returncode == 0, again.stderr
    assert f"{earlier} holds results of Python {TAG} already: this run writes " in again.stderr
    assert sorted(saved(earlier)) == sorted([*before, f"metrics-{TAG}-2.json"])
    assert all(saved(earlier)[name] == data for name, data in before.items())
    frame = load([earlier]).frame
    assert (frame["metric"] == "time").sum() == 2, "both runs load"

    replaced = mapbench(tmp_path, "run", "--map=dict", *TINY_RUN, "-o", str(earlier), "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    now = saved(earlier)
    assert sorted(now) == [f"metrics-{TAG}-2.json", f"metrics-{TAG}.json"]
    assert now[f"metrics-{TAG}.json"] != before[f"metrics-{TAG}.json"]
    assert schema.decode(now[f"metrics-{TAG}.json"]).complete


def test_rerun_killed_by_sigkill_leaves_the_previous_results_unchanged(
    earlier: Path, tmp_path: Path, maps: Path
) -> None:
    """The "done when" test: an --overwrite re-run, SIGKILLed while its map hangs."""
    before = saved(earlier)
    proc = spawn(
        tmp_path, "run", "--map=dict", f"--map={maps}/faulty.py:HangsOnInsert", *TINY_RUN,
        "-o", str(earlier), "--overwrite",
    )  # fmt: skip
    wait_for("the hanging pyperf worker", lambda: hanging_worker_running(tmp_path))
    proc.kill()
    proc.wait()
    assert_nothing_left(tmp_path)
    assert all(saved(earlier)[name] == data for name, data in before.items())
    runs = assert_all_loadable(earlier)
    old, new = runs[f"metrics-{TAG}.json"], runs[f"metrics-{TAG}-2.json"]
    assert old.complete and [r.status for r in old.results] == ["ok"]
    assert not new.complete, "the interrupted run says so"
    assert [r.map for r in new.results] == ["dict"], "what it finished is kept"
    problems = [p.reason for p in load([earlier]).problems]
    assert problems == ["the run that wrote it did not complete (interrupted?)"]  # case 10


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(4))
def test_signals_at_random_points_lose_nothing_and_leave_nothing(
    earlier: Path, tmp_path: Path, trial: int
) -> None:
    rng = random.Random(16 + trial)
    signum = rng.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
    delay = rng.uniform(0.2, 6.0)
    before = saved(earlier)
    proc = spawn(tmp_path, "run", "--map=dict", "--map=cow", *TINY_RUN, "-o", str(earlier))
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert_nothing_left(tmp_path)
    assert all(saved(earlier)[name] == data for name, data in before.items())
    runs = assert_all_loadable(earlier)
    assert runs.pop(f"metrics-{TAG}.json").complete
    if proc.returncode == 0:  # the run ended before the signal came
        return
    why = f"{signal.Signals(signum).name} after {delay:.1f} s"
    assert all(not r.complete for r in runs.values()), why
    if signum == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + signum
        assert f"mapbench run: interrupted by {signal.Signals(signum).name}" in err


# -- case 2: nothing outlives mapbench -------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL])
def test_no_process_of_the_run_remains_after_a_signal(
    tmp_path: Path, maps: Path, signum: int
) -> None:
    """The "done when" test (SIGTERM): no process of the run 5 s after, pyperf's included."""
    out = tmp_path / "out"
    proc = spawn(
        tmp_path, "run", f"--map={maps}/faulty.py:HangsOnInsert", *TINY_RUN, "-o", str(out)
    )
    wait_for("the hanging pyperf worker", lambda: hanging_worker_running(tmp_path))
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert_nothing_left(tmp_path)
    if signum == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + signum
        assert one_line(err.replace(f"loading each map once on Python {TAG} (1)", "")) == (
            f"mapbench run: interrupted by {signal.Signals(signum).name}"
        )
    [run] = assert_all_loadable(out).values()
    assert not run.complete and run.results == ()  # case 10: an interrupted run says so


def test_a_map_hanging_on_creation_times_out_with_the_run_timeout(
    tmp_path: Path, maps: Path
) -> None:
    """Case 5: map creation has the run's deadline, and a hang there is a timeout."""
    out = tmp_path / "out"
    done = mapbench(
        tmp_path, "run", f"--map={maps}/faulty.py:HangsOnCreate", *TINY_RUN, "--timeout=2",
        "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 1
    [run] = assert_all_loadable(out).values()
    [result] = run.results
    assert (result.status, result.error) == ("timeout", "creating the map: timed out after 2 s")
    assert "1 timeout" in done.stdout
    assert_nothing_left(tmp_path)


# -- case 3: every failure says its exception, with the traceback saved and reported --------


def test_each_kind_of_map_failure_is_named_and_its_traceback_kept(
    tmp_path: Path, maps: Path
) -> None:
    expected = {
        "mymaps.x:Full": "timing: mymaps.x.TableFullError: table full at 3 entries",
        f"{maps}/faulty.py:Asserts": "timing: AssertionError",
        f"{maps}/faulty.py:NoMemory": "timing: MemoryError",
        f"{maps}/faulty.py:Exits": "timing: SystemExit: the map gave up",
        f"{maps}/faulty.py:Local": (
            "timing: faulty.make_local.<locals>.LocalError: from a local class"
        ),
    }
    raised_at = {
        "mymaps.x:Full": 'raise TableFullError("table full at 3 entries")',
        f"{maps}/faulty.py:Asserts": "assert False",
        f"{maps}/faulty.py:NoMemory": "self.spare = bytearray(1 << 60)",
        f"{maps}/faulty.py:Exits": 'sys.exit("the map gave up")',
        f"{maps}/faulty.py:Local": 'raise LocalError("from a local class")',
    }
    out = tmp_path / "out"
    done = mapbench(
        tmp_path, "run", *(f"--map={m}" for m in expected), *TINY_RUN, "-o", str(out),
        PYTHONPATH=str(maps),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    [run] = assert_all_loadable(out).values()
    errors = {r.map: r.error for r in run.results}
    assert errors == expected
    for r in run.results:
        assert raised_at[r.map] in r.traceback, r.traceback
    assert "5 failed" in done.stdout
    # The tidy frame's error column, and so the report, carries the traceback too.
    frame = load([out]).frame.set_index("map")
    for spec, error in expected.items():
        assert frame.loc[spec, "error"].startswith(error + "\n")
        assert raised_at[spec] in frame.loc[spec, "error"]
    assert main(["report", str(out), "-o", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert "mymaps.x.TableFullError: table full at 3 entries" in page
    assert "raise LocalError(&#34;from a local class&#34;)" in page


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            'Traceback (most recent call last):\n  File "/m/faulty.py", line 3, in put\n'
            "    assert False\nAssertionError\nRuntimeError: /x/python3 failed with exit code 1",
            "AssertionError",
        ),
        (
            "Traceback (most recent call last):\n  File x\nmymaps.x.TableFullError: full\n"
            "RuntimeError: /x/python3 failed with exit code 1",
            "mymaps.x.TableFullError: full",
        ),
        (
            "faulty.make_local.<locals>.LocalError: local",
            "faulty.make_local.<locals>.LocalError: local",
        ),
        ("the map gave up", "exit status 1: the map gave up"),  # sys.exit("...") prints only that
    ],
)
def test_a_child_that_reported_nothing_is_described_from_its_output(
    output: str, expected: str
) -> None:
    """The fallback when no failure was reported (a child outside mapbench's own modules)."""
    assert describe_failure(1, output) == expected


# -- case 9: measure is isolated, and one failing collector keeps the others' figures ---------


def test_measure_reports_a_segfault_and_keeps_the_other_collectors(
    tmp_path: Path, maps: Path
) -> None:
    crash = mapbench(
        tmp_path, "measure", f"{maps}/faulty.py:Segfault", "--size=50", "--repeat=1",
        "--collector=gc",
    )  # fmt: skip
    assert crash.returncode == 1
    line = (
        FAULTY.splitlines().index(
            "        ctypes.CFUNCTYPE(None)(0)()  # a call through a null function pointer"
        )
        + 1
    )
    assert (
        "failed: worker process: killed by SIGSEGV (Fatal Python error: Segmentation fault at "
        f'File "{maps}/faulty.py", line {line} in __setitem__)'
    ) in crash.stdout
    partial = mapbench(
        tmp_path, "measure", f"{maps}/faulty.py:RefusesTracing", "--size=50", "--repeat=1",
        "--collector=gc", "--collector=tracemalloc", "--collector=latency", "--json",
    )  # fmt: skip
    assert partial.returncode == 1
    [result] = schema.decode(partial.stdout.encode()).results
    assert result.status == "failed"
    assert result.error == "tracemalloc collector: RuntimeError: not under tracemalloc"
    names = {m.name for m in result.metrics}
    assert {"time", "gc_pause_total", "latency_p99"} <= names, names
    assert not any(n.startswith("alloc_") for n in names)
    assert_nothing_left(tmp_path)


# -- case 4: plugins that are broken, hang, exit or shadow a built-in -----------------------

BROKEN_PLUGINS = textwrap.dedent(
    """
    import time


    class NoClose(dict):  # a raw class: mapbench adds close() (it is optional)
        key_types = (object,)
        value_types = (object,)


    class BadInit(dict):
        def __init__(self):
            raise RuntimeError("no table for you")


    class Hangs(dict):
        key_types = (object,)
        value_types = (object,)

        def __init__(self):
            while True:
                time.sleep(0.05)


    class Shadow(dict):
        key_types = (object,)
        value_types = (object,)

        def close(self):
            pass
    """
)


@pytest.fixture
def plugin_site(tmp_path: Path) -> Path:
    """A site directory (for PYTHONPATH) whose distribution declares broken maps (and a raw
    class without close(), which is not broken)."""
    site = tmp_path / "site"
    dist = site / "broken_maps-1.0.dist-info"
    dist.mkdir(parents=True)
    (site / "brokenmaps.py").write_text(BROKEN_PLUGINS)
    (site / "exitsatimport.py").write_text("import sys\nsys.exit(3)\n")
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-maps\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[mapbench.impls]\n"
        "noclose = brokenmaps:NoClose\n"
        "badinit = brokenmaps:BadInit\n"
        "hangs = brokenmaps:Hangs\n"
        "exits = exitsatimport:Map\n"
        "dict = brokenmaps:Shadow\n"
    )
    return site


def test_list_survives_every_broken_plugin(tmp_path: Path, plugin_site: Path) -> None:
    env = {"PYTHONPATH": str(plugin_site)}
    started = time.monotonic()
    table = mapbench(tmp_path, "list", "--timeout=2", **env)
    as_json = mapbench(tmp_path, "list", "--json", "--timeout=2", **env)
    one = mapbench(tmp_path, "list", "--map=dict", "--timeout=2", **env)
    assert time.monotonic() - started < 60, "a hanging plugin costs its deadline, no more"
    for done in (table, as_json, one):
        assert done.returncode == 0, done.stderr
        assert one_line(done.stderr) == (
            "mapbench list: warning: entry point brokenmaps:Shadow (broken-maps) is ignored: "
            "a built-in map is already called 'dict'"
        )
    rows = {r["name"]: r for r in json.loads(as_json.stdout)}
    assert rows["dict"]["source"] == "builtin" and rows["dict"]["available"]
    reasons = {name: rows[name]["reason"] for name in ("badinit", "hangs", "exits")}
    assert reasons == {
        "badinit": "RuntimeError: no table for you",
        "hangs": "importing or creating it timed out after 2 s",
        "exits": "SystemExit: 3",
    }
    assert not any(rows[n]["available"] for n in reasons)
    assert rows["noclose"]["available"]  # close() is optional: mapbench supplies it
    assert "no: SystemExit: 3" in table.stdout
    assert "no: RuntimeError: no table for you" in table.stdout
    assert_nothing_left(tmp_path)


# -- case 6: output paths; case 7: empty input; case 8: specs checked up front -------------


def test_bad_output_paths_exit_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    results = str(FIXTURES / "runs" / "base")
    cases = [
        (["run", "--map=dict", "-o", str(a_file)], f"-o {a_file}: is a file, not a directory"),
        (
            ["run", "--map=dict", "-o", f"{a_file}/sub"],
            f"-o {a_file}/sub: cannot create it: '{a_file}' is a file",
        ),
        (
            ["report", results, "-o", "missing/dir/r.html"],
            "-o missing/dir/r.html: no such directory 'missing/dir'",
        ),
        (
            ["compare", results, results, "--html", "/nonexistent/x.html"],
            "--html /nonexistent/x.html: no such directory '/nonexistent'",
        ),
        (
            ["compare", results, results, "--markdown", str(tmp_path)],
            f"--markdown {tmp_path}: is a directory, not a file",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert one_line(capsys.readouterr().err) == f"mapbench {argv[0]}: error: {message}"
    if not Path("/sys/kernel").is_dir():  # sysfs refuses new directories, even to root
        return
    assert main(["run", "--map=dict", "-o", "/sys/mapbench-results"]) == 2
    assert one_line(capsys.readouterr().err) == (
        "mapbench run: error: -o /sys/mapbench-results: cannot write in '/sys': Permission denied"
    )


def test_empty_or_unrelated_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    unrelated = tmp_path / "unrelated.json"
    unrelated.write_text('{"name": "not results"}')
    out = str(tmp_path / "r.html")
    assert main(["report", str(empty), "-o", out]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"mapbench report: error: no results in {empty} (no result files)"
    )
    assert main(["report", str(unrelated), "-o", out]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"mapbench: warning: {unrelated}: not a recognised results file (asv, pyperf or "
        "mapbench metrics)",
        f"mapbench report: error: no results in {unrelated} (see the warnings above)",
    ]
    assert main(["compare", str(empty), str(FIXTURES / "runs" / "base")]) == 2
    assert "no results in" in capsys.readouterr().err
    assert not Path(out).exists()


def test_compare_reads_plain_pyperf_timeit_files(tmp_path: Path) -> None:
    """Case 7: `pyperf timeit` output compares (it tracebacked on NA before)."""
    files = []
    for n, stmt in enumerate(("1 + 1", "2 * 2")):
        path = tmp_path / f"timeit-{n}.json"
        subprocess.run(
            [sys.executable, "-m", "pyperf", "timeit", "-q", "-p", "2", "-n", "3", "-l", "100",
             "-o", str(path), stmt],
            check=True, capture_output=True,
        )  # fmt: skip
        files.append(str(path))
    done = mapbench(tmp_path, "compare", *files)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    assert "1 compared:" in done.stdout


def test_specs_are_checked_before_any_work(
    tmp_path: Path, maps: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    cases = [
        (
            ["run", "--map=nosuchmodule_zz:Map", "-o", str(out)],
            "cannot import 'nosuchmodule_zz' for map spec 'nosuchmodule_zz:Map': "
            "ModuleNotFoundError: No module named 'nosuchmodule_zz'",
        ),
        (
            ["run", f"--map={maps}/faulty.py:Plain,size=3", "-o", str(out)],
            f"map '{maps}/faulty.py:Plain' has no option size; options: none known "
            "(no signature to read)",
        ),
        (
            ["run", "--map=dict,foo=1", "-o", str(out)],
            "map 'dict' has no option foo; options: none",
        ),
        (["list", "--map=dict,foo=1"], "map 'dict' has no option foo; options: none"),
        (["measure", "dict,foo=1"], "map 'dict' has no option foo; options: none"),
        (["run", "--map=dict,,"], "bad option '' in map spec 'dict,,': expected name=value"),
        (
            ["measure", "nosuchmodule_zz:Map"],
            "cannot import 'nosuchmodule_zz' for map spec 'nosuchmodule_zz:Map': "
            "ModuleNotFoundError: No module named 'nosuchmodule_zz'",
        ),
    ]
    for argv, message in cases:
        assert main([*argv, *TINY_RUN] if argv[0] == "run" else argv) == 2, argv
        err = capsys.readouterr().err.replace(f"loading each map once on Python {TAG} (1)\n", "")
        assert one_line(err) == f"mapbench {argv[0]}: error: {message}"
    assert not out.exists(), "nothing ran, nothing was written"


# -- case 10: file modes follow the umask ---------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_saved_files_honour_the_umask(tmp_path: Path, first_run: Path, umask: int) -> None:
    from mapbench.runner.store import ResultStore

    old = os.umask(umask)
    try:
        store = ResultStore(tmp_path, TAG, {})
        store.finish()
        report = tmp_path / "r.html"
        assert main(["report", str(first_run), "-o", str(report)]) == 0
    finally:
        os.umask(old)
    for path in (store.metrics_path, report):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    for path in first_run.iterdir():  # written by a real run under the test's umask
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~old, path


# -- cases 11 and 12: asv results --------------------------------------------------------------


def test_report_reads_the_full_asv_suite_with_and_without_sizes(tmp_path: Path) -> None:
    """Case 11, on results of a real `asv run` of suite.TimeWorkloads, suite.TimeKeyKinds and
    suite.Allocations, and on a copy where TimeKeyKinds has no size, as it had before."""
    real = FIXTURES / "asv-suite" / "results"
    assert main(["report", str(real), "-o", str(tmp_path / "real.html")]) == 0
    sizeless = tmp_path / "sizeless"
    shutil.copytree(real, sizeless)
    name = "suite.TimeKeyKinds.time_run"
    meta = json.loads((sizeless / "benchmarks.json").read_text())
    meta[name]["param_names"] = meta[name]["param_names"][:3]
    meta[name]["params"] = meta[name]["params"][:3]
    (sizeless / "benchmarks.json").write_text(json.dumps(meta))
    [results_file] = (sizeless / "vm").glob("2*.json")
    data = json.loads(results_file.read_text())
    row = dict(zip(data["result_columns"], data["results"][name], strict=False))
    row["params"] = row["params"][:3]
    data["results"][name] = [row.get(c) for c in data["result_columns"]]
    results_file.write_text(json.dumps(data))
    assert main(["report", str(sizeless), "-o", str(tmp_path / "sizeless.html")]) == 0
    page = (tmp_path / "sizeless.html").read_text()
    assert ">seq-int keys<" in page and ">size 10,000 · random-int keys<" in page


@pytest.mark.parametrize(("moved", "verdict"), [(2, "no change"), (40, "regression")])
def test_allocated_blocks_net_is_exact_within_the_block_tolerance(
    tmp_path: Path, moved: int, verdict: str
) -> None:
    """Case 12: the net block count is exact (it repeats in fresh processes and across commits
    with the same code: docs/metrics.md), and like every whole-run block total it may move by
    --block-tolerance (16) blocks before it is a change: one lazily made object is a block or two.
    """
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "asv-suite" / "results", results)
    [first] = (results / "vm").glob("2*.json")
    data = json.loads(first.read_text())
    name = "suite.Allocations.track_allocated_blocks_net"
    column = data["result_columns"].index("result")
    data["results"][name][column][0] += moved  # dict's count
    data["commit_hash"] = "a734965" + "0" * 33
    data["date"] += 60_000
    (results / "vm" / f"a7349650-{first.name.partition('-')[2]}").write_text(json.dumps(data))
    loaded = load([results])
    frame = loaded.frame
    assert set(frame.loc[frame["metric"] == "allocated_blocks_net", "kind"]) == {"deterministic"}
    base, head = (loaded.select(frame["commit"].str.startswith(c)) for c in ("2823", "a734"))
    rows = compare(base, head).rows
    blocks = rows[(rows["metric"] == "allocated_blocks_net") & (rows["map"] == "dict")]
    assert list(blocks["verdict"]) == [verdict]
    assert main(["report", str(results), "-o", str(tmp_path / "r.html")]) == 0
