"""The one rule of `mapbench ci -o`: a new or empty directory, since ci deletes and publishes
only what it wrote (checked by the command before anything is built, and by `run_ci`)."""

from __future__ import annotations

from pathlib import Path

from mapbench.errors import UsageError


def check_output(out: Path) -> None:
    """Refuse an output directory that holds anything: ci deletes and publishes only its own."""
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(
            f"-o {out}: the directory is not empty: mapbench ci writes into a new or empty "
            "directory (it never deletes or publishes files it did not write)"
        )
