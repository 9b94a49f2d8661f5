"""Errors that the CLI reports as one line and exit status 2 instead of a traceback."""

from __future__ import annotations


class MapbenchError(Exception):
    """Base class of every error caused by input: names, specs, files, arguments."""


class UsageError(MapbenchError):
    """A bad command-line argument or combination of arguments."""
