"""A small map package in a scratch git repository, as a map author's project: one pure-Python
map (`toymaps:PyMap`) and one compiled C-extension map (`toymaps:CMap`), and the commits the
end-to-end tests measure (one slows the C map's lookups without allocating, one makes every
insert into the Python map allocate one more object)."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

GIT = [
    "git",
    "-c",
    "user.name=toymaps",
    "-c",
    "user.email=toy@invalid",
    "-c",
    "commit.gpgsign=false",
]

FILES = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "toymaps"
        version = "1.0"
        requires-python = ">=3.10"

        [tool.setuptools]
        packages = ["toymaps"]
    """,
    "setup.py": """
        from setuptools import Extension, setup

        setup(ext_modules=[Extension("toymaps._cmap", ["src/cmap.c"])])
    """,
    "README.md": "toymaps: two maps\\n",
    "toymaps/__init__.py": '''
        """Two maps: PyMap in Python, CMap in C."""

        from toymaps._cmap import CMap
        from toymaps.pymap import PyMap

        __all__ = ["CMap", "PyMap"]
    ''',
    "toymaps/pymap.py": '''
        """A map written in Python over a dict."""

        from collections.abc import Iterator
        from typing import Any


        class PyMap:
            """A dict-backed map in pure Python."""

            def __init__(self) -> None:
                self._items: dict[Any, Any] = {}

            def __getitem__(self, key: Any) -> Any:
                return self._items[key]

            def __setitem__(self, key: Any, value: Any) -> None:
                self._items[key] = value

            def __delitem__(self, key: Any) -> None:
                del self._items[key]

            def __len__(self) -> int:
                return len(self._items)

            def __iter__(self) -> Iterator[Any]:
                return iter(self._items)

            def __contains__(self, key: object) -> bool:
                return key in self._items
    ''',
    "src/cmap.c": r"""
        #define PY_SSIZE_T_CLEAN
        #include <Python.h>

        /* Extra work per lookup: a volatile counter the compiler cannot remove. */
        #define LOOKUP_SPIN 0

        typedef struct { PyObject_HEAD PyObject *items; } CMap;

        static int cmap_init(CMap *self, PyObject *args, PyObject *kwds) {
            static char *names[] = {NULL};
            if (!PyArg_ParseTupleAndKeywords(args, kwds, "", names)) return -1;
            Py_XSETREF(self->items, PyDict_New());
            return self->items ? 0 : -1;
        }
        static int cmap_traverse(CMap *self, visitproc visit, void *arg) {
            Py_VISIT(self->items);
            return 0;
        }
        static int cmap_clear(CMap *self) { Py_CLEAR(self->items); return 0; }
        static void cmap_dealloc(CMap *self) {
            PyObject_GC_UnTrack(self);
            cmap_clear(self);
            Py_TYPE(self)->tp_free((PyObject *)self);
        }
        static Py_ssize_t cmap_len(CMap *self) { return PyDict_Size(self->items); }
        static PyObject *cmap_get(CMap *self, PyObject *key) {
            for (volatile unsigned spin = 0; spin < LOOKUP_SPIN; spin++) {}
            PyObject *value = PyDict_GetItemWithError(self->items, key);
            if (value == NULL) {
                if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, key);
                return NULL;
            }
            return Py_NewRef(value);
        }
        static int cmap_set(CMap *self, PyObject *key, PyObject *value) {
            if (value == NULL) return PyDict_DelItem(self->items, key);
            return PyDict_SetItem(self->items, key, value);
        }
        static int cmap_contains(CMap *self, PyObject *key) {
            return PyDict_Contains(self->items, key);
        }
        static PyObject *cmap_iter(CMap *self) { return PyObject_GetIter(self->items); }

        static PyMappingMethods cmap_mapping = {
            (lenfunc)cmap_len, (binaryfunc)cmap_get, (objobjargproc)cmap_set,
        };
        static PySequenceMethods cmap_sequence = {.sq_contains = (objobjproc)cmap_contains};

        static PyTypeObject CMapType = {
            PyVarObject_HEAD_INIT(NULL, 0)
            .tp_name = "toymaps._cmap.CMap",
            .tp_doc = "A map in C over a dict.",
            .tp_basicsize = sizeof(CMap),
            .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
            .tp_new = PyType_GenericNew,
            .tp_init = (initproc)cmap_init,
            .tp_dealloc = (destructor)cmap_dealloc,
            .tp_traverse = (traverseproc)cmap_traverse,
            .tp_clear = (inquiry)cmap_clear,
            .tp_as_mapping = &cmap_mapping,
            .tp_as_sequence = &cmap_sequence,
            .tp_iter = (getiterfunc)cmap_iter,
        };

        static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cmap", NULL, -1, NULL};

        PyMODINIT_FUNC PyInit__cmap(void) {
            if (PyType_Ready(&CMapType) < 0) return NULL;
            PyObject *m = PyModule_Create(&module);
            if (m == NULL) return NULL;
            if (PyModule_AddObjectRef(m, "CMap", (PyObject *)&CMapType) < 0) {
                Py_DECREF(m);
                return NULL;
            }
            return m;
        }
    """,
}

