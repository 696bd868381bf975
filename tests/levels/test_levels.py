"""Multi-level images (tinyq/levels) on the host: the C API of model.h, what the image stores once, the arena,
per-level I/O macros, and the refusals (incompatible levels, --level out of range, --layer with levels)."""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.test_c_api import build_c, run_c
from tests.modelkit import fc_model
from tests.samples import model_path
from tinyq.compiler import compile_model
from tinyq.errors import InputError
from tinyq.planner import plan_memory
from tinyq.testing import build_host_runner, run_host_runner
from tinyq.tflite_reader import read_model
from tinyq.lower import lower
from tinyq.sim.run import run_program
from tinyq.verify import random_batches

KWS = "mlperf_kws_dscnn_int8"


def two_fc(tmp_path):
    """Two FULLY_CONNECTED models with the same I/O shapes: different weights, different output scales."""
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(fc_model(seed=0).bytes())
    b.write_bytes(fc_model(seed=1, out_scale=0.2, n_out=4).bytes())
    return a, b


def test_two_levels_run_their_own_model_on_the_host(tmp_path):
    a, b = two_fc(tmp_path)
    r = compile_model([a, b], tmp_path / "img", board="host")
    runner = build_host_runner(tmp_path / "img", sanitize=True)
    for k, model in enumerate((a, b)):
        program = lower(read_model(model))
        batches = random_batches(program, 16, seed=k)
        want = run_program(program, batches)[program.outputs[0]]
        got = run_host_runner(tmp_path / "img", runner, batches, level=k)[0]
        assert np.array_equal(got, want)
    assert r.plan.arena_bytes == max(plan_memory(lv.program).arena_bytes for lv in r.levels)


def test_model_h_has_the_level_api_and_per_level_io_macros(tmp_path):
    a, b = two_fc(tmp_path)
    compile_model([a, b], tmp_path / "img", board="host", prefix="kws")
    h = (tmp_path / "img" / "src" / "model.h").read_text()
    for decl in ("tq_status kws_set_level(unsigned level);", "unsigned kws_level(void);",
                 "tq_status kws_invoke_level(unsigned level, const int8_t *input0, int8_t *output0);",
                 "tq_status kws_invoke_level_v(unsigned level, const void *const *inputs, void *const *outputs);",
                 "#define KWS_NUM_LEVELS 2u"):
        assert decl in h
    assert re.search(r"#define KWS_INPUT0_SCALE ", h)  # the same in both levels: one macro
    assert not re.search(r"#define KWS_OUTPUT0_SCALE ", h)  # different: only per level, so misuse does not compile
    assert "#define KWS_L0_OUTPUT0_SCALE 0x1.99999a0000000p-4f" in h  # float32(0.1)
    assert "#define KWS_L1_OUTPUT0_SCALE 0x1.99999a0000000p-3f" in h  # float32(0.2)
    assert "#define KWS_L0_WEIGHT_BYTES" in h and "#define KWS_L1_ARENA_BYTES" in h


C_TEST = r"""
#include <stdio.h>
#include <string.h>
#include "model.h"

int main(void) {
    static int8_t in[MODEL_INPUT0_BYTES], a[MODEL_OUTPUT0_BYTES], b[MODEL_OUTPUT0_BYTES];
    for (unsigned i = 0; i < sizeof in; i++) in[i] = (int8_t)(i * 37u);
    if (model_level() != 0u) return 1;
    if (model_set_level(MODEL_NUM_LEVELS) != TQ_ERR_ARG || model_level() != 0u) return 2;
    if (model_set_level(~0u) != TQ_ERR_ARG || model_level() != 0u) return 3;
    if (model_invoke_level(MODEL_NUM_LEVELS, in, a) != TQ_ERR_ARG) return 4;
    if (model_set_level(1u) != TQ_OK || model_level() != 1u) return 5;
    if (model_invoke(in, a) != TQ_OK || model_invoke_level(1u, in, b) != TQ_OK) return 6;
    if (memcmp(a, b, sizeof a) != 0) return 7;       /* invoke runs the current level */
    if (model_invoke_level(0u, in, b) != TQ_OK || model_level() != 1u) return 8;  /* and leaves it */
    if (memcmp(a, b, sizeof a) == 0) return 9;       /* the levels are different models */
    if (model_invoke_level(1u, in, NULL) != TQ_ERR_ARG) return 10;
    puts("ok");
    return 0;
}
"""


