"""Maps that reorder on read plug in and are measured exactly: the README's LRUMap and a plain
OrderedDict subclass pass the conformance suite, and `mapbench run --quick` gives them probe
lengths read from their tables (through dict's own methods, whatever they override)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mapbench.cli import main
from mapbench.results import load
from mapbench.workloads import GC_WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
MOVES_ON_READ = """
from collections import OrderedDict


class MovesOnRead(OrderedDict):
    key_types = (object,)
    value_types = (object,)

    def __getitem__(self, key):
        value = super().__getitem__(key)
        try:
            self.move_to_end(key)
        except KeyError:  # Python 3.10's OrderedDict.pop reads a key it has already unlinked
            pass
        return value

    def __iter__(self):
        return iter(list(super().__iter__()))

    def close(self):
        pass
"""


def readme_lru() -> str:
    """The LRUMap code block of the README, as a user would save it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```python\n(# ~/maps/lru\.py.*?)```", readme, re.S)
    assert found, "the README's LRUMap example is missing"
    return found.group(1)


@pytest.fixture(params=["lru", "moves-on-read"])
def plugin(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    path = tmp_path / "maps.py"
    if request.param == "lru":
        path.write_text(readme_lru())
        return f"{path}:LRUMap"
    path.write_text(MOVES_ON_READ)
    return f"{path}:MovesOnRead"


@pytest.mark.slow
def test_reordering_maps_pass_conformance_and_get_exact_probe_lengths(
    plugin: str, tmp_path: Path
) -> None:
    pytest_bin = Path(sys.executable).with_name("pytest")
    suites = ["test_conformance.py", "test_conformance_contract.py", "test_conformance_threads.py"]
    done = subprocess.run(
        [
            str(pytest_bin),
            "-p",
            "no:cacheprovider",
            "--rootdir",
            "..",
            "-q",
            *suites,
            "--map",
            plugin,
        ],
        cwd=ROOT / "tests",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout

    out = tmp_path / "run"
    assert main(["run", "--quick", "--map", plugin, "-o", str(out)]) == 0
    frame = load([out]).frame
    assert set(frame["status"]) <= {"ok", "unavailable"}
    # The GC workloads leave out the allocation collectors by design (docs/metrics.md).
    assert set(frame.loc[frame["status"] == "unavailable", "workload"]) <= set(GC_WORKLOADS)
    probes = frame[frame["metric"] == "probe_hit_mean"]
    assert set(probes["workload"]) >= {"insert", "lookup-hit", "lookup-miss", "mixed-90-10"}
    assert (probes["kind"] == "deterministic").all() and (probes["value"] >= 1).all()
