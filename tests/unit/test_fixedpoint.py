"""Fixed-point primitives: NumPy (tinyq.sim.fixedpoint) and C (tq_fixedpoint.h) against a pure-Python
integer spec written from gemmlowp / TFLM's definitions. Ties, saturation and shift extremes included."""
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyq.quant import quantize_multiplier, round_half_away
from tinyq.sim import fixedpoint as fp

I32 = st.integers(-(2**31), 2**31 - 1)
REPO = Path(__file__).resolve().parents[2]


# ---- pure-Python specification (Python ints are exact; every rounding rule written out) ----
def spec_srdhm(a, b):
    if a == b == -(2**31):
        return 2**31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    t = ab + nudge
    q = abs(t) // (1 << 31)  # truncate toward zero
    return q if t >= 0 else -q


def spec_rdbpot(x, e):
    if e == 0:
        return x
    q, r = divmod(x, 1 << e)  # floor division, 0 <= r < 2**e
    half = 1 << (e - 1)
    # round half away from zero
    if r > half or (r == half and x >= 0):
        q += 1
    return q


def wrap32(x):
    return (x + 2**31) % 2**32 - 2**31


def spec_mbqm(x, m, s):
    left, right = max(s, 0), max(-s, 0)
    return spec_rdbpot(spec_srdhm(wrap32(x << left), m), right)


def spec_mbqm64(x, m, s):
    reduced = (m + (1 << 15)) >> 16 if m < 0x7FFF0000 else 0x7FFF
    total = 15 - s
    return wrap32((x * reduced + (1 << (total - 1))) >> total)


# ---- corner table ----
CORNERS_SRDHM = [
    (-(2**31), -(2**31), 2**31 - 1),  # the one overflow saturates
    (-(2**31), 2**31 - 1, -(2**31) + 1),
    (2**31 - 1, 2**31 - 1, 2**31 - 2),
    (1, 1 << 30, 1),  # 2*1*2^30 / 2^32 = 0.5: tie goes up
    (-1, 1 << 30, 0),  # -0.5: tie goes toward +inf (VQRDMULH), i.e. to 0
    (3, 1 << 30, 2),  # 1.5 -> 2
    (-3, 1 << 30, -1),  # -1.5 -> -1
    (0, 12345, 0),
]
CORNERS_RDBPOT = [(5, 1, 3), (-5, 1, -3), (3, 1, 2), (-3, 1, -2), (1, 1, 1), (-1, 1, -1), (7, 0, 7),
                  (2**31 - 1, 31, 1), (-(2**31), 31, -1), (-(2**30), 31, -1), (2**30 - 1, 31, 0), (2**30, 31, 1)]


@pytest.mark.parametrize("a,b,want", CORNERS_SRDHM)
def test_srdhm_corners(a, b, want):
    assert spec_srdhm(a, b) == want
    assert int(fp.saturating_rounding_doubling_high_mul(a, b)) == want


@pytest.mark.parametrize("x,e,want", CORNERS_RDBPOT)
def test_rdbpot_corners(x, e, want):
    assert spec_rdbpot(x, e) == want
    assert int(fp.rounding_divide_by_pot(x, e)) == want


@settings(max_examples=3000, deadline=None)
@given(I32, I32)
def test_srdhm_matches_spec(a, b):
    assert int(fp.saturating_rounding_doubling_high_mul(a, b)) == spec_srdhm(a, b)


@settings(max_examples=3000, deadline=None)
@given(I32, st.integers(0, 31))
def test_rdbpot_matches_spec(x, e):
    assert int(fp.rounding_divide_by_pot(x, e)) == spec_rdbpot(x, e)


@settings(max_examples=3000, deadline=None)
@given(I32, st.integers(0, 2**31 - 1), st.integers(-31, 30))
def test_mbqm_matches_spec(x, m, s):
    assert int(fp.multiply_by_quantized_multiplier(x, m, s)) == spec_mbqm(x, m, s)


