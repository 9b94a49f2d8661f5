"""Raw mapping classes made into maps: what a class lacks of the `Map` protocol gets a default.

`SortedDict`, `LRUCache` or a user's own `MutableMapping` need no adapter: the registry makes
a subclass (with `__slots__ = ()`, so instances keep their layout and size) that adds a no-op
`close()`, "any hashable" key and value types, and `get`, `__contains__`, `update` and `clear`
built on the item methods when the class lacks them. A class that does not define the item
methods themselves (an immutable mapping) cannot be adapted: it needs an adapter. A factory
function's product is adapted the same way (its class becomes the adapted subclass).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from mapbench._child import user_module_name
from mapbench.protocol import ANY, iter_update_items
from mapbench.spec import MapSpecError

# What a class must define itself to be used as a mutable map.
REQUIRED = ("__getitem__", "__setitem__", "__delitem__", "__len__", "__iter__")
_DEFAULT_TYPES = {"key_types": ANY, "value_types": ANY}


def _close(self: Any) -> None:
    """Nothing to release (added by mapbench: the class has no close())."""


def _update(self: Any, other: Iterable[Any] = (), /, **kwargs: Any) -> None:
    """Store every pair, as `dict.update` would (added by mapbench)."""
    for key, value in iter_update_items(other, **kwargs):
        self[key] = value


def _clear(self: Any) -> None:
    """Delete every key (added by mapbench)."""
    for key in list(self):
        del self[key]


_DEFAULT_METHODS: dict[str, Callable[..., Any]] = {
    "__contains__": MutableMapping.__contains__,
    "get": MutableMapping.get,
    "update": _update,
    "clear": _clear,
    "close": _close,
}


def adapted(factory: Callable[..., Any]) -> Callable[..., Any]:
    """`factory` itself, or for a class lacking parts of the map protocol, its adapted subclass."""
    return _adapt_class(factory) if isinstance(factory, type) else factory


def adapt_made(factory: Callable[..., Any], made: Any) -> Any:
    """What a (non-class) factory returned, adapted as its class would be: the object's class
    becomes the adapted subclass (same layout), or `MapSpecError` says why it cannot."""
    cls: type = type(made)
    try:
        target = _adapt_class(cls)
    except MapSpecError as exc:
        raise MapSpecError(f"{_name(factory)} returned a {cls.__name__}: {exc}") from None
    if target is not cls:
        try:
            made.__class__ = target
        except TypeError:  # a built-in type (dict, OrderedDict): its instances keep their class
            lacking = ", ".join(name for name in vars(target) if name in _EXTRAS)
            raise MapSpecError(
                f"{_name(factory)} returned a {cls.__name__}, which lacks {lacking} and whose "
                "instances cannot be given them (a built-in type): return an instance of a "
                f"subclass (class MyMap({cls.__name__}): pass), or name a class"
            ) from None
    return made


@functools.cache
def _adapt_class(cls: type) -> type:
    missing = [name for name in REQUIRED if not callable(getattr(cls, name, None))]
    if missing:
        raise MapSpecError(
            f"{_name(cls)} is not a mutable mapping: it lacks {', '.join(missing)} "
            "(an immutable mapping needs an adapter that keeps the current version)"
        )
    extras: dict[str, Any] = {
        name: method for name, method in _DEFAULT_METHODS.items() if not hasattr(cls, name)
    }
    extras.update({attr: value for attr, value in _DEFAULT_TYPES.items() if not hasattr(cls, attr)})
    if not extras:
        return cls
    namespace = {
        "__slots__": (),
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        **extras,
    }
    try:
        return types.new_class(cls.__name__, (cls,), exec_body=lambda ns: ns.update(namespace))
    except TypeError as exc:  # a final C type, a metaclass that refuses
        raise MapSpecError(f"cannot adapt {_name(cls)} (it lacks close()): {exc}") from exc


def _name(obj: object) -> str:
    module = getattr(obj, "__module__", None)
    module = module and user_module_name(module)
    name = getattr(obj, "__qualname__", type(obj).__name__)
    return f"{module}:{name}" if module else str(name)


_EXTRAS = (*_DEFAULT_METHODS, *_DEFAULT_TYPES)

__all__ = ["REQUIRED", "adapt_made", "adapted"]
