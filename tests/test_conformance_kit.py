"""The kit's own machinery, in process: every broken map is caught by the guided programs alone
(the same programs every run, so the catch is deterministic), every correct one passes them, and
a failure reads as a clause, a short program, expected and got."""

from __future__ import annotations

import inspect
import sys
import time
import traceback
from pathlib import Path

import pytest

from mapbench.conformance import broken, correct
from mapbench.conformance._explore import (
    Failure,
    boundary_probes,
    clause_probes,
    search,
    size_probes,
)
from mapbench.conformance._program import _KIT, Step, observe, run, where_raised
from mapbench.conformance._shrink import shrink
from mapbench.conformance.assumptions import assume
from mapbench.registry import MapSpec, parse_spec
from mapbench.spec import MapSpecError


@pytest.fixture(scope="module")
def author_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example maps as an author's own files, outside any package."""
    path = tmp_path_factory.mktemp("author")
    for module in (broken, correct):
        (path / f"{module.__name__.rsplit('.', 1)[1]}.py").write_text(inspect.getsource(module))
    return path


def guided_failure(spec: MapSpec) -> Failure | None:
    """The first failure of the quick profile's guided programs (no random ones)."""
    assumed = assume(spec.create)
    for group in assumed.groups:
        for probes in (
            clause_probes(assumed, group),
            size_probes(group, 300),
            boundary_probes(assumed, group, 2**10, deep=False),
        ):
            found = search(spec.create, spec.label, assumed, iter(probes), None, 30.0)
            if found is not None:
                return found
    return None


# The clause each bug is reported under (what the failing step breaks, or what it aimed at).
CAUGHT_AS = {
    "NoOpDelete": "len",
    "OffByOneLen": "len",
    "SkipsAKey": "iter",
    "TextAndBytesOneKey": "colliding-hashes",  # "" and b"" hash alike
    "DropsBigOverwrite": "getitem",
    "DropsNearOverwrite": "getitem",
    "PopMissingReturnsNone": "pop-missing",
    "EqualKeysApart": "equal-keys",
    "OverwriteLostAt37": "getitem",
    "TombstoneLost": "colliding-hashes",  # a deleted key breaks its collision chain
    "ReadReordersIteration": "read-during-iteration",
    "ResizeLosesAKey": "len",
    "ShrinkLosesKeys": "len",
    "HashesCompared": "colliding-hashes",
    "InternsTextKeys": "setitem",
    "IterationYieldsDeleted": "iter",
    "StaleKeysView": "views",
    "GetIgnoresDefault": "get-default",
    "SetdefaultDoesNotStore": "len",
    "PopitemEmptyIndexError": "popitem",
    "FailedSetCountsKey": "failed-operation",
    "ContainsFalsyIsFalse": "contains",
    "ClearKeepsOverflow": "len",
    "UpdateIgnoresKeywords": "len",
    "EqComparesLen": "eq",
}
# Where str keys land depends on PYTHONHASHSEED, and with it which program first loses a key:
# in about one seed in forty, the first loss is among colliding int keys the setitem probe
# deleted, and the clause read off that program is theirs (checked over seeds 1-40).
ALSO_CAUGHT_AS = {"ShrinkLosesKeys": "colliding-hashes"}


def test_every_bug_has_its_expected_clause() -> None:
    assert set(CAUGHT_AS) == set(broken.BUGS)


@pytest.mark.parametrize("name", broken.BUGS)
def test_guided_programs_catch_every_broken_map(name: str, author_dir: Path) -> None:
    found = guided_failure(parse_spec(f"{author_dir}/broken.py:{name}"))
    assert found is not None, f"{name} passed the guided programs"
    message = found.message()
    clause = message.splitlines()[0].split(": ", 1)[0]
    assert clause in {CAUGHT_AS[name], ALSO_CAUGHT_AS.get(name)}, message
    assert "program (" in message and "  # <- fails here" in message, message
    assert "expected: " in message and "got: " in message, message
    assert "Traceback" not in message and "mapbench/conformance" not in message, message
    assert found.shrunk.finished and len(found.shrunk.program) <= 25, message


