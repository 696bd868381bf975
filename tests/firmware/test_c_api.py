"""The generated C API and the kernels are defensive (model files are untrusted input), with real compilers:
invoke refuses NULL, misaligned and overlapping buffers with TQ_ERR_ARG; tensor names and file names cannot
break out of comments or strings; kernel contracts assert under -DTQ_ENABLE_ASSERT (and never fire on a
valid model); float -> int QUANTIZE is defined behaviour for NaN, +-inf and huge values."""
import subprocess
import sys
from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from tests.samples import MODELS, model_path
from tinyq.compiler import compile_model
from tinyq.emit.emitter import emit_sources
from tinyq.io import from_batch
from tinyq.lower.quantize import QuantizeCall
from tinyq.lower.shape import CopyCall
from tinyq.planner import plan_memory
from tinyq.program import Program, TensorInfo
from tinyq.resources import data_dir
from tinyq.sim.kernels.quantize import quantize as sim_quantize
from tinyq.sim.run import as_program, run_program
from tinyq.targets.build import build_project
from tinyq.targets.run import run_project
from tinyq.testing import SANITIZE, build_host_runner, library_objects, run_host_runner
from tinyq.verify import random_batches

FIRMWARE = data_dir("firmware")
# GCC's -fsanitize=undefined leaves out the float conversion and division checks: ask for them
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", *SANITIZE, "-fsanitize=float-cast-overflow",
          "-fsanitize=float-divide-by-zero", "-DTQ_ENABLE_ASSERT"]


def build_c(out: Path, sources, include_dirs=()) -> Path:
    """cc STRICT + the kernel library (compiled with STRICT once, tinyq.testing's object cache) -> out; fails the
    test with the compiler's output."""
    args = ["cc", *STRICT, "-I", FIRMWARE / "include", *(a for d in include_dirs for a in ("-I", d)), *sources,
            *library_objects(STRICT), "-o", out, "-lm"]
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return out


def run_c(exe: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=60,
                          env={"ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=1"})


# ---- invoke's argument checks --------------------------------------------------------------------

def copy_program() -> Program:
    """int16 in0 [1, 4] -> (arena) t -> out0, and in0 -> out1: an arena, two outputs, 2-byte alignment."""
    tensors = tuple(TensorInfo(i, name, (1, 4), "int16", 0.5, 0) for i, name in enumerate(["in0", "t", "out0", "out1"]))
    calls = (
        CopyCall("tq_copy", 0, "RESHAPE", (0,), (1,), bytes=8),
        CopyCall("tq_copy", 1, "RESHAPE", (1,), (2,), bytes=8),
        CopyCall("tq_copy", 2, "RESHAPE", (0,), (3,), bytes=8),
    )
    return Program(tensors, calls, (0,), (2, 3), "0" * 64)


