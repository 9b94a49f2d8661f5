"""`mapbench init`: set up mapbench in a map author's repository.

Writes the `[tool.mapbench]` table of pyproject.toml, asv.conf.json, benchmarks/mapbench_suites.py
(mapbench's asv suites for those maps) and a GitHub workflow. Writes nothing when any of them
exists already, unless --force; says what it wrote.
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
from pathlib import Path
from typing import Any

from mapbench.errors import UsageError
from mapbench.workloads import KEY_KINDS, WORKLOADS

DEFAULT_WORKLOADS = ("insert", "lookup-hit", "lookup-miss", "delete")
DEFAULT_SIZES = (10_000,)
# The table's header up to the next table header (or the end of the file).
_TABLE = re.compile(r"^\[tool\.mapbench\][^\n]*\n(?:(?!\[).*\n?)*", re.MULTILINE)


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--dir", type=Path, default=Path("."), help="the project's root (default: .)")
    add(
        "--map",
        dest="maps",
        action="append",
        default=[],
        metavar="SPEC",
        help="a map of the project (e.g. mypkg:MyMap, or an entry-point name); repeatable; "
        "default: the project's mapbench.impls entry points",
    )
    add(
        "--workload",
        dest="workloads",
        action="append",
        choices=list(WORKLOADS),
        metavar="NAME",
        help=f"repeatable; default: {', '.join(DEFAULT_WORKLOADS)}",
    )
    add(
        "--key-kind",
        dest="key_kinds",
        action="append",
        choices=list(KEY_KINDS),
        metavar="KIND",
        help="repeatable; default: random-int",
    )
    add("--size", dest="sizes", action="append", type=int, metavar="N", help="default: 10000")
    add(
        "--python",
        default=".".join(platform.python_version_tuple()[:2]),
        metavar="X.Y",
        help="the Python of asv and the workflow (default: this one's version)",
    )
    add(
        "--instrument",
        metavar="REQUIREMENT",
        help="how asv and the workflow install mapbench (default: this version of mapbench[asv] "
        "from the package index; a wheel's path works too)",
    )
    add("--force", action="store_true", help="overwrite files (and the table) that exist")


def cmd_init(args: argparse.Namespace) -> int:
    from mapbench import project_files as files
    from mapbench.git import GitError, git
    from mapbench.project import TABLE, read_config, read_toml

    root: Path = args.dir.resolve()
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise UsageError(f"{pyproject}: no such file; mapbench init works in a Python project")
    config = read_config(root)
    document = read_toml(pyproject)
    maps = args.maps or _entry_points(document)
    if not maps:
        raise UsageError(
            "name the project's maps: --map yourpkg.module:YourMap (repeatable), or declare "
            'them as [project.entry-points."mapbench.impls"]'
        )
    if any(s <= 0 for s in args.sizes or ()):
        raise UsageError("--size must be positive")
    if not re.fullmatch(r"3\.\d+", args.python):
        raise UsageError(f"--python {args.python!r}: give a version like 3.12")
    project = str(document.get("project", {}).get("name") or root.name)
    try:
        branch = git(root, "symbolic-ref", "--short", "HEAD")
    except GitError:
        branch = "main"
    instrument = args.instrument or files.default_instrument()
    if Path(instrument).expanduser().is_file():
        instrument = str(Path(instrument).expanduser().resolve())
    written = {
        root / "asv.conf.json": files.asv_config(project, branch, args.python, instrument),
        root / files.SUITES_FILE: files.suites_module(),
        root / files.WORKFLOW_FILE: files.workflow(args.python, instrument),
    }
    existing = [p for p in written if p.exists()]
    if config.path is not None and _TABLE.search(pyproject.read_text(encoding="utf-8")):
        existing.insert(0, pyproject)
    if existing and not args.force:
        names = ", ".join(str(p.relative_to(root)) for p in existing)
        which = f"[{TABLE}] in " if existing[0] == pyproject else ""
        raise UsageError(f"{which}{names} exist already: nothing written (--force overwrites)")
    table = files.toml_table(
        maps,
        args.workloads or DEFAULT_WORKLOADS,
        args.key_kinds or ("random-int",),
        args.sizes or DEFAULT_SIZES,
    )
    text = pyproject.read_text(encoding="utf-8")
    kept = _TABLE.sub("", text).rstrip("\n")
    pyproject.write_text(f"{kept}\n\n{table}", encoding="utf-8")
    print(f"wrote [{TABLE}] in {pyproject}: {len(maps)} map(s): {', '.join(maps)}")
    init = root / "benchmarks" / "__init__.py"
    if not init.exists():
        written[init] = ""
    for path, content in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path}")
    print(
        "next: commit these files; then\n"
        "  mapbench ci main HEAD          # compare your branch with main\n"
        "  asv run --quick HEAD^!         # the asv suites at one commit\n"
        "docs: docs/your-project.md in mapbench's source tree",
        file=sys.stderr,
    )
    return 0


def _entry_points(document: dict[str, Any]) -> list[str]:
    """The names of the project's `mapbench.impls` entry points, if it declares any."""
    project = document.get("project")
    groups = project.get("entry-points", {}) if isinstance(project, dict) else {}
    declared = groups.get("mapbench.impls", {}) if isinstance(groups, dict) else {}
    return sorted(declared) if isinstance(declared, dict) else []
