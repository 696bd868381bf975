"""SOFTMAX -> tq_softmax_s8 / tq_softmax_s8_s16 / tq_softmax_s16 (TFLM softmax_common.cc + reference softmax.h).

int8 input: gemmlowp fixed-point exp (input_multiplier/input_shift from PreprocessSoftmaxScaling,
diff_min from CalculateInputRadius). int16 input: TFLM's two 513-entry LUTs, exp on [-10, 0] and
1/(1+x) on [0, 1], generated here in float32 exactly as TFLM's Prepare does (gen_lut), and stored in
the record; the C kernel is integer-only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tinyq.lower import OpContext, lowers
from tinyq.program import KernelCall, const_array
from tinyq.quant import f32, quantize_multiplier, round_half_away

SCALED_DIFF_INTEGER_BITS = 5  # Q5.26 input of exp() in the int8 kernel (TFLM kScaledDiffIntegerBits)
LUT_SIZE = 513  # 512 interpolation segments + 1 end point (TFLM kInt16LUTArraySize)
MAX_DEPTH_S16 = 65536  # the int32 sum of 16-bit exps cannot overflow below this


@dataclass(frozen=True, eq=False)
class SoftmaxCall(KernelCall):
    params_type = "tq_softmax_params"
    outer_size: int  # rows: input size / depth
    depth: int  # softmax axis (the last one)
    input_multiplier: int  # Q31
    input_shift: int  # positive = left (TFLite sign)
    diff_min: int  # s8: input - row max below this gives exp = 0; s16: unused (0)
    exp_lut: np.ndarray | None  # s16: int16[513], exp(x) on [-10, 0] in Q0.15; s8: None
    one_over_one_plus_x_lut: np.ndarray | None  # s16: int16[513], 1/(1+x) on [0, 1] in Q0.15; s8: None


def _f32_round(x: np.float32) -> np.float32:
    """TfLiteRound on a float: std::round (half away from zero); exact for every float32 via double."""
    return np.float32(round_half_away(float(x)))


def _expf(x: np.float32) -> np.float32:
    """std::exp(float): exp rounded to float32 (glibc's expf agrees on every point gen_lut samples;
    tests/ops/test_softmax.py checks that against the C library)."""
    return np.float32(math.exp(float(x)))


def _one_over_one_plus_x(x: np.float32) -> np.float32:
    return np.float32(np.float32(1.0) / np.float32(np.float32(1.0) + x))


def gen_lut_s16(func, input_min: float, input_max: float, output_min: float, output_max: float) -> np.ndarray:
    """TFLM gen_lut<float, int16_t, int16_t>: 512 segments with a midpoint-error bias, plus the end point.

    Every operation is float32 in TFLM's order (float add/mul/div round here, so the order matters).
    """
    f = np.float32
    input_min, input_max, output_min, output_max = f(input_min), f(input_max), f(output_min), f(output_max)
    nb_steps = 512
    step = f((input_max - input_min) / f(nb_steps))
    half_step = f(step / f(2))
    scaling_inv = f(f(65536) / f(output_max - output_min))
    lut = np.empty(nb_steps + 1, dtype=np.int16)
    for i in range(nb_steps):
        x = f(input_min + f(f(i) * step))
        val = func(x)
        val_midpoint = func(f(x + half_step))
        val_next = func(f(input_min + f(f(i + 1) * step)))
        sample_val = _f32_round(f(val * scaling_inv))
        midpoint_interp_val = _f32_round(f(f(f(val_next * scaling_inv) + sample_val) / f(2)))
        midpoint_val = _f32_round(f(val_midpoint * scaling_inv))
        bias = _f32_round(f(f(midpoint_interp_val - midpoint_val) / f(2)))
        lut[i] = int(min(max(f(sample_val - bias), f(-32768)), f(32767)))
    lut[nb_steps] = int(min(max(_f32_round(f(func(input_max) * scaling_inv)), f(-32768)), f(32767)))
    return lut


@lru_cache(maxsize=None)
def softmax_luts() -> tuple[np.ndarray, np.ndarray]:
    """The two constant int16 LUTs of TFLM's int16 softmax: exp on [-10, 0] and 1/(1+x) on [0, 1]."""
    exp_lut = const_array(gen_lut_s16(_expf, -10.0, 0.0, -1.0, 1.0), np.int16)
    recip_lut = const_array(gen_lut_s16(_one_over_one_plus_x, 0.0, 1.0, -1.0, 1.0), np.int16)
    return exp_lut, recip_lut


