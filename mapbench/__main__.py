"""Command-line entry point: `mapbench SUBCOMMAND ...` or `python -m mapbench SUBCOMMAND ...`."""

from __future__ import annotations

import sys

from mapbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
