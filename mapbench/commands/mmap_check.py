"""`mapbench mmap-check FILE`: verify every checksum of an mmap-map file and describe its contents.

A damaged, truncated, foreign or too-new file is reported in one line with exit status 2. A file
that a writer is committing to is checked like any reader reads it: within one committed state,
retrying when a commit lands during the check, so a healthy busy file is never called damaged.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from mapbench.errors import UsageError
from mapbench.text_tables import format_table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="mmap map files to check")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_mmap_check(args: argparse.Namespace) -> int:
    # Imported here: only this command needs the mmap map (and its fcntl/mmap imports).
    from mapbench.impls.mmap_map import MmapMap

    rows = []
    for path in args.files:
        try:
            # verify=False: summary() verifies everything, within one validated snapshot.
            with MmapMap(path, create=False, writer=False, verify=False) as m:
                rows.append({"file": path, **dataclasses.asdict(m.summary())})
        except OSError as exc:
            raise UsageError(f"cannot open {path}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    headers = list(rows[0])
    print(format_table(headers, [[row[h] for h in headers] for row in rows]))
    return 0
