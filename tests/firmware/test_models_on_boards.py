"""The shared real models on every emulated board: firmware == simulator == host C == TFLM, exactly,
on 20 seeded random inputs plus the real samples. A model that cannot fit a board must be refused
before building, with the sizes in the message (and then it is not a failure)."""
from functools import cache

import numpy as np
import pytest

from tests.samples import MODELS, model_path, samples
from tests.firmware.grid_image import GridModel, compile_alone, run_grid
from tinyq.boards import list_boards, load_board
from tinyq.compiler import compile_model
from tinyq.errors import PlanError
from tinyq.oracle import TflmReference
from tinyq.sim.run import as_program, run_program
from tinyq.targets.build import check_fit
from tinyq.targets.manifest import read_manifest
from tinyq.testing import build_host_runner, run_host_runner
from tinyq.verify import random_batches

FIRMWARE_MODELS = MODELS  # every supported shared model, on every emulated board
EMULATED = [b.name for b in list_boards() if b.emulated]
REFUSED: dict[str, set[str]] = {}  # board -> the shared models too large for it
# QEMU's netduinoplus2 machine runs the same Cortex-M4 code about three times slower per input than the
# mps2 machines (100 s against 60 s for this grid); mps2-an386 has the same CPU and kernels on every input
SLOW_BOARD_INPUTS = {"netduinoplus2": 8}
# Patch-based plans forced beside auto's (VWW, person_detect and IC's first residual block are patched by auto): every
# chain in 3 bands; the last inputs only (the real samples among them)
FORCED_PATCH = {"mlperf_kws_dscnn_int8": 3, "mlperf_ic_resnet8_int8": 3}
FORCED_PATCH_INPUTS = 4


@cache
def reference(stem):
    """(program, batches, simulator outputs), after checking simulator == TFLM and host C == simulator."""
    path = model_path(stem)
    program = as_program(path)
    batches = random_batches(program, 20, seed=sum(map(ord, stem)))
    real = [s.input for s in samples() if s.model == f"{stem}.tflite"]
    if real:
        from tinyq.io import load_inputs

        extra = load_inputs(np.concatenate(real), [program.tensor(program.inputs[0])])
        batches = [np.concatenate([batches[0], extra[0]])]
    env = run_program(program, batches)
    sim = [env[i] for i in program.outputs]
    ref = TflmReference(path).run(batches, len(program.outputs))
    for s, r in zip(sim, ref):
        assert np.array_equal(s, r.reshape(s.shape)), f"{stem}: simulator != TFLM"
    return program, batches, sim


@pytest.mark.slow
@pytest.mark.parametrize("stem", FIRMWARE_MODELS)
def test_host_c_equals_simulator(stem, tmp_path):
    program, batches, sim = reference(stem)
    compile_model(model_path(stem), tmp_path / "host", board="host")
    got = run_host_runner(tmp_path / "host", build_host_runner(tmp_path / "host", sanitize=True), batches)
    for g, s in zip(got, sim):
        np.testing.assert_array_equal(g, s)


@pytest.mark.slow
@pytest.mark.firmware
@pytest.mark.parametrize("board", EMULATED)
def test_firmware_equals_simulator(board, tmp_path):
    """Every shared model that fits the board, several to a firmware image (tests/firmware/grid_image.py: the
    kernels and generated code of a single-model build, one library build per image); the others must be
    refused before building, and exactly those of REFUSED."""
    b = load_board(board)
    models, refused = [], set()
    for stem in FIRMWARE_MODELS:
        program, batches, sim = reference(stem)
        model = GridModel(stem, model_path(stem), batches, sim)
        try:  # compiled once: the fit check's build is the one the image uses
            model.compiled = compile_alone(model, board, tmp_path / f"fit-{stem}", f"g{len(models)}")
            check_fit(read_manifest(model.compiled), b)
        except PlanError as exc:
            assert "does not fit" in str(exc) and " B" in str(exc), exc
            refused.add(stem)
            continue
        if board in SLOW_BOARD_INPUTS:  # the last inputs: the real samples, when there are any
            n = SLOW_BOARD_INPUTS[board]
            # a stateful model's samples are consecutive invokes from the start: its first inputs, not its last
            cut = slice(0, n) if program.states else slice(-n, None)
            model.inputs, model.want = [b[cut] for b in batches], [s[cut] for s in sim]
        models.append(model)
        if stem in FORCED_PATCH:
            n = FORCED_PATCH_INPUTS
            models.append(GridModel(f"{stem} --patch {FORCED_PATCH[stem]}", model_path(stem), [b[-n:] for b in batches],
                                    [s[-n:] for s in sim], patch=FORCED_PATCH[stem]))
    assert refused == REFUSED.get(board, set())
    run_grid(models, board, tmp_path / "grid")
