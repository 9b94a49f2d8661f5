"""Output paths checked before a command does any work: a bad one is one line and exit 2."""

from __future__ import annotations

import tempfile
from pathlib import Path

from mapbench.errors import UsageError


def output_directory(path: Path, option: str) -> Path:
    """`path` as a directory results can be written to; nothing is created yet (a run that
    stops on bad input leaves no empty directory behind)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: is a file, not a directory")
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"{option} {path}: cannot create it: {str(existing)!r} is a file")
    _can_write_in(existing, option, path)
    return path


def output_file(text: str, option: str) -> Path:
    """`text` as a file that can be written (its directory exists and is writable)."""
    path = Path(text)
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory, not a file")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: no such directory {str(parent)!r}")
    _can_write_in(parent, option, path)
    return path


def _can_write_in(directory: Path, option: str, path: Path) -> None:
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        where = str(directory)
        raise UsageError(f"{option} {path}: cannot write in {where!r}: {_why(exc)}") from None


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
