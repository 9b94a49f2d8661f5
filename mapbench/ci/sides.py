"""The two sides of `mapbench ci` and `mapbench bisect`: what each names, its environment, and
which of the maps asked for exist there.

Every failure here is bad input and says which side and why, in one line, before anything is
measured: a revision that is not in the repository (or not in a shallow clone), a requirement
or path that cannot be installed, a source that does not build, a dirty working tree whose
changes a commit would leave out, a map spec that fails to import at one side. A map that does
not exist at one side (its module, attribute or name missing there) is not a failure: it is
new or removed, and measured where it exists.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mapbench import git
from mapbench._subprocess import run_python
from mapbench.builder import BuildError, Environment, build_environment
from mapbench.errors import MapbenchError
from mapbench.sources import Source, SourceError, parse_source


class SideError(MapbenchError):
    """One side of a comparison that cannot be measured; the message names the side."""


@dataclass(frozen=True)
class Prepared:
    """One side ready to measure: its source, its environment, the maps missing there."""

    name: str
    source: Source
    environment: Environment
    absent: dict[str, str]  # map spec -> why it does not exist at this side


def source_of(side: str, text: str, repo: Path) -> Source:
    """What `text` names (a revision of `repo`, a requirement, a wheel or a directory)."""
    try:
        source = parse_source(text, repo)
    except (SourceError, git.GitError) as exc:
        raise SideError(f"{side} {text!r}: {exc}") from None
    if source.kind == "commit":
        _check_clean(side, text, source, repo)
    return source


def _check_clean(side: str, text: str, source: Source, repo: Path) -> None:
    """A side that is the checked-out commit while tracked files are modified would silently
    leave the modifications out."""
    if source.commit != git.resolve(repo, "HEAD"):
        return
    changed = git.dirty_files(repo)
    if changed:
        raise SideError(
            f"{side} {text!r}: the working tree of {repo} has uncommitted changes to "
            f"{len(changed)} tracked file{'s' if len(changed) != 1 else ''} "
            f"({changed[0].split()[-1]}{', ...' if len(changed) > 1 else ''}), which a commit "
            "leaves out: commit or stash them (or give . to measure the working tree as it is)"
        )


def prepare(
    side: str, source: Source, maps: Sequence[str], work_dir: Path, log: Callable[[str], None]
) -> Prepared:
    """Build `source` into its environment and find which `maps` exist there."""
    try:
        environment = build_environment([source], work_dir, log=log)
    except BuildError as exc:
        raise SideError(f"{side} {source.text!r} does not build: {exc}") from None
    found = map_presence(environment.python, maps)
    broken = {spec: why for spec, why in found.items() if why.startswith("error: ")}
    if broken:
        spec, why = next(iter(broken.items()))
        raise SideError(
            f"{side} {source.text!r}: map {spec!r} does not import there: "
            f"{why.removeprefix('error: ')}"
        )
    absent = {spec: why.removeprefix("absent: ") for spec, why in found.items() if why != "ok"}
    return Prepared(side, source, environment, absent)


def check_presence(sides: Sequence[Prepared], maps: Sequence[str]) -> None:
    """A map that exists at no side is a mistake in its spec, not a new or removed map."""
    nowhere = [m for m in maps if all(m in side.absent for side in sides)]
    if nowhere:
        why = sides[-1].absent[nowhere[0]]
        where = " nor at ".join(s.name for s in sides)
        exists = f"exists neither at {where}" if len(sides) > 1 else f"does not exist at {where}"
        raise SideError(f"map {nowhere[0]!r} {exists}: {why}")


# Run in a side's environment: is each spec's target there ("ok"), missing there ("absent:
# why": its module, attribute, file or registered name), or does it fail ("error: why")?
_PRESENCE = r"""
import importlib, json, os, sys

def presence(text):
    target = text.split(",", 1)[0].strip()
    where, colon, attr = target.rpartition(":")
    if colon and (where.endswith(".py") or "/" in where):
        if not os.path.isfile(where):
            return "absent: no file " + where
    elif colon:
        try:
            found = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            if exc.name and (where == exc.name or where.startswith(exc.name + ".")):
                return "absent: no module " + exc.name
            raise
        for part in attr.split("."):
            if not hasattr(found, part):
                return "absent: " + where + " has no " + attr
            found = getattr(found, part)
    else:
        from mapbench.registry import lookup
        if lookup(target) is None:
            return "absent: no map is registered as " + repr(target)
    from mapbench.registry import parse_spec
    parse_spec(text)
    return "ok"

def safe(text):
    try:
        return presence(text)
    except BaseException as exc:
        message = str(exc).strip().splitlines()
        return "error: " + type(exc).__name__ + (": " + message[0] if message else "")

print(json.dumps({text: safe(text) for text in sys.argv[1:]}))
"""


def map_presence(python: str, maps: Sequence[str]) -> dict[str, str]:
    """For each spec: "ok", "absent: why" or "error: why", as `python`'s environment sees it."""
    try:
        done = run_python(python, ["-c", _PRESENCE, *maps], timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SideError(f"{python} cannot load maps: {exc}") from None
    try:
        found: dict[str, str] = json.loads(done.stdout)
    except ValueError:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise SideError(f"{python} cannot load maps: {tail or done.returncode}") from None
    return found


__all__ = ["Prepared", "SideError", "check_presence", "map_presence", "prepare", "source_of"]
