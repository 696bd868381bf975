"""--io arena: the inputs and outputs are planned inside the arena. model.h says so; writing the input at
<prefix>_input_buffer() and invoking on the arena's own buffers gives the simulator's output exactly, with no
copy; a pointer into the arena that is not a tensor's own buffer is refused; levels refuse the option."""
import subprocess
import sys

import numpy as np
import pytest

from tests.firmware.test_c_api import build_c, run_c
from tests.samples import model_path
from tinyq.compiler import compile_model
from tinyq.errors import InputError
from tinyq.sim.run import as_program, run_program

STEM = "mlperf_ad_fc_autoencoder_int8"

MAIN = r"""
#include <stdio.h>
#include <string.h>
#include "model.h"

int main(void) {
    int8_t *in = (int8_t *)model_input_buffer(0);
    int8_t *out = (int8_t *)model_output_buffer(0);
    if (in == NULL || out == NULL || model_input_buffer(1) != NULL || model_output_buffer(1) != NULL) return 3;
    for (uint32_t i = 0; i < MODEL_INPUT0_BYTES; ++i) in[i] = (int8_t)((i * 37u + 11u) & 0xff);
    /* a pointer into the arena that is not the input's own buffer */
    if (model_invoke(in + 16, out) != TQ_ERR_ARG) return 4;
    if (model_invoke(in, out) != TQ_OK) return 5;
    printf("IO_IN_ARENA=%d\n", MODEL_IO_IN_ARENA);
    for (uint32_t i = 0; i < MODEL_OUTPUT0_BYTES; ++i) printf("%d\n", out[i]);
    return 0;
}
"""


def test_invoke_on_the_arena_buffers_equals_simulator(tmp_path):
    r = compile_model(model_path(STEM), tmp_path / "m", board="host", io="arena", project=False)
    assert r.plan.io_in_arena and r.plan.io_bytes == 0
    src = tmp_path / "m" / "src"
    assert "#define MODEL_IO_IN_ARENA 1" in (src / "model.h").read_text()
    (tmp_path / "main.c").write_text(MAIN)
    exe = build_c(tmp_path / "run", [tmp_path / "main.c", src / "model.c", src / "model_data.c"], [src])
    p = run_c(exe)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    lines = p.stdout.split()
    assert lines[0] == "IO_IN_ARENA=1"
    program = as_program(model_path(STEM))
    x = ((np.arange(program.tensor(program.inputs[0]).size) * 37 + 11) & 0xFF).astype(np.uint8).view(np.int8)
    want = run_program(program, [x.reshape(1, *program.tensor(program.inputs[0]).shape[1:])])[program.outputs[0]]
    assert np.array_equal(np.array(lines[1:], dtype=np.int64), want.astype(np.int64).ravel())


def test_caller_mode_is_stated_too(tmp_path):
    compile_model(model_path(STEM), tmp_path, board="host", project=False)
    assert "#define MODEL_IO_IN_ARENA 0" in (tmp_path / "src" / "model.h").read_text()


def test_levels_refuse_io_arena(tmp_path):
    with pytest.raises(InputError, match="--io arena: one model only"):
        compile_model([model_path(STEM)] * 2, tmp_path, board="host", io="arena")


def test_cli_reports_the_io_in_the_arena(tmp_path):
    p = subprocess.run([sys.executable, "-m", "tinyq.cli", "compile", str(model_path(STEM)), "--io", "arena", "-o",
                        str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "(inside the arena: --io arena)" in p.stdout
    bad = subprocess.run([sys.executable, "-m", "tinyq.cli", "compile", str(model_path(STEM)), "--io", "heap", "-o",
                          str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--io" in bad.stderr and "Traceback" not in bad.stderr
