"""The command line: `mapbench list` and how bad input is reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mapbench.cli import main


def test_list_shows_builtins_with_capabilities(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "thread-safe" in lines["sharded"]
    assert "dict-backed, thread-safe, snapshot" in lines["cow"]
    assert lines["dict"].split()[2] == "yes"


def test_list_json_includes_user_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.py"
    path.write_text("class M(dict):\n    key_types = (object,)\n    value_types = (object,)\n"
                    "    thread_safe = True\n    def close(self): pass\n")  # fmt: skip
    assert main(["list", "--json", "--map", f"{path}:M"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows[f"{path}:M"]["source"] == "spec"
    assert rows[f"{path}:M"]["capabilities"] == ["thread-safe"]
    assert rows["cow"]["capabilities"] == ["dict-backed", "thread-safe", "snapshot"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["list", "--map", "nosuchmap"], "unknown map 'nosuchmap'"),
        (["list", "--map", "sharded,bogus=1"], "has no option bogus"),
        (["list", "--map", "nomodule_zz:Map"], "cannot import 'nomodule_zz'"),
    ],
)
def test_bad_names_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1, "one line, no traceback"


def test_console_script_and_module_agree() -> None:
    as_module = subprocess.run(
        [sys.executable, "-m", "mapbench", "list", "--json"], capture_output=True, text=True
    )
    assert as_module.returncode == 0, as_module.stderr
    assert {row["name"] for row in json.loads(as_module.stdout)} >= {"dict", "sharded", "cow"}
    bad = subprocess.run(
        [sys.executable, "-m", "mapbench", "nosuchcommand"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr and "Traceback" not in bad.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from mapbench import __version__

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"mapbench {__version__}"


# What starting the CLI must not load: the timing driver, the frame and statistics libraries,
# and the measuring code (collectors, workloads, the worker).
HEAVY = ("pyperf", "pandas", "scipy", "numpy", "mapbench.measure", "mapbench.workloads")
SHOW_IMPORTS = """
import contextlib, io, json, sys
from mapbench.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        status = main(sys.argv[1:])
    except SystemExit as exit:
        status = exit.code
print(json.dumps([status, sorted(sys.modules)]))
"""


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["list"], ["list", "--json"]])
def test_version_help_and_list_import_nothing_heavy(argv: list[str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SHOW_IMPORTS, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    status, modules = json.loads(done.stdout.splitlines()[-1])
    assert status == 0
    loaded = [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert loaded == []


def test_every_command_explains_itself_with_examples_and_docs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mapbench.cli import COMMANDS

    with pytest.raises(SystemExit):
        main(["--help"])
    overview = capsys.readouterr().out
    # Workflow order: run, then report, compare, ci.
    positions = [overview.index(f"  {name} ") for name in ("run", "report", "compare", "ci")]
    assert positions == sorted(positions)
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exited:
            main([command.name, "--help"])
        assert exited.value.code == 0
        text = capsys.readouterr().out
        assert "examples:" in text and f"  mapbench {command.name} " in text, command.name
        assert "docs: docs/" in text or "docs: README.md" in text, command.name


def test_options_with_a_fixed_set_list_their_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "insert, insert-presized, lookup-hit" in text and "seq-int, random-int" in text