def _check_output(ctx: OpContext, out, zero_point: int, scale: float, exact: bool) -> None:
    """TFLM CalculateSoftmaxParams: the output quantization is fixed by the output dtype."""
    s = f32(out.scale)
    ok = s == scale if exact else abs(s - scale) <= 0.001 * scale
    if out.zero_point != zero_point or not ok:
        raise ctx.fail(f"{out.describe()} must have scale {scale:.8g} and zero point {zero_point} "
                       f"(got {s:.8g}, {out.zero_point})")


@lowers("SOFTMAX", dtypes=("int8", "int16"))
def lower_softmax(ctx: OpContext):
    """Softmax over the last axis. int8 -> int8 (output scale 1/256, zero point -128), int8 -> int16
    (output scale 1/65536, zero point -32768) or int16 -> int16 (output scale 1/32768, zero point 0).
    Per-tensor input quantization; beta * input_scale * 2^26 must exceed 1 for int8 input."""
    inp, out = ctx.input(0), ctx.output(0)
    if inp is None:
        raise ctx.fail("input 0 is missing")
    ctx.require_dtype(inp, "int8", "int16")
    if inp.dtype == "int8":
        ctx.require_dtype(out, "int8", "int16")
    else:
        ctx.require_dtype(out, "int16")
    ctx.require_quant(inp)
    ctx.require_quant(out)
    ctx.require_same_shape(inp, out)
    if len(inp.shape) < 1 or inp.shape[-1] < 1:
        raise ctx.fail(f"{inp.describe()} must have a non-empty last axis")
    depth = int(inp.shape[-1])
    beta = f32(ctx.op.option("beta", 1.0))
    in_scale = f32(inp.scale)
    fields = dict(outer_size=inp.size // depth, depth=depth)

    if inp.dtype == "int16":
        _check_output(ctx, out, 0, 1.0 / 32768, exact=False)
        if depth > MAX_DEPTH_S16:
            raise ctx.fail(f"int16 softmax over {depth} > {MAX_DEPTH_S16} values would overflow the sum of exps")
        # scale input - max so that [-65535, 0] covers [-10, 0] (TFLM: scale * beta / (10 / 65535))
        multiplier, shift = quantize_multiplier(in_scale * beta / (10.0 / 65535.0))
        if shift > 30:
            raise ctx.fail(f"input scale {in_scale:.8g} * beta {beta:.8g} is too large for the int16 kernel")
        exp_lut, recip_lut = softmax_luts()
        return SoftmaxCall(**ctx.call_fields("tq_softmax_s16", inputs=(inp.index,)), **fields,
                           input_multiplier=multiplier, input_shift=shift, diff_min=0,
                           exp_lut=exp_lut, one_over_one_plus_x_lut=recip_lut)

    if out.dtype == "int16":
        _check_output(ctx, out, -32768, 1.0 / 65536, exact=False)
        kernel = "tq_softmax_s8_s16"
    else:
        _check_output(ctx, out, -128, 1.0 / 256, exact=True)
        kernel = "tq_softmax_s8"
    # PreprocessSoftmaxScaling (double rounding build): min(beta * scale * 2^26, 2^31 - 1), then
    # QuantizeMultiplierGreaterThanOne, which requires a real multiplier above 1
    real = min(beta * in_scale * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)), float((1 << 31) - 1))
    if not real > 1.0:
        raise ctx.fail(f"beta {beta:.8g} * input scale {in_scale:.8g} is too small "
                       "(TFLM needs beta * scale * 2^26 > 1)")
    multiplier, shift = quantize_multiplier(real)
    # CalculateInputRadius(5, shift, 31): the largest |input - max| whose rescaled value fits Q5.26
    bits = SCALED_DIFF_INTEGER_BITS
    radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << shift))
    return SoftmaxCall(**ctx.call_fields(kernel, inputs=(inp.index,)), **fields,
                       input_multiplier=multiplier, input_shift=shift, diff_min=-radius,
                       exp_lut=None, one_over_one_plus_x_lut=None)
