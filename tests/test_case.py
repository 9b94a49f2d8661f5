"""A case's one identity (`CaseId`), its one result builder and its one key in the tidy frame."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import msgspec
import pandas as pd
import pytest

from mapbench.case import CASE_FIELDS, KEY_COLUMNS, NO_SIZE, CaseId, key, params_of, size_key
from mapbench.errors import MapbenchError
from mapbench.measure.worker import WorkerJob
from mapbench.results import COLUMNS
from mapbench.schema import CaseResult, decode_results, encode_results


def test_a_result_declares_every_identity_field_with_its_default() -> None:
    result_fields = {name: default for name, default in _struct_fields(CaseResult)}
    for field in dataclasses.fields(CaseId):
        assert field.name in result_fields, f"CaseResult lacks the identity field {field.name}"
        default = None if field.default is dataclasses.MISSING else field.default
        assert result_fields[field.name] == default, field.name


def test_a_result_built_from_a_case_gives_the_case_back() -> None:
    case = CaseId("./m.py:M", "insert", "short-str", 500, seed=7, spec="/abs/m.py:M")
    result = CaseResult.of(case, status="failed", error="boom")
    assert result.case == case
    assert (result.map, result.workload, result.key_kind, result.size, result.seed) == (
        "./m.py:M", "insert", "short-str", 500, 7,
    )  # fmt: skip
    assert result.spec == "/abs/m.py:M"
    assert (result.status, result.error) == ("failed", "boom")
    # without a spec of its own, a case is loaded by its label, and its result says so
    assert CaseResult.of(CaseId("dict", "insert", "random-int", 10)).spec == "dict"


def test_results_travel_and_come_back_equal() -> None:
    results = [CaseResult.of(CaseId("dict", "insert", "random-int", n, seed=n)) for n in (1, 2)]
    assert decode_results(encode_results(results)) == results


def test_the_spec_is_not_part_of_the_identity() -> None:
    a = CaseId("m", "insert", "random-int", 10, spec="./m.py:M")
    b = CaseId("m", "insert", "random-int", 10, spec="/elsewhere/m.py:M")
    assert a == b and hash(a) == hash(b) and not a < b
    assert a != CaseId("m", "insert", "random-int", 10, seed=1)


def test_a_case_travels_in_a_worker_job_as_itself() -> None:
    cases = (CaseId("dict", "insert", "random-int", 10, 3, "dict"), CaseId("x", "churn", "seq", 5))
    job = WorkerJob(cases, "0", reps=2)
    back = msgspec.json.decode(msgspec.json.encode(job), type=WorkerJob)
    assert back.cases == cases
    assert [c.spec for c in back.cases] == ["dict", ""]
    # the field names a worker of an earlier mapbench reads
    assert set(msgspec.json.decode(msgspec.json.encode(cases[0]))) == set(CASE_FIELDS)


def test_case_names_parse_back() -> None:
    case = CaseId("a/b:C", "lookup-hit", "random-int", 1000, seed=2, spec="a/b:C")
    assert CaseId.parse(str(case), 2, "a/b:C") == case
    with pytest.raises(MapbenchError, match="not a case name"):
        CaseId.parse("dict/insert/1000")


@pytest.mark.parametrize("missing", [None, math.nan, pd.NA, float("nan")])
def test_a_missing_size_has_one_key(missing: object) -> None:
    assert size_key(missing) == NO_SIZE
    row = {"map": "dict", "workload": "w", "size": missing, "key_kind": "", "params": ""}
    assert key(row) == ("dict", "w", NO_SIZE, "", "")


def test_sizes_key_as_ints_whatever_their_type() -> None:
    sizes = pd.Series([1000, None], dtype="Int64")
    keys = [key({"map": "m", "size": s}, ("map", "size")) for s in [*sizes, 1000.0]]
    assert keys == [("m", 1000), ("m", NO_SIZE), ("m", 1000)]
    assert all(isinstance(k[1], int) for k in keys)


def test_key_columns_are_columns_of_the_frame() -> None:
    assert set(KEY_COLUMNS) <= set(COLUMNS)


def test_identity_fields_without_a_column_go_into_params_unless_default() -> None:
    assert params_of(CaseId("dict", "insert", "random-int", 10)) == {}
    assert params_of(CaseId("dict", "insert", "random-int", 10, seed=4)) == {"seed": 4}


def test_the_results_reader_loads_no_measuring_machinery() -> None:
    code = (
        "import sys, mapbench.results, mapbench.compare, mapbench.case, mapbench.catalog\n"
        "heavy = ('mapbench.measure', 'mapbench.workloads', 'mapbench.registry', "
        "'mapbench.runner', 'pyperf')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _struct_fields(cls: type[msgspec.Struct]) -> list[tuple[str, object]]:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    return [(f.name, None if f.default is msgspec.NODEFAULT else f.default) for f in info.fields]