API_HARNESS = r"""
#include <stdio.h>
#include <string.h>
#include "model.c" /* model_arena is static: including model.c lets the test aim pointers into it */

#define EXPECT(cond) do { if (!(cond)) { fprintf(stderr, "line %d: %s\n", __LINE__, #cond); return 1; } } while (0)

static const int16_t in0[4] = {1, -2, 300, -32768};
static int16_t buf[8] __attribute__((aligned(16)));
static uint8_t raw[32] __attribute__((aligned(16)));

static int untouched(void) {
    for (size_t i = 0; i < 8; ++i) if (buf[i] != 0x5A5A) return 0;
    return 1;
}

int main(void) {
    int16_t *out0 = buf, *out1 = buf + 4;
    const void *ins[1] = {in0};
    void *outs[2] = {out0, out1};
    memset(buf, 0x5A, sizeof buf);
    EXPECT(MODEL_ARENA_BYTES > 0);

    /* NULL arrays and pointers */
    EXPECT(model_invoke_v(NULL, outs) == TQ_ERR_ARG);
    EXPECT(model_invoke_v(ins, NULL) == TQ_ERR_ARG);
    EXPECT(model_invoke_v(NULL, NULL) == TQ_ERR_ARG);
    { const void *bad[1] = {NULL}; EXPECT(model_invoke_v(bad, outs) == TQ_ERR_ARG); }
    { void *bad[2] = {out0, NULL}; EXPECT(model_invoke_v(ins, bad) == TQ_ERR_ARG); }
    { void *bad[2] = {NULL, out1}; EXPECT(model_invoke_v(ins, bad) == TQ_ERR_ARG); }
    EXPECT(model_invoke(NULL, out0, out1) == TQ_ERR_ARG);
    EXPECT(model_invoke(in0, NULL, out1) == TQ_ERR_ARG);
    EXPECT(model_invoke(in0, out0, NULL) == TQ_ERR_ARG);

    /* outputs overlapping each other, an input or the arena; an input in the arena */
    EXPECT(model_invoke(in0, out0, out0) == TQ_ERR_ARG);
    EXPECT(model_invoke(in0, buf, buf + 3) == TQ_ERR_ARG);
    EXPECT(model_invoke(in0, buf + 3, buf) == TQ_ERR_ARG);
    EXPECT(model_invoke(buf + 1, buf + 4, (int16_t *)raw) == TQ_ERR_ARG);
    EXPECT(model_invoke(buf + 3, (int16_t *)raw, buf) == TQ_ERR_ARG);
    EXPECT(model_invoke(in0, (int16_t *)model_arena, out1) == TQ_ERR_ARG);
    EXPECT(model_invoke(in0, out0, (int16_t *)(model_arena + MODEL_ARENA_BYTES - 2)) == TQ_ERR_ARG);
    EXPECT(model_invoke((const int16_t *)(model_arena + MODEL_ARENA_BYTES - 2), out0, out1) == TQ_ERR_ARG);

    /* misaligned for int16_t */
    { void *bad[2] = {raw + 1, out1}; EXPECT(model_invoke_v(ins, bad) == TQ_ERR_ARG); }
    { const void *bad[1] = {raw + 1}; EXPECT(model_invoke_v(bad, outs) == TQ_ERR_ARG); }

    EXPECT(untouched()); /* a refused call wrote nothing */

    /* adjacent buffers do not overlap; the model then runs */
    EXPECT(model_invoke(in0, out0, out1) == TQ_OK);
    EXPECT(memcmp(out0, in0, sizeof in0) == 0 && memcmp(out1, in0, sizeof in0) == 0);
    memset(raw, 0, sizeof raw);
    EXPECT(model_invoke_v((const void *const[]){raw + 2}, (void *const[]){raw + 10, raw + 18}) == TQ_OK);
    puts("ok");
    return 0;
}
"""


@pytest.fixture(scope="module")
def api_runner(tmp_path_factory):
    d = tmp_path_factory.mktemp("api")
    program = copy_program()
    emit_sources(program, plan_memory(program), d / "src")
    (d / "api_test.c").write_text(API_HARNESS)
    return build_c(d / "api_test", [d / "api_test.c", d / "src" / "model_data.c"], [d / "src"])


def test_invoke_refuses_null_misaligned_and_overlapping_buffers(api_runner):
    p = run_c(api_runner)
    assert p.returncode == 0 and p.stdout == "ok\n", p.stdout + p.stderr


# ---- names from the model cannot break the generated C ------------------------------------------

# every trick at once (the trailing backslash last), and a name far beyond the length cap
NASTY = 'a/*b c*/d new\nline tri??/ quo"te \u00fcn\u00efcode ??=x* / * trail\\'
LONG = "x" * 300