def test_c_api_switches_and_refuses_out_of_range_levels(tmp_path):
    a, b = two_fc(tmp_path)
    compile_model([a, b], tmp_path / "img", board="host", project=False)
    src = tmp_path / "img" / "src"
    (tmp_path / "test.c").write_text(C_TEST)
    exe = build_c(tmp_path / "test", [tmp_path / "test.c", src / "model.c", src / "model_data.c"], [src])
    p = run_c(exe)
    assert p.returncode == 0 and p.stdout == "ok\n", (p.returncode, p.stderr)


def test_identical_constants_are_stored_once(tmp_path):
    kws = model_path(KWS)
    one = compile_model(kws, tmp_path / "one", board="host", project=False)
    two = compile_model([kws, kws], tmp_path / "two", board="host", project=False)
    assert two.plan.weight_bytes == one.plan.weight_bytes
    data = (tmp_path / "two" / "src" / "model_data.c").read_text()
    assert "model_l1_" not in data  # every level-1 array is level 0's
    assert two.plan.arena_bytes == one.plan.arena_bytes


def test_levels_with_different_io_are_refused(tmp_path):
    a = tmp_path / "a.tflite"
    a.write_bytes(fc_model().bytes())
    wide = tmp_path / "wide.tflite"
    wide.write_bytes(fc_model(n_out=5).bytes())
    with pytest.raises(InputError, match=r"level 1 \(wide.tflite\): output 0 'y' is int8\[1, 5\] but level 0 "
                                         r"\(a.tflite\) has int8\[1, 4\]"):
        compile_model([a, wide], tmp_path / "x", board="host")
    assert not (tmp_path / "x").exists()


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinyq.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_cli_errors_for_levels(tmp_path):
    a, b = two_fc(tmp_path)
    wide = tmp_path / "wide.tflite"
    wide.write_bytes(fc_model(n_in=17).bytes())
    p = cli("compile", a, wide, "--out", tmp_path / "bad")
    assert p.returncode == 2 and p.stderr.startswith("tinyq: error: level 1 (wide.tflite): input 0 'x' is int8[1, 17]")
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = cli("compile", a, b, "--out", tmp_path / "img", "--layer", "0=int4")
    assert p.returncode == 2 and "--layer names a layer of one model" in p.stderr
    assert cli("compile", a, b, "--out", tmp_path / "img").returncode == 0
    np.save(tmp_path / "in.npy", np.zeros((2, 16), np.int8))
    p = cli("run", tmp_path / "img", "-i", tmp_path / "in.npy", "-o", tmp_path / "out.npy", "--level", "2")
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == "tinyq: error: --level 2: level 2 is out of range: this project has 2 levels (0 to 1)"
    p = cli("run", tmp_path / "img", "-i", tmp_path / "in.npy", "-o", tmp_path / "out.npy", "--level", "1")
    assert p.returncode == 0, p.stderr
    assert "at level 1 (b.tflite)" in p.stdout
    single = tmp_path / "single"
    assert cli("compile", a, "--out", single).returncode == 0
    p = cli("run", single, "-i", tmp_path / "in.npy", "-o", tmp_path / "out.npy", "--level", "1")
    assert p.returncode == 2 and "holds one model" in p.stderr


def test_a_corrupt_level_gets_the_readers_error_naming_its_file(tmp_path):
    a, _ = two_fc(tmp_path)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(a.read_bytes()[:100])
    p = cli("compile", a, bad, "--out", tmp_path / "img")
    assert p.returncode == 2 and p.stderr.startswith(f"tinyq: error: {bad}") and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "img").exists()
    p = cli("verify", a, bad)
    assert p.returncode == 2 and f"{bad}" in p.stderr and "Traceback" not in p.stderr