@settings(max_examples=3000, deadline=None)
@given(st.integers(-(2**47), 2**47 - 1), st.integers(0, 2**31 - 1), st.integers(-31, 7))
def test_mbqm_int64_matches_spec(x, m, s):
    assert int(fp.multiply_by_quantized_multiplier_int64(x, m, s)) == spec_mbqm64(x, m, s)


def test_vectorised_equals_scalar():
    rng = np.random.default_rng(7)
    x = rng.integers(-(2**31), 2**31, 5000)
    m = rng.integers(0, 2**31, 5000)
    s = rng.integers(-31, 31, 5000)
    got = fp.multiply_by_quantized_multiplier(x, m, s)
    assert [int(v) for v in got] == [spec_mbqm(int(a), int(b), int(c)) for a, b, c in zip(x, m, s)]


# ---- host multiplier (TFLM QuantizeMultiplier) ----
@pytest.mark.parametrize(
    "real,want",
    [
        (0.0, (0, 0)),
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),
        (0.25, (1 << 30, -1)),
        (2.0**-40, (0, 0)),  # shift < -31 flushes to zero
        (1.0 - 2.0**-40, (1 << 30, 1)),  # rounds up to 2**31: halved, shift + 1
        (0.75, (3 << 29, 0)),
    ],
)
def test_quantize_multiplier(real, want):
    assert quantize_multiplier(real) == want


@settings(max_examples=2000, deadline=None)
@given(st.floats(1e-9, 1e4, allow_nan=False))
def test_quantize_multiplier_reconstructs(real):
    m, s = quantize_multiplier(real)
    assert 2**30 <= m < 2**31
    assert abs(m * 2.0 ** (s - 31) - real) <= real * 2.0**-30


def test_round_half_away():
    assert [round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49)] == [1, 2, 3, -1, -2, -3, 0]


# ---- the C header computes the same values ----
C_DRIVER = r"""
#include <stdio.h>
#include <inttypes.h>
#include "tinyq/tq_fixedpoint.h"
int main(void) {
    long long x, m; int s; char op;
    while (scanf(" %c %lld %lld %d", &op, &x, &m, &s) == 4) {
        long long r;
        if (op == 'h') r = tq_saturating_rounding_doubling_high_mul((int32_t)x, (int32_t)m);
        else if (op == 'd') r = tq_rounding_divide_by_pot((int32_t)x, s);
        else if (op == 'q') r = tq_multiply_by_quantized_multiplier((int32_t)x, (int32_t)m, s);
        else r = tq_multiply_by_quantized_multiplier_int64((int64_t)x, (int32_t)m, s);
        printf("%lld\n", r);
    }
    return 0;
}
"""


def test_c_header_matches_spec(tmp_path):
    src = tmp_path / "fp.c"
    src.write_text(C_DRIVER)
    exe = tmp_path / "fp"
    subprocess.run(
        ["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined", "-fno-sanitize-recover",
         f"-I{REPO / 'firmware' / 'include'}", str(src), "-o", str(exe)],
        check=True,
    )
    rng = np.random.default_rng(11)
    cases, want = [], []
    for a, b, _ in CORNERS_SRDHM:
        cases.append(f"h {a} {b} 0"); want.append(spec_srdhm(a, b))
    for x, e, _ in CORNERS_RDBPOT:
        cases.append(f"d {x} 0 {e}"); want.append(spec_rdbpot(x, e))
    for _ in range(3000):
        x, m, s = int(rng.integers(-(2**31), 2**31)), int(rng.integers(0, 2**31)), int(rng.integers(-31, 31))
        cases.append(f"q {x} {m} {s}"); want.append(spec_mbqm(x, m, s))
        x = int(rng.integers(-(2**47), 2**47)); s = int(rng.integers(-31, 8))
        cases.append(f"l {x} {m} {s}"); want.append(spec_mbqm64(x, m, s))
    out = subprocess.run([str(exe)], input="\n".join(cases), capture_output=True, text=True, check=True).stdout
    assert [int(v) for v in out.split()] == want
