"""Valgrind memcheck of the C maps (`nox -s valgrind`): no memory errors and no leaks in our code.

1. The C self-test (impls/csrc/selftest.c) under memcheck, built twice (SSE2 + mmap'd arrays, and
   scalar + malloc'd arrays): any error or leak fails. It includes impossible sizes and negative
   lengths.
2. Python driving every scheme through ctypes, and the allocation counter
   (mapbench.measure._pyalloc), under memcheck with PYTHONMALLOC=malloc: any error or lost block
   with either library on its stack fails. CPython's own reports (blocks it never
   frees at exit, and a few uninitialised-value warnings inside the interpreter) are not ours.

Exit status 0 when clean. Needs valgrind and a C compiler (`CC`, default `cc`).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from array import array
from pathlib import Path

CSRC = Path(__file__).resolve().parents[1] / "impls" / "csrc"
LIBRARY_SOURCES = sorted(p.name for p in CSRC.glob("*.c") if p.name != "selftest.c")
VALGRIND = ["valgrind", "--tool=memcheck", "--error-exitcode=99", "--leak-check=full"]


def exercise() -> None:
    """Every operation on every scheme: int-only tables first (the fast paths), then boxes
    (str/bytes keys, bytes values) that make them keep kind bytes, growth, deletes, impossible
    sizes, rejected lengths, and a map left to the GC."""
    import ctypes

    from mapbench.impls.cmaps import SCHEMES, CMap, library

    for scheme in SCHEMES:
        for options in ({}, {"incremental": False}) if scheme == "gobucket" else ({},):
            m = CMap(scheme, **options)  # type: ignore[arg-type]
            keys = array("q", range(10_000, 14_000))
            m.insert_many(keys, keys)
            for i in range(600):
                m[i] = i
            assert m[5] == 5 and 7 in m and m.get(-1) is None
            del m[5]
            m.layout()
            for i in range(600):
                m[f"s{i}"] = b"v" * (i % 40)
                m[b"b%d" % i] = -i
            for i in range(0, 600, 3):
                del m[i], m[f"s{i}"]
            assert m["s1"] == b"v" and m[b"b5"] == -5 and len(list(m)) == len(m)
            assert m.lookup_many(keys) == 4000 and m.delete_many(keys[::2]) == 2000
            m.reserve(5000)
            for n in (2**62, 2**48 + 1):
                try:
                    m.reserve(n)
                except MemoryError:
                    continue
                raise AssertionError(f"reserve({n}) succeeded")
            lib, h, out = library(), m._handle(), ctypes.c_int64()
            assert lib.cm_put(h, 3, -1, b"x", 1, 0, None) == -3
            assert lib.cm_get(h, 2, -5, b"x", ctypes.byref(out), None, 0) == -3
            assert lib.cm_del(h, 3, -1, b"x") == -3
            m.probe_stats()
            m.clear()
            m["again"] = b"x" * 300
            assert m["again"] == b"x" * 300
            m.close()
    unclosed = CMap("swiss")
    unclosed[b"k"] = b"v" * 100
    del unclosed
    gc.collect()
    count_allocations()


def count_allocations() -> None:
    """The allocation counter over every allocator call kind, and its refusal to be unwrapped."""
    import tracemalloc

    from mapbench.measure import _pyalloc
    from mapbench.measure.python_allocator import count

    grown: list[bytes] = []
    got = count(lambda: [grown.append(b"x" * i) for i in range(2000)] and bytearray(10**5))
    assert got.calls >= 2000 and got.bytes >= 10**5
    _pyalloc.start()
    tracemalloc.start()
    try:
        _pyalloc.stop()
    except RuntimeError:
        pass
    else:
        raise AssertionError("the counter let tracemalloc's hooks be removed")
    tracemalloc.stop()
    _pyalloc.stop()


def run_c_selftest(tmp: Path) -> bool:
    cc = os.environ.get("CC", "cc")
    ok = True
    for name, defines in (("default", []), ("scalar-malloc", ["-DCM_NO_SIMD", "-DCM_NO_MMAP"])):
        exe = tmp / f"selftest-{name}"
        sources = [str(CSRC / s) for s in ["selftest.c", *LIBRARY_SOURCES]]
        subprocess.run(
            [cc, "-std=c11", "-O1", "-g", *defines, "-o", str(exe), *sources], check=True
        )
        flags = ["--errors-for-leak-kinds=definite,indirect,possible", "--show-leak-kinds=all"]
        result = subprocess.run([*VALGRIND, *flags, str(exe)])
        print(f"C self-test ({name}) under memcheck: exit status {result.returncode}")
        ok = ok and result.returncode == 0
    return ok


def ours(error: ET.Element, libraries: tuple[str, ...]) -> bool:
    """An error with our code on its stack; a leak, when our code asked for the block. The
    allocation counter's hooks only hand blocks on: a leak through them is their caller's."""
    frames = [f for f in error.iter("frame") if "vgpreload" not in f.findtext("obj", "")]
    if (error.findtext("kind") or "").startswith("Leak_"):
        callers = [f for f in frames if f.findtext("fn") not in PASS_THROUGH]
        frames = callers[:1]
    return any(lib in f.findtext("obj", "") for f in frames for lib in libraries)


PASS_THROUGH = frozenset({"hook_malloc", "hook_calloc", "hook_realloc"})


def run_python_driver(tmp: Path) -> bool:
    from mapbench.impls.cmaps import _library_path

    from mapbench.measure import _pyalloc

    libraries = (_library_path().name, Path(_pyalloc.__file__ or "_pyalloc").name)
    xml = tmp / "python.xml"
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    cmd = [*VALGRIND, "--xml=yes", f"--xml-file={xml}", sys.executable, __file__, "--exercise"]
    result = subprocess.run(cmd, env=env)
    if result.returncode not in (0, 99):
        print(f"the Python driver failed with exit status {result.returncode}")
        return False
    errors = list(ET.parse(xml).getroot().iter("error"))
    bad = [
        f"{e.findtext('kind')}: {e.findtext('what') or e.findtext('xwhat/text')}"
        for e in errors
        if ours(e, libraries)
    ]
    print(
        f"Python driving the C maps and the allocation counter under memcheck: {len(bad)} "
        f"report(s) involving {' or '.join(libraries)}, "
        f"{len(errors) - len(bad)} about CPython itself (ignored)"
    )
    for line in bad:
        print("  " + line)
    return not bad


def main() -> int:
    if "--exercise" in sys.argv:
        exercise()
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        c_ok = run_c_selftest(Path(tmp))
        py_ok = run_python_driver(Path(tmp))
    return 0 if c_ok and py_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
