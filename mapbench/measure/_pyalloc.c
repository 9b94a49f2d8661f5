/* Counts the calls to Python's allocator domains (raw, mem, object) between start() and stop().
 *
 * A hook installed with PyMem_SetAllocator, wrapping each domain's allocator as tracemalloc
 * does: no profile hook, so CPython never materialises a frame object for the counter and the
 * counts are those of the measured code alone. Calls and bytes are counted for malloc, calloc
 * and realloc that succeed (a realloc counts its new size, calloc nelem * elsize, saturated at
 * SIZE_MAX); free is passed through. The raw domain may be called without the GIL, so every
 * counter is atomic. stop() restores the allocators it wrapped, and refuses if someone else
 * (tracemalloc started inside the block) has wrapped them since.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DOMAINS 3
static const PyMemAllocatorDomain domain_of[DOMAINS] = {
    PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ,
};

/* The allocator each domain had before start(); a hook's ctx points at its domain's entry. */
static PyMemAllocatorEx previous[DOMAINS];
static atomic_ullong calls[DOMAINS];
static atomic_ullong bytes[DOMAINS];
static int installed;

static void
count(PyMemAllocatorEx *prev, size_t size)
{
    ptrdiff_t d = prev - previous;
    atomic_fetch_add_explicit(&calls[d], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&bytes[d], (unsigned long long)size, memory_order_relaxed);
}

static void *
hook_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *prev = ctx;
    void *p = prev->malloc(prev->ctx, size);
    if (p != NULL) {
        count(prev, size);
    }
    return p;
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *prev = ctx;
    void *p = prev->calloc(prev->ctx, nelem, elsize);
    if (p != NULL) {
        size_t total = (elsize != 0 && nelem > SIZE_MAX / elsize) ? SIZE_MAX : nelem * elsize;
        count(prev, total);
    }
    return p;
}

static void *
hook_realloc(void *ctx, void *ptr, size_t new_size)
{
    PyMemAllocatorEx *prev = ctx;
    void *p = prev->realloc(prev->ctx, ptr, new_size);
    if (p != NULL) {
        count(prev, new_size);
    }
    return p;
}

static void
hook_free(void *ctx, void *ptr)
{
    PyMemAllocatorEx *prev = ctx;
    prev->free(prev->ctx, ptr);
}

static PyObject *
start(PyObject *module, PyObject *unused)
{
    if (installed) {
        PyErr_SetString(PyExc_RuntimeError, "the allocation counter is already running");
        return NULL;
    }
    for (int d = 0; d < DOMAINS; d++) {
        atomic_store(&calls[d], 0);
        atomic_store(&bytes[d], 0);
        PyMem_GetAllocator(domain_of[d], &previous[d]);
    }
    for (int d = 0; d < DOMAINS; d++) {
        PyMemAllocatorEx hook = {&previous[d], hook_malloc, hook_calloc, hook_realloc, hook_free};
        PyMem_SetAllocator(domain_of[d], &hook);
    }
    installed = 1;
    Py_RETURN_NONE;
}

static PyObject *
stop(PyObject *module, PyObject *unused)
{
    if (!installed) {
        PyErr_SetString(PyExc_RuntimeError, "the allocation counter is not running");
        return NULL;
    }
    for (int d = 0; d < DOMAINS; d++) {
        PyMemAllocatorEx now;
        PyMem_GetAllocator(domain_of[d], &now);
        if (now.malloc != hook_malloc || now.ctx != &previous[d]) {
            PyErr_SetString(PyExc_RuntimeError,
                            "another allocator hook (tracemalloc?) was installed over the "
                            "allocation counter: stop it first");
            return NULL;
        }
    }
    /* Read before restoring: nothing below is counted. */
    unsigned long long c[DOMAINS], b[DOMAINS];
    for (int d = 0; d < DOMAINS; d++) {
        c[d] = atomic_load(&calls[d]);
        b[d] = atomic_load(&bytes[d]);
    }
    for (int d = 0; d < DOMAINS; d++) {
        PyMem_SetAllocator(domain_of[d], &previous[d]);
    }
    installed = 0;
    return Py_BuildValue("((KK)(KK)(KK))", c[0], b[0], c[1], b[1], c[2], b[2]);
}

static PyObject *
running(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(installed);
}

static PyMethodDef methods[] = {
    {"start", start, METH_NOARGS, "Install the counting hooks and zero the counts."},
    {"stop", stop, METH_NOARGS,
     "Remove the hooks; ((calls, bytes) of the raw, mem and object domains)."},
    {"running", running, METH_NOARGS, "Whether the counting hooks are installed."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_pyalloc",
    "Counts calls to Python's allocator domains without a profile hook.", -1, methods,
};

PyMODINIT_FUNC
PyInit__pyalloc(void)
{
    return PyModule_Create(&module_def);
}
