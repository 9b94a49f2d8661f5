"""What a build of mapbench reads from a source tree, and a hash of it.

Standard library only: noxfile.py loads this file by path (before mapbench or its dependencies
are installed) to tell whether a session's install is still current.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

# What a build of mapbench reads from the source tree (pyproject's package-dir and readme).
SOURCE_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in", "README.md", "LICENSE")
SOURCE_DIRS = ("mapbench", "impls", "reports")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.o", "build", "*.egg-info")


def source_digest(root: Path) -> str:
    """A hash of every file a build reads, so a changed checkout triggers a reinstall."""
    digest = hashlib.sha256()
    for path in sorted(source_files(root)):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def source_files(root: Path) -> Iterator[Path]:
    """Every file of the source tree a build reads."""
    for name in SOURCE_FILES:
        if (root / name).is_file():
            yield root / name
    for name in SOURCE_DIRS:
        for path in (root / name).rglob("*"):
            if path.is_file() and not _skipped(path.relative_to(root)):
                yield path


def _skipped(relative: Path) -> bool:
    # The same patterns as a copy of the tree uses, applied to every part of the path.
    return bool(SKIP(str(relative.parent), list(relative.parts)))
