"""Hostile result inputs, as an attacker's pull request could plant them (issue 28).

`build(directory)` makes one case per subdirectory of `directory` (each meant to be given to
`mapbench report CASE -o ...` alone) and returns their names with what each must be refused as.
Used by tests/test_hostile_inputs.py and scripts/hostile_inputs.py (which measures peak memory).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
GOOD_METRICS = FIXTURES / "runs" / "base" / "metrics-3.11.7.json"
ASV_RESULTS = FIXTURES / "asv" / "results"
BIG_ARRAY_BYTES = 200 * 2**20  # the 200 MB array
OVER_LIMIT_BYTES = 257 * 2**20  # just past the 256 MiB limit


def _metrics(**changes: object) -> dict[str, object]:
    data = json.loads(GOOD_METRICS.read_text())
    case = data["results"][0]
    case.update(changes)
    data["results"] = [case]
    return data


def build(where: Path, big: bool = True) -> dict[str, str]:
    """{case directory name: the cause its one-line refusal must name}."""
    cases: dict[str, str] = {}
    where = where.resolve()

    def case(name: str, cause: str) -> Path:
        path = where / name
        path.mkdir()
        cases[name] = cause
        return path

    outside = where / "outside"
    outside.mkdir()
    secret = outside / "secret.json"
    secret.write_text(json.dumps(_metrics(map="SECRET-TOKEN-ghp_0123456789")))
    os.symlink(secret, case("symlink", "symbolic link") / "x.json")
    os.symlink("/dev/zero", case("dev-zero", "symbolic link") / "x.json")
    os.mkfifo(case("fifo", "not a regular file") / "f.json")
    (case("deep", "top level is not a JSON object") / "x.json").write_text(
        "[" * 100_000 + "]" * 100_000
    )
    (case("deep-object", "nested") / "x.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    (case("huge-int", "out of range") / "x.json").write_text(json.dumps(_metrics(size=10**400)))
    inf = json.dumps(_metrics()).replace('"value": ', '"value": 1e999, "x": ', 1)
    (case("inf", "out of range") / "x.json").write_text(inf)
    pyperf = json.loads((FIXTURES / "runs" / "base" / "pyperf-3.11.7.json").read_text())
    for bench in pyperf["benchmarks"]:
        for run in bench["runs"]:
            if run.get("values"):
                run["values"][0] = 10**400
    (case("pyperf-huge-int", "int too large") / "pyperf-x.json").write_text(json.dumps(pyperf))
    asv = case("asv-explosion", "parameter")
    shutil.copy(ASV_RESULTS / "benchmarks.json", asv / "benchmarks.json")
    machine = asv / "fixture-vm"
    machine.mkdir()
    shutil.copy(ASV_RESULTS / "fixture-vm" / "machine.json", machine / "machine.json")
    template = json.loads(next((ASV_RESULTS / "fixture-vm").glob("12d2*.json")).read_text())
    columns = template["result_columns"]
    row = [None] * len(columns)
    row[columns.index("result")] = [1.0]
    row[columns.index("params")] = [[repr(i) for i in range(40)] for _ in range(8)]
    template["results"] = {"bench_maps.Unknown.time_x": row}  # names guessed: none in benchmarks
    (machine / "12d20500-existing-py_tmp_venv_bin_python.json").write_text(json.dumps(template))
    machine_link = case("asv-machine-symlink", "symbolic link")
    shutil.copytree(ASV_RESULTS, machine_link, dirs_exist_ok=True)
    (machine_link / "fixture-vm" / "machine.json").unlink()
    os.symlink(secret, machine_link / "fixture-vm" / "machine.json")
    with open(case("dense-values", "too many values") / "x.json", "wb") as f:
        f.write(b'{"format": "mapbench-metrics", "a": [' + b"0," * 2**20 + b"0]}")
    if big:
        with open(case("big-array", "top level is not a JSON object") / "x.json", "wb") as f:
            f.write(b"[")
            chunk = b"0," * 2**19  # written in 1 MiB pieces: the builder stays small
            for _ in range(BIG_ARRAY_BYTES // len(chunk)):
                f.write(chunk)
            f.write(b"0]")
        with open(case("over-limit", "256 MiB") / "x.json", "wb") as f:
            f.truncate(OVER_LIMIT_BYTES)
    return cases
