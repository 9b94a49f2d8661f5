"""The interpreter each `mapbench run --python X --with PKG` target runs, built when needed.

Without extra packages, the running interpreter is used as is when it is the one asked for, and
so is an interpreter that already has mapbench installed (a venv's path); any other, and every
one with extra packages (pip requirements or local paths), gets a cached environment from
`mapbench.builder`: the running interpreter inherits this environment and adds the packages;
another interpreter gets this mapbench's source tree and the packages, with their dependencies.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from mapbench._subprocess import run_python
from mapbench.builder import build_environment, cache_dir, same_interpreter, source_root
from mapbench.errors import MapbenchError
from mapbench.runner.interpreters import find_python
from mapbench.sources import Source, directory_source, parse_source, requirement_source

# `--with mapbench[peers]` names extras of mapbench itself: they go on the copy being installed.
_OWN_EXTRAS = re.compile(r"mapbench\s*\[([\w\s,.-]+)\]")


def runtime_for(request: str, *, extra: Sequence[str] = (), log: bool = True) -> str:
    """An executable that runs `request` ("3.12" or a path) with this mapbench importable."""
    base = find_python(request)
    if not extra and (same_interpreter(base) or (os.sep in request and _has_mapbench(base))):
        return sys.executable if same_interpreter(base) else base
    own_extras, packages = _split_extras(list(extra))
    sources: list[Source] = []
    if own_extras or not same_interpreter(base):
        root = source_root()
        if root is None:
            raise MapbenchError(
                f"--python {request}: mapbench is not installed from a source checkout, so it "
                "cannot be installed into that interpreter; install it there and pass its path"
            )
        extras = f"[{','.join(own_extras)}]" if own_extras else ""
        sources.append(directory_source(root, extras=extras))
    sources += [_package(p) for p in packages]
    say = (lambda m: print(f"mapbench: {m}", file=sys.stderr, flush=True)) if log else None
    return build_environment(sources, cache_dir(), python=base, log=say).python


def _package(text: str) -> Source:
    """A `--with` package: a local path (wheel, sdist, project directory) or a requirement."""
    if Path(text).expanduser().exists():
        return parse_source(text, Path.cwd())
    return requirement_source(text.strip())


def _split_extras(requirements: list[str]) -> tuple[list[str], list[str]]:
    """(extras of mapbench itself, other requirements): `mapbench[peers]` means our copy's."""
    own: list[str] = []
    others: list[str] = []
    for requirement in requirements:
        found = _OWN_EXTRAS.fullmatch(requirement)
        if found:
            own += [e.strip() for e in found.group(1).split(",") if e.strip()]
        else:
            others.append(requirement)
    return sorted(set(own)), others


def _has_mapbench(executable: str) -> bool:
    return run_python(executable, ["-c", "import mapbench.runner"], timeout=60).returncode == 0


__all__ = ["runtime_for"]
