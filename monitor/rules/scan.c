/* The two character loops of folding, in C: scan.py is the reference (read it first).
 *
 * Built by setup.py beside scan.py as the extension monitor.rules.scan, which Python
 * imports in preference to the .py file. Both functions return exactly what scan.py's
 * do; tests/rules/test_native.py and the fold tests hold them equal.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* What each ASCII character is to a scan: part of a token (a letter or a digit), a
 * space (what str.isspace() calls one: \t \n \v \f \r, \x1c to \x1f, " "), or
 * anything else, which joins two tokens when it stands alone between them. */
enum { OTHER = 0, TOKEN = 1, SPACE = 2 };
static unsigned char kinds[128];

static void
fill_kinds(void)
{
    for (int c = 0; c < 128; c++) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            kinds[c] = TOKEN;
        else if (c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31))
            kinds[c] = SPACE;
        else
            kinds[c] = OTHER;
    }
}

/* Append a new reference to a list, dropping it; -1 on failure. */
static int
append_new(PyObject *list, PyObject *item)
{
    if (item == NULL)
        return -1;
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed;
}

/* 0 when arg is a str ready to read; -1 with TypeError set otherwise. */
static int
check_str(PyObject *arg, const char *function)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s() takes a str, not %.100s", function,
                     Py_TYPE(arg)->tp_name);
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    return PyUnicode_READY(arg);  /* a no-op, deprecated, from 3.12 */
#else
    return 0;
#endif
}

static PyObject *
ascii_scan(PyObject *module, PyObject *arg)
{
    if (check_str(arg, "ascii_scan") < 0)
        return NULL;
    if (!PyUnicode_IS_ASCII(arg)) {
        PyErr_SetString(PyExc_ValueError, "ascii_scan() takes ASCII text");
        return NULL;
    }
    Py_ssize_t size = PyUnicode_GET_LENGTH(arg);
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(arg);
    PyObject *words = PyList_New(0);
    PyObject *joins = PyList_New(0);
    PyObject *plain = PyUnicode_New(size, 127);
    if (words == NULL || joins == NULL || plain == NULL)
        goto fail;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(plain);
    Py_ssize_t at = 0, count = 0;
    while (at < size) {
        if (kinds[text[at]] != TOKEN) {
            out[at++] = ' ';
            continue;
        }
        Py_ssize_t start = at;
        while (at < size && kinds[text[at]] == TOKEN) {
            out[at] = text[at];
            at++;
        }
        PyObject *word = PyUnicode_New(at - start, 127);
        if (word != NULL)
            memcpy(PyUnicode_1BYTE_DATA(word), text + start, at - start);
        if (append_new(words, word) < 0)
            goto fail;
        count++;
        /* One character that is neither a token's nor a space, then a token. */
        if (at + 1 < size && kinds[text[at]] == OTHER && kinds[text[at + 1]] == TOKEN) {
            if (append_new(joins, PyLong_FromSsize_t(count - 1)) < 0)
                goto fail;
        }
    }
    return Py_BuildValue("(NNN)", words, joins, plain);
fail:
    Py_XDECREF(words);
    Py_XDECREF(joins);
    Py_XDECREF(plain);
    return NULL;
}

static PyObject *
token_bounds(PyObject *module, PyObject *arg)
{
    if (check_str(arg, "token_bounds") < 0)
        return NULL;
    Py_ssize_t size = PyUnicode_GET_LENGTH(arg);
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    PyObject *starts = PyList_New(0);
    PyObject *ends = PyList_New(0);
    if (starts == NULL || ends == NULL)
        goto fail;
    Py_ssize_t at = 0;
    while (at < size) {
        if (PyUnicode_READ(kind, data, at) == ' ') {
            at++;
            continue;
        }
        if (append_new(starts, PyLong_FromSsize_t(at)) < 0)
            goto fail;
        while (at < size && PyUnicode_READ(kind, data, at) != ' ')
            at++;
        if (append_new(ends, PyLong_FromSsize_t(at)) < 0)
            goto fail;
    }
    return Py_BuildValue("(NN)", starts, ends);
fail:
    Py_XDECREF(starts);
    Py_XDECREF(ends);
    return NULL;
}

static PyMethodDef scan_methods[] = {
    {"ascii_scan", ascii_scan, METH_O,
     "ascii_scan(source) -> (words, joins, plain): see scan.py."},
    {"token_bounds", token_bounds, METH_O,
     "token_bounds(plain) -> (starts, ends): see scan.py."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT,
    "monitor.rules.scan",
    "The two character loops of folding, in C (scan.py is the reference).",
    -1,
    scan_methods,
};

PyMODINIT_FUNC
PyInit_scan(void)
{
    fill_kinds();
    return PyModule_Create(&scan_module);
}
