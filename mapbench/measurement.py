"""The unit every collector produces and every result file stores: one number with its unit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# "noisy" numbers (times, pauses) need statistics to compare; "deterministic" ones (counts,
# probe lengths with a fixed seed) are compared exactly; "modelled" ones are computed from a
# model, not measured, and every output must say so.
Kind = Literal["noisy", "deterministic", "modelled"]


@dataclass(frozen=True)
class Measurement:
    """A named value with its unit, e.g. `Measurement("gc_pause_max", 0.0012, "s", "noisy")`."""

    name: str
    value: float
    unit: str
    kind: Kind = "noisy"
    samples: tuple[float, ...] = field(default=())
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["samples"] = list(self.samples)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measurement:
        return cls(
            name=str(data["name"]),
            value=float(data["value"]),
            unit=str(data["unit"]),
            kind=data.get("kind", "noisy"),
            samples=tuple(float(s) for s in data.get("samples", ())),
            note=str(data.get("note", "")),
        )
