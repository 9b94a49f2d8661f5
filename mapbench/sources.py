"""What one side of a comparison is: a commit, a requirement, a wheel or sdist, or a directory.

`parse_source(text, repo)` decides, in this order:
    an existing file (.whl, .tar.gz, .zip)  a built package or an sdist       dist/pkg-1.0.whl
    an existing directory                    a project to build from its files ../pkg-checkout, .
    NAME with a version or `@ URL`           a pip requirement                 pkg==5.5.2
    anything else                            a revision of the git repository  v1.0, HEAD~1

Each source has an `identity` (what its cached environment is keyed by: a commit hash, the
requirement, a file's or a tree's SHA-256) and a `label` for people. `install_argument` puts
what pip installs into a scratch directory (a commit's exported tree, a copy of a directory).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mapbench import git
from mapbench.errors import MapbenchError

SourceKind = Literal["commit", "requirement", "file", "directory"]
PACKAGE_SUFFIXES = (".whl", ".tar.gz", ".zip")
# A requirement names a project and pins it somehow: a version specifier or a direct URL.
_REQUIREMENT = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*(===|==|>=|<=|~=|!=|<|>|@)\s*\S"
)
# Never part of a directory's build: caches, build output, version control, virtual envs.
_SKIP_DIRS = {".git", ".hg", ".nox", ".tox", ".venv", "venv", ".asv", "build", "__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".so", ".o", ".egg-info")


class SourceError(MapbenchError):
    """A side that names nothing that can be installed."""


@dataclass(frozen=True)
class Source:
    """One installable thing. `location`: the commit hash, requirement, or absolute path."""

    kind: SourceKind
    text: str
    location: str
    identity: str
    repo: Path | None = None
    extras: str = ""  # e.g. "[peers]" for a directory installed with extras

    @property
    def commit(self) -> str | None:
        return self.location if self.kind == "commit" else None

    @property
    def label(self) -> str:
        """Short, for reports: a commit's first 12 hex digits, else the text as given."""
        return self.location[:12] if self.kind == "commit" else self.text

    def install_argument(self, scratch: Path) -> str:
        """What `pip wheel` is given for this source (a tree is first exported into `scratch`)."""
        if self.kind in ("requirement", "file"):
            return self.location
        tree = scratch / "tree"
        if self.kind == "commit":
            assert self.repo is not None
            git.export(self.repo, self.location, tree)
        else:  # pip builds a directory in place (build/, egg-info): build a copy
            root = Path(self.location)
            for path in tree_files(root):
                target = tree / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        return str(tree) + self.extras


def parse_source(text: str, repo: Path) -> Source:
    """The source `text` names (see the module's docstring); `SourceError` saying why not."""
    stripped = text.strip()
    if not stripped:
        raise SourceError("an empty revision or requirement")
    path = Path(stripped).expanduser()
    if path.is_file():
        if not stripped.endswith(PACKAGE_SUFFIXES):
            raise SourceError(f"{stripped}: a file, but not a wheel or sdist ({PACKAGE_SUFFIXES})")
        return Source("file", stripped, str(path.resolve()), file_digest(path))
    if path.is_dir() and not _is_revision(repo, stripped):
        return directory_source(path, text=stripped)
    if _REQUIREMENT.match(stripped):
        return requirement_source(stripped)
    commit = git.resolve(repo, stripped)
    return Source("commit", stripped, commit, commit, repo=repo)


def directory_source(path: Path, *, text: str = "", extras: str = "") -> Source:
    """A project directory, identified by the digest of every file a build could read."""
    root = path.resolve()
    if not ((root / "pyproject.toml").is_file() or (root / "setup.py").is_file()):
        raise SourceError(f"{path}: a directory without pyproject.toml or setup.py")
    return Source("directory", text or str(path), str(root), tree_digest(root), extras=extras)


def requirement_source(requirement: str) -> Source:
    """A pip requirement; one pointing at a local file is identified by that file's content."""
    identity = requirement
    _, at, url = requirement.partition("@")
    if at and url.strip().startswith("file:"):
        local = Path(urllib.request.url2pathname(urllib.parse.urlparse(url.strip()).path))
        if not local.exists():
            raise SourceError(f"{requirement!r}: no such file {local}")
        identity += "\0" + (file_digest(local) if local.is_file() else tree_digest(local))
    return Source("requirement", requirement, requirement, identity)


def _is_revision(repo: Path, text: str) -> bool:
    """Whether `text` is also a revision of `repo` (a directory named like a branch): the
    revision wins."""
    try:
        git.resolve(repo, text)
    except MapbenchError:
        return False
    return True


def tree_files(root: Path) -> Iterator[Path]:
    """The files of a project directory a build may read: git's view when it is a repository
    (tracked and untracked, never ignored), else every file outside caches and build output."""
    if git.is_repository(root) and _git_top(root) == root:
        listed = git.git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        for name in sorted(filter(None, listed.split("\0"))):
            if (root / name).is_file():
                yield root / name
        return
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and not any(p in _SKIP_DIRS or p.endswith(_SKIP_SUFFIXES) for p in parts):
            yield path


def _git_top(root: Path) -> Path:
    try:
        return Path(git.git(root, "rev-parse", "--show-toplevel")).resolve()
    except git.GitError:
        return Path()


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in tree_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


__all__ = [
    "PACKAGE_SUFFIXES",
    "Source",
    "SourceError",
    "SourceKind",
    "directory_source",
    "parse_source",
    "requirement_source",
    "tree_digest",
]
