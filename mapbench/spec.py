"""The map spec grammar, parsed in one place: `TARGET[,name=value...]`.

    sharded                      a registered name with its default options
    sharded,shards=8             ... with an option (values are Python literals, else strings)
    mypkg.mymod:make_map         a callable in an importable module (no packaging needed)
    ./my_map.py:MyMap,size=3     a callable in a Python file

Parsing is syntax only: nothing is imported. `mapbench.registry` resolves a parsed spec.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from mapbench.errors import MapbenchError

TargetKind = Literal["name", "module", "file"]


class MapSpecError(MapbenchError, ValueError):
    """A spec string that names no map, or cannot be parsed or loaded."""


@dataclass(frozen=True)
class SpecText:
    """A spec split into its target and options; `text` is the label results are filed under."""

    text: str
    target: str
    options: MappingProxyType[str, Any]

    @property
    def kind(self) -> TargetKind:
        """Whether the target is a registered name, `module:callable` or `file.py:callable`."""
        if ":" not in self.target:
            return "name"
        where = self.target.rpartition(":")[0]
        return "file" if where.endswith(".py") or "/" in where or "\\" in where else "module"

    @property
    def file(self) -> Path | None:
        """The Python file a `file.py:callable` target names, else None."""
        return Path(self.target.rpartition(":")[0]).expanduser() if self.kind == "file" else None

    def absolute(self) -> str:
        """The spec with a relative file path made absolute (for a worker in another directory)."""
        if self.file is None or self.file.is_absolute():
            return self.text
        attr = self.target.rpartition(":")[2]
        _, comma, options = self.text.partition(",")
        return f"{self.file.absolute()}:{attr}{comma}{options}"


def parse(text: str) -> SpecText:
    """Split `text` into target and options, or raise `MapSpecError` saying what is wrong."""
    text = text.strip()
    target, _, option_text = text.partition(",")
    target = target.strip()
    if not target:
        raise MapSpecError(f"empty map spec {text!r}")
    if ":" in target:
        where, _, attr = target.rpartition(":")
        if not where or not all(part.isidentifier() for part in attr.split(".")):
            raise MapSpecError(
                f"bad map spec {text!r}: expected module:callable or file.py:callable"
            )
    options: dict[str, Any] = {}
    if option_text or text.endswith(","):
        for item in option_text.split(","):
            name, eq, raw = (part.strip() for part in item.partition("="))
            if not eq or not name.isidentifier():
                raise MapSpecError(
                    f"bad option {item.strip()!r} in map spec {text!r}: expected name=value"
                )
            if name in options:
                raise MapSpecError(f"option {name!r} given twice in map spec {text!r}")
            options[name] = _literal(raw)
    return SpecText(text, target, MappingProxyType(options))


def _literal(raw: str) -> Any:
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw


__all__ = ["MapSpecError", "SpecText", "TargetKind", "parse"]
