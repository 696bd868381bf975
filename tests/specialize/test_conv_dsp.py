"""The CONV_2D preparer (tinyq/specialize/conv_dsp.py): which convs it takes and which kernel it names, the weight
layout tinyq/tq_conv_gemm.h documents, and the prepared record's arithmetic (folded bias + sum of raw x * w over
the patch padded with the input zero point, then tq_requant_fast) equal to the simulator on the int8 conv grid of
tests/ops/test_conv.py. The kernels themselves are held to the same integers on QEMU in
tests/firmware/test_conv_fast.py."""
from dataclasses import replace

import numpy as np
import pytest

from tests.ops import test_conv as conv_cases
from tests.ops.oplib import random_inputs
from tinyq.sim.run import as_program, run_program
from tinyq.specialize import specialize
from tinyq.specialize.conv_dsp import CONV1X1, IM2COL, ConvGemmCall, arrange_filter, prepare
from tinyq.specialize.requant import reference_requant


def unarrange(words: np.ndarray, c: int, kp: int) -> np.ndarray:
    """arrange_filter's inverse: int8 [C, kp]."""
    b = np.asarray(words, "<i4").view(np.int8).reshape(-1, 4)  # one row per word
    pairs = c // 2
    head = b[: pairs * kp // 2].reshape(pairs, kp // 4, 2, 4).transpose(0, 2, 1, 3).reshape(pairs * 2, kp)
    return np.concatenate([head, b[pairs * kp // 2:].reshape(c - pairs * 2, kp)])


def patches(r, x: np.ndarray):
    """(oy, ox, patch) for each output pixel of a GEMM record: the im2col rows [B, patch_padded] the kernels read,
    padded with the record's pad_value and zero taps up to patch_padded (x int8 [B, H, W, C])."""
    b, h, wd, d = x.shape
    padded = np.full((b, h + 2 * r.pad_height + r.filter_height * r.dilation_height,
                      wd + 2 * r.pad_width + r.filter_width * r.dilation_width, d), r.pad_value, np.int64)
    padded[:, r.pad_height:r.pad_height + h, r.pad_width:r.pad_width + wd] = x
    for oy in range(r.output_height):
        for ox in range(r.output_width):
            ys = oy * r.stride_height + np.arange(r.filter_height) * r.dilation_height
            xs = ox * r.stride_width + np.arange(r.filter_width) * r.dilation_width
            patch = padded[:, ys][:, :, xs].reshape(b, -1)
            yield oy, ox, np.concatenate([patch, np.zeros((b, r.patch_padded - r.patch), np.int64)], axis=1)


def channel_rows(r: ConvGemmCall) -> np.ndarray:
    """pair_rows' inverse: int64 [C, 4] {doubled bias, tq_requant_row} per channel."""
    c = r.output_depth
    t = np.asarray(r.rows, np.int64)
    p = c // 2 * 2
    pairs = t[: 4 * p].reshape(-1, 8)
    head = np.stack([pairs[:, [0, 2, 3, 4]], pairs[:, [1, 5, 6, 7]]], axis=1).reshape(p, 4)
    return np.concatenate([head, t[4 * p:].reshape(-1, 4)])


def emulate(r: ConvGemmCall, x: np.ndarray) -> np.ndarray:
    """What tq_conv1x1_s8_dsp / tq_conv_s8_im2col_dsp compute, in NumPy: x int8 [B, H, W, C]."""
    kp, c = r.patch_padded, r.output_depth
    w = unarrange(r.weights, c, kp).astype(np.int64)
    assert not w[:, r.patch:].any()  # the padding taps are zero
    out = np.empty((x.shape[0], r.output_height, r.output_width, c), np.int64)
    for oy, ox, patch in patches(r, x):
        # inputs doubled in scratch, bias doubled at compile time: 2 * acc, wrapping as SMLAD does
        rows = channel_rows(r)
        acc2 = (rows[:, 0] + 2 * patch @ w.T + 2**31) % 2**32 - 2**31
        assert (acc2 % 2 == 0).all()
        out[:, oy, ox] = reference_requant(acc2 // 2, rows[:, 1:])
    return np.clip(out + r.output_offset, r.act_min, r.act_max).astype(np.int8)


def test_arrange_filter_interleaves_channel_pairs():
    rows = np.arange(5 * 6, dtype=np.int8).reshape(5, 6)  # 6 taps -> 8, 5 channels: 2 pairs and a single
    words = arrange_filter(rows)
    assert words.dtype == np.int32 and words.size == 5 * 8 // 4
    got = np.asarray(words, "<i4").view(np.int8).reshape(-1, 4)
    padded = np.zeros((5, 8), np.int8)
    padded[:, :6] = rows
    assert (got[0] == padded[0, :4]).all() and (got[1] == padded[1, :4]).all()  # c0 w0, c1 w0
    assert (got[2] == padded[0, 4:]).all() and (got[3] == padded[1, 4:]).all()  # c0 w1, c1 w1
    assert (got[8] == padded[4, :4]).all() and (got[9] == padded[4, 4:]).all()  # the odd row on its own
    assert (unarrange(words, 5, 8) == padded).all()


CONV_CASES = [c for c in conv_cases.CASES if c.op == "conv" and not c.int16]


@pytest.fixture(scope="module", params=CONV_CASES, ids=[f"{i}" for i in range(len(CONV_CASES))])
def conv_model(request):
    case = request.param
    tfl = conv_cases.convert_case(case)
    return case, as_program(tfl)


@pytest.mark.slow
def test_prepared_record_computes_the_simulators_integers(conv_model):
    case, program = conv_model
    (call,) = program.calls
    got = prepare(call)
    if case.groups > 1:
        assert got is None  # groups: declined, the call keeps tq_conv_s8_dsp
        return
    assert got is not None
    r = got.call
    pointwise = case.k == 1 and (case.padding == "valid" or r.pad_height == r.pad_width == 0)
    assert got.symbol == (CONV1X1 if pointwise else IM2COL)
    assert (r.kernel, r.layer, r.inputs, r.outputs) == (call.kernel, call.layer, call.inputs, call.outputs)
    assert r.patch_padded % 4 == 0 and r.weights.nbytes == r.output_depth * r.patch_padded
    assert r.scratch_bytes() % 4 == 0 and r.scratch_bytes() >= 4 * r.patch_padded + r.output_depth
    x = random_inputs(program, 12, seed=3)[0]
    want = run_program(program, [x])[program.outputs[0]]
    got_out = np.stack([emulate(r, xi) for xi in x])
    np.testing.assert_array_equal(got_out, want)


def _conv(program):
    (call,) = program.calls
    return call


def test_declines_what_it_does_not_take():
    case = conv_cases.CASES[0]
    call = _conv(as_program(conv_cases.convert_case(case)))
    assert prepare(call) is not None
    assert prepare(replace(call, filter_input_depth=1, input_depth=call.input_depth)) is None  # groups
    assert prepare(replace(call, acc64=True)) is None  # 16x8's int64 path
    assert prepare(replace(call, filter=None, packed=object())) is None  # packed weights have their own kernels
    huge = np.full(call.output_depth, 2**30, np.int32)
    assert prepare(replace(call, bias=huge)) is None  # tq_requant_fast's bound cannot be proved


def test_specialize_picks_it_on_dsp_boards_only():
    program = as_program(conv_cases.convert_case(conv_cases.CASES[4]))  # 1x1 valid
    call = _conv(program)
    _, variants = specialize(program, [None], frozenset({"dsp"}))
    assert variants[0].symbol == CONV1X1 and variants[0].macro == "__ARM_FEATURE_DSP"
    same, variants = specialize(program, [None], frozenset())
    assert same is program and variants == [None]
    assert call.kernel == "tq_conv_s8"


def test_dead_channel_and_per_tensor_quantization():
    """A channel whose weights are all 0 with a huge bias (as in MLPerf VWW), and one multiplier for all."""
    program = as_program(conv_cases.convert_case(conv_cases.CASES[0]))
    call = _conv(program)
    f = np.array(call.filter)
    f[1] = 0
    bias = np.array(call.bias)
    bias[1] = 2**30 - 5
    m, s = np.array(call.multiplier), np.array(call.shift)
    dead = replace(call, filter=f, bias=bias, multiplier=m[:1], shift=s[:1])
    got = prepare(dead)
    assert got is not None
    x = random_inputs(program, 4, seed=5)[0]
    want = run_program(replace(program, calls=(dead,)), [x])[program.outputs[0]]
    np.testing.assert_array_equal(np.stack([emulate(got.call, xi) for xi in x]), want)
    dead_row = channel_rows(got.call)[1, 1:].tolist()  # the dead channel's constant row (the offset folded in)
    assert dead_row == [2**30, 1 + (call.output_offset << 1), 1] or (got.call.output_offset and dead_row == [2**30, 1, 1])


def test_pair_rows_layout():
    from tinyq.specialize.conv_dsp import pair_rows
    bias2 = np.array([10, 11, 12], np.int32)
    rows = np.arange(9, dtype=np.int32).reshape(3, 3) + 100
    assert pair_rows(bias2, rows).tolist() == [10, 11, 100, 101, 102, 103, 104, 105, 12, 106, 107, 108]


def test_stream3_layout():
    """The 3-pixel kernels' stream: per pair {2 biases, the pair's weight words, 2 rows}, an odd last channel
    {bias, its words, row}; and a prepared record's rows are the same array (stored once)."""
    from tinyq.specialize.conv_dsp import stream3, widen_filter3
    bias2 = np.array([10, 11, 12], np.int32)
    rows = np.arange(9, dtype=np.int32).reshape(3, 3) + 100
    filt = np.arange(15, dtype=np.int8).reshape(3, 5) - 7  # 2 groups: 8 words a pair, 4 the last channel
    w = widen_filter3(filt).tolist()
    assert stream3(bias2, rows, widen_filter3(filt)).tolist() == (
        [10, 11] + w[:8] + [100, 101, 102, 103, 104, 105] + [12] + w[8:] + [106, 107, 108])
