"""Maps with one bug each, as a plug-in author might write them: what the suite must catch.

Plain dict subclasses (the registry adapts them), kept in the package so that the tests and
`scripts/conform_catch_rate.py` copy one source into a directory of their own and run
`mapbench conform FILE:NAME` there. `Correct` is the control: it must pass.
"""

from __future__ import annotations

from typing import Any


class Correct(dict):  # type: ignore[type-arg]
    """No bug: a plain dict subclass (mapbench adds close() and the declarations)."""


class NoOpDelete(dict):  # type: ignore[type-arg]
    """del m[k] does nothing for a stored key."""

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise KeyError(key)


class OffByOneLen(dict):  # type: ignore[type-arg]
    """len() is one short once the map holds more than 8 keys."""

    def __len__(self) -> int:
        n = super().__len__()
        return n - 1 if n > 8 else n


class SkipsAKey(dict):  # type: ignore[type-arg]
    """Iteration leaves out the last key once the map holds more than 8 keys."""

    def __iter__(self) -> Any:
        keys = list(super().__iter__())
        return iter(keys[:-1] if len(keys) > 8 else keys)


def _text(key: Any) -> Any:
    return key.decode("latin-1") if isinstance(key, bytes) else key


class TextAndBytesOneKey(dict):  # type: ignore[type-arg]
    """Keys are stored as text, so 'x' and b'x' are one key."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(_text(key), value)

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(_text(key))

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(_text(key))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(_text(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(_text(key), default)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        for key, value in dict(other, **kwargs).items():
            self[key] = value


class DropsBigOverwrite(dict):  # type: ignore[type-arg]
    """An overwrite of an int key above 2**62 is silently dropped."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, int) and key > 2**62 and key in self:
            return
        super().__setitem__(key, value)


class DropsNearOverwrite(dict):  # type: ignore[type-arg]
    """An overwrite of an int key within 2**16 above 2**62 is dropped: rarer than the above
    (bulk inserts of keys spread over int64 miss it; only the int edge 2**62 + 1 hits it)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, int) and 2**62 < key < 2**62 + 2**16 and key in self:
            return
        super().__setitem__(key, value)


BUGS = (
    "NoOpDelete",
    "OffByOneLen",
    "SkipsAKey",
    "TextAndBytesOneKey",
    "DropsBigOverwrite",
    "DropsNearOverwrite",
)
