"""Encoded weights end to end. Every supported shared model, rewritten by scripts/rewrite_weights.py so its
weights take each form's levels (k-bit, ternary, binary, 16-level codebook, 75 % zeros, 2:4), is a valid
TFLite file that TFLM runs; compiled with `--weights smallest` (every tensor stored as small as it exactly
goes), it gives simulator = TFLM on 100 seeded inputs, host C (ASan + UBSan + kernel asserts) = simulator
on 25 of them, and firmware = simulator on the emulated boards. TFLM runs each rewritten .tflite as it is:
the encodings are tinyq's storage, so TFLM is the oracle.
"""
from functools import cache

import numpy as np
import pytest

from tests.encode.helpers import FORMS, MODELS, rewritten
from tests.conftest import SHARED_MODELS
from tests.firmware.grid_image import GridModel, run_grid
from tinyq.boards import list_boards
from tinyq.compiler import compile_model
from tinyq.encode.apply import weight_report
from tinyq.oracle import TflmReference
from tinyq.sim.run import as_program, run_program
from tinyq.testing import build_host_runner, run_host_runner
from tinyq.verify import random_batches

EMULATED = [b.name for b in list_boards() if b.emulated]
WEIGHTS = "smallest"
HOST_INPUTS = 25


@cache
def _case(model: str, form: str, n: int):
    """(model path, program, batches, simulator outputs), after checking simulator == TFLM exactly."""
    import tempfile
    from pathlib import Path

    data, _ = rewritten(SHARED_MODELS, model, form)
    path = Path(tempfile.mkdtemp(prefix="tq-enc-")) / f"{model}_{form.replace(':', 'of')}.tflite"
    path.write_bytes(data)
    program = as_program(path, WEIGHTS)
    batches = random_batches(program, n, seed=sum(map(ord, model + form)))
    sim = [run_program(program, batches)[i] for i in program.outputs]
    want = TflmReference(path).run(batches, len(program.outputs))
    for s, w in zip(sim, want):
        assert np.array_equal(s, w.reshape(s.shape)), f"{model} {form}: simulator != TFLM"
    return path, program, batches, sim


@pytest.mark.slow
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("model", MODELS)
def test_host_c_equals_simulator_and_tflm(model, form, tmp_path):
    path, program, batches, sim = _case(model, form, 100)
    encoded = [w for w in weight_report(program) if w.encoding != "int8"]
    assert encoded, f"{model} {form}: no weight tensor was encoded"
    # unbanded, on the first HOST_INPUTS inputs: under ASan and UBSan these 96 cases were the suite's largest
    # cost (VWW's patch search 8 s, its sanitized run 8 s). The encoded kernels in bands are checked on the
    # boards (_on_board below compiles with --patch auto), TFLM = simulator on all 100 inputs above.
    compile_model(path, tmp_path, board="host", weights=WEIGHTS, patch="off")
    got = run_host_runner(tmp_path, build_host_runner(tmp_path, sanitize=True), [b[:HOST_INPUTS] for b in batches])
    for g, s in zip(got, sim):
        np.testing.assert_array_equal(g, s[:HOST_INPUTS], err_msg=f"{model} {form}: host C != simulator")


# QEMU's netduinoplus2 machine runs the same Cortex-M4 code about three times slower per input than mps2-an386
# (the KWS grid: 166 s against 52 s on mps3-an547), so it gets fewer inputs; mps2-an386 has the same CPU and
# kernels, and runs every form on 20
SLOW_BOARD_INPUTS = {"netduinoplus2": 6}


def _on_board(cases: list[tuple[str, str]], board: str, work) -> None:
    """Each (model, form) compiled with --weights smallest, several to a firmware image
    (tests/firmware/grid_image.py: the kernels and generated code of a single-model build, one library build
    per image), run on `board`: firmware == simulator on 20 inputs (fewer on a slow machine), the message
    naming the model and form."""
    models = []
    for model, form in cases:
        path, program, batches, sim = _case(model, form, SLOW_BOARD_INPUTS.get(board, 20))
        models.append(GridModel(f"{model} {form}", path, batches, sim, weights=WEIGHTS))
    run_grid(models, board, work)


# Every form on the M4; four kernel families (int4, ternary, codebook, 2:4 sparse) on every other board; one of
# four forms per other model on the M4, in turn. The whole matrix (every model x form x board) is
# benchmarks/encoded_matrix.py: too long for CI.
OTHER_FORMS = ("int4", "ternary", "codebook16", "sparse75")
EVERY_BOARD_FORMS = ("int4", "ternary", "codebook16", "sparse2:4")


@pytest.mark.slow
@pytest.mark.firmware
@pytest.mark.parametrize("board", [b for b in EMULATED if b != "mps2-an386"])
def test_kws_firmware_on_every_board(board, tmp_path):
    _on_board([("mlperf_kws_dscnn_int8", form) for form in EVERY_BOARD_FORMS], board, tmp_path)


@pytest.mark.slow
@pytest.mark.firmware
def test_kws_firmware_every_form_on_the_m4(tmp_path):
    _on_board([("mlperf_kws_dscnn_int8", form) for form in FORMS], "mps2-an386", tmp_path)


@pytest.mark.slow
@pytest.mark.firmware
@pytest.mark.parametrize("k, model", list(enumerate(m for m in MODELS if m != "mlperf_kws_dscnn_int8")))
def test_other_models_firmware_on_the_m4(k, model, tmp_path):
    _on_board([(model, OTHER_FORMS[k % 4])], "mps2-an386", tmp_path)
