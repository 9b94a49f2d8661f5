"""The argparse front end: one module per subcommand under `mapbench.commands`, one dispatch table.

Each command module defines `configure(parser)` and `cmd_<name>(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from mapbench.errors import MapbenchError

# name -> (module, one-line help); the module's `cmd_<name>` runs the command.
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("mapbench.commands.list_maps", "list the known maps, their capabilities and types"),
    "compare": ("mapbench.commands.compare", "compare two result sets; exit 1 on a regression"),
    "report": ("mapbench.commands.report", "write a self-contained HTML report of results"),
    "run": ("mapbench.commands.run", "time maps on workloads (pyperf) and collect their metrics"),
    "probe": ("mapbench.commands.probe", "measured probe lengths at a load factor next to theory"),
    "ci": ("mapbench.commands.ci", "compare two commits interleaved; exit 1 on a regression"),
    "measure": ("mapbench.commands.measure", "every metric of one map on one workload, in a table"),
    "mmap-check": ("mapbench.commands.mmap_check", "verify an mmap map file; exit 2 if damaged"),
    "conform": ("mapbench.commands.conform", "the conformance suite on maps; exit 1 if one fails"),
}


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="mapbench", description="Benchmark and regression-test hash-map implementations."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.configure(sub)
        sub.set_defaults(handler=getattr(module, f"cmd_{name.replace('-', '_')}"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; input errors print one line and return 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except MapbenchError as exc:
        print(f"mapbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mapbench {args.command}: interrupted", file=sys.stderr)
        return 130
