/* The stretch of a process that callgrind counts: call(fn) calls fn() inside
 * mapbench_counted_call, and `valgrind --tool=callgrind --collect-atstart=no
 * --toggle-collect=mapbench_counted_call` collects instructions only while that function runs.
 * The process's start-up, imports, key building and result writing are left out, so the count
 * does not depend on what is on the interpreter's path or in its directory.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__GNUC__)
#define FOUND_BY_NAME __attribute__((noinline, used, visibility("default")))
#else
#define FOUND_BY_NAME
#endif

/* Not static and never inlined: callgrind finds it by this name in the symbol table. */
FOUND_BY_NAME PyObject *
mapbench_counted_call(PyObject *fn)
{
    return PyObject_CallNoArgs(fn);
}

static PyObject *
call(PyObject *module, PyObject *fn)
{
    (void)module;
    return mapbench_counted_call(fn);
}

static PyMethodDef methods[] = {
    {"call", call, METH_O, "fn(), inside the one function callgrind is told to count."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_counted",
    "Calls a function where callgrind (--toggle-collect) counts its instructions.", -1, methods,
};

PyMODINIT_FUNC
PyInit__counted(void)
{
    return PyModule_Create(&module_def);
}
