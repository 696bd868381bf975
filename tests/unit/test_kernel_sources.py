"""tinyq.targets.kernel_sources: a project compiles the kernel sources its generated code calls, transitively."""
from pathlib import Path

from tinyq.resources import data_dir
from tinyq.targets.kernel_sources import needed_sources

LIB = {
    Path("a.c"): "tq_status tq_a_s8(const int8_t *x) {\n    return tq_b_s8(x);\n}\n",
    Path("b.c"): "static int tq_helper(int v) { return v; }\ntq_status tq_b_s8(const int8_t *x) {\n    return 0;\n}\n",
    Path("c.c"): "void tq_c(void) {\n    /* unlike tq_a_s8(), it calls nothing */\n}\n",
    Path("d.c"): "int8_t\ntq_d(void) {\n    tq_helper(1);\n}\n",  # its type on a line of its own
    Path("include/tinyq/e.h"): "#define TQ_E() tq_c()\nvoid tq_a_s8(const int8_t *x);\n",
    Path("src/f.h"): "uint32_t tq_b_s8(const int8_t *x);\nstatic inline int g(void) {\n    return tq_d();\n}\n",
    Path("g.c"): '#include "f.h"\ntq_status tq_g(void) {\n    return g();\n}\n',
}


def test_calls_are_followed_and_comments_call_nothing():
    # calls are inside function bodies: indented (a name at column 0 is a definition or a prototype)
    assert needed_sources(LIB, ["    x = tq_a_s8(in);"]) == {Path("a.c"), Path("b.c")}
    assert needed_sources(LIB, ["    tq_c();"]) == {Path("c.c")}
    assert needed_sources(LIB, ["    /* tq_a_s8(in) */ // tq_c()"]) == set()
    assert needed_sources(LIB, ["tq_status tq_c(void);"]) == set()
    assert needed_sources(LIB, ["    tq_helper(2);"]) == set()  # a static function is no entry point
    assert needed_sources(LIB, ["    tq_d();"]) == {Path("d.c")}


def test_what_included_headers_call_is_called():
    """A header's macros and inline bodies call (a macro whether used or not); its prototypes do not (else every
    declared kernel would build)."""
    assert needed_sources(LIB, ['#include "tinyq/e.h"\n']) == {Path("c.c")}  # TQ_E, not the tq_a_s8 prototype
    assert needed_sources(LIB, ['#include "f.h"\n']) == {Path("d.c")}  # g()'s body, not the tq_b_s8 prototype
    assert needed_sources(LIB, ["    tq_g();"]) == {Path("g.c"), Path("d.c")}  # g.c -> f.h's g() -> tq_d


MACROS = {
    Path("w.c"): "#define BODIES(entry, body) \\\n    tq_status entry(void) { return body(); }\n"
                 "static tq_status fc(void) { return 0; }\nBODIES(tq_fc_wk_dsp, fc)\n",
    Path("p.c"): "#define OPS(op) \\\n    tq_status tq_##op##_s16_w4_dsp(void) { return tq_##op##_s16_w4(); }\n"
                 "OPS(conv)\nOPS(fully_connected)\n",
    Path("q.c"): "tq_status tq_conv_s16_w4(void) {\n    return 0;\n}\n",
    Path("r.c"): "tq_status tq_fully_connected_s16_w4(void) {\n    return 0;\n}\n",
    Path("s.c"): '__asm__(".global tq_core\\n" "tq_core:\\n" "bx lr\\n");\n',
    Path("t.c"): "static const tq_fn table[] = {tq_c};\n",
    Path("c.c"): LIB[Path("c.c")],
    Path("include/tinyq/tq_c.h"): "void tq_c(void);\n",
}


def test_names_macros_and_assembly_define_are_found():
    assert needed_sources(MACROS, ["    tq_fc_wk_dsp();"]) == {Path("w.c")}  # a macro's first argument
    # a pasted name: its own definition, and every name the pasted calls match
    assert needed_sources(MACROS, ["    tq_conv_s16_w4_dsp();"]) == {Path("p.c"), Path("q.c"), Path("r.c")}
    assert needed_sources(MACROS, ["    tq_core();"]) == {Path("s.c")}
    assert needed_sources(MACROS, [MACROS[Path("t.c")]]) == {Path("c.c")}  # passed by name, not called


def test_an_include_line_names_a_header_not_a_function():
    assert needed_sources(MACROS, ['#include "tinyq/tq_c.h"\n']) == set()


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
