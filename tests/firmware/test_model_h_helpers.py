"""model.h's shape macros and quantize/dequantize helpers: a C program using them on KWS (int8 in and out) gets
tinyq's own quantization (tinyq.io.quantize_float, TFLite's QUANTIZE) and scale * (q - zero point) exactly."""
import numpy as np

from tests.firmware.test_c_api import build_c, run_c
from tests.samples import model_path
from tinyq.compiler import compile_model
from tinyq.io import quantize_float

STEM = "mlperf_kws_dscnn_int8"
REALS = [0.0, 0.5, -0.5, 1.25, -3.75, 1e-3, 100.0, -100.0, 0.123456, 7.77]

MAIN = r"""
#include <stdio.h>
#include "model.h"

int main(void) {
    static const float real[] = {%s};
    const int32_t n = (int32_t)(sizeof real / sizeof real[0]);
    int8_t q[sizeof real / sizeof real[0]];
    if (model_quantize_input0(real, q, n) != TQ_OK) return 3;
    printf("shape %%d %%d %%d %%d %%d rank %%d elements %%u out %%d %%d\n", MODEL_INPUT0_DIM0, MODEL_INPUT0_DIM1,
           MODEL_INPUT0_DIM2, MODEL_INPUT0_DIM3, 0, MODEL_INPUT0_RANK, (unsigned)MODEL_INPUT0_ELEMENTS,
           MODEL_OUTPUT0_DIM0, MODEL_OUTPUT0_DIM1);
    for (int32_t i = 0; i < n; i++) printf("q %%d\n", q[i]);
    int8_t all[256];
    float out[256];
    for (int i = 0; i < 256; i++) all[i] = (int8_t)(i - 128);
    if (model_dequantize_output0(all, out, 256) != TQ_OK) return 4;
    for (int i = 0; i < 256; i++) printf("r %%a\n", (double)out[i]);
    return 0;
}
"""


def test_shape_macros_and_helpers_equal_tinyq(tmp_path):
    r = compile_model(model_path(STEM), tmp_path / "m", board="host", project=False)
    src = tmp_path / "m" / "src"
    (tmp_path / "main.c").write_text(MAIN % ", ".join(f"{x!r}f" for x in REALS))
    p = run_c(build_c(tmp_path / "run", [tmp_path / "main.c", src / "model.c", src / "model_data.c"], [src]))
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    lines = p.stdout.splitlines()
    inp, out = r.program.tensor(r.program.inputs[0]), r.program.tensor(r.program.outputs[0])
    assert lines[0] == (f"shape {' '.join(map(str, inp.shape))} 0 rank {len(inp.shape)} elements {inp.size} "
                        f"out {out.shape[0]} {out.shape[1]}")
    got_q = [int(line.split()[1]) for line in lines if line.startswith("q ")]
    assert got_q == quantize_float(np.array(REALS, np.float32), inp.scale, inp.zero_point, "int8").tolist()
    got_r = np.array([float.fromhex(line.split()[1]) for line in lines if line.startswith("r ")], np.float32)
    want = np.float32(out.scale) * (np.arange(-128, 128) - out.zero_point).astype(np.float32)
    assert np.array_equal(got_r, want)
