"""What git knows about measured commits: date, parents, subject and first-parent position.

The position (number of first-parent ancestors) orders a history the way `git log
--first-parent` does, which commit dates cannot when several commits share a second or a rebase
rewrote dates. Results files record only the commit hash and date; this adds the rest.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mapbench.ci.build import BuildError, git
from mapbench.errors import MapbenchError

_SEPARATOR = "\x1f"


def describe(repo: Path, commits: Sequence[str]) -> pd.DataFrame:
    """commit, commit_date, parents (space-separated), subject, position for each known commit.

    Commits the repository does not have are left out (results may come from another clone).
    """
    known = _known(repo, commits)
    rows = []
    if known:
        text = _git_input(
            repo,
            ["log", "--no-walk=unsorted", "--stdin", f"--format=%H{_SEPARATOR}%P{_SEPARATOR}%cI"
             f"{_SEPARATOR}%s"],
            "\n".join(known),
        )  # fmt: skip
        positions = _positions(repo, known)
        for line in text.splitlines():
            commit, parents, date, subject = line.split(_SEPARATOR, 3)
            rows.append((commit, pd.Timestamp(date), parents, subject, positions.get(commit)))
    frame: pd.DataFrame = pd.DataFrame(
        rows, columns=["commit", "commit_date", "parents", "subject", "position"]
    )
    frame["commit_date"] = pd.to_datetime(frame["commit_date"], utc=True)
    frame["position"] = frame["position"].astype("Int64")
    return frame


def first_parent_range(repo: Path, good: str, bad: str) -> list[str]:
    """The first-parent commits after `good` up to and including `bad`, oldest first."""
    try:
        git(repo, "merge-base", "--is-ancestor", good, bad)
    except BuildError:
        raise MapbenchError(f"{good[:12]} is not an ancestor of {bad[:12]}") from None
    listed = git(repo, "rev-list", "--first-parent", "--reverse", f"{good}..{bad}").split()
    if not listed:
        raise MapbenchError(f"no commits between {good[:12]} and {bad[:12]}")
    return listed


def subject(repo: Path, commit: str) -> str:
    """The first line of the commit's message."""
    return git(repo, "log", "-1", "--format=%s", commit)


def _known(repo: Path, commits: Sequence[str]) -> list[str]:
    """The commits (full hashes) that `repo` has."""
    text = _git_input(repo, ["cat-file", "--batch-check"], "\n".join(commits))
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


def _git_input(repo: Path, args: list[str], text: str) -> str:
    """git with `text` on its standard input; failures become `MapbenchError`."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            input=text,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise MapbenchError(f"git {args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise MapbenchError(f"git {args[0]} in {repo}: {done.stderr.strip()}")
    return done.stdout


__all__ = ["describe", "first_parent_range", "subject"]
