"""Write a file so that it is either the old one or the whole new one, never half, at any kill.

Every file mapbench saves (results, reports, summaries) goes through `write_atomic`: the bytes go
to a temporary file in the same directory, which is flushed to disk and renamed over the target.
The temporary file is created with mode 0666 minus the umask (0644 by default), as `open()`
would, not 0600 as `tempfile.mkstemp` would: a web server must be able to serve a report. A file
that replaces another takes the other's mode (a report kept private at 0600 stays so).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], write: Callable[[str], object]) -> Path:
    """Call `write(tmp)` to fill a temporary file, then rename it over `path`; `path`."""
    target = Path(path)
    tmp = _create(target)
    try:
        with contextlib.suppress(FileNotFoundError):  # a new file: 0666 minus the umask
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        write(tmp)
        _sync(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """`data` as the whole new content of `path` (see `write_atomic`)."""
    return write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def create_atomic(path: str | os.PathLike[str], data: bytes) -> bool:
    """Write `data` as a new file at `path`, whole or not at all; False if `path` exists.

    The file appears complete (a hard link to a written temporary file) or not at all, and
    never replaces another, even one a concurrent process creates at the same moment.
    """
    target = Path(path)
    tmp = _create(target)
    try:
        Path(tmp).write_bytes(data)
        _sync(tmp)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def _create(target: Path) -> str:
    """A new, empty file next to `target`, hidden and named so that no loader picks it up."""
    directory = target.parent
    while True:
        tmp = directory / f".{target.name}.{secrets.token_hex(4)}.part"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return str(tmp)


def _sync(tmp: str) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
