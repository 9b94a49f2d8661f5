"""The conformance kit: the suite every map passes, for what it declares, installed with mapbench.

`mapbench conform SPEC...` runs it; so does `pytest --map SPEC` from any directory (the pytest
plugin in `mapbench.conformance.plugin`, registered as a `pytest11` entry point). The suite's
modules are `test_mapping` (declared types, errors, capabilities), `test_contract` (the
mapping contract clause by clause, as programs run on the map and on `dict`: `clauses` names
the clauses, `keys` the keys, `_program`, `_shrink` and `_explore` the machinery),
`test_stateful` (random programs against `dict` as the oracle, hypothesis), `test_threads`
(thread-safe maps lose no update) and `test_stress` (the same under deletes, re-inserts and
racing writers). `broken` and `correct` hold example maps the kit must catch and pass.
Profiles: `plugin.Profile`.
"""

from __future__ import annotations

from pathlib import Path

SUITE_MODULES = ("test_mapping", "test_contract", "test_stateful", "test_threads", "test_stress")
DEEP_BUDGET = 60.0  # seconds of the deep random search per map
# What the suite's modules import besides each other (`mapbench conform` imports them before
# pytest starts, so that pytest rewrites the asserts of the suite's modules only).
SUITE_IMPORTS = (
    "hypothesis",
    "hypothesis.stateful",
    "hypothesis.strategies",
    "mapbench.conformance.plugin",
    "mapbench.conformance._declared",
    "mapbench.conformance._explore",
    "mapbench.conformance.assumptions",
    "mapbench.conformance.keys",
    "mapbench.measure",
    "mapbench.measure.probes",
    "mapbench.protocol",
    "mapbench.registry",
)


def suite_paths() -> list[str]:
    """The files of the suite, as pytest arguments."""
    here = Path(__file__).resolve().parent
    return [str(here / f"{name}.py") for name in SUITE_MODULES]


__all__ = ["DEEP_BUDGET", "SUITE_IMPORTS", "SUITE_MODULES", "suite_paths"]
