"""A prepared kernel never makes a model that fits its board refuse: when the prepared tables (here the 16x8
weights widened to int16, twice the flash) do not fit, compile keeps the lowered program and says so."""
import pytest

from tests.ops.oplib import convert_keras
from tinyq.compiler import compile_model


def _fc16(features: int, units: int) -> bytes:
    import keras

    return convert_keras(lambda: keras.Sequential([keras.Input((features,)), keras.layers.Dense(units)]), seed=3,
                         int16=True)


@pytest.mark.slow
def test_prepared_tables_too_large_fall_back_to_the_lowered_kernels(tmp_path):
    big = _fc16(640, 560)  # 358,400 B of int8 weights: fits the F446RE's 512 KB flash, 716,800 B of int16 does not
    r = compile_model(big, tmp_path / "big", board="nucleo_f446re", project=False)
    model_c = (tmp_path / "big" / "src" / "model.c").read_text()
    assert "tq_fully_connected_s16(" in model_c and "tq_fully_connected_s16_dsp(" not in model_c
    assert "prepared kernels' tables do not fit nucleo_f446re" in r.note
    small = compile_model(_fc16(64, 32), tmp_path / "small", board="nucleo_f446re", project=False)
    assert "tq_fully_connected_s16_dsp(" in (tmp_path / "small" / "src" / "model.c").read_text() and not small.note
