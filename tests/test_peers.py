"""Peer maps and raw classes: registered with what they declare, unavailable with the reason,
adapted without an adapter of the user's, and cleaned up after."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mapbench.impls.peers import PEERS, Peer

from mapbench.cli import main
from mapbench.protocol import Persistent, semantics_of
from mapbench.registry import MapSpecError, parse_spec, registry


def test_every_peer_is_registered_available_or_with_a_reason() -> None:
    maps = registry()
    for peer in PEERS:
        info = maps[peer.name]
        assert info.source.startswith("peer")
        assert info.available == (peer.missing() is None), info.unavailable
        assert (
            info.available
            or "is not installed" in str(info.unavailable)
            or "needs Python" in str(info.unavailable)
        )


def test_a_missing_package_or_python_is_the_reason() -> None:
    absent = Peer("x", "hamt", "HamtMap", "no_such_package_xyz", "")
    assert absent.missing() == (
        "package 'no_such_package_xyz' is not installed (pip install 'mapbench[peers]')"
    )
    assert not absent.info().available
    future = Peer("y", "hamt", "HamtMap", "", "", min_python=(9, 0))
    assert future.missing() == "needs Python 9.0 or newer"


def test_peers_are_imported_only_when_created(tmp_path: Path) -> None:
    code = (
        "import sys; from mapbench.registry import registry; registry(); "
        "print(sorted(m for m in sys.modules if m.startswith('mapbench.impls.peers.') "
        "or m in ('lmdb', 'diskcache', 'pyrsistent', 'immutables')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("peer", [p.name for p in PEERS])
def test_persistent_peers_live_in_a_temporary_directory_removed_on_close(
    peer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = registry()[peer]
    if not info.available:
        pytest.skip(str(info.unavailable))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    m = info.create()
    items = {1: 1, "1": 2, b"1": 3} if semantics_of(m).mixed_key_types else {1: 1, 2: 2}
    m.update(items)
    assert {k: m[k] for k in m} == items
    if isinstance(m, Persistent):
        m.flush()
        assert Path(m.path).is_file() and Path(m.path).is_relative_to(tmp_path)
    m.close()
    assert list(tmp_path.iterdir()) == []


def test_a_raw_class_is_adapted_without_changing_its_instances() -> None:
    pytest.importorskip("sortedcontainers")
    from sortedcontainers import SortedDict

    m = parse_spec("sortedcontainers:SortedDict").create()
    assert isinstance(m, SortedDict) and type(m).__name__ == "SortedDict"
    assert type(m).__slots__ == ()  # no per-instance __dict__ added: same layout and size
    assert sys.getsizeof(m) == sys.getsizeof(SortedDict())
    declared = semantics_of(m)
    assert declared.key_types == (object,) and declared.mixed_key_types
    m.close()  # added: a no-op


class ItemsOnly:
    """Only the item methods, as the smallest raw class."""

    def __init__(self) -> None:
        self.data: dict[Any, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        return self.data[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self.data[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.data[key]

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self.data))


class Frozen:
    """A read-only mapping: it cannot be adapted."""

    def __getitem__(self, key: Any) -> Any:
        raise KeyError(key)

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[Any]:
        return iter(())


def make_plain_dict() -> dict[Any, Any]:
    return {}


def test_missing_methods_get_defaults_built_on_the_item_methods() -> None:
    m: Any = parse_spec(f"{__file__}:ItemsOnly").create()
    m.update({1: 1}, two=2)
    m.update([(3, 3)])
    assert (1 in m, 5 in m, m.get(5, "d"), m.get(3)) == (True, False, "d", 3)
    m.clear()
    assert len(m) == 0
    assert type(m).__mro__[1].__name__ == "ItemsOnly"  # the class itself, adapted
    m.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (f"{__file__}:Frozen", "is not a mutable mapping: it lacks __setitem__, __delitem__"),
        (f"{__file__}:make_plain_dict", "returned a dict, which lacks close"),
    ],
)
def test_what_cannot_be_adapted_says_why(spec: str, message: str) -> None:
    with pytest.raises(MapSpecError, match=message):
        parse_spec(spec).create()


def test_list_describes_a_raw_class(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sortedcontainers")
    assert main(["list", "--json", "--map", "sortedcontainers:SortedDict"]) == 0
    import json

    row = json.loads(capsys.readouterr().out)[-1]
    assert row["name"] == "sortedcontainers:SortedDict" and row["available"], row
    assert row["key_types"] == ["object"] and row["key_order"] == "none"
