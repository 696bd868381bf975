"""tinyq/specialize/lstm_dsp.py without a build: the weight layout tq_lstm_s8_fast_dsp reads, its requantization
rows against TFLM's MultiplyByQuantizedMultiplier at the proved bounds (left shifts, ties, both signs), and the
cases the preparer must decline. Firmware: tests/firmware/test_lstm_on_boards.py and the shared models."""
from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from tests.ops.test_lstm import GRID, grid_model
from tinyq.lower.lstm import LstmCall
from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier
from tinyq.sim.run import as_program
from tinyq.specialize import lstm_dsp


@cache
def grid_calls() -> tuple[LstmCall, ...]:
    return tuple(c for c in as_program(grid_model(GRID)).calls if isinstance(c, LstmCall) and c.kernel == "tq_lstm_s8")


def kernel_requant(acc: np.ndarray, row) -> np.ndarray:
    """What requant_row (tq_lstm_fast_dsp.c) computes: SMMULR(acc << (1 + left), m), then the rounding shift."""
    m, shift1, rnd, rs, mask = (int(v) for v in row)
    a = (acc.astype(np.int64) << shift1).astype(np.int32).astype(np.int64)  # the 32-bit shift (the bound: exact)
    h = (a * m + (1 << 31)) >> 32
    return (h + rnd + (np.where(h < 0, -1, 0) & mask)) >> rs


def test_weights_in_read_order():
    for call in grid_calls():
        n, k = call.units, call.input_size
        words = lstm_dsp.interleave(call.input_weights).reshape(4, -(-n // 4), -(-k // 4), 4, 4)
        for g, j, c, r in np.ndindex(*words.shape[:4]):
            u, lo = 4 * j + r, 4 * c
            want = np.zeros(4, np.int8)
            if u < n:
                want[: min(4, k - lo)] = call.input_weights[g, u, lo:lo + 4]
            assert np.array_equal(words[g, j, c, r], want)


@pytest.mark.parametrize("shift", [-30, -17, -1, 0, 1, 4])
def test_rows_equal_tflm_requantize(shift):
    rng = np.random.default_rng(shift + 40)
    bound = (1 << 30) >> max(shift, 0)  # the largest bound the preparer takes for this shift
    row = lstm_dsp._row(1518500250, shift, bound)
    assert row is not None and lstm_dsp._row(1518500250, shift, bound + 1) is None
    acc = np.concatenate([rng.integers(-bound + 1, bound, 20000), [-bound + 1, bound - 1, 0, 1, -1],
                          # ties of the right shift (both signs)
                          np.arange(-40, 41) << max(-shift - 1, 0)]).astype(np.int64)
    acc = acc[np.abs(acc) < bound]
    got = kernel_requant(acc, row)
    want = multiply_by_quantized_multiplier(acc.astype(np.int32), np.int32(1518500250), np.int32(shift))
    assert np.array_equal(got, want.astype(np.int64))


def test_the_grid_is_taken():
    assert all(lstm_dsp.prepare(c) is not None for c in grid_calls())
    record = lstm_dsp.prepare(grid_calls()[0]).call
    assert record.stateful and record.scratch_bytes() % 8 == 0


def test_declines_what_it_cannot_prove():
    call = grid_calls()[0]
    huge = call.bias.copy()
    huge[1, 0] = (1 << 30) - 10  # the forget gate's first unit: its sum can reach 2^30
    assert lstm_dsp.prepare(replace(call, bias=huge)) is None
    assert lstm_dsp.prepare(replace(call, input_shift=(-31,) + call.input_shift[1:])) is None
    assert lstm_dsp.prepare(replace(call, recurrent_shift=call.recurrent_shift[:3] + (20,))) is None  # left 2^20
    assert lstm_dsp.prepare(replace(call, output_shift=1)) is None  # a cell product shifted left may pass 2^30
    assert lstm_dsp.prepare(replace(call, kernel="tq_lstm_s16")) is None
