"""Every supported shared model: simulator == TFLM runtime on 100 seeded random inputs and on the real samples."""
import numpy as np
import pytest

from tests.ops.oplib import random_inputs
from tests.samples import MODELS, ad_windows, model_path, samples
from tinyq.io import load_inputs
from tinyq.oracle import TflmReference
from tinyq.sim.run import as_program, run_program, simulate


def _first_diff(a, b):
    bad = np.argwhere(a != b)
    return f"{len(bad)} of {a.size} values differ, first at {tuple(bad[0])}: {a[tuple(bad[0])]} vs {b[tuple(bad[0])]}"


@pytest.mark.slow
@pytest.mark.parametrize("stem", MODELS)
def test_random_inputs_equal_tflm(stem):
    path = model_path(stem)
    program = as_program(path)
    inputs = random_inputs(program, 100, seed=sum(map(ord, stem)))
    ref = TflmReference(path).run(inputs, len(program.outputs))
    env = run_program(program, inputs)
    for k, i in enumerate(program.outputs):
        got = env[i]
        want = ref[k].reshape(got.shape)
        assert np.array_equal(got, want), _first_diff(got, want)


@pytest.mark.slow
@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.case)
def test_samples_equal_tflm_expected(sample):
    result = simulate(model_path(sample.model.removesuffix(".tflite")), sample.input)
    got = next(iter(result.outputs.values()))
    np.testing.assert_array_equal(got, sample.expected.reshape(got.shape))


@pytest.mark.slow
def test_ad_all_windows_equal_tflm():
    path = model_path("mlperf_ad_fc_autoencoder_int8")
    program = as_program(path)
    x = load_inputs(ad_windows(), [program.tensor(program.inputs[0])])[0]  # (196, 1, 640)
    got = run_program(program, [x])[program.outputs[0]]
    want = TflmReference(path).run([x], 1)[0]
    assert np.array_equal(got, want.reshape(got.shape)), _first_diff(got, want.reshape(got.shape))
