"""A model with uint8 graph input and output (the converter's inference_input_type / inference_output_type =
tf.uint8: QUANTIZE uint8 -> int8, int8 convolutions, QUANTIZE int8 -> uint8) through the CLI: inspect and
model.h say uint8; simulate takes uint8 arrays and float data; the host runner, model.h's helpers and verify
on an emulated board agree with TFLM exactly."""
import json

import numpy as np
import pytest

from tests.ops.test_quantize import uint8_conv_model
from tinyq.cli import main
from tinyq.io import quantize_float
from tinyq.oracle import TflmReference

pytestmark = pytest.mark.slow

HELPERS = r"""
#include <stdio.h>
#include "model.h"

int main(void) {
    static const float real[] = {-1.0f, -0.001f, 0.0f, 0.001f, 0.0019607f, 0.25f, 0.5f, 0.999f, 1.0f, 3.0f};
    uint8_t q[10], all[256];
    float out[256];
    if (model_quantize_input0(real, q, 10) != TQ_OK) return 3;
    for (int i = 0; i < 10; i++) printf("q %d\n", q[i]);
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    if (model_dequantize_output0(all, out, 256) != TQ_OK) return 4;
    for (int i = 0; i < 256; i++) printf("r %a\n", (double)out[i]);
    return 0;
}
"""
REALS = np.array([-1.0, -0.001, 0.0, 0.001, 0.0019607, 0.25, 0.5, 0.999, 1.0, 3.0], np.float32)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("u8") / "conv_u8.tflite"
    path.write_bytes(uint8_conv_model())
    return path


def test_inspect_compile_simulate_run_on_host(model, tmp_path, capsys):
    from tests.firmware.test_c_api import build_c, run_c
    from tinyq.sim.run import as_program

    assert main(["inspect", str(model)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert any(s.startswith("input 0: '") and s.endswith("' uint8[1, 8, 8, 3] s=0.0039215 zp=0") for s in lines), text
    assert any(s.startswith("output 0: '") and "' uint8[1, 3, 3, 3] s=" in s for s in lines), text
    assert "5 of 5 ops supported" in text

    out = tmp_path / "host"
    assert main(["compile", str(model), "-o", str(out), "--board", "host"]) == 0
    header = (out / "src" / "model.h").read_text()
    assert "tq_status model_invoke(const uint8_t *input0, uint8_t *output0);" in header
    assert '" uint8[1, 8, 8, 3]; real = scale * (q - zero_point) */' in header and '" uint8[1, 3, 3, 3] */' in header
    assert "return tq_quantize_f32_u8(&p, real, q);" in header and "return tq_dequantize_u8_f32(&p, q, real);" in header

    program = as_program(model)
    inp, outp = program.tensor(program.inputs[0]), program.tensor(program.outputs[0])
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(6, 8, 8, 3), dtype=np.uint8)
    x[0] = 0
    x[1] = 255
    np.save(tmp_path / "x.npy", x)
    assert main(["simulate", str(model), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]) == 0
    y = np.load(tmp_path / "y.npy")
    want = TflmReference(model).run([x[:, None]], 1)[0].reshape(y.shape)
    assert y.dtype == np.uint8 and np.array_equal(y, want)

    real = rng.uniform(-0.2, 1.2, size=(4, 8, 8, 3)).astype(np.float32)  # float data: quantized into 0..255
    np.save(tmp_path / "real.npy", real)
    assert main(["simulate", str(model), "-i", str(tmp_path / "real.npy"), "-o", str(tmp_path / "yr.npy")]) == 0
    q = quantize_float(real, inp.scale, inp.zero_point, "uint8")
    want = TflmReference(model).run([q[:, None]], 1)[0].reshape(4, *outp.shape[1:])
    assert np.array_equal(np.load(tmp_path / "yr.npy"), want)

    assert main(["build", str(out)]) == 0
    assert main(["run", str(out), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "yc.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "yc.npy"), y)

    (tmp_path / "main.c").write_text(HELPERS)
    src = out / "src"
    p = run_c(build_c(tmp_path / "helpers", [tmp_path / "main.c", src / "model.c", src / "model_data.c"], [src]))
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    lines = p.stdout.splitlines()
    assert [int(s.split()[1]) for s in lines if s.startswith("q ")] == \
        quantize_float(REALS, inp.scale, inp.zero_point, "uint8").tolist()
    got = np.array([float.fromhex(s.split()[1]) for s in lines if s.startswith("r ")], np.float32)
    assert np.array_equal(got, np.float32(outp.scale) * (np.arange(256) - outp.zero_point).astype(np.float32))


@pytest.mark.firmware
def test_verify_on_an_emulated_board(model, tmp_path, capsys):
    report = tmp_path / "r.json"
    assert main(["verify", str(model), "--board", "mps2-an505", "-n", "12", "--json", str(report)]) == 0
    r = json.loads(report.read_text())
    assert r["ok"] and [c["candidate"] for c in r["comparisons"]] == \
        ["simulator", "host C (ASan+UBSan)", "firmware (mps2-an505, QEMU)"]
    assert "PASS" in capsys.readouterr().out
