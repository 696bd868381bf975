"""The scaffold of the prepared sub-8-bit kernel tests (test_int4_fast, test_int2_fast, test_int2_depthwise_fast):
a model whose weights were rewritten to an encoding's levels, checked simulator == TFLM, then compiled for a
board, its kernel calls counted, run on QEMU and compared with the simulator, exactly."""
from tests.encode.helpers import rewrite
from tests.firmware.checked_runs import assert_firmware_equals, simulated
from tests.firmware.kernel_calls import layers_calling
from tinyq.compiler import compile_model


def firmware_equals_simulator(tfl: bytes, form: str, program, inputs, sim, board: str, tmp_path,
                              calls: dict[str, int]) -> str:
    """Compile for `board`, check that each kernel of `calls` runs its number of layers, run the firmware and
    compare every output with the simulator's; returns model.c for the caller's own checks."""
    compile_model(tfl, tmp_path, board=board, weights=form)
    model_c = (tmp_path / "src" / "model.c").read_text()
    for symbol, n in calls.items():
        got = layers_calling(model_c, symbol)
        assert got == n, f"{symbol} runs {got} layers, expected {n}"
    assert_firmware_equals(tmp_path, program, inputs, sim)
    return model_c


def rewritten(make_model, batch: int, seed: int):
    """form -> (tflite, program, inputs, simulator outputs) of make_model()'s model with its weights rewritten to
    the form's levels (scripts/rewrite_weights.py), each form built and simulated once (a module fixture's body)."""
    data, cache = make_model(), {}

    def get(form: str):
        if form not in cache:
            tfl, _ = rewrite.rewrite_model(data, form, seed=0)
            cache[form] = (tfl, *simulated(tfl, batch, seed, form, extremes=True))
        return cache[form]

    return get
