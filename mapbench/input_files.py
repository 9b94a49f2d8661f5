"""Reading input files that may be hostile: regular files only, bounded, before parsing.

Result files can come from an untrusted pull request (docs/ci.md's threat model), so every file
mapbench reads as results goes through `read_input`: a symbolic link is followed only to a file
inside the directory it was found in, anything but a regular file (a FIFO, a device, a socket)
is refused without blocking, and a file larger than `MAX_INPUT_BYTES` is refused before a byte
of it is read. `parse_json` then refuses, before parsing, a top level other than an object and
more values than a file of that size holds in real results, and turns deep nesting into the
same one-line refusal. Every refusal is an `InputError` naming the file and the cause.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from typing import Any

from mapbench.errors import MapbenchError

MAX_INPUT_BYTES = 256 * 2**20  # the largest results file read (docs/report.md)
# Real results spend at least 4 bytes per JSON value ("0.5," is the shortest sample); a file
# with more values than that is built to blow up into objects (8+ bytes of memory each).
MIN_BYTES_PER_VALUE = 4

_LEADING_SPACE = re.compile(rb"[ \t\r\n]*")

__all__ = ["MAX_INPUT_BYTES", "InputError", "check_values", "parse_json", "read_input"]


class InputError(MapbenchError):
    """An input file refused before parsing; the message names the file and the cause."""


def read_input(path: str | os.PathLike[str], within: str | os.PathLike[str] | None = None) -> bytes:
    """The bytes of the regular file at `path`; a symbolic link only to a file inside `within`
    (the directory it was found in), none at all without `within` unless given directly."""
    name = os.fspath(path)
    if within is not None and os.path.islink(name):
        target = os.path.realpath(name)
        root = os.path.realpath(within)
        if os.path.commonpath([target, root]) != root:
            raise InputError(f"{name}: a symbolic link out of {os.fspath(within)}: not read")
        name = target
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | _no_follow(within))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{os.fspath(path)}: a symbolic link: not read") from None
        raise InputError(f"{os.fspath(path)}: cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{os.fspath(path)}: not a regular file ({_kind(info.st_mode)})")
        if info.st_size > MAX_INPUT_BYTES:
            raise InputError(f"{os.fspath(path)}: {_too_big(info.st_size)}")
        data = os.read(fd, info.st_size + 1)  # in one piece: no copies to join
        while len(data) <= MAX_INPUT_BYTES:  # it grew meanwhile: read on, up to the limit
            more = os.read(fd, MAX_INPUT_BYTES + 1 - len(data))
            if not more:
                break
            data += more
        if len(data) > MAX_INPUT_BYTES:
            raise InputError(f"{os.fspath(path)}: {_too_big(len(data))}")
        return data
    finally:
        os.close(fd)


def parse_json(path: str | os.PathLike[str], raw: bytes) -> dict[str, Any]:
    """The JSON object in `raw`, read from `path`; refuses what no results file looks like."""
    first = _LEADING_SPACE.match(raw).end()  # type: ignore[union-attr]  # (it always matches)
    if raw[first : first + 1] != b"{":
        raise InputError(f"{os.fspath(path)}: not a results file: top level is not a JSON object")
    check_values(path, raw)
    try:
        data = json.loads(raw)
    except RecursionError:
        raise InputError(f"{os.fspath(path)}: JSON nested too deeply: not read") from None
    except ValueError as exc:
        raise InputError(
            f"{os.fspath(path)}: not valid JSON (truncated or damaged?): {exc}"
        ) from None
    if not isinstance(data, dict):  # pragma: no cover - the first byte said otherwise
        raise InputError(f"{os.fspath(path)}: not a results file: top level is not an object")
    return data


def check_values(path: str | os.PathLike[str], raw: bytes) -> None:
    """Refuse JSON with more values than real results of its size hold (counted, not parsed)."""
    values = raw.count(b",") + 1
    if values * MIN_BYTES_PER_VALUE > len(raw) + 64:
        raise InputError(
            f"{os.fspath(path)}: {values:,} values in {len(raw):,} bytes: more than a results "
            "file holds (nested or too many values)"
        )


def _no_follow(within: str | os.PathLike[str] | None) -> int:
    """O_NOFOLLOW for a file found in a directory (its link, if any, was resolved above)."""
    return os.O_NOFOLLOW if within is not None else 0


def _kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return kind
    return f"mode {mode:o}"


def _too_big(size: int) -> str:
    return (
        f"{size:,} bytes: larger than the {MAX_INPUT_BYTES // 2**20} MiB limit for a results file"
    )
