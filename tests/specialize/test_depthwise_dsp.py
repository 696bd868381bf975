"""The depthwise DSP preparer (tinyq/specialize/depthwise_dsp.py): the record it builds, read the way
tq_depthwise_conv_s8_fast_dsp.c reads it (folded bias + sum of raw x * w, padded taps reading the input zero point,
int32 wrap-around, tq_requant_fast), gives TFLM's DepthwiseConvPerChannel integers; and it declines what the
kernels do not handle. The firmware tests (tests/firmware/test_depthwise_fast.py) run the C on the boards."""
import numpy as np
import pytest

from tinyq.lower.conv import DepthwiseConvCall
from tinyq.program import const_array
from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier
from tinyq.specialize.depthwise_dsp import fold_output_offset, inner_range, prepare
from tinyq.specialize.requant import reference_requant


def _call(rng, h, w, c, kh, kw, stride=(1, 1), dilation=(1, 1), pad=(1, 1), act=(-128, 127), m=1, dead=None,
          bias_scale=1000):
    out_h = (h + 2 * pad[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    out_w = (w + 2 * pad[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    filt = rng.integers(-127, 128, (kh, kw, c * m)).astype(np.int8)
    bias = rng.integers(-bias_scale, bias_scale, c * m).astype(np.int32)
    if dead is not None:
        filt[..., dead] = 0
        bias[dead] = 2**30 + 12345  # as the MLPerf VWW model's dead channels
    return DepthwiseConvCall(
        kernel="tq_depthwise_conv_s8", layer=0, opcode="DEPTHWISE_CONV_2D", inputs=(0,), outputs=(1,),
        batches=1, input_height=h, input_width=w, input_depth=c, filter_height=kh, filter_width=kw,
        output_height=out_h, output_width=out_w, output_depth=c * m, stride_height=stride[0],
        stride_width=stride[1], dilation_height=dilation[0], dilation_width=dilation[1], pad_height=pad[0],
        pad_width=pad[1], input_offset=int(rng.integers(-127, 129)), output_offset=int(rng.integers(-128, 128)),
        act_min=act[0], act_max=act[1], acc64=False, bias=const_array(bias, np.int32),
        multiplier=const_array(rng.integers(1 << 30, 1 << 31, c * m), np.int32),
        shift=const_array(rng.integers(-14, -7, c * m), np.int32), depth_multiplier=m,
        filter=const_array(filt, np.int8))


def _tflm(call, x):
    """DepthwiseConvPerChannel (depth multiplier 1) on one image [H, W, C]."""
    acc = np.zeros((call.output_height, call.output_width, call.input_depth), np.int64) + call.bias
    for ky in range(call.filter_height):
        for kx in range(call.filter_width):
            for oy in range(call.output_height):
                for ox in range(call.output_width):
                    iy = oy * call.stride_height - call.pad_height + ky * call.dilation_height
                    ix = ox * call.stride_width - call.pad_width + kx * call.dilation_width
                    if 0 <= iy < call.input_height and 0 <= ix < call.input_width:
                        acc[oy, ox] += (x[iy, ix].astype(np.int64) + call.input_offset) * call.filter[ky, kx]
    y = multiply_by_quantized_multiplier(acc.astype(np.int32), call.multiplier, call.shift).astype(np.int64)
    return np.clip(y + call.output_offset, call.act_min, call.act_max)


def _blocks(rec):
    """bias [C], weights [K, C], rows [C, 3] read back from the block records, as the C kernel reads them."""
    k, c = rec.filter_height * rec.filter_width, rec.depth
    b = rec.blocks.astype(np.int64).reshape(-1, 16 + 2 * k)
    pairs = b[:, 4:4 + 2 * k].reshape(-1, k, 2)
    lanes = [(pairs[..., j & 1] >> (16 * (j >> 1))) & 0xFFFF for j in range(4)]  # c, c+1, c+2, c+3
    w = np.stack(lanes, axis=-1)  # [blocks, K, 4]
    w = np.where(w >= 1 << 15, w - (1 << 16), w).transpose(1, 0, 2).reshape(k, -1)[:, :c]
    return b[:, :4].reshape(-1)[:c], w, b[:, 4 + 2 * k:].reshape(-1, 3)[:c]


def _kernel(rec, x):
    """What the C kernels compute on the record, in NumPy."""
    bias, w, rows = _blocks(rec)
    out = np.zeros((rec.output_height, rec.output_width, rec.depth), np.int64)
    for oy in range(rec.output_height):
        for ox in range(rec.output_width):
            acc = bias.copy()
            for t in range(rec.filter_height * rec.filter_width):
                ky, kx = divmod(t, rec.filter_width)
                iy = oy * rec.stride_height - rec.pad_height + ky * rec.dilation_height
                ix = ox * rec.stride_width - rec.pad_width + kx * rec.dilation_width
                inside = 0 <= iy < rec.input_height and 0 <= ix < rec.input_width
                acc += (x[iy, ix].astype(np.int64) if inside else rec.input_zero_point) * w[t]
            acc2 = (acc + 2**31) % 2**32 - 2**31  # int32 wrap-around (SMLABB); doubled weights: 2 * acc
            assert (acc2 % 2 == 0).all()
            h = (acc2 * rows[:, 0] + (1 << 31)) >> 32  # SMMULR
            assert (np.abs(h + rows[:, 1]) < 2**31 - 1).all()  # the rounding add (output offset folded in) fits
            out[oy, ox] = reference_requant(acc2 // 2, rows)
    return np.clip(out + rec.output_offset, rec.act_min, rec.act_max)


CASES = [  # (h, w, c, kh, kw, stride, dilation, pad, act)
    (7, 5, 13, 3, 3, (1, 1), (1, 1), (1, 1), (-128, 127)),
    (9, 8, 8, 3, 3, (2, 2), (1, 1), (0, 0), (-5, 127)),
    (6, 7, 4, 3, 3, (2, 2), (1, 1), (1, 1), (-128, 60)),
    (5, 5, 64, 3, 3, (1, 1), (1, 1), (1, 1), (-128, 127)),
    (11, 6, 7, 5, 5, (1, 2), (1, 1), (2, 2), (-128, 127)),
    (12, 5, 6, 10, 4, (1, 1), (1, 1), (4, 1), (0, 127)),
    (9, 9, 5, 3, 3, (1, 1), (2, 2), (2, 2), (-128, 127)),
    (4, 3, 1, 3, 3, (1, 1), (1, 1), (1, 1), (-128, 127)),
]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_record_gives_tflm_integers(case):
    rng = np.random.default_rng(sum(case[:5]))
    h, w, c, kh, kw, stride, dilation, pad, act = case
    call = _call(rng, h, w, c, kh, kw, stride, dilation, pad, act, dead=c // 2 if c > 2 else None)
    got = prepare(call)
    assert got is not None
    expect = "tq_depthwise_conv3x3_s8_dsp" if (kh, kw, dilation) == (3, 3, (1, 1)) else "tq_depthwise_convkxk_s8_dsp"
    assert got.symbol == expect
    rec = got.call
    assert rec.blocks.size == -(-c // 4) * (16 + 2 * kh * kw)
    for x in (rng.integers(-128, 128, (h, w, c)), np.full((h, w, c), 127), np.full((h, w, c), -128)):
        x = x.astype(np.int8)
        np.testing.assert_array_equal(_kernel(rec, x), _tflm(call, x))


def test_inner_range_is_the_unpadded_window():
    for n in range(1, 12):
        for k in range(1, 6):
            for s in (1, 2, 3):
                for d in (1, 2):
                    for pad in range(0, k + 1):
                        out = (n + 2 * pad - d * (k - 1) - 1) // s + 1
                        if out < 1:
                            continue
                        inside = [o for o in range(out) if o * s - pad >= 0 and o * s - pad + (k - 1) * d < n]
                        lo, hi = inner_range(out, n, k, s, d, pad)
                        assert list(range(lo, hi)) == inside, (n, k, s, d, pad)


def test_declines_what_the_kernels_do_not_handle():
    rng = np.random.default_rng(1)
    assert prepare(_call(rng, 5, 5, 4, 3, 3, m=2)) is None  # depth multiplier 2
    from dataclasses import replace

    call = _call(rng, 5, 5, 4, 3, 3)
    big = replace(call, bias=const_array([2**30 - 10, 0, 0, 0], np.int32))  # |acc| may reach 2^30: not proved
    assert prepare(call) is not None and prepare(big) is None

    assert prepare(replace(_call(rng, 5, 5, 4, 3, 3), packed=object())) is None  # packed weights
    assert prepare(replace(_call(rng, 5, 5, 4, 3, 3), kernel="tq_depthwise_conv_s16", acc64=True)) is None


def test_output_offset_folds_only_where_it_fits():
    rows = np.array([[1 << 30, 1 << 9, 10], [(1 << 31) - 1, 1 << 29, 30]], np.int64)
    bound = np.array([1000, 1000], np.int64)
    assert fold_output_offset(rows[:1], bound[:1], -128)[0].tolist() == [1 << 30, (1 << 9) - (128 << 10), 10]
    assert fold_output_offset(rows, bound, 5) is None  # 5 * 2^30 leaves int32
    call = _call(np.random.default_rng(3), 5, 5, 8, 3, 3)
    rec = prepare(call).call
    assert rec.output_offset == 0 and call.output_offset != 0  # folded: the kernel adds nothing