def rename_tensors(buf: bytes) -> bytes:
    """The model with every tensor renamed (official schema's object API), its description nasty too."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.ModelT.InitFromPackedBuf(buf, 0)
    for k, t in enumerate(m.subgraphs[0].tensors):
        t.name = f"{LONG}{k}" if k % 3 == 2 else f"{k} {NASTY}"  # unique, so the reader keeps them as they are
    m.description = "desc */ \n ??/"
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.mark.slow
def test_nasty_names_compile_strictly_and_run(tmp_path):
    model = tmp_path / "we*\\ird\n??=na\"me?.tflite"  # the file name reaches the generated files too
    model.write_bytes(rename_tensors(model_path("tflm_hello_world_int8").read_bytes()))
    program = as_program(model)
    assert any("*/" in t.name for t in program.tensors)  # the names did reach the program
    compile_model(model, tmp_path / "host", board="host")
    for f in sorted((tmp_path / "host" / "src").glob("*.[ch]")):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            assert all(" " <= c <= "~" for c in line), f"{f.name}:{n} has a non-printable character: {line!r}"
            assert "??" not in line and not line.endswith("\\"), f"{f.name}:{n}: {line!r}"
    build_project(tmp_path / "host")  # the host board's -std=c99 -Wall -Wextra -Werror (-Wcomment, -Wtrigraphs)
    batches = random_batches(program, 8, seed=3)
    got = run_project(tmp_path / "host", [from_batch(x, program.tensor(i)) for x, i in zip(batches, program.inputs)])
    want = run_program(program, batches)
    for g, i in zip(got.arrays, program.outputs):
        np.testing.assert_array_equal(g, from_batch(want[i], program.tensor(i)))
    model_h = (tmp_path / "host" / "src" / "model.h").read_text()
    assert "Model: we* /ird_? ?=na'me?.tflite," in model_h  # sanitized, still recognisable


# ---- kernel contracts assert -------------------------------------------------------------------

ASSERT_HARNESS = r"""
#include "tinyq/tq_kernels.h"

int main(void) {
    static int8_t in[64], out[64];
    (void)in;
    (void)out;
    %s
    return 0;
}
"""
BAD_CALLS = {
    "conv stride 0": """static const int8_t filter[9] = {1};
        static const int32_t multiplier[1] = {1 << 30}, shift[1] = {0};
        tq_conv_params p = {.batches = 1, .input_height = 4, .input_width = 4, .input_depth = 1,
        .filter_height = 3, .filter_width = 3, .filter_input_depth = 1, .output_height = 2, .output_width = 2,
        .output_depth = 1, .stride_height = 0, .stride_width = 1, .dilation_height = 1, .dilation_width = 1,
        .act_min = -128, .act_max = 127, .multiplier = multiplier, .shift = shift, .filter = filter};
        tq_conv_s8(&p, in, out);""",
    "pool act_min > act_max": """tq_pool_params p = {.batches = 1, .input_h = 4, .input_w = 4, .depth = 1, .output_h = 2,
        .output_w = 2, .stride_h = 2, .stride_w = 2, .filter_h = 2, .filter_w = 2, .act_min = 10, .act_max = -10};
        tq_maxpool_s8(&p, in, out);""",
    "copy overlapping": "tq_copy_params p = {.bytes = 8}; tq_copy(&p, in, in + 4);",
    "relu NULL output": """tq_relu_params p = {.size = 4, .multiplier = 1 << 30, .act_min = -128, .act_max = 127};
        tq_relu_s8(&p, in, NULL);""",
    "prelu alpha NULL": """tq_prelu_params p = {.rank = 1, .shape = {4}, .input_stride = {1}, .alpha_stride = {1}};
        tq_prelu_s8(&p, in, NULL, out);""",
    "requantize shift 40": """tq_requantize_params p = {.size = 4, .multiplier = 1 << 30, .shift = 40};
        tq_requantize_s8_s8(&p, in, out);""",
}


@pytest.fixture(scope="module")
def assert_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("asserts")


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_kernel_contract_violations_assert(case, assert_dir):
    src = assert_dir / f"{case.replace(' ', '_')}.c"
    src.write_text(ASSERT_HARNESS % BAD_CALLS[case])
    p = run_c(build_c(src.with_suffix(""), [src]))
    assert p.returncode != 0 and "Assertion" in p.stderr, p.stderr


@pytest.mark.slow
@pytest.mark.parametrize("stem", MODELS)
def test_kernel_asserts_hold_on_real_models(stem, tmp_path):
    """Every supported shared model, host C with -DTQ_ENABLE_ASSERT under ASan/UBSan, equals the simulator."""
    program = as_program(model_path(stem))
    compile_model(model_path(stem), tmp_path / "host", board="host")
    runner = build_host_runner(tmp_path / "host", sanitize=True, extra_flags=("-DTQ_ENABLE_ASSERT",))
    batches = random_batches(program, 3, seed=7)
    want = run_program(program, batches)
    for g, i in zip(run_host_runner(tmp_path / "host", runner, batches), program.outputs):
        np.testing.assert_array_equal(g, want[i])


# ---- float -> int QUANTIZE: NaN, +-inf, huge values ---------------------------------------------

QUANTIZE_HARNESS = r"""
#include <stdio.h>
#include "tinyq/tq_quantize.h"

