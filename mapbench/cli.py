"""The argparse front end: one module per subcommand under `mapbench.commands`, one dispatch table.

Each command module defines `configure(parser)` and `cmd_<name>(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import traceback
from collections.abc import Callable, Sequence

from mapbench.errors import MapbenchError
from mapbench.isolate import terminate_on_signals

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
    """Run one command and return its exit status.

    0 success; 1 a regression or a failed case (the command's own verdict); 2 bad input (a
    name, spec, path or option), or a file that cannot be written, in one line; 3 a bug in
    mapbench (with its traceback); 128 + N killed by signal N (SIGINT, SIGTERM, SIGHUP), after
    ending every child process.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
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
