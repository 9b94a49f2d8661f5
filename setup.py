"""Compiles the C hash tables in impls/csrc into `mapbench/impls/_cmap*.so` at build time.

The library has no Python C-API: `mapbench.impls.cmaps` loads it with ctypes. Everything else
about the package is declared in pyproject.toml.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import Extension, setup

CSRC = "impls/csrc"
# Every C file but the self-test's driver (built by `nox -s sanitize` and `nox -s valgrind`).
SOURCES = sorted(f"{CSRC}/{p.name}" for p in Path(CSRC).glob("*.c") if p.name != "selftest.c")

setup(
    ext_modules=[
        Extension(
            "mapbench.impls._cmap",
            sources=SOURCES,
            depends=[f"{CSRC}/cmap.h"],
            extra_compile_args=[] if sys.platform == "win32" else ["-std=c11", "-O2"],
        )
    ]
)
