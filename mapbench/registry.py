"""Names to map factories: built-ins, the `mapbench.impls` entry-point group, and spec strings.

`parse_spec` resolves a spec string (grammar: `mapbench.spec`) to a factory and its options.
Everything is loaded on first use, not at import time.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

from mapbench import spec as _spec
from mapbench._adapt import adapt_made, adapted
from mapbench._child import USER_MODULE_PREFIX, describe_exception
from mapbench.errors import MapbenchError
from mapbench.protocol import Map
from mapbench.spec import MapSpecError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "mapbench.impls"

BUILTIN_MODULES = (
    "mapbench.impls.builtin_dict",
    "mapbench.impls.sharded",
    "mapbench.impls.cow",
    "mapbench.impls.syncmap",
    "mapbench.impls.locked",
    "mapbench.impls.cmaps",
    "mapbench.impls.mmap_map",
    "mapbench.impls.peers",
)


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
        """A new, empty map with the defaults overridden by `options`.

        A raw class (no `close()`, no declared types) is adapted with defaults: `mapbench._adapt`.
        """
        if self.factory is None or self.unavailable is not None:
            raise MapUnavailableError(f"map {self.name!r} is unavailable: {self.unavailable}")
        _check_options(self.name, self.factory, options)
        made = adapted(self.factory)(**{**self.defaults, **options})
        adapted_made: Map = (
            made if isinstance(self.factory, type) else adapt_made(self.factory, made)
        )
        return adapted_made


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
    """Every known map by name: built-ins first, then entry points (which cannot shadow them).

    This imports every plugin; `lookup` and `plugin_entry_points` import none or one.
    """
    maps = dict(builtin_maps())
    for ep in plugin_entry_points():
        maps[ep.name] = load_entry_point(ep)
    return MappingProxyType(maps)


@functools.cache
def builtin_maps() -> Mapping[str, MapInfo]:
    """The maps that ship with mapbench, by name."""
    return MappingProxyType(
        {info.name: info for module_name in BUILTIN_MODULES for info in _load_builtin(module_name)}
    )


def plugin_entry_points() -> list[EntryPoint]:
    """The third-party maps declared in the entry-point group, not yet imported.

    One named like a built-in, or like an earlier entry point, is left out (see
    `plugin_warnings`).
    """
    return _plugin_scan()[0]


def plugin_warnings() -> list[str]:
    """One line per entry point that is ignored because another map has its name."""
    return _plugin_scan()[1]


def _plugin_scan() -> tuple[list[EntryPoint], list[str]]:
    from importlib.metadata import entry_points  # on first use: it costs commands start-up

    taken = set(builtin_maps())
    kept: dict[str, EntryPoint] = {}
    warnings = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in taken or ep.name in kept:
            owner = "a built-in map" if ep.name in taken else entry_point_source(kept[ep.name])
            warnings.append(
                f"{entry_point_source(ep)} is ignored: {owner} is already called {ep.name!r}"
            )
            continue
        kept[ep.name] = ep
    return list(kept.values()), warnings


def load_entry_point(ep: EntryPoint) -> MapInfo:
    """Import one plugin; a plugin that fails to import (or exits) is unavailable, with why."""
    source = entry_point_source(ep)
    try:
        factory = ep.load()
    except (Exception, SystemExit) as exc:  # a broken plugin must not take mapbench down
        return MapInfo(ep.name, None, source=source, unavailable=describe_exception(exc))
    return MapInfo(ep.name, factory, _describe(factory), source=source)


def lookup(name: str) -> MapInfo | None:
    """The map registered as `name`, importing no plugin but its own; None if none is."""
    found = builtin_maps().get(name)
    if found is None:
        ep = next((e for e in plugin_entry_points() if e.name == name), None)
        found = load_entry_point(ep) if ep is not None else None
    return found


def known_names() -> list[str]:
    """Every registered name, built-ins first (no plugin is imported)."""
    return [*builtin_maps(), *(ep.name for ep in plugin_entry_points())]


def entry_point_source(ep: EntryPoint) -> str:
    """Where a plugin comes from, for people: its target and its distribution."""
    return f"entry point {ep.value}" + (f" ({ep.dist.name})" if ep.dist else "")


def _load_builtin(module_name: str) -> tuple[MapInfo, ...]:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        short = module_name.rsplit(".", 1)[-1]
        return (MapInfo(short, None, source="builtin", unavailable=describe_exception(exc)),)
    exported: tuple[MapInfo, ...] = module.MAPS
    return exported


def _describe(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.splitlines()[0] if doc else ""


def parse_spec(text: str) -> MapSpec:
    """Resolve a spec string (see `mapbench.spec`) or raise `MapSpecError`."""
    parsed = _spec.parse(text)
    if parsed.kind == "name":
        found = lookup(parsed.target)
        if found is None:
            names = ", ".join(sorted(known_names()))
            raise MapSpecError(
                f"unknown map {parsed.target!r}; known maps: {names} (or give module:callable)"
            )
        info = found
    else:
        info = _load_callable(parsed)
    options = dict(parsed.options)
    if info.factory is not None:
        _check_options(info.name, info.factory, options)
    return MapSpec(text=parsed.text, info=info, options=MappingProxyType(options))


def create(text: str) -> Map:
    """A new map from a spec string."""
    return parse_spec(text).create()


def _load_callable(parsed: _spec.SpecText) -> MapInfo:
    target = parsed.target
    where, _, attr = target.rpartition(":")
    try:
        module = _import_file(parsed.file) if parsed.file else importlib.import_module(where)
    except (Exception, SystemExit) as exc:
        hint = ""
        if (
            isinstance(exc, ModuleNotFoundError)
            and exc.name == where
            and Path(f"{where}.py").is_file()
        ):
            hint = f" (a file here: write ./{where}.py:{attr})"
        raise MapSpecError(
            f"cannot import {where!r} for map spec {target!r}: {describe_exception(exc)}{hint}"
        ) from exc
    factory = module
    for part in attr.split("."):
        factory = getattr(factory, part, None)  # type: ignore[assignment]
        if factory is None:
            raise MapSpecError(f"{where!r} has no attribute {attr!r} (map spec {target!r})")
    if not callable(factory):
        raise MapSpecError(f"{target!r} is not callable")
    return MapInfo(target, factory, _describe(factory), source="spec")


def _import_file(file: Path) -> ModuleType:
    path = file.resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    module_name = f"{USER_MODULE_PREFIX}{path.stem}_{abs(hash(str(path))):x}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]  # a module that failed to run is not loaded
        raise
    return module


def _check_options(name: str, factory: Callable[..., Any], options: Mapping[str, Any]) -> None:
    if not options:
        return
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a dict subclass: dict(**options) would fill the map
        given = ", ".join(sorted(options))
        raise MapSpecError(
            f"map {name!r} has no option {given}; options: none known (no signature to read)"
        ) from None
    params = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = {p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    unknown = sorted(set(options) - accepted)
    if unknown:
        allowed = ", ".join(sorted(accepted)) or "none"
        raise MapSpecError(f"map {name!r} has no option {', '.join(unknown)}; options: {allowed}")
