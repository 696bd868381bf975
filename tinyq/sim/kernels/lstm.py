"""Simulator kernels for tq_lstm_s8 / tq_lstm_s16 (mirror firmware/src/tq_lstm.c, TFLM's integer LstmStep).
Stateful: the samples of a batch are consecutive invokes; within one, the time steps run in order, every
batch row at once (the rows never mix)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tinyq.sim.fixedpoint import (exact_matmul, multiply_by_quantized_multiplier,
                                  multiply_by_quantized_multiplier_int64, wrap_int32)
from tinyq.sim.kernels import sim_kernel
from tinyq.sim.kernels.logistic import logistic_s16, tanh_s16

I16 = (-32768, 32767)


def _sat16(x) -> np.ndarray:
    return np.clip(x, *I16)


def _fc(call, x, w, bias, m: int, s: int) -> np.ndarray:
    """One gate FULLY_CONNECTED into Q3.12: int32 sums that wrap (s8) or int64 sums (s16), clamped to int16."""
    acc = exact_matmul(x, w.astype(np.int64).T)
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    if call.kernel == "tq_lstm_s8":
        return _sat16(multiply_by_quantized_multiplier(wrap_int32(acc), m, s))
    return _sat16(multiply_by_quantized_multiplier_int64(acc, m, s))


def _act(table, multiplier: int, right_shift: int, x, tanh: bool) -> np.ndarray:
    """The int16 sigmoid / tanh kernels of tinyq.sim.kernels.logistic, on x (rows, units)."""
    shim = SimpleNamespace(input_multiplier=multiplier, input_right_shift=right_shift, sigmoid_table=table)
    return (tanh_s16 if tanh else logistic_s16)(shim, x.astype(np.int16)).astype(np.int64)


def _step(call, x, hidden, cell):
    """One time step of every batch row: x (B, input) and hidden (B, units) as int64, cell (B, units).
    Returns the new (hidden, cell)."""
    h_in = hidden + (-call.hidden_zero_point)
    gates = []
    for g in range(4):
        pre = _sat16(_fc(call, x + call.input_offset, call.input_weights[g], call.bias[g], call.input_multiplier[g],
                         call.input_shift[g])
                     + _fc(call, h_in, call.recurrent_weights[g], None, call.recurrent_multiplier[g],
                           call.recurrent_shift[g]))
        # Q3.12 in (multiplier 3, no shift): tanh for the cell gate, sigmoid for the others
        gates.append(_act(call.sigmoid_table, 3, 0, pre, g == 2))
    i, f, c_gate, o = gates
    kept = _sat16(multiply_by_quantized_multiplier(f * cell, call.forget_multiplier, call.forget_shift))
    new = _sat16(multiply_by_quantized_multiplier(i * c_gate, call.update_multiplier, call.update_shift))
    cell = _sat16(kept + new)
    if call.use_cell_clip:
        cell = np.clip(cell, -call.cell_clip, call.cell_clip)
    t = _act(call.sigmoid_table, call.cell_tanh_multiplier, call.cell_tanh_right_shift, cell, True)
    lo, hi = (-128, 127) if call.activation_dtype == "int8" else I16
    y = multiply_by_quantized_multiplier(t * o, call.output_multiplier, call.output_shift) + call.hidden_zero_point
    return np.clip(y, lo, hi), cell


@sim_kernel("tq_lstm_s8", "tq_lstm_s16")
def lstm(call, x, *, initial: int, reset: bool = False):
    """x: (N, *input shape). Returns (outputs, the hidden state after each sample, the cell state after each)."""
    n, b, t_steps, u = x.shape[0], call.batches, call.time_steps, call.units
    dtype = np.dtype(call.activation_dtype)
    seq = x.reshape(n, -1, call.input_size).astype(np.int64)
    # rows of step t, in batch order: [t*B, (t+1)*B) time-major, b*T + t batch-major
    rows = [np.arange(b) + t * b if call.time_major else np.arange(b) * t_steps + t for t in range(t_steps)]
    hidden = np.full((b, u), initial, np.int64)
    cell = np.zeros((b, u), np.int64)  # an int16 state starts at 0 (TFLM's reset)
    outs = np.empty((n, b * t_steps, u), dtype)
    hist_h = np.empty((n, b * u), dtype)
    hist_c = np.empty((n, b * u), np.int16)
    for s in range(n):
        if reset:
            hidden[...] = initial
            cell[...] = 0
        for t in range(t_steps):
            hidden, cell = _step(call, seq[s, rows[t]], hidden, cell)
            outs[s, rows[t]] = hidden
        hist_h[s] = hidden.reshape(-1)
        hist_c[s] = cell.reshape(-1)
    return outs, hist_h, hist_c
