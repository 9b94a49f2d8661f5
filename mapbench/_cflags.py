"""The flags setup.py adds when it compiles the C library: written once, recorded with results."""

EXTRA_COMPILE_ARGS = ("-std=c11", "-O2")
