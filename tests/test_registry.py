"""The registry: built-ins, entry points, spec strings, options and unavailable maps."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapbench.protocol import ThreadSafe, capabilities_of
from mapbench.registry import MapSpecError, MapUnavailableError, parse_spec, registry, unavailable

USER_MAP = textwrap.dedent(
    '''
    """A user's own map, kept outside any package."""
    from collections import UserDict

    class LoggingMap(UserDict):
        """A UserDict that counts writes."""
        key_types = (object,)
        value_types = (object,)

        def __init__(self, prefix="x"):
            super().__init__()
            self.prefix = prefix
            self.writes = 0

        def __setitem__(self, key, value):
            self.writes += 1
            super().__setitem__(key, value)

        def close(self):
            pass
    '''
)


@pytest.fixture
def user_map_file(tmp_path: Path) -> Path:
    path = tmp_path / "outside_repo" / "user_map.py"
    path.parent.mkdir()
    path.write_text(USER_MAP)
    return path


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    registry.cache_clear()
    yield
    registry.cache_clear()


def test_builtins_are_registered_with_capabilities() -> None:
    maps = registry()
    for name in ("dict", "sharded", "cow"):
        assert maps[name].available, maps[name].unavailable
        assert maps[name].source == "builtin"
    sharded = parse_spec("sharded").create()
    assert isinstance(sharded, ThreadSafe)
    assert capabilities_of(parse_spec("cow").create()) == ("dict-backed", "thread-safe", "snapshot")
    assert capabilities_of(parse_spec("dict").create()) == ()


def test_options_override_defaults() -> None:
    spec = parse_spec("sharded, shards=4")
    m = spec.create()
    assert spec.label == "sharded, shards=4"
    assert len(m.shard_sizes()) == 4  # type: ignore[attr-defined]
    assert len(parse_spec("sharded").create().shard_sizes()) == 32  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nosuchmap", "unknown map 'nosuchmap'; known maps: "),
        ("sharded,shards", "expected name=value"),
        ("sharded,size=3", "has no option size"),
        ("", "empty map spec"),
        ("no_such_module_xyz:Map", "cannot import 'no_such_module_xyz'"),
        ("collections:NoSuchThing", "has no attribute 'NoSuchThing'"),
        ("/nonexistent/dir/m.py:Map", "no such file"),
    ],
)
def test_bad_specs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(MapSpecError, match=message.replace("(", r"\(")):
        parse_spec(text)


def test_bad_option_value_is_reported() -> None:
    with pytest.raises(ValueError, match="shards must be a positive integer"):
        parse_spec("sharded,shards=0").create()


def test_spec_from_a_file_outside_the_repo(user_map_file: Path) -> None:
    spec = parse_spec(f"{user_map_file}:LoggingMap,prefix='p'")
    m = spec.create()
    m["a"] = 1
    assert m["a"] == 1
    assert m.writes == 1  # type: ignore[attr-defined]
    assert m.prefix == "p"  # type: ignore[attr-defined]
    assert spec.info.source == "spec"


def test_unavailable_map_explains_why() -> None:
    info = unavailable("c-thing", "shared library not built: run pip install .")
    assert not info.available
    with pytest.raises(MapUnavailableError, match="shared library not built"):
        info.create()


def test_entry_point_maps_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None
) -> None:
    (tmp_path / "thirdparty_maps.py").write_text(USER_MAP + "\ndef broken():\n    pass\n")
    dist = tmp_path / "thirdparty_maps-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-maps\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[mapbench.impls]\n"
        "logging = thirdparty_maps:LoggingMap\n"
        "missing = thirdparty_maps_absent:Map\n"
        "dict = thirdparty_maps:LoggingMap\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    maps = registry()
    assert maps["logging"].available
    assert "thirdparty-maps" in maps["logging"].source
    assert maps["logging"].description == "A UserDict that counts writes."
    assert not maps["missing"].available
    assert "ModuleNotFoundError" in (maps["missing"].unavailable or "")
    assert maps["dict"].source == "builtin", "an entry point must not shadow a built-in"


def test_user_map_passes_the_conformance_suite(user_map_file: Path) -> None:
    # Run from outside the checkout so that only the installed mapbench is importable.
    tests_dir = Path(__file__).parent
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            str(tests_dir / "test_conformance.py"),
            str(tests_dir / "test_conformance_contract.py"),
            "--map", f"{user_map_file}:LoggingMap",
        ],
        capture_output=True, text=True, timeout=300, cwd=user_map_file.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout
