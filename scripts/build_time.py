"""How long `mapbench.builder` takes to build a commit of a pure-Python map package, and to find
a built one in its cache (the targets: <= 15 s and <= 1 s; docs/your-project.md has figures).

    python scripts/build_time.py [--cold 3] [--cached 10]

A scratch git repository holds a one-module package (setuptools, PEP 517 with build isolation,
as pip builds any project). Each cold build uses an empty cache directory; each cached one asks
for the same commit again. Prints every time, their median, the 1-minute load average before
and after, and the Python.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from mapbench.builder import build_environment
from mapbench.sources import parse_source

PACKAGE = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "puremaps"\nversion = "1.0"\n\n[tool.setuptools]\n'
        'py-modules = ["puremaps"]\n'
    ),
    "puremaps.py": (
        '"""A pure-Python map."""\n\n\nclass PureMap(dict):\n    """A dict subclass."""\n'
    ),
}


def _repository(root: Path) -> str:
    for name, text in PACKAGE.items():
        (root / name).write_text(text)
    git = ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "puremaps"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=3, help="cold builds (3)")
    parser.add_argument("--cached", type=int, default=10, help="cached look-ups (10)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="mapbench-build-time-") as tmp:
        repo = Path(tmp, "repo")
        repo.mkdir()
        source = parse_source(_repository(repo), repo)
        cold = []
        for i in range(args.cold):
            started = time.perf_counter()
            built = build_environment([source], Path(tmp, f"cache-{i}"))
            cold.append(time.perf_counter() - started)
        cached = []
        for _ in range(args.cached):
            started = time.perf_counter()
            again = build_environment([source], Path(tmp, f"cache-{args.cold - 1}"))
            cached.append(time.perf_counter() - started)
            assert again.venv == built.venv
    load_after = os.getloadavg()[0]
    print(f"{dt.date.today()} Python {platform.python_version()} on {platform.machine()}")
    print(f"1-minute load average: {load_before:.1f} before, {load_after:.1f} after")
    print(f"cold build of a commit: {', '.join(f'{t:.1f}' for t in cold)} s; "
          f"median {statistics.median(cold):.1f} s")  # fmt: skip
    print(f"cached: {', '.join(f'{t * 1000:.0f}' for t in cached)} ms; "
          f"median {statistics.median(cached) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
