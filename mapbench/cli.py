"""The argparse front end: one module per subcommand under `mapbench.commands`, one dispatch table.

Each command module defines `configure(parser)` and `cmd_<name>(args) -> int`. The table below
holds what people read: a one-line purpose, examples and where the docs are, in workflow order.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import NamedTuple

from mapbench import __version__
from mapbench.errors import MapbenchError

DOCS = "docs/ in the mapbench source tree (README.md first)"


class Command(NamedTuple):
    """One subcommand: its module, its purpose in one line, examples, and its docs page."""

    name: str
    module: str
    purpose: str
    examples: tuple[str, ...]
    docs: str
    group: str


COMMANDS: tuple[Command, ...] = (
    Command(
        "run", "mapbench.commands.run",
        "time maps on workloads (pyperf) and collect their metrics into a results directory",
        (
            "mapbench run --quick -o results/quick",
            "mapbench run --map dict --map ./my_map.py:MyMap --workload lookup-hit --size 100000",
            "mapbench run --quick --python 3.10 --python 3.13 -o results/py",
        ),
        "docs/suites.md", "workflow",
    ),
    Command(
        "report", "mapbench.commands.report",
        "write one self-contained HTML report of result directories or files",
        (
            "mapbench report results/quick -o report.html",
            "mapbench report .asv/results -o history.html",
            "mapbench report results/ --base python=3.12 --candidate python=3.13 -o r.html",
        ),
        "docs/report.md", "workflow",
    ),
    Command(
        "compare", "mapbench.commands.compare",
        "compare two result sets, with statistics; exit 1 on a regression",
        (
            "mapbench compare results/main results/branch",
            "mapbench compare python=3.12 python=3.13 --results results/ --markdown pr.md",
        ),
        "docs/report.md", "workflow",
    ),
    Command(
        "ci", "mapbench.commands.ci",
        "build two commits (or releases), measure them interleaved, report; exit 1 on a regression",
        (
            "mapbench ci origin/main HEAD",
            "mapbench ci HEAD~1 HEAD --map dict --map c-swiss --instructions",
            "mapbench ci 'mymaps==1.0' 'mymaps==1.1' --map mymaps:LRUMap",
        ),
        "docs/ci.md", "workflow",
    ),
    Command(
        "history", "mapbench.commands.history",
        "change points across commits (when did a metric move, by how much), from results",
        (
            "mapbench history --store history.duckdb results/*/",
            "mapbench history history.duckdb --metric time --json",
        ),
        "docs/history.md", "workflow",
    ),
    Command(
        "bisect", "mapbench.commands.bisect",
        "find the first commit between GOOD and BAD that moved a metric, building each once",
        (
            "mapbench bisect v1.0 HEAD --map c-linear --workload insert --metric probe_hit_mean",
            "mapbench bisect HEAD~16 HEAD --map sharded --workload lookup-hit --metric time",
        ),
        "docs/history.md", "workflow",
    ),
    Command(
        "init", "mapbench.commands.init",
        "set up mapbench in your map project: [tool.mapbench], asv config and suites, workflow",
        (
            "mapbench init --map mypkg:MyMap --map mypkg.fast:CMap",
            "mapbench init --force --size 1000 --size 100000",
        ),
        "docs/your-project.md", "workflow",
    ),
    Command(
        "measure", "mapbench.commands.measure",
        "every metric of one map on one workload, measured as the runners measure it",
        (
            "mapbench measure dict --workload insert --size 100000",
            "mapbench measure c-swiss --workload churn --key-kind short-str --json",
        ),
        "docs/metrics.md", "one map",
    ),
    Command(
        "probe", "mapbench.commands.probe",
        "measured probe lengths at a load factor, next to Knuth's (modelled) values",
        (
            "mapbench probe c-linear",
            "mapbench probe c-double --load 0.5 --load 0.9 --json",
        ),
        "docs/cmap.md", "one map",
    ),
    Command(
        "list", "mapbench.commands.list_maps",
        "list the known maps: where they come from, capabilities, key and value types",
        (
            "mapbench list",
            "mapbench list --map ./my_map.py:MyMap --json",
        ),
        "README.md (The maps; Plugging in your own map)", "one map",
    ),
    Command(
        "conform", "mapbench.commands.conform",
        "the conformance suite on maps, for what each declares; exit 1 if one fails",
        (
            "mapbench conform ./my_map.py:MyMap",
            "mapbench conform mymaps:LRU --deep",
            "mapbench conform dict sortedcontainers:SortedDict",
            "mapbench conform --explain pop-missing",
        ),
        "docs/conformance.md; every clause: mapbench conform --explain all", "one map",
    ),
    Command(
        "mmap-check", "mapbench.commands.mmap_check",
        "verify an mmap map file's checksums and describe it; exit 2 if damaged",
        (
            "mapbench mmap-check data.map",
            "mapbench mmap-check a.map b.map --json",
        ),
        "docs/mmap.md", "one map",
    ),
)  # fmt: skip

_FORMATTER = argparse.RawDescriptionHelpFormatter


def _epilog(command: Command) -> str:
    examples = "\n".join(f"  {e}" for e in command.examples)
    return f"examples:\n{examples}\n\ndocs: {command.docs}, in {DOCS}"


def _overview() -> str:
    groups: dict[str, list[Command]] = {}
    for command in COMMANDS:
        groups.setdefault(command.group, []).append(command)
    lines = ["Benchmark and regression-test hash-map implementations.", ""]
    for group, commands in groups.items():
        lines.append(f"{group}:")
        lines += [f"  {c.name:<11} {c.purpose}" for c in commands]
        lines.append("")
    return "\n".join(lines).rstrip()


def build_parser(configured: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with one subparser per command; only the commands in `configured` (default:
    all) import their module and take their options, the others only their name and purpose.

    Start-up stays cheap: `mapbench --version`, `--help` and `list` never import the modules of
    other commands (pyperf, pandas, SciPy, the measuring code).
    """
    parser = argparse.ArgumentParser(
        prog="mapbench",
        description=_overview(),
        epilog=(
            "examples:\n  mapbench run --quick -o results/quick\n"
            "  mapbench report results/quick -o report.html\n"
            "  mapbench ci origin/main HEAD\n\n"
            f"`mapbench COMMAND --help` for each command; docs: {DOCS}"
        ),
        formatter_class=_FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"mapbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        if configured is not None and command.name not in configured:
            # a name for the first pass of `main`: its options are not known yet, so -h is not
            # taken here but by the configured parser of the second pass
            subparsers.add_parser(command.name, help=command.purpose, add_help=False)
            continue
        module = importlib.import_module(command.module)
        sub = subparsers.add_parser(
            command.name,
            help=command.purpose,
            description=command.purpose[:1].upper() + command.purpose[1:] + ".",
            epilog=_epilog(command),
            formatter_class=_FORMATTER,
        )
        module.configure(sub)
        sub.set_defaults(handler=getattr(module, f"cmd_{command.name.replace('-', '_')}"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status.

    0 success; 1 a regression or a failed case (the command's own verdict); 2 bad input (a
    name, spec, path or option), or a file that cannot be written, in one line; 3 a bug in
    mapbench (with its traceback); 128 + N killed by signal N (SIGINT, SIGTERM, SIGHUP), after
    ending every child process.
    """
    # Two passes: the first knows only the command names (and answers --version and --help),
    # the second imports the one command that runs.
    chosen, _ = build_parser(configured=()).parse_known_args(argv)
    args = build_parser(configured=(chosen.command,)).parse_args(argv)
    # Names, paths and errors can come from hostile result files: everything printed is made
    # inert for a terminal or a CI log (mapbench.escaping).
    with _terminal_streams():
        return _run(args)


@contextlib.contextmanager
def _terminal_streams() -> Iterator[None]:
    """sys.stdout and sys.stderr through `TerminalStream` while a command runs."""
    from mapbench.escaping import TerminalStream

    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalStream(sys.stdout), TerminalStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved


def _run(args: argparse.Namespace) -> int:
    import traceback

    from mapbench.isolate import terminate_on_signals

    handler: Callable[[argparse.Namespace], int] = args.handler
    prefix = f"mapbench {args.command}"
    try:
        with terminate_on_signals():
            return handler(args)
    except MapbenchError as exc:
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a disk that is full or an output path that went away
        what = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else exc
        print(f"{prefix}: error: {what}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"{prefix}: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    except Exception:
        traceback.print_exc()
        print(f"{prefix}: internal error (a bug in mapbench, please report it)", file=sys.stderr)
        return 3
