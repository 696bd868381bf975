"""Prepares int8 UNIDIRECTIONAL_SEQUENCE_LSTM calls for tq_lstm_s8_fast_dsp (firmware/src/tq_lstm_fast_dsp.c).

Done once at compile time (firmware/include/tinyq/tq_lstm_fast_dsp.h has the layouts):
  * each gate's weights in the kernel's read order: groups of 4 units, each chunk of 4 inputs as 4 words (one
    per unit), rows padded with zero rows to a multiple of 4 units and inputs with zero weights to a multiple of
    4; the padding adds nothing to any sum, and the padded units' gates are computed but never read;
  * the input offset folded into the input FC's biases, the hidden offset into a bias of the recurrent FC;
  * requantization rows for the 8 FCs and the 3 cell products.
Exact when, for every int8 input and hidden state, each FC's sum times 2^left (its requantization's left shift)
stays below 2^30 in magnitude (its bias included; proved from the weights of every row, dead rows too, so one row
per gate serves all its units) and a right shift is at most 30 bits (tq_lstm_fast_dsp.c). The cell products are
below 2^30 by their ranges. Otherwise the preparer declines and the call keeps tq_lstm_s8_dsp.
Flash: the weights padded (none when units and input size are multiples of 4), 2 x 16 bytes of bias per unit
(the lowered record had 16), 220 bytes of rows; scratch 8 bytes per padded unit for the gates plus 2 bytes per
padded input and unit for the widened vectors (the lowered record's scratch: 12 bytes per unit).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.lower.lstm import LstmCall
from tinyq.program import KernelCall, const_array
from tinyq.specialize import Prepared, Preparer, base_fields, register
from tinyq.specialize.requant import FAST_BOUND

SYMBOL = "tq_lstm_s8_fast_dsp"


@dataclass(frozen=True, eq=False)
class LstmFastCall(KernelCall):
    params_type = "tq_lstm_s8_fast_params"
    stateful = True  # writes the hidden and cell states (outputs 1 and 2), as LstmCall
    batches: int
    time_steps: int
    input_size: int
    units: int
    time_major: bool
    hidden_zero_point: int
    input_chunks: int  # ceil(input_size / 4)
    hidden_chunks: int  # ceil(units / 4): the groups of 4 units of each gate
    input_weights: np.ndarray  # int8 [4, groups, input_chunks, 4 rows, 4], flattened to [4 * 4 groups, 4 chunks]
    recurrent_weights: np.ndarray  # int8, the same over hidden_chunks
    input_bias: np.ndarray  # int32 [4, 4 groups]
    recurrent_bias: np.ndarray  # int32 [4, 4 groups]
    gate_requant: np.ndarray  # int32 [4, 2, 5]
    cell_requant: np.ndarray  # int32 [3, 5]
    use_cell_clip: bool
    cell_clip: int
    cell_tanh_multiplier: int
    cell_tanh_right_shift: int
    sigmoid_table: np.ndarray

    def scratch_bytes(self) -> int:
        return 8 * 4 * self.hidden_chunks + 8 * self.input_chunks + 8 * self.hidden_chunks


def interleave(w: np.ndarray) -> np.ndarray:
    """int8 [4, N, K] -> the kernel's read order [4, G, C, 4 rows, 4 inputs] (G = ceil(N/4), C = ceil(K/4)),
    as a 2-D int8 array [16 G, 4 C] (weight reports read it as int8 weights)."""
    _, n, k = w.shape
    g, c = -(-n // 4), -(-k // 4)
    padded = np.zeros((4, 4 * g, 4 * c), np.int8)
    padded[:, :n, :k] = w
    words = padded.reshape(4, g, 4, c, 4).transpose(0, 1, 3, 2, 4)
    return np.ascontiguousarray(words).reshape(16 * g, 4 * c)


def _row(multiplier: int, shift: int, bound: int) -> tuple[int, ...] | None:
    """The kernel's requant row {multiplier, 1 + left shift, round, right shift, mask} of a TFLite (multiplier,
    shift) for sums below `bound` in magnitude, or None when it would not be exact (tq_lstm_fast_dsp.c)."""
    left, right = max(shift, 0), max(-shift, 0)
    if not (0 <= multiplier < 2**31 and right <= 30 and bound << left <= FAST_BOUND):
        return None
    return multiplier, 1 + left, (1 << right) >> 1, right, -1 if right else 0


def _fc(w: np.ndarray, bias: np.ndarray, offset: int, groups: int) -> tuple[np.ndarray, list[int]]:
    """One FC (w int8 [4, N, K], bias [4, N], the kernel sums x + offset): the folded biases int64
    [4, 4 groups] and, per gate, 1 + the largest |sum| any int8 input gives (bias included)."""
    w64 = w.astype(np.int64)
    xmax = max(abs(-128 + offset), abs(127 + offset))
    bound = (np.abs(bias) + np.abs(w64).sum(axis=2) * xmax).max(axis=1) + 1
    folded = np.zeros((4, 4 * groups), np.int64)
    folded[:, : w.shape[1]] = bias + offset * w64.sum(axis=2)  # |folded| < bound: int32 whenever a row is taken
    return folded, [int(b) for b in bound]


def prepare(call: KernelCall) -> Prepared | None:
    if not isinstance(call, LstmCall) or call.kernel != "tq_lstm_s8":
        return None
    n, k = call.units, call.input_size
    groups, chunks = -(-n // 4), -(-k // 4)
    in_bias, in_bound = _fc(call.input_weights, call.bias.astype(np.int64), call.input_offset, groups)
    rec_bias, rec_bound = _fc(call.recurrent_weights, np.zeros((4, n), np.int64), -call.hidden_zero_point, groups)
    gate_rows = [_row(m, s, b) for g in range(4)
                 for m, s, b in ((call.input_multiplier[g], call.input_shift[g], in_bound[g]),
                                 (call.recurrent_multiplier[g], call.recurrent_shift[g], rec_bound[g]))]
    product = 32767 * 32768 + 1  # the cell products' bound: an int16 x a gate in [0, 32767] (or tanh, smaller)
    cell_rows = [_row(m, s, product) for m, s in ((call.forget_multiplier, call.forget_shift),
                                                  (call.update_multiplier, call.update_shift),
                                                  (call.output_multiplier, call.output_shift))]
    if None in gate_rows or None in cell_rows:
        return None
    record = LstmFastCall(
        **base_fields(call),
        batches=call.batches, time_steps=call.time_steps, input_size=k, units=n, time_major=call.time_major,
        hidden_zero_point=call.hidden_zero_point, input_chunks=chunks, hidden_chunks=groups,
        input_weights=const_array(interleave(call.input_weights), np.int8),
        recurrent_weights=const_array(interleave(call.recurrent_weights), np.int8),
        input_bias=const_array(in_bias, np.int32), recurrent_bias=const_array(rec_bias, np.int32),
        gate_requant=const_array(np.array(gate_rows).reshape(4, 2, 5), np.int32),
        cell_requant=const_array(np.array(cell_rows), np.int32),
        use_cell_clip=call.use_cell_clip, cell_clip=call.cell_clip,
        cell_tanh_multiplier=call.cell_tanh_multiplier, cell_tanh_right_shift=call.cell_tanh_right_shift,
        sigmoid_table=call.sigmoid_table,
    )
    return Prepared(record, SYMBOL)


register(Preparer(kernel="tq_lstm_s8", feature="dsp", macro="__ARM_FEATURE_DSP", prepare=prepare))
