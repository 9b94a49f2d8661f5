"""Compiles the package's C code at build time: the hash tables in impls/csrc into
`mapbench/impls/_cmap*.so` (no Python C-API: `mapbench.impls.cmaps` loads it with ctypes); and
two CPython extensions, the allocation counter `mapbench.measure._pyalloc` (it hooks Python's
allocator) and `mapbench.measure._counted` (the one function callgrind counts instructions in).
Everything else about the package is declared in pyproject.toml.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from setuptools import Extension, setup

CSRC = "impls/csrc"
# Every C file but the self-test's driver (built by `nox -s sanitize` and `nox -s valgrind`).
SOURCES = sorted(f"{CSRC}/{p.name}" for p in Path(CSRC).glob("*.c") if p.name != "selftest.c")
# The package records these with every result (mapbench.environment.build_info).
FLAGS = runpy.run_path(str(Path(__file__).parent / "mapbench" / "_cflags.py"))
COMPILE_ARGS = [] if sys.platform == "win32" else list(FLAGS["EXTRA_COMPILE_ARGS"])

setup(
    ext_modules=[
        Extension(
            "mapbench.impls._cmap",
            sources=SOURCES,
            depends=[f"{CSRC}/cmap.h"],
            extra_compile_args=COMPILE_ARGS,
        ),
        Extension(
            "mapbench.measure._pyalloc",
            sources=["mapbench/measure/_pyalloc.c"],
            extra_compile_args=COMPILE_ARGS,
        ),
        Extension(
            "mapbench.measure._counted",
            sources=["mapbench/measure/_counted.c"],
            extra_compile_args=COMPILE_ARGS,
        ),
    ]
)
