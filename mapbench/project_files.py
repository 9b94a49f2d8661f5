"""The files `mapbench init` writes into a map author's repository, as text.

One function per file; each takes what it must know (maps, project name, Python, instrument)
and returns the whole file, so the tests can check a written file against its source here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mapbench import __version__

# First-party actions only, pinned to the commits of these releases (tags can be moved).
ACTIONS = {
    "checkout": "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2",
    "setup-python": "actions/setup-python@0b93645e9fea7318ecaed2b359559ac225c90a2b  # v5.3.0",
    "cache": "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684  # v4.2.3",
    "upload-artifact": "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02  # v4.6.2",
    "download-artifact": (
        "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093  # v4.3.0"
    ),
    "upload-pages-artifact": (
        "actions/upload-pages-artifact@56afc609e74202658d3ffba0e8f6dda462b719fa  # v3.0.1"
    ),
    "deploy-pages": "actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e  # v4.0.5",
}
SUITES_FILE = "benchmarks/mapbench_suites.py"
WORKFLOW_FILE = ".github/workflows/mapbench.yml"


def default_instrument() -> str:
    """The mapbench every environment of the project installs: this version, from the index."""
    return f"mapbench[asv]=={__version__}"


def toml_table(
    maps: Sequence[str], workloads: Sequence[str], key_kinds: Sequence[str], sizes: Sequence[int]
) -> str:
    """The `[tool.mapbench]` table."""

    def array(values: Sequence[object]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    return (
        "[tool.mapbench]\n"
        "# The maps mapbench measures (specs or entry-point names), and on what; every mapbench\n"
        "# command uses them when given no --map (written by `mapbench init`).\n"
        f"maps = {array(maps)}\n"
        f"workloads = {array(workloads)}\n"
        f"key-kinds = {array(key_kinds)}\n"
        f"sizes = {array(sizes)}\n"
    )


def asv_config(project: str, branch: str, python: str, instrument: str) -> str:
    """asv.conf.json: each commit's wheel (PEP 517) installed beside the instrument."""
    config = {
        "version": 1,
        "project": project,
        "project_url": "",
        "repo": ".",
        "dvcs": "git",
        "branches": [branch],
        "environment_type": "virtualenv",
        "pythons": [python],
        "build_command": ["python -m pip wheel --no-deps -w {build_cache_dir} {build_dir}"],
        "install_command": [
            "in-dir={env_dir} python -m pip install {wheel_file}",
            f"in-dir={{env_dir}} python -m pip install {instrument}",
        ],
        "uninstall_command": ["return-code=any python -m pip uninstall -y {project}"],
        # str hashes, and so str-key probe lengths, depend on the seed: pinned for every process.
        "matrix": {"env_nobuild": {"PYTHONHASHSEED": "0"}},
        "benchmark_dir": "benchmarks",
        "env_dir": ".asv/env",
        "results_dir": ".asv/results",
        "html_dir": ".asv/html",
        "build_cache_size": 4,
        "default_benchmark_timeout": 300,
        # Times move with the machine's load; exact track_ figures (allocations, probe
        # lengths) do not, so any change of theirs is flagged.
        "regressions_thresholds": {"\\.TimeWorkloads\\.": 0.3, ".*": 0.001},
    }
    return json.dumps(config, indent=4) + "\n"


def suites_module() -> str:
    """benchmarks/mapbench_suites.py: mapbench's asv suites for the maps of [tool.mapbench]."""
    return (
        '"""mapbench\'s asv suites for the maps of [tool.mapbench] in pyproject.toml (written by\n'
        "`mapbench init`; the classes come from mapbench.asv_suites, edit the table, not this).\n"
        '"""\n\n'
        "from mapbench.asv_suites import suites\n\n"
        "globals().update(suites(__file__))\n"
    )


def workflow(python: str, instrument: str) -> str:
    """.github/workflows/mapbench.yml: PRs compared with `mapbench ci` (read-only token, the
    summary posted by a separate job that reads only the report artifact); the main branch
    benchmarked with asv, published to GitHub Pages with the history of change points."""
    a = ACTIONS
    # Every job that checks out: the whole history, no credentials left in .git/config.
    checkout = (
        f"      - uses: {a['checkout']}\n"
        "        with:\n"
        "          fetch-depth: 0\n"
        "          persist-credentials: false\n"
        f"      - uses: {a['setup-python']}\n"
        "        with:\n"
        f'          python-version: "{python}"\n'
    )
    return f"""\
# mapbench (written by `mapbench init`): pull requests are compared with their base by
# `mapbench ci`; pushes to main are benchmarked by asv, and asv's site, the change points of
# the history and its report are published to GitHub Pages.
name: mapbench

on:
  pull_request:
  push:
    branches: [main]

permissions:
  contents: read

jobs:
  # The pull request's code runs here, with a read-only token and no stored credentials.
  compare:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    timeout-minutes: 60
    permissions:
      contents: read
    steps:
{checkout}      - run: python -m pip install "{instrument}"
      - run: mapbench ci "$BASE" HEAD --output ci-report
        env:
          BASE: ${{{{ github.event.pull_request.base.sha }}}}
      - if: always()
        uses: {a["upload-artifact"]}
        with:
          name: mapbench-report
          path: ci-report/

  # Runs no code of the pull request: posts the summary the compare job left as an artifact.
  comment:
    needs: compare
    if: always() && github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    permissions:
      pull-requests: write
    steps:
      - uses: {a["download-artifact"]}
        with:
          name: mapbench-report
          path: ci-report
      # A pull request from a fork gets a read-only token: the comment is skipped, not fatal.
      - continue-on-error: true
        run: |
          gh pr comment "$PR" --edit-last --body-file ci-report/summary.md ||
            gh pr comment "$PR" --body-file ci-report/summary.md
        env:
          GH_TOKEN: ${{{{ github.token }}}}
          GH_REPO: ${{{{ github.repository }}}}
          PR: ${{{{ github.event.pull_request.number }}}}

  # The main branch: asv over the new commits, its site and the history published.
  publish:
    if: github.event_name == 'push'
    runs-on: ubuntu-latest
    timeout-minutes: 120
    permissions:
      contents: read
      pages: write
      id-token: write
    environment:
      name: github-pages
    concurrency:
      group: mapbench-publish
      cancel-in-progress: false
    steps:
{checkout}      # asv's NEW means "since the last commit benchmarked here", and the history
      # store grows with every run: both are kept in the Actions cache.
      - uses: {a["cache"]}
        with:
          path: |
            .asv/results
            history.duckdb
          key: mapbench-${{{{ github.run_id }}}}
          restore-keys: mapbench-
      - run: python -m pip install "{instrument}"
      - run: asv machine --yes
      - run: asv run --python {python} --skip-existing --steps 10 NEW
      - run: asv publish --html-dir site
      - run: mapbench history --store history.duckdb .asv/results --repo .
      - run: mapbench report history.duckdb -o site/mapbench/index.html
      - uses: {a["upload-pages-artifact"]}
        with:
          path: site
      - uses: {a["deploy-pages"]}
"""


__all__ = [
    "ACTIONS",
    "SUITES_FILE",
    "WORKFLOW_FILE",
    "asv_config",
    "default_instrument",
    "suites_module",
    "toml_table",
    "workflow",
]
