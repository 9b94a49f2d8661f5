"""Names to map factories: built-ins, the `mapbench.impls` entry-point group, and spec strings.

A spec string names a map and its options, comma-separated:

    sharded                      a registered map with its default options
    sharded,shards=8             ... with an option (values are Python literals, else strings)
    mypkg.mymod:make_map         a callable in an importable module (no packaging needed)
    ./my_map.py:MyMap,size=3     a callable in a Python file

Everything is loaded on first use, not at import time.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

from mapbench.errors import MapbenchError
from mapbench.protocol import Map

ENTRY_POINT_GROUP = "mapbench.impls"

BUILTIN_MODULES = (
    "mapbench.impls.builtin_dict",
    "mapbench.impls.sharded",
    "mapbench.impls.cow",
    "mapbench.impls.cmaps",
    "mapbench.impls.mmap_map",
)


class MapSpecError(MapbenchError, ValueError):
    """A spec string that names no map, or cannot be parsed or loaded."""


class MapUnavailableError(MapbenchError, RuntimeError):
    """A known map that cannot be created here (missing build or dependency)."""


@dataclass(frozen=True)
class MapInfo:
    """One named map: how to create it, where it came from, and whether it works here."""

    name: str
    factory: Callable[..., Map] | None
    description: str = ""
    source: str = "builtin"
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    unavailable: str | None = None

    @property
    def available(self) -> bool:
        return self.factory is not None and self.unavailable is None

    def create(self, **options: Any) -> Map:
        """A new, empty map with the defaults overridden by `options`."""
        if self.factory is None or self.unavailable is not None:
            raise MapUnavailableError(f"map {self.name!r} is unavailable: {self.unavailable}")
        _check_options(self.name, self.factory, options)
        return self.factory(**{**self.defaults, **options})


def unavailable(name: str, reason: str, description: str = "") -> MapInfo:
    """A placeholder entry for a map whose build or dependency is missing."""
    return MapInfo(name=name, factory=None, description=description, unavailable=reason)


@dataclass(frozen=True)
class MapSpec:
    """A parsed spec string: the map and the options to create it with."""

    text: str
    info: MapInfo
    options: Mapping[str, Any]

    @property
    def label(self) -> str:
        """The name results are filed under: the spec as given, options included."""
        return self.text

    def create(self) -> Map:
        return self.info.create(**self.options)


@functools.cache
def registry() -> Mapping[str, MapInfo]:
    """Every known map by name: built-ins first, then entry points (which cannot shadow them)."""
    maps: dict[str, MapInfo] = {}
    for module_name in BUILTIN_MODULES:
        for info in _load_builtin(module_name):
            maps[info.name] = info
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in maps:
            continue
        source = f"entry point {ep.value}" + (f" ({ep.dist.name})" if ep.dist else "")
        try:
            factory = ep.load()
        except Exception as exc:  # a broken third-party package must not hide the others
            maps[ep.name] = MapInfo(ep.name, None, source=source, unavailable=_reason(exc))
            continue
        maps[ep.name] = MapInfo(ep.name, factory, _describe(factory), source=source)
    return MappingProxyType(maps)


def _load_builtin(module_name: str) -> tuple[MapInfo, ...]:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        short = module_name.rsplit(".", 1)[-1]
        return (MapInfo(short, None, source="builtin", unavailable=_reason(exc)),)
    exported: tuple[MapInfo, ...] = module.MAPS
    return exported


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _describe(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.splitlines()[0] if doc else ""


def parse_spec(text: str) -> MapSpec:
    """Resolve a spec string (see the module docstring) or raise `MapSpecError`."""
    target, _, option_text = text.strip().partition(",")
    if not target:
        raise MapSpecError(f"empty map spec {text!r}")
    options = _parse_options(text, option_text)
    known = registry()
    if target in known:
        info = known[target]
    elif ":" in target:
        info = _load_callable(target)
    else:
        names = ", ".join(sorted(known))
        raise MapSpecError(f"unknown map {target!r}; known maps: {names} (or give module:callable)")
    if info.factory is not None:
        _check_options(info.name, info.factory, options)
    return MapSpec(text=text.strip(), info=info, options=MappingProxyType(options))


def create(text: str) -> Map:
    """A new map from a spec string."""
    return parse_spec(text).create()


def _parse_options(text: str, option_text: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in option_text.split(","))):
        key, eq, raw = item.partition("=")
        if not eq or not key.strip().isidentifier():
            raise MapSpecError(f"bad option {item!r} in map spec {text!r}: expected name=value")
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip()
        options[key.strip()] = value
    return options


def _load_callable(target: str) -> MapInfo:
    where, _, attr = target.rpartition(":")
    try:
        module = _import_target(where)
    except Exception as exc:
        raise MapSpecError(f"cannot import {where!r} for map spec {target!r}: {exc}") from exc
    factory = module
    for part in attr.split("."):
        factory = getattr(factory, part, None)  # type: ignore[assignment]
        if factory is None:
            raise MapSpecError(f"{where!r} has no attribute {attr!r} (map spec {target!r})")
    if not callable(factory):
        raise MapSpecError(f"{target!r} is not callable")
    return MapInfo(target, factory, _describe(factory), source="spec")


def _import_target(where: str) -> ModuleType:
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        module_name = f"mapbench_user_{path.stem}_{abs(hash(str(path))):x}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(where)


def _check_options(name: str, factory: Callable[..., Any], options: Mapping[str, Any]) -> None:
    if not options:
        return
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    params = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = {p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    unknown = sorted(set(options) - accepted)
    if unknown:
        allowed = ", ".join(sorted(accepted)) or "none"
        raise MapSpecError(f"map {name!r} has no option {', '.join(unknown)}; options: {allowed}")