int main(void) {
    static float x[%(n)d];
    static int8_t y8[%(n)d];
    static int16_t y16[%(n)d];
    FILE *f = fopen("%(inp)s", "rb");
    if (f == NULL || fread(x, sizeof x, 1, f) != 1) return 2;
    fclose(f);
    const tq_quantize_params p8 = {%(n)d, %(scale)s, %(zp8)d}, p16 = {%(n)d, %(scale)s, %(zp16)d};
    if (tq_quantize_f32_s8(&p8, x, y8) != TQ_OK || tq_quantize_f32_s16(&p16, x, y16) != TQ_OK) return 3;
    f = fopen("%(out)s", "wb");
    if (f == NULL || fwrite(y8, sizeof y8, 1, f) != 1 || fwrite(y16, sizeof y16, 1, f) != 1) return 4;
    return fclose(f) == 0 ? 0 : 4;
}
"""


def test_quantize_is_defined_for_nan_inf_and_huge_values(tmp_path):
    from tinyq.emit.c_literals import c_float

    scale, zp8, zp16 = np.float32(0.0371), -3, 11
    rng = np.random.default_rng(0)
    special = np.array([np.nan, -np.nan, np.inf, -np.inf, 3.4e38, -3.4e38, 1e10, -1e10, 2.2e9, -2.2e9, 4.8e3,
                        -4.8e3, 1e-45, -0.0, 0.0], np.float32)
    ties = ((np.arange(-300, 300) + np.float32(0.5)) * scale).astype(np.float32)
    bits = rng.integers(0, 2**32, 4000, dtype=np.uint64).astype(np.uint32).view(np.float32)  # every exponent
    near = rng.uniform(-6, 6, 4000).astype(np.float32)
    x = np.concatenate([special, ties, bits, near]).astype(np.float32)
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    src = tmp_path / "q.c"
    src.write_text(QUANTIZE_HARNESS % dict(n=x.size, scale=c_float(scale), zp8=zp8, zp16=zp16,
                                           inp=tmp_path / "x.bin", out=tmp_path / "y.bin"))
    p = run_c(build_c(tmp_path / "q", [src]))
    assert p.returncode == 0, p.stderr
    data = (tmp_path / "y.bin").read_bytes()
    y8, y16 = np.frombuffer(data[: x.size], np.int8), np.frombuffer(data[x.size :], np.int16)

    for got, dtype, zp, kernel in ((y8, np.int8, zp8, "tq_quantize_f32_s8"), (y16, np.int16, zp16, "tq_quantize_f32_s16")):
        info = np.iinfo(dtype)
        nan = np.isnan(x)
        assert np.all(got[nan] == zp)  # NaN -> the zero point
        assert got[np.flatnonzero(x == np.inf)[0]] == info.max and got[np.flatnonzero(x == -np.inf)[0]] == info.min
        assert got[4] == info.max and got[5] == info.min  # +-3.4e38
        # finite values: round half away from zero of the float32 quotient (exact in float64), + zero point,
        # saturated (a quotient that overflows float32 is +-inf and saturates too)
        with np.errstate(over="ignore"):
            q = (x[~nan] / scale).astype(np.float32).astype(np.float64)
        want = np.clip(np.sign(q) * np.floor(np.abs(q) + 0.5) + zp, info.min, info.max)
        np.testing.assert_array_equal(got[~nan], want.astype(dtype))
        # and bit-identical with the simulator's kernel on every finite value
        call = QuantizeCall(kernel, 0, "QUANTIZE", (0,), (1,), size=int(x.size), scale=float(scale), output_offset=zp)
        np.testing.assert_array_equal(sim_quantize(call, x)[~nan], got[~nan])


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
