"""Deliberately broken kernels fail the tests: each mutant changes one thing in a copy of the repository (a
rounding term, a tail, a padding value) and the check named beside it must then fail. A mutant that passes
means the tests cannot see that kind of bug. Checks: `tinyq verify` on a shared model on the M4 (the firmware
stage must be reported unequal, exit 1), or a pytest selection run in the mutated copy (it must fail)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_MODELS

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BOARD = "mps2-an386"

# (id, file, text, replacement, check): the text must occur exactly once; check is ("verify", model stem) or
# ("pytest", test file, -k expression)
MUTANTS = [
    # ties of negative values round away from zero: too rare to show in a model's outputs, the header's test sees it
    ("requant-ties", "firmware/include/tinyq/tq_requant_fast.h", "(h + round + (h >> 31))", "(h + round)",
     ("pytest", "tests/specialize/test_requant.py", "c_header")),
    # the SMMLAR form without the sign term: differs from TFLM on negative sums that round to a tie
    ("requant2-sign", "firmware/include/tinyq/tq_requant_fast.h", " + (acc2 >> 31))", ")",
     ("pytest", "tests/specialize/test_requant.py", "c_header")),
    ("dw-pad-zero-point", "tinyq/specialize/depthwise_dsp.py", "input_zero_point=-call.input_offset",
     "input_zero_point=0", ("verify", "mlperf_kws_dscnn_int8")),
    ("conv-pad-zero-point", "tinyq/specialize/conv_dsp.py", "pad_value=-call.input_offset", "pad_value=0",
     ("verify", "mlperf_kws_dscnn_int8")),
    ("fc-tail-3", "firmware/src/tq_fully_connected_s8_interleaved_dsp.c",
     "if (n > 2) v |= (uint32_t)(uint8_t)x[2] << 16;", "",
     ("pytest", "tests/firmware/test_fc_add_fast.py", "an386")),
    # the int16-weight FC's LDM chunk: row b's odd lanes multiplied by its even weight word
    ("fc-wide-ldm-lane", "firmware/src/tq_fully_connected_s8_interleaved_dsp.c",
     '"smlad  %[" b "], %[xo], %[t], %[" b "]\\n\\t" /* LDM', '"smlad  %[" b "], %[xo], %[s], %[" b "]\\n\\t" /* LDM',
     ("pytest", "tests/firmware/test_fc_add_fast.py", "an386")),
    # the x16 FC chunk (M4 / M33, int16 weights): row 3's odd input word multiplied by row 2's odd weight word
    ("fc-x16-odd-row3", "firmware/src/tq_fully_connected_s8_wide_x16_dsp.c",
     '"smlad  " a3 ", " xo ", " e3 ", " a3 "\\n\\t"', '"smlad  " a3 ", " xo ", " e2 ", " a3 "\\n\\t"',
     ("pytest", "tests/firmware/test_fc_add_fast.py", "an386 and int16")),
    ("s16-im2col-pad", "firmware/src/tq_conv_s16_dsp.c", "to[i] = from ? from[i] : 0;", "to[i] = from ? from[i] : 1;",
     ("pytest", "tests/firmware/test_s16_fast.py", "single_op")),
    # the 2x3 block's pixel b times channel 2's weight word: pixel a's word instead
    ("s16-wide-b2", "firmware/src/tq_conv_s16_wide_dsp.c", '"smlad  %[b2], %[xb], %[w2], %[b2]\\n\\t"',
     '"smlad  %[b2], %[xa], %[w2], %[b2]\\n\\t"', ("pytest", "tests/firmware/test_s16_fast.py", "single_op")),
    # an odd tap of a gathered patch lands in the slot's next pair (the tap-pair stride)
    ("s16-wide-gather-odd", "firmware/src/tq_conv_s16_wide_dsp.c", "to += 3, from = from ? from + 1 : NULL, --n;",
     "to += 1, from = from ? from + 1 : NULL, --n;", ("pytest", "tests/firmware/test_s16_fast.py", "single_op")),
    # the 16x8 depthwise interior tap by LDRD (word-aligned activations): the two activation pairs swapped
    ("s16-dw-ldrd-pairs", "firmware/src/tq_depthwise_conv_s16_dsp.c", '"ldrd %[t0], %[t1], [%[x]]\\n',
     '"ldrd %[t1], %[t0], [%[x]]\\n', ("pytest", "tests/firmware/test_s16_fast.py", "single_op or chain_int64")),
    # the 16x8 depthwise interior pixel pair: pixel b's last tap of a filter row read from column 2, not 3
    ("s16-dw-pair-column", "firmware/src/tq_depthwise_conv_s16_dsp.c",
     '"ldr %[t], [%[x], %[xs], lsl #1]\\n smlabb %[b0], %[t], %[u2]',
     '"ldr %[t], [%[x], %[xs]]\\n smlabb %[b0], %[t], %[u2]',
     ("pytest", "tests/firmware/test_s16_dw_pairs.py", "pixel_pairs")),
    # the left-edge pixel pair: pixel a's second tap weighted by its first tap's weights
    ("s16-dw-pair-left", "firmware/src/tq_depthwise_conv_s16_dsp.c",
     'ldr %[t], [%[x]]\\n"               \\\n    "smlabb %[a0], %[t], %[u1]',
     'ldr %[t], [%[x]]\\n"               \\\n    "smlabb %[a0], %[t], %[u0]',
     ("pytest", "tests/firmware/test_s16_dw_pairs.py", "pixel_pairs")),
    ("s16-clamp-int16", "firmware/src/tq_s16_dsp_dot.h", "(int16_t)__ssat(y, 16)", "(int16_t)__ssat(y, 15)",
     ("pytest", "tests/firmware/test_s16_fast.py", "single_op or chain_int64")),
    ("s16-clamp-relu", "firmware/src/tq_s16_dsp_dot.h", "(int16_t)__usat(y, 15)", "(int16_t)__usat(y, 14)",
     ("pytest", "tests/firmware/test_s16_fast.py", "single_op or chain_int64")),
    # the int16 layout's lanes in the int8 order: taps 1 and 2 swapped (--weights-layout int16)
    ("conv-wide-lanes", "tinyq/specialize/conv_dsp.py", "[:, :, [0, 2, 1, 3]]", "[:, :, [0, 1, 2, 3]]",
     ("pytest", "tests/firmware/test_conv_fast.py", "int16")),
    # the fast LSTM kernel: a partial last input chunk; the rounding term of a requantization without a right shift
    ("lstm-widen-tail", "firmware/src/tq_lstm_fast_dsp.c", "uint32_t v = (uint8_t)x[c];", "uint32_t v = 0;",
     ("pytest", "tests/firmware/test_lstm_on_boards.py", "grid")),
    ("lstm-mask-no-shift", "tinyq/specialize/lstm_dsp.py", "-1 if right else 0", "-1",
     ("pytest", "tests/specialize/test_lstm_dsp.py", "rows")),
    # the DSP average pool without TFLM's rounding term (truncating averages)
    ("avgpool-dsp-round", "firmware/src/tq_avgpool_s8_dsp.c", " + (uint32_t)(count / 2);", ";",
     ("pytest", "tests/firmware/test_pool_dsp.py", "an386")),
    # Helium depthwise 3x3, two lines a pass: line b's filter column 2 reads line a's column 2, not column 3
    ("mve-dw-pair-column", "firmware/src/tq_depthwise_conv_s8_mve.c",
     '"vldrb.s32 q4, [" rx ", q3]\\n', '"vldrb.s32 q4, [" rx ", q2]\\n',
     ("pytest", "tests/firmware/test_mve_kernels.py", "depthwise_conv_tall")),
    # the bordered copy's word scatter: the last, partial 16-byte step of a pixel loses its last word
    ("mve-dw-copy-tail", "firmware/src/tq_depthwise_conv_s8_mve.c", "vctp32q((uint32_t)(c % 16 / 4))",
     "vctp32q((uint32_t)(c % 16 / 4 - 1))", ("pytest", "tests/firmware/test_mve_kernels.py", "depthwise_conv_tall")),
    # Helium int4 depthwise: a group's nibbles unpacked with the halves swapped (lane 2i takes 2i + 1's weight);
    # each group's taps read from one tap (2 bytes) too early; the last 16-byte step one tap short (its weights 0)
    ("mve-dw-int4-halves", "firmware/src/tq_depthwise_mve_common.h",
     "{{vshrq_n_s8(vshlq_n_s8(b, 4), 4), vshrq_n_s8(b, 4)}}", "{{vshrq_n_s8(b, 4), vshrq_n_s8(vshlq_n_s8(b, 4), 4)}}",
     ("pytest", "tests/firmware/test_int4_depthwise_mve.py", "packed_depthwise_mve and int4")),
    ("mve-dw-int4-group-tap", "firmware/src/tq_depthwise_mve_common.h", "p->blocked + g * n;",
     "p->blocked + g * n - 2 * g;",
     ("pytest", "tests/firmware/test_int4_depthwise_mve.py", "packed_depthwise_mve and int4")),
    ("mve-dw-int4-last-tap", "firmware/src/tq_depthwise_mve_common.h", "(n - at)));\n        const int8x16x2_t",
     "(n - at - 2)));\n        const int8x16x2_t",
     ("pytest", "tests/firmware/test_int4_depthwise_mve.py", "packed_depthwise_mve and int4")),
    # its 2-bit unpack: lane 2's codes multiplied by lane 1's magnitude (ternary: each channel has its own)
    ("mve-dw-int2-magnitude", "firmware/src/tq_depthwise_mve_common.h", "vshlq_n_s8(b, 2), 6), m[2])",
     "vshlq_n_s8(b, 2), 6), m[1])",
     ("pytest", "tests/firmware/test_int4_depthwise_mve.py", "packed_depthwise_mve and ternary")),
    # Helium GEMM core: the pair of steps of steps % 4 in {2, 3} skipped; a partial last
    # block (C % 4) storing row 0's outputs into row 1
    ("mve-gemm-steps-two", "firmware/src/tq_mve_gemm_asm.h", '"lsrs r7, r7, #1\\n bcc 4f\\n"',
     '"lsrs r7, r7, #1\\n b 4f\\n"', ("pytest", "tests/firmware/test_mve_kernels.py", "conv_mve")),
    ("mve-gemm-partial-row1", "firmware/src/tq_mve_gemm_asm.h", 'vstrbt.32 q1, [r2]\\n"', 'vstrbt.32 q0, [r2]\\n"',
     ("pytest", "tests/firmware/test_mve_kernels.py", "conv_mve")),
    # Helium im2col, a filter row copied as whole vectors: the third vector of each 48 bytes is the second again
    ("mve-im2col-rows48", "firmware/src/tq_conv_s8_im2col_mve.c", "vstrbq_s8(dst + 32, c);", "vstrbq_s8(dst + 32, b);",
     ("pytest", "tests/firmware/test_mve_kernels.py", "rows48")),
    # the interior columns start at pad / stride rounded down: stride 2 with padding 1 copies column -1 as inside
    ("mve-im2col-inside-first", "firmware/src/tq_conv_s8_im2col_mve.c", "first = (pad + stride - 1) / stride",
     "first = pad / stride", ("pytest", "tests/firmware/test_mve_kernels.py", "rows48")),
    # 2-bit conv: channel 3 of a group loses the high bit of its codes at taps 2 and 3
    ("int2-conv-lane-mask", "firmware/src/tq_conv_s8_int2_dsp.c", '"0x00C000C0", "a3", "b3"', '"0x004000C0", "a3", "b3"',
     ("pytest", "tests/firmware/test_int2_fast.py", "an386")),
    # 2-bit depthwise: the negative-tie term no longer masked, so left-shifted (R = 0) channels lose 1 when negative
    ("int2-dw-tie-mask", "firmware/src/tq_depthwise_conv_s8_int2_dsp.c", '"and    %[g], %[g], %[a], asr #31\\n\\t"',
     '"asr    %[g], %[a], #31\\n\\t"', ("pytest", "tests/firmware/test_int2_depthwise_fast.py", "int2-mps2-an386")),
    # the int8 depthwise 3x3 row walk: the rows' pointer stepped back one row instead of two after a block, and
    # the border taps' right column read from the next pixel row instead of the zero point
    ("dw3-rows-rewind", "firmware/src/tq_depthwise_conv_s8_fast_dsp.c", '"sub    %[r], %[r], %[row], lsl #1\\n\\t"',
     '"sub    %[r], %[r], %[row]\\n\\t"', ("pytest", "tests/firmware/test_depthwise_fast.py", "an386")),
    ("dw3-taps-right-edge", "firmware/src/tq_depthwise_fast_dsp.h", "ok2 = (uint32_t)(in_x + 2) < (uint32_t)w;",
     "ok2 = (uint32_t)(in_x + 2) <= (uint32_t)w;", ("pytest", "tests/firmware/test_depthwise_fast.py", "an386")),
    # its pixel pairs (span2_3x3): pixel b's right column read from column 2, not 3; the odd pixel out of a row
    # taken one pixel too early (it recomputes the last pair's pixel b and leaves its own output unwritten)
    ("dw3-pair-b-column", "firmware/src/tq_depthwise_conv_s8_fast_dsp.c", '#define X3_MEM "[%[r], %[d3]]"',
     '#define X3_MEM "[%[r], %[d], lsl #1]"', ("pytest", "tests/firmware/test_depthwise_fast.py", "pairs and an386")),
    # a row's left edge pair reading its padded column from the image (the pixel before the row) for the zero point
    ("dw3-pair-left-edge", "firmware/src/tq_depthwise_conv_s8_fast_dsp.c", "PAIRS(X_ZP, X3_MEM);",
     "PAIRS(X0_MEM, X3_MEM);", ("pytest", "tests/firmware/test_depthwise_fast.py", "pairs and an386")),
    ("dw3-pair-odd-one", "firmware/src/tq_depthwise_conv_s8_fast_dsp.c", "at += (uintptr_t)((n & ~1) * d), n &= 1;",
     "at += (uintptr_t)((n & ~1) * d - d), n &= 1;", ("pytest", "tests/firmware/test_depthwise_fast.py", "pairs and an386")),
    # Helium 16x8 GEMM: the last step's input mask one lane short; a partial last block (C % 4) of the two-row
    # core storing row 1's outputs into row 0 and back
    ("s16-mve-gemm-tail", "firmware/src/tq_gemm_s16_mve.c", "vctp16q((uint32_t)(k - 8 * p->steps))",
     "vctp16q((uint32_t)(k - 8 * p->steps - 1))", ("pytest", "tests/firmware/test_s16_mve.py", "kernels_on_m55")),
    ("s16-mve-gemm-block", "firmware/src/tq_gemm_s16_mve.c", "vpstt\\n vstrht.32 q0, [r0]\\n vstrht.32 q1, [r2]",
     "vpstt\\n vstrht.32 q1, [r0]\\n vstrht.32 q0, [r2]", ("pytest", "tests/firmware/test_s16_mve.py", "kernels_on_m55")),
    # Helium 16x8 depthwise: a line's partial last chunk one lane short; the border of the copy 1, not 0
    ("s16-mve-dw-tail", "firmware/src/tq_depthwise_conv_s16_mve.c", "pred = vctp32q((uint32_t)rest)",
     "pred = vctp32q((uint32_t)rest - 1)", ("pytest", "tests/firmware/test_s16_mve.py", "kernels_on_m55")),
    # Helium 16x8 im2col: the bordered copy's rows without their left border; a row's zeros left of the image
    # one tap short (the checked rows of a large padded image)
    ("s16-mve-im2col-border", "firmware/src/tq_gemm_s16_mve.c", "((y + p->pad_height) * bw + p->pad_width) * c",
     "((y + p->pad_height) * bw) * c", ("pytest", "tests/firmware/test_s16_mve.py", "kernels_on_m55")),
    ("s16-mve-im2col-left", "firmware/src/tq_gemm_s16_mve.c", "row = tq_s16_put(row, NULL, lo * c);",
     "row = tq_s16_put(row, NULL, lo * c - c);", ("pytest", "tests/firmware/test_s16_mve.py", "kernels_on_m55")),
    # its 3x3 assembly core: the centre tap multiplied by the weight right of it; the copy's two-group scatter
    # (depth a multiple of 8) stepping one group, not two, per 8 channels
    ("s16-mve-dw3x3-tap", "firmware/src/tq_depthwise_conv_s16_mve.c", 'TAP("r1", "q1", 16)', 'TAP("r1", "q1", 20)',
     ("pytest", "tests/firmware/test_s16_mve.py", "kernels_on_m55")),
    ("s16-mve-dw-copy8", "firmware/src/tq_depthwise_conv_s16_mve.c", "image += 8, d += plane / 2",
     "image += 8, d += plane / 4", ("pytest", "tests/firmware/test_s16_mve.py", "kernels_on_m55")),
    ("s16-mve-dw-border", "firmware/src/tq_depthwise_conv_s16_mve.c", "zero = vdupq_n_s16(0)",
     "zero = vdupq_n_s16(1)", ("pytest", "tests/firmware/test_s16_mve.py", "kernels_on_m55")),
    # a first layer's 3x3x3 patch joined in registers: the middle filter row's second word one byte early
    ("conv-patch333-row1", "firmware/src/tq_conv_gemm_dsp.h", "v[3] = load4(r1 + 3);", "v[3] = load4(r1 + 2);",
     ("pytest", "tests/firmware/test_conv_fast.py", "im2col and an386 and int8")),
    # the 16x8 Helium im2col's short filter rows: the next pixel's window one step too far along x
    ("s16-mve-im2col-short", "firmware/src/tq_gemm_s16_mve.c", "else at += across;", "else at += across + c;",
     ("pytest", "tests/firmware/test_s16_mve.py", "kernels_on_m55")),
    # the 3-pixel int16 conv: pixel c loses channel 1's product of each half group after the first
    ("conv-wide3-pixel-c", "firmware/src/tq_conv_s8_gemm3_dsp.c", '"smlad  %[c1], %[xc], %[w1], %[c1]\\n\\t"', '""',
     ("pytest", "tests/firmware/test_conv_gemm3.py", "pointwise and an386 and not unfolded")),
    # its paths: consecutive 1x1 pixels widened 3 at a time with pixel c read from b's input; groups <= 4 stepping
    # the block pointer back one group short; a first layer's window widened in registers with the middle row's
    # second word a byte early, and its walk taking the last column's window (over the right edge) as inside
    ("conv-wide3-run-c", "firmware/src/tq_conv_s8_gemm3_dsp.c", '"ldr    %[ce], [%[src], %[d2]]\\n\\t"',
     '"ldr    %[ce], [%[src], %[d]]\\n\\t"', ("pytest", "tests/firmware/test_conv_gemm3.py", "thin and an386 and not unfolded")),
    ("conv-wide3-short-sub", "firmware/src/tq_conv_s8_gemm3_dsp.c", '"i"(24 * (1 + rest))', '"i"(24 * rest)',
     ("pytest", "tests/firmware/test_conv_gemm3.py", "thin and an386 and not unfolded")),
    ("conv-wide3-333-row1", "firmware/src/tq_conv_s8_gemm3_dsp.c", '"ldr    %[t4], [%[r], #3]\\n\\t"',
     '"ldr    %[t4], [%[r], #2]\\n\\t"', ("pytest", "tests/firmware/test_conv_gemm3.py", "first333 and an386 and not unfolded")),
    ("conv-wide3-333-edge", "firmware/src/tq_conv_s8_gemm3_dsp.c", "-1 : right / p->stride_width;",
     "-1 : right / p->stride_width + 1;", ("pytest", "tests/firmware/test_conv_gemm3.py", "first333 and an386 and not unfolded")),
    # its clamp: pixel c's outputs not held to the activation's upper bound
    ("conv-wide3-clamp-hi", "firmware/src/tq_conv_s8_gemm3_dsp.c", '"sel    %[c0], %[b1], %[c0]\\n\\t"',
     '"sel    %[c0], %[c0], %[c0]\\n\\t"', ("pytest", "tests/firmware/test_conv_gemm3.py", "clamped and an386 and not unfolded")),
    # Helium int4 GEMM: the channels of each pair swapped (the nibble halves); PAIR_SUM's 16 acc_c not shifted
    # back (one pair of each block); SCALED's second row not shifted back; the row sum's tail one lane short
    ("int4-mve-nibbles", "tinyq/specialize/int4_mve.py", "    low = w[1::2] + 8 if",
     "    w = w[np.arange(len(w)) ^ 1]\n    low = w[1::2] + 8 if",
     ("pytest", "tests/firmware/test_int4_gemm_mve.py", "equals_simulator")),
    ("int4-mve-shift", "firmware/src/tq_gemm_s8_int4_mve.c", 'asr " HI0 ", " HI0 ", #4\\n', "",
     ("pytest", "tests/firmware/test_int4_gemm_mve.py", "equals_simulator")),
    ("int4-mve-scaled-shift", "firmware/src/tq_gemm_s8_int4_mve.c", "vshr.s32 q0, q0, #4\\n vshr.s32 q1, q1, #4\\n",
     "vshr.s32 q0, q0, #4\\n", ("pytest", "tests/firmware/test_int4_gemm_mve.py", "equals_simulator")),
    ("int4-mve-sum-tail", "firmware/src/tq_mve_gemm.h", "vctp8q((uint32_t)k)", "vctp8q((uint32_t)k - 1)",
     ("pytest", "tests/firmware/test_int4_gemm_mve.py", "equals_simulator")),
    # Helium 2-bit GEMM: the channels of a block packed in reverse order; row 1 not multiplied by the magnitudes
    ("int2-mve-layout", "tinyq/specialize/lowbit_mve.py", "(w[:, i] & 3) << (2 * i)",
     "(w[:, i] & 3) << (2 * (3 - i))",
     ("pytest", "tests/firmware/test_int2_gemm_mve.py", "equals_simulator")),
    ("int2-mve-magnitude", "firmware/src/tq_gemm_s8_int2_mve.c", ' vmul.i32 q1, q1, q2\\n', ' ',
     ("pytest", "tests/firmware/test_int2_gemm_mve.py", "equals_simulator")),
    # FIELDS: a logical shift loses t_0's sign on top; a wrong start leaves 2X in channel 2; the pair's input
    # sums one tail lane short
    ("int2-mve-fields-signed", "firmware/src/tq_gemm_s8_int2_mve.c",
     "vshr.s8 q7, q2, #4\\n vmladava.s8 r2, q0, q7\\n vmladava.s8 r10",
     "vshr.u8 q7, q2, #4\\n vmladava.s8 r2, q0, q7\\n vmladava.s8 r10",
     ("pytest", "tests/firmware/test_int2_gemm_mve.py", "each_decode")),
    ("int2-mve-fields-starts", "firmware/src/tq_gemm_s8_int2_mve.c", "0u - 5u * x2", "0u - 4u * x2",
     ("pytest", "tests/firmware/test_int2_gemm_mve.py", "each_decode")),
    ("int2-mve-fields-sum-tail", "firmware/src/tq_gemm_s8_int2_mve.c", "vctp8q((uint32_t)k)",
     "vctp8q((uint32_t)k - 1)", ("pytest", "tests/firmware/test_int2_gemm_mve.py", "each_decode")),
]


def _mutated_tree(tmp: Path, file: str, text: str, replacement: str) -> Path:
    root = tmp / "repo"
    for part in ("tinyq", "firmware", "templates", "boards", "tests", "scripts", "pyproject.toml"):
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, root / part, ignore=shutil.ignore_patterns("__pycache__", ".pio"))
        else:
            shutil.copy2(src, root / part)
    (tmp / "shared").symlink_to(SHARED_MODELS.parent)  # tests read ../shared beside the repository
    target = root / file
    source = target.read_text()
    assert source.count(text) == 1, f"{file}: the mutated text must occur once, found {source.count(text)}"
    target.write_text(source.replace(text, replacement))
    return root


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_mutant_is_caught(mutant, tmp_path):
    _, file, text, replacement, check = mutant
    root = _mutated_tree(tmp_path, file, text, replacement)
    env = {**os.environ, "PYTHONPATH": str(root), "TINYQ_TEST_LAZY_TF": "1"}  # tests/conftest.py
    where = subprocess.run([sys.executable, "-c", "import tinyq; print(tinyq.__file__)"], env=env, cwd=root,
                           capture_output=True, text=True).stdout
    assert where.startswith(str(root)), where  # the mutated copy is what runs
    if check[0] == "verify":
        done = subprocess.run([sys.executable, "-m", "tinyq.cli", "verify", str(SHARED_MODELS / f"{check[1]}.tflite"),
                               "--board", BOARD, "-n", "8"], cwd=root, env=env, capture_output=True, text=True,
                              timeout=1200)
        assert done.returncode == 1, done.stdout + done.stderr
        firmware = [ln for ln in done.stdout.splitlines() if ln.strip().startswith("firmware")]
        assert firmware and not firmware[0].rstrip().split("simulator")[-1].strip().startswith("EQUAL"), done.stdout
    else:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", check[1], "-k",
                               check[2]], cwd=root, env=env, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
        assert " failed" in done.stdout.splitlines()[-1], done.stdout[-3000:]
