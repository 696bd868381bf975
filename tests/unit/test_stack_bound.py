"""The builder's stack bound (firmware/platform/builder/stack_bound.py) on real GCC call graphs: the deepest sum
of frames, indirect calls charged the deepest function of their object, and no bound for recursion or a
dynamic frame."""
import importlib.util
import subprocess

import pytest

from tinyq.resources import data_dir

_spec = importlib.util.spec_from_file_location("stack_bound", data_dir("firmware") / "platform" / "builder" / "stack_bound.py")
stack_bound = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stack_bound)

A = r"""
#include <string.h>
typedef int (*fn)(int);
static int small(int x) { volatile int a[20]; a[0] = x; return a[0] * x; }
static int big(int x) { volatile int b[100]; b[0] = x; return b[0] * x * x; }
int leaf(int);
int pick(int x, char *d, const char *s) { fn f = x ? small : big; memcpy(d, s, (size_t)x); return f(x) + leaf(x); }
"""
B = r"""
int leaf(int x) { volatile int c[8]; c[0] = x; return c[0]; }
int pick(int, char *, const char *);
int model_invoke_v(int x) { char d[64]; return pick(x, d, "abc"); }
int rec(int x) { volatile int r[4]; r[0] = x; return x ? rec(x - 1) + r[0] : 0; }
int vla(int n) { volatile char v[n]; v[0] = 1; return v[0]; }
"""


def _graphs(tmp_path):
    (tmp_path / "a.c").write_text(A)
    (tmp_path / "b.c").write_text(B)
    for name in ("a", "b"):
        subprocess.run(["gcc", "-O1", "-c", "-fstack-usage", "-fcallgraph-info=su", f"{name}.c"], cwd=tmp_path,
                       check=True, capture_output=True)
    frames = {}
    for su in ("a.su", "b.su"):
        for line in (tmp_path / su).read_text().splitlines():
            where, size, _ = line.split("\t")
            frames[where.rsplit(":", 1)[-1]] = int(size)
    return [str(tmp_path / "a.ci"), str(tmp_path / "b.ci")], frames


def test_deepest_path_with_indirect_and_external_calls(tmp_path):
    ci, f = _graphs(tmp_path)
    got, why = stack_bound.bound(ci, lambda name: name == "model_invoke_v")
    # invoke -> pick -> (big through the pointer: the deepest of a.c | memcpy, charged | leaf)
    want = f["model_invoke_v"] + f["pick"] + max(f["big"], f["small"], stack_bound.EXTERNAL_BYTES, f["leaf"])
    want += stack_bound.ASM_BYTES  # assembly statements' own pushes, charged once
    assert why is None and got == want


def test_recursion_and_dynamic_frames_have_no_bound(tmp_path):
    ci, _ = _graphs(tmp_path)
    assert stack_bound.bound(ci, lambda name: name == "rec") == (None, "rec is recursive")
    assert stack_bound.bound(ci, lambda name: name == "vla") == (None, "vla has a dynamic stack frame")
    assert stack_bound.bound(ci, lambda name: name == "absent") == (None, "no entry function in the call graph")