@pytest.mark.parametrize(
    "spec",
    [
        "broken.py:Correct",
        "broken.py:OpenAddressing",
        "correct.py:UserDictMap",
        "correct.py:LRUMap",
        "correct.py:make_user_dict",
        "collections:OrderedDict",
        "dict",
    ],
)
def test_guided_programs_pass_correct_maps(spec: str, author_dir: Path) -> None:
    text = f"{author_dir}/{spec}" if ".py:" in spec else spec
    found = guided_failure(parse_spec(text))
    assert found is None, found.message()


def test_a_sorted_map_as_given_is_tested_one_key_family_at_a_time() -> None:
    pytest.importorskip("sortedcontainers")
    spec = parse_spec("sortedcontainers:SortedDict")
    assumed = assume(spec.create)
    assert len(assumed.groups) == len(assumed.groups[0]) * len(assumed.groups) > 1
    assert "compared with each other" in assumed.describe()
    assert guided_failure(spec) is None


def test_the_rare_state_bug_shrinks_to_its_state(author_dir: Path) -> None:
    found = guided_failure(parse_spec(f"{author_dir}/broken.py:OverwriteLostAt37"))
    assert found is not None
    lines = found.message().splitlines()
    assert any("for i in range(0, 3" in line for line in lines), lines  # 36 or 37 keys first
    assert len(found.shrunk.program) <= 4


def test_shrinking_removes_every_step_the_failure_does_not_need(author_dir: Path) -> None:
    spec = parse_spec(f"{author_dir}/broken.py:PopMissingReturnsNone")
    noise = tuple(Step("set", (i, i)) for i in range(30))
    program = (*noise, Step(".pop", (99,)), *noise)
    first = run(spec.create, program, "none")
    assert first is not None and first.clause == "pop-missing"
    shrunk = shrink(lambda p: run(spec.create, p, "none"), program, first, time.monotonic() + 30)
    assert shrunk.finished and shrunk.program == (Step(".pop", (99,)),)


def test_shrinking_out_of_time_prints_the_unshrunk_program(author_dir: Path) -> None:
    spec = parse_spec(f"{author_dir}/broken.py:PopMissingReturnsNone")
    assumed = assume(spec.create)
    probes = iter(clause_probes(assumed, assumed.groups[0]))
    found = search(spec.create, spec.label, assumed, probes, None, shrink_seconds=0.0)
    assert found is not None and not found.shrunk.finished
    assert "NOT minimal: shrinking stopped at its limit" in found.message()


def test_a_factory_is_adapted_like_a_class(author_dir: Path) -> None:
    m = parse_spec(f"{author_dir}/correct.py:make_user_dict").create()
    m["k"] = 1
    assert m.get("k") == 1 and m.key_types == (object,)
    m.close()


def test_a_factory_returning_a_builtin_without_close_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "maps.py").write_text("def make():\n    return {}\n")
    with pytest.raises(MapSpecError, match=r"maps:make returned a dict, which lacks close"):
        parse_spec(f"{tmp_path}/maps.py:make").create()


def test_module_spec_of_a_file_here_hints_the_file_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "outside_map.py").write_text("def make():\n    return {}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    with pytest.raises(MapSpecError, match=r"\(a file here: write \./outside_map\.py:make\)"):
        parse_spec("outside_map:make")


def test_where_raised_names_the_innermost_frame_as_tracebacks_do(author_dir: Path) -> None:
    def as_traceback_names_it(exc: BaseException) -> str:
        frames = traceback.extract_tb(exc.__traceback__)
        if not frames or frames[-1].filename.startswith(_KIT):
            return ""
        last = frames[-1]
        return f"{Path(last.filename).name}:{last.lineno} in {last.name}"

    m = parse_spec(f"{author_dir}/broken.py:PopitemEmptyIndexError").create()
    calls = [
        m.popitem,  # raised in the map's own code, a few frames down
        lambda: m[object()],  # in the map's code, from dict's C code
        lambda: {}[1],  # by dict itself, called from here
        lambda: int("x"),
    ]
    errors = [observe(call).error for call in calls]
    assert all(error is not None for error in errors)
    wheres = [where_raised(error) for error in errors if error is not None]
    assert wheres == [as_traceback_names_it(error) for error in errors if error is not None]
    assert wheres[0].startswith("broken.py:") and wheres[0].endswith(" in popitem")
    assert where_raised(KeyError(1)) == ""  # never raised: no traceback
