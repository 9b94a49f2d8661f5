"""`mapbench run --python X.Y --with PKG`: extra packages in the environments mapbench builds,
so maps that only an installed package provides (entry points, peers) run under every Python."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mapbench.results import load
from mapbench.runner.interpreters import available
from mapbench.runner.runtimes import _split_extras

PACKAGE = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "tinymaps"
        version = "1.0"

        [project.entry-points."mapbench.impls"]
        tiny = "tinymaps:TinyMap"

        [tool.setuptools]
        py-modules = ["tinymaps"]
    """,
    "tinymaps.py": '''
        """A map that only this package provides."""


        class TinyMap(dict):
            """A dict subclass registered through an entry point."""
    ''',
}


def test_mapbench_extras_go_on_the_copy_others_to_pip() -> None:
    assert _split_extras(["mapbench[peers, conform]", "immutables>=0.20", "/x/pkg"]) == (
        ["conform", "peers"],
        ["immutables>=0.20", "/x/pkg"],
    )


@pytest.mark.slow  # builds a venv for another Python on first use (a minute or more)
def test_an_entry_point_package_runs_under_another_python(tmp_path: Path) -> None:
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    other = next((v for v, exe in available().items() if exe and v != here), None)
    if other is None:
        pytest.skip("needs a second Python 3.10-3.13")
    package = tmp_path / "tinymaps"
    package.mkdir()
    for name, text in PACKAGE.items():
        (package / name).write_text(textwrap.dedent(text))
    out = tmp_path / "results"
    argv = [
        sys.executable, "-m", "mapbench", "run", "--quick", "--no-metrics", "--map=tiny",
        "--workload=insert", f"--python={other}", f"--with={package}", f"--output={out}",
    ]  # fmt: skip
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    frame = load([out]).frame
    assert set(frame["map"]) == {"tiny"} and set(frame["status"]) == {"ok"}
    assert {v.rsplit(".", 1)[0] for v in frame["python"]} == {other}
