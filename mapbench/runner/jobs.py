"""One benchmark job (map x workload x key kind x size), as it travels to worker processes.

Every choice a worker needs is a command-line argument, never an environment variable: pyperf's
workers only inherit a few variables. The exception is PYTHONHASHSEED, which must be set before
the interpreter starts; it is passed both ways and the worker checks that they agree.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from mapbench.errors import MapbenchError
from mapbench.registry import parse_spec
from mapbench.workloads import Case, get_workload


class HashSeedError(MapbenchError):
    """A worker started without the PYTHONHASHSEED its job was planned with."""


@dataclass(frozen=True)
class Job:
    """What to measure; `label` is the name results are filed under, `spec` what to load."""

    label: str
    spec: str
    workload: str
    key_kind: str
    size: int
    seed: int = 0

    @property
    def name(self) -> str:
        """The pyperf benchmark name: "<map>/<workload>/<key_kind>/<size>"."""
        return f"{self.label}/{self.workload}/{self.key_kind}/{self.size}"

    def argv(self) -> list[str]:
        """The job as worker arguments (the inverse of `from_args`)."""
        return [
            f"--label={self.label}",
            f"--spec={self.spec}",
            f"--workload={self.workload}",
            f"--key-kind={self.key_kind}",
            f"--size={self.size}",
            f"--seed={self.seed}",
        ]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Job:
        return cls(args.label, args.spec, args.workload, args.key_kind, args.size, args.seed)

    def open_case(self) -> Case:
        """Build the workload's keys and first map (untimed)."""
        spec = parse_spec(self.spec)
        return get_workload(self.workload).prepare(spec.create, self.size, self.key_kind, self.seed)


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments `Job.argv()` produces, plus the hash seed the worker must run with."""
    parser.add_argument("--label", required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--key-kind", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hash-seed", required=True)


def hash_seed_argv(hash_seed: str) -> list[str]:
    return [f"--hash-seed={hash_seed}"]


def check_hash_seed(expected: str) -> None:
    """Refuse to measure under another hash seed than planned (str-key results depend on it)."""
    actual = os.environ.get("PYTHONHASHSEED", "")
    if actual != expected:
        raise HashSeedError(
            f"worker runs with PYTHONHASHSEED={actual or 'unset'}, planned {expected}"
        )


def absolute_spec(text: str) -> str:
    """`text` with a relative file path made absolute, so a worker in another directory finds it."""
    target, comma, options = text.strip().partition(",")
    where, colon, attr = target.rpartition(":")
    if colon and (where.endswith(".py") or "/" in where) and not Path(where).is_absolute():
        target = f"{Path(where).expanduser().absolute()}:{attr}"
    return target + comma + options
