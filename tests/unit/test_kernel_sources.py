"""tinyq.targets.kernel_sources: a project compiles the kernel sources its generated code calls, transitively."""
from pathlib import Path

from tinyq.resources import data_dir
from tinyq.targets.kernel_sources import defines, needed_sources

LIB = {
    Path("a.c"): "tq_status tq_a_s8(const int8_t *x) {\n    return tq_b_s8(x);\n}\n",
    Path("b.c"): "static int tq_helper(int v) { return v; }\ntq_status tq_b_s8(const int8_t *x) {\n    return 0;\n}\n",
    Path("c.c"): "void tq_c(void) {\n    /* unlike tq_a_s8(), it calls nothing */\n}\n",
    Path("d.c"): "int8_t\ntq_d(void) {\n    tq_helper(1);\n}\n",  # its type on a line of its own
    Path("e.h"): "#define TQ_E() tq_c()\n",
}


def test_calls_are_followed_and_comments_call_nothing():
    assert needed_sources(LIB, ["x = tq_a_s8(in);"]) == {Path("a.c"), Path("b.c")}
    assert needed_sources(LIB, ["tq_c();"]) == {Path("c.c")}
    assert needed_sources(LIB, ["/* tq_a_s8(in) */ // tq_c()"]) == set()
    assert needed_sources(LIB, ["tq_helper(2);"]) == set()  # a static function is no entry point
    assert needed_sources(LIB, ["tq_d();"]) == {Path("d.c")}


def test_a_macro_in_a_header_is_a_caller():
    assert defines("#define TQ_E() tq_c()\n#define N 3 /* tq_a_s8() */\nint tq_b_s8(void);\n") == [
        "#define TQ_E() tq_c()", "#define N 3  "]
    assert needed_sources(LIB, defines(LIB[Path("e.h")])) == {Path("c.c")}


def test_every_public_kernel_has_one_source():
    """Each `tq_...` function the library defines is found in exactly one .c file (else a call could pick the
    wrong one), and every kernel the emitter may name is defined somewhere."""
    import re

    owners: dict[str, list[str]] = {}
    for src in (data_dir("firmware") / "src").glob("*.c"):
        for name in re.findall(r"^(?!static\b)(?:[A-Za-z_][\w \*]*?\b)?(tq_\w+)\(", src.read_text(), re.M):
            owners.setdefault(name, []).append(src.name)
    assert all(len(files) == 1 for files in owners.values()), {n: f for n, f in owners.items() if len(f) > 1}
    assert {"tq_conv_s8", "tq_fully_connected_s8", "tq_trace_tensor"} <= set(owners)
