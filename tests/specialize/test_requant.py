"""tq_requant_fast (five instructions) equals TFLM's MultiplyByQuantizedMultiplier wherever
tinyq/specialize/requant.py says it may be used, at the edges of its conditions too."""
import subprocess
from pathlib import Path

import numpy as np

from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier
from tinyq.specialize.requant import FAST_BOUND, fast_requant, reference_requant

REPO = Path(__file__).resolve().parents[2]

DRIVER = r"""
#include <stdio.h>
#include "tinyq/tq_requant_fast.h"
int main(void) {
    long long acc, m, round, rs;
    while (scanf("%lld %lld %lld %lld", &acc, &m, &round, &rs) == 4)
        printf("%ld %ld\n", (long)tq_requant_fast((int32_t)acc, (int32_t)m, (int32_t)round, (int32_t)rs),
               (long)tq_requant_fast2((int32_t)(2 * acc), (int32_t)m, (int32_t)round, (int32_t)rs));
    return 0;
}
"""


def _cases(rng, n=20000):
    acc = np.concatenate([rng.integers(-FAST_BOUND + 1, FAST_BOUND, n), [FAST_BOUND - 1, -FAST_BOUND + 1, 0, 1, -1]])
    m = np.concatenate([rng.integers(1 << 30, 1 << 31, n), [(1 << 31) - 1, (1 << 31) - 1, 1 << 30, 0, 1 << 30]])
    shift = np.concatenate([rng.integers(-30, 0, n), [-1, -30, -1, -5, -30]])
    # ties of the final rounding: accumulators that land exactly on a half
    acc[:200] = (rng.integers(-1000, 1000, 200) * 2 + 1) << 10
    m[:200] = 1 << 30
    shift[:200] = -10
    return acc, m, shift


def test_numpy_model_matches_tflm():
    acc, m, shift = _cases(np.random.default_rng(1))
    rows = np.stack([m, 1 << (-shift - 1), -shift], axis=1)
    got = [reference_requant(np.array([a]), r[None, :])[0] for a, r in zip(acc[:3000], rows[:3000])]
    assert got == list(multiply_by_quantized_multiplier(acc[:3000].astype(np.int32), m[:3000].astype(np.int32),
                                                        shift[:3000].astype(np.int32)))


def test_c_header_matches_tflm(tmp_path):
    (tmp_path / "d.c").write_text(DRIVER)
    exe = tmp_path / "d"
    subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined",
                    "-fno-sanitize-recover", f"-I{REPO / 'firmware' / 'include'}", str(tmp_path / "d.c"), "-o", str(exe)],
                   check=True)
    acc, m, shift = _cases(np.random.default_rng(2))
    # tq_requant_fast2 (SMMLAR, acc's sign for h's) differs from it only where h = 0 < -acc: small negative sums
    acc[200:400] = np.random.default_rng(3).integers(-4, 1, 200)
    m[200:400] = np.random.default_rng(4).integers(0, 1 << 31, 200)
    # and with an output offset folded into the rounding term (depthwise_dsp.py, conv_dsp.py)
    off = np.random.default_rng(5).integers(-128, 128, len(acc)) * (shift > -20)
    lines = "\n".join(f"{a} {mm} {(1 << (-s - 1)) + (int(o) << -s)} {-s}" for a, mm, s, o in zip(acc, m, shift, off))
    out = subprocess.run([str(exe)], input=lines, capture_output=True, text=True, check=True).stdout
    want = multiply_by_quantized_multiplier(acc.astype(np.int32), m.astype(np.int32), shift.astype(np.int32)) + off
    got = np.array([int(v) for v in out.split()]).reshape(-1, 2)
    for form, column in (("tq_requant_fast", 0), ("tq_requant_fast2", 1)):
        # the first difference, not pytest's diff of two 2,000-element lists (a minute when a mutant breaks one)
        bad = np.flatnonzero(got[:, column] != want)
        assert not bad.size, (f"{form}: {bad.size} cases differ, first acc={acc[bad[0]]} m={m[bad[0]]} "
                              f"shift={shift[bad[0]]}: {got[bad[0], column]} != {want[bad[0]]}")


def test_fast_requant_refuses_what_it_cannot_prove():
    w = np.full((2, 4), 127, np.int8)
    m, s = np.full(2, 1 << 30), np.full(2, -8)
    assert fast_requant(w, None, 128, m, s) is not None
    assert fast_requant(w, None, 128, m, np.array([-8, 0])) is None  # a shift >= 0
    assert fast_requant(w, None, 128, m, np.array([-8, -31])) is None  # a right shift of 31
    assert fast_requant(w, np.array([0, FAST_BOUND]), 128, m, s) is None  # the bound


def test_dead_channel_keeps_its_constant():
    w = np.zeros((1, 8), np.int8)
    bias = np.array([1 << 30], np.int32)  # as in the MLPerf VWW model
    m, s = np.array([1569364972]), np.array([-26])
    fr = fast_requant(w, bias, 128, m, s)
    want = multiply_by_quantized_multiplier(bias, m.astype(np.int32), s.astype(np.int32))
    assert list(reference_requant(fr.bias.astype(np.int64), fr.rows)) == list(want)
