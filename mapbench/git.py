"""Every git invocation of mapbench: revisions, exported trees, first-parent ranges, commit facts.

Failures become `GitError` (one line, exit status 2 at the command line). `describe` returns a
pandas frame and imports pandas only when called.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mapbench.errors import MapbenchError

if TYPE_CHECKING:
    import pandas as pd

_SEPARATOR = "\x1f"


class GitError(MapbenchError):
    """A git command that failed: no repository, an unknown revision, a missing commit."""


def git(repo: Path, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    """Run git in `repo` (with `stdin` as its input) and return its stripped output."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise GitError(f"git {args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise GitError(f"git {args[0]} in {repo}: {done.stderr.strip() or done.returncode}")
    return done.stdout.strip()


def is_repository(repo: Path) -> bool:
    """Whether `repo` is inside a git working tree."""
    try:
        return git(repo, "rev-parse", "--is-inside-work-tree") == "true"
    except GitError:
        return False


def resolve(repo: Path, revision: str) -> str:
    """The full hash of `revision` (a branch, tag, hash or expression like HEAD~1).

    The error says why a revision is missing: no repository, a shallow clone, or no such commit.
    """
    if not is_repository(repo):
        raise GitError(f"{repo} is not a git repository (give --repo)")
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except GitError:
        if is_shallow(repo):
            raise GitError(
                f"{revision!r} is not in this shallow clone of {repo}: fetch it "
                "(git fetch --unshallow, or actions/checkout with fetch-depth: 0)"
            ) from None
        raise GitError(f"{revision!r} is not a commit of the git repository {repo}") from None


def is_shallow(repo: Path) -> bool:
    """Whether `repo` is a shallow clone (history cut off)."""
    try:
        return git(repo, "rev-parse", "--is-shallow-repository") == "true"
    except GitError:
        return False


def dirty_files(repo: Path) -> list[str]:
    """Tracked files with uncommitted changes (untracked files are not counted)."""
    return git(repo, "status", "--porcelain", "--untracked-files=no").splitlines()


def export(repo: Path, commit: str, dest: Path) -> None:
    """The commit's tracked files (no untracked or ignored ones, no .git) in `dest`."""
    import io
    import tarfile  # here: workers import this module (commit facts) and never export

    try:
        data = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", commit],
            capture_output=True,
            timeout=300,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise GitError(f"cannot export {commit[:12]} with git archive: {exc}") from exc
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        if hasattr(tarfile, "data_filter"):  # 3.12+ (and patched 3.10/3.11): refuse odd members
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - an old interpreter; git archive writes no odd members
            tar.extractall(dest)


def first_parent_range(repo: Path, good: str, bad: str) -> list[str]:
    """The first-parent commits after `good` up to and including `bad`, oldest first."""
    try:
        git(repo, "merge-base", "--is-ancestor", good, bad)
    except GitError:
        raise GitError(f"{good[:12]} is not an ancestor of {bad[:12]}") from None
    listed = git(repo, "rev-list", "--first-parent", "--reverse", f"{good}..{bad}").split()
    if not listed:
        raise GitError(f"no commits between {good[:12]} and {bad[:12]}")
    return listed


def subject(repo: Path, commit: str) -> str:
    """The first line of the commit's message."""
    return git(repo, "log", "-1", "--format=%s", commit)


def describe(repo: Path, commits: Sequence[str]) -> pd.DataFrame:
    """commit, commit_date, parents (space-separated), subject, position for each known commit.

    The position (number of first-parent ancestors) orders a history the way `git log
    --first-parent` does, which commit dates cannot when several commits share a second or a
    rebase rewrote dates. Commits the repository does not have are left out (results may come
    from another clone).
    """
    import pandas as pd

    known = _known(repo, commits)
    rows = []
    if known:
        fields = _SEPARATOR.join(["%H", "%P", "%cI", "%s"])
        text = git(
            repo,
            "log",
            "--no-walk=unsorted",
            "--stdin",
            f"--format={fields}",
            stdin="\n".join(known),
        )
        positions = _positions(repo, known)
        for line in text.splitlines():
            commit, parents, date, title = line.split(_SEPARATOR, 3)
            rows.append((commit, pd.Timestamp(date), parents, title, positions.get(commit)))
    frame: pd.DataFrame = pd.DataFrame(
        rows, columns=["commit", "commit_date", "parents", "subject", "position"]
    )
    frame["commit_date"] = pd.to_datetime(frame["commit_date"], utc=True)
    frame["position"] = frame["position"].astype("Int64")
    return frame


def _known(repo: Path, commits: Sequence[str]) -> list[str]:
    """The commits (full hashes) that `repo` has."""
    text = git(repo, "cat-file", "--batch-check", stdin="\n".join(commits))
    return [line.split()[0] for line in text.splitlines() if line.split()[1:2] == ["commit"]]


def _positions(repo: Path, commits: Sequence[str]) -> dict[str, int]:
    """First-parent depth of each commit: one walk from the newest, then the rest one by one."""
    newest = git(repo, "log", "--no-walk", "--format=%H", "--date-order", *commits[:1000])
    chain = git(repo, "rev-list", "--first-parent", "--reverse", newest.split()[0]).split()
    depth = {c: i for i, c in enumerate(chain)}
    found = {c: depth[c] for c in commits if c in depth}
    for commit in commits:
        if commit not in found:
            found[commit] = int(git(repo, "rev-list", "--first-parent", "--count", commit)) - 1
    return found


__all__ = [
    "GitError",
    "describe",
    "dirty_files",
    "export",
    "first_parent_range",
    "git",
    "is_repository",
    "is_shallow",
    "resolve",
    "subject",
]
