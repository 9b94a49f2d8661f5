"""Compiles the C hash tables in impls/csrc into `mapbench/impls/_cmap*.so` at build time.

The library has no Python C-API: `mapbench.impls.cmaps` loads it with ctypes. Everything else
about the package is declared in pyproject.toml.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from setuptools import Extension, setup

CSRC = "impls/csrc"
SOURCES = [f"{CSRC}/{name}.c" for name in ("cmap", "open", "gobucket", "swiss")]
# The package records these with every result (mapbench.environment.build_info).
FLAGS = runpy.run_path(str(Path(__file__).parent / "mapbench" / "_cflags.py"))

setup(
    ext_modules=[
        Extension(
            "mapbench.impls._cmap",
            sources=SOURCES,
            depends=[f"{CSRC}/cmap.h"],
            extra_compile_args=[] if sys.platform == "win32" else list(FLAGS["EXTRA_COMPILE_ARGS"]),
        )
    ]
)
