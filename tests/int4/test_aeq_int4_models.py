"""TFLite INT4 models from ai-edge-quantizer's static int4-weight recipe, end to end (tests/int4/aeq_models.py
makes them from float Keras models). tinyq reads the INT4 tensors natively and `--weights auto` keeps their
bytes; simulator = reference on 100 seeded inputs, host C (ASan + UBSan) = simulator, and firmware on
every emulated board = simulator.

The reference, named in each case: TFLM on the file as it is where TFLM runs it (its CONV_2D unpacks INT4
filters: the conv-only model), else TFLM on the same file with the INT4 tensors widened to INT8, which the
TFLite spec makes equivalent (TFLM's reference FULLY_CONNECTED refuses INT4 filters: the models with dense
layers)."""
from functools import cache

import numpy as np
import pytest

from tests.int4.aeq_models import make
from tinyq.boards import list_boards
from tinyq.compiler import compile_model
from tinyq.encode.apply import weight_report
from tinyq.io import from_batch
from tinyq.oracle import reference_for
from tinyq.sim.run import as_program, run_program
from tinyq.targets.build import build_project
from tinyq.targets.run import run_project
from tinyq.testing import build_host_runner, run_host_runner
from tinyq.tflite_reader import read_model
from tinyq.verify import random_batches

pytest.importorskip("ai_edge_quantizer")
pytestmark = pytest.mark.slow

# model -> the reference TFLM can serve for it
KINDS = {"mlp": "TFLM runtime (INT4 widened to INT8)", "cnn": "TFLM runtime (INT4 widened to INT8)",
         "convnet": "TFLM runtime"}
EMULATED = [b.name for b in list_boards() if b.emulated]


@cache
def _case(kind: str):
    """(path, program, 100 seeded batches, simulator outputs)."""
    import tempfile
    from pathlib import Path

    path = make(kind, Path(tempfile.mkdtemp(prefix=f"tq-aeq-{kind}-")))
    program = as_program(path, "auto")
    batches = random_batches(program, 100, seed=len(kind))
    sim = [run_program(program, batches)[i] for i in program.outputs]
    return path, program, batches, sim


@pytest.mark.parametrize("kind", KINDS)
def test_int4_tensors_read_natively_and_kept_packed(kind):
    path, program, _, _ = _case(kind)
    graph = read_model(path)
    int4 = {op.index for op in graph.ops if len(op.inputs) > 1 and graph.tensors[op.inputs[1]].dtype == "int4"}
    assert int4, f"{kind}: ai-edge-quantizer wrote no INT4 tensor"
    report = {program.calls[w.call].layer: w for w in weight_report(program)}
    for layer in int4:  # auto keeps the file's 4 bits: never widened to int8
        assert report[layer].encoding == "int4", (kind, layer, report[layer])
        assert report[layer].nbytes < report[layer].int8_bytes


@pytest.mark.parametrize("kind", KINDS)
def test_simulator_equals_tflm(kind):
    path, program, batches, sim = _case(kind)
    want, _, label = reference_for(path, batches, len(program.outputs))
    assert label == KINDS[kind]
    for s, w in zip(sim, want):
        np.testing.assert_array_equal(s, w.reshape(s.shape), err_msg=f"{kind}: simulator != {label}")


@pytest.mark.parametrize("kind", KINDS)
def test_host_c_equals_simulator(kind, tmp_path):
    path, _, batches, sim = _case(kind)
    compile_model(path, tmp_path, board="host")
    got = run_host_runner(tmp_path, build_host_runner(tmp_path, sanitize=True), batches)
    for g, s in zip(got, sim):
        np.testing.assert_array_equal(g, s, err_msg=f"{kind}: host C != simulator")


@pytest.mark.firmware
@pytest.mark.parametrize("board", EMULATED)
def test_firmware_equals_simulator(board, tmp_path):
    path, program, batches, sim = _case("cnn")
    compile_model(path, tmp_path, board=board)
    build_project(tmp_path)
    arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
    got = run_project(tmp_path, arrays, build=False, timeout=600).arrays
    for g, s in zip(got, sim):
        np.testing.assert_array_equal(g.reshape(s.shape), s, err_msg=f"cnn on {board}: firmware != simulator")
