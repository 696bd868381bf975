"""tinyq verify: passes on a good model, and on a planted bug names the first diverging call."""
import dataclasses
import json
import re

import numpy as np
import pytest

from tests.samples import model_path
from tinyq.cli import main
from tinyq.compiler import compile_model
from tinyq.sim.run import as_program
from tinyq.verify import _host_divergence, _tflm_divergence, random_batches

AD = "mlperf_ad_fc_autoencoder_int8"  # ten FULLY_CONNECTED layers


def test_verify_host_passes_and_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["verify", str(model_path(AD)), "--board", "host", "-n", "20", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["ok"] is True and report["samples"] == 20
    assert [c["candidate"] for c in report["comparisons"]] == ["simulator", "host C (ASan+UBSan)"]
    assert "PASS" in capsys.readouterr().out


def test_simulator_divergence_is_located():
    program = as_program(model_path(AD))
    calls = list(program.calls)
    calls[4] = dataclasses.replace(calls[4], output_offset=calls[4].output_offset + 3)  # plant a bug in call 4
    broken = dataclasses.replace(program, calls=tuple(calls))
    sample = random_batches(program, 1, seed=5)
    msg = _tflm_divergence(model_path(AD), broken, sample)
    assert msg is not None and msg.startswith("first diverging call 4: layer 4 FULLY_CONNECTED")


def test_host_c_divergence_is_located(tmp_path):
    program = as_program(model_path(AD))
    compile_model(model_path(AD), tmp_path / "host", board="host")
    model_c = tmp_path / "host" / "src" / "model.c"
    text = model_c.read_text()
    # plant a bug in call 6's parameters only
    block = re.search(r"model_c6_params = \{.*?\};", text, re.S).group(0)
    model_c.write_text(text.replace(block, re.sub(r"\.output_offset = (-?\d+)", lambda m: f".output_offset = {int(m.group(1)) + 1}", block)))
    msg = _host_divergence(tmp_path / "host", program, random_batches(program, 1, seed=2))
    assert msg is not None and msg.startswith("first diverging call 6: layer 6 FULLY_CONNECTED"), msg


def test_verify_on_a_real_board_needs_it_attached(capsys):
    """No ST-LINK on this machine: one line before any stage runs (tests/firmware/test_real_boards.py runs the
    real-board path against QEMU's STM32F405 over a TCP serial port)."""
    assert main(["verify", str(model_path(AD)), "--board", "nucleo_f446re"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinyq: error: no serial port of a nucleo_f446re found") and err.count("\n") == 1


def _depthwise_without_bias_index(data: bytes) -> bytes:
    """micro_speech with its DEPTHWISE_CONV_2D bias input index set to -1 (optional input absent)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as tflite

    m = tflite.Model.GetRootAs(data, 0)
    op = m.Subgraphs(0).Operators(1)
    vec = op._tab.Vector(op._tab.Offset(6))  # field 1: inputs
    b = bytearray(data)
    b[vec + 8 : vec + 12] = (-1).to_bytes(4, "little", signed=True)
    return bytes(b)


def test_tflm_crash_becomes_an_error(tmp_path, capsys):
    """TFLM segfaults on a DEPTHWISE_CONV_2D whose bias index is -1: the reference runs in a child process,
    so its crash is an error; tinyq itself refuses the model (TFLite does too), in one line."""
    import numpy as np

    from tinyq.errors import RunError
    from tinyq.oracle import run_isolated

    data = _depthwise_without_bias_index(model_path("tflm_micro_speech_int8").read_bytes())
    with pytest.raises(RunError, match="TFLM reference runtime crashed"):
        run_isolated(data, [np.zeros((1, 1, 1960), np.int8)], 1)
    model = tmp_path / "dw_no_bias.tflite"
    model.write_bytes(data)
    assert main(["verify", str(model), "-n", "2"]) == 2
    err = capsys.readouterr().err
    assert "bias input index -1 (absent) is refused" in err and err.count("\n") == 1