# The changes the tests look for, as (file, old text, new text).
SLOW_LOOKUPS = ("src/cmap.c", "#define LOOKUP_SPIN 0", "#define LOOKUP_SPIN 400")
# Each value kept in a one-item list: one more object per entry, so more bytes net per insert.
ALLOCATING_INSERTS = (
    "toymaps/pymap.py",
    "        self._items[key] = value\n",
    "        self._items[key] = [value]\n",
)
WRAPPED_LOOKUPS = ("toymaps/pymap.py", "return self._items[key]\n", "return self._items[key][0]\n")
# A map that only commit 6 and later have.
EXTRA_MAP = {
    "toymaps/extra.py": '''
        """A map added later."""

        from toymaps.pymap import PyMap


        class ExtraMap(PyMap):
            """PyMap under another name."""
    ''',
}
MAPS = ("toymaps:PyMap", "toymaps:CMap")


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    done = subprocess.run(
        [*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    )
    return done.stdout.strip()


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def change(repo: Path, edit: tuple[str, str, str]) -> None:
    name, old, new = edit
    text = (repo / name).read_text()
    assert old in text, f"{old!r} not in {name}"
    (repo / name).write_text(text.replace(old, new, 1))


def commit(repo: Path, n: int, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=f"2026-01-{n:02d}T12:00:00+00:00")
    return git(repo, "rev-parse", "HEAD")


def make_history(repo: Path, second: Callable[[Path], object] | None = None) -> list[str]:
    """Nine commits: 1 the maps; 2 docs, or whatever `second` commits (the walkthrough's
    `mapbench init`, tagged v1.0); 3, 4 docs; 5 slow CMap lookups (v1.1); 6 docs (v1.2); 7 PyMap
    values wrapped in lists, more bytes per insert (v1.3); 8 a new map, toymaps.extra:ExtraMap;
    9 docs. Four commits before the slowdown: with fewer, `mapbench history`'s kernel method
    cannot tell a step from noise (docs/your-project.md). Returns the hashes, oldest first."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text("build/\n*.egg-info/\n__pycache__/\n.asv/\n.mapbench-ci/\n")
    write(repo, FILES)
    commits = [commit(repo, 1, "toymaps: PyMap and CMap")]
    for n in range(2, 10):
        if n == 2 and second is not None:
            second(repo)
            commits.append(git(repo, "rev-parse", "HEAD"))
            continue
        if n == SLOW_AT:
            change(repo, SLOW_LOOKUPS)
        elif n == ALLOC_AT:
            change(repo, ALLOCATING_INSERTS)
            change(repo, WRAPPED_LOOKUPS)
        elif n == EXTRA_AT:
            write(repo, EXTRA_MAP)
        else:
            (repo / "README.md").write_text(f"toymaps: two maps (revision {n})\n")
        commits.append(commit(repo, n, f"commit {n}"))
        if n in TAGS:
            git(repo, "tag", TAGS[n])
    return commits


SLOW_AT, ALLOC_AT, EXTRA_AT = 5, 7, 8
TAGS = {SLOW_AT: "v1.1", SLOW_AT + 1: "v1.2", ALLOC_AT: "v1.3"}
