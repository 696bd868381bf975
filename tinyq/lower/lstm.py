"""UNIDIRECTIONAL_SEQUENCE_LSTM -> tq_lstm_s8 (int8 activations, int8 weights, int32 bias, int16 cell) /
tq_lstm_s16 (int16 activations, int8 weights, int64 bias, int16 cell).

The arithmetic is TFLM's integer LSTM (tensorflow/lite/micro/kernels/unidirectional_sequence_lstm.cc,
lstm_eval.h LstmStep, lstm_eval_common.cc PrepareGateParametersInteger). Per time step and batch row, each
gate (input, forget, cell, output) is two FULLY_CONNECTED into int16 at scale 2^-12 (input x input weights +
gate bias; hidden state x recurrent weights, no bias), their saturating int16 sum, then the int16 sigmoid (tanh for
the cell gate) to Q0.15. The cell becomes
forget x cell + input x cell gate (two int16 MULs, a saturating add, then the cell clip), the hidden state
tanh(cell) x output gate (a MUL into the activation type, plus the hidden zero point); the step's output
is the hidden state.

The hidden state (input 18, the activation type) and the cell state (input 19, int16) are variable tensors:
the call writes them (its second and third outputs) and they persist across invokes (Program.states).
TFLM's reset fills the int8 hidden state with its zero point, an int16 state with 0.

What TFLM's micro LSTM refuses, tinyq refuses: CIFG (no input gate), peephole, projection and layer-norm
inputs (Prepare requires them absent), a cell state that is not int16 (float LSTMs are out of tinyq's scope),
weights other than int8. The op's intermediate tensors (four float32 gate intermediates and the effective
hidden scale, shape [0]) are not op inputs and TFLM never reads them; neither does tinyq.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.lower import OpContext, lowers
from tinyq.lower.logistic import checked_log2
from tinyq.lower.tflm_tables import sigmoid_table_uint16
from tinyq.program import KernelCall, const_array
from tinyq.quant import f32, requant_multiplier

# lstm_shared.h tensor positions
INPUT, HIDDEN, CELL = 0, 18, 19
GATES = ("input", "forget", "cell", "output")  # gate order of the weights and biases tinyq keeps
INPUT_WEIGHTS = (1, 2, 3, 4)  # input-to-{input, forget, cell, output} weights
RECURRENT_WEIGHTS = (5, 6, 7, 8)
BIASES = (12, 13, 14, 15)
ABSENT = {9: "cell-to-input (peephole)", 10: "cell-to-forget (peephole)", 11: "cell-to-output (peephole)",
          16: "projection weights", 17: "projection bias", 20: "input layer-norm", 21: "forget layer-norm",
          22: "cell layer-norm", 23: "output layer-norm"}
GATE_SCALE = 2.0**-12  # the FC outputs: Q3.12
ACT_TANH = 4  # TFLite ActivationFunctionType
TANH_MAX_MULTIPLIER = 32767  # the int16 tanh's rescale multiplies an int16 by it in int32


@dataclass(frozen=True, eq=False)
class LstmCall(KernelCall):
    params_type = "tq_lstm_params"
    stateful = True
    batches: int
    time_steps: int
    input_size: int
    units: int  # state dimension
    time_major: bool  # input/output [time, batch, ...] instead of [batch, time, ...]
    input_offset: int  # -input zero point
    hidden_zero_point: int
    # per gate (input, forget, cell, output): input FC and recurrent FC requantization into Q3.12
    input_multiplier: tuple[int, int, int, int]
    input_shift: tuple[int, int, int, int]
    recurrent_multiplier: tuple[int, int, int, int]
    recurrent_shift: tuple[int, int, int, int]
    forget_multiplier: int  # forget gate (Q0.15) x cell -> cell
    forget_shift: int
    update_multiplier: int  # input gate x cell gate (Q0.15 each) -> cell
    update_shift: int
    output_multiplier: int  # tanh(cell) x output gate (Q0.15 each) -> hidden
    output_shift: int
    use_cell_clip: bool
    cell_clip: int  # the cell stays in [-cell_clip, cell_clip] when use_cell_clip
    cell_tanh_multiplier: int  # tanh(cell): the int16 tanh's input rescale (tinyq.lower.logistic)
    cell_tanh_right_shift: int
    input_weights: np.ndarray  # int8 [4, units, input_size]
    recurrent_weights: np.ndarray  # int8 [4, units, units]
    bias: np.ndarray  # int32 (s8) or int64 (s16) [4, units]
    sigmoid_table: np.ndarray  # uint16[256], TFLM's

    @property
    def activation_dtype(self) -> str:
        return "int8" if self.kernel == "tq_lstm_s8" else "int16"

    def scratch_bytes(self) -> int:
        # the four gates of one step (int16), then the raw hidden values (int32, at 8 x units bytes: aligned)
        return 4 * self.units * 2 + self.units * 4

    def offsets(self, t: int, b: int) -> tuple[int, int]:
        """Element offsets of step t of batch row b in the input and the output."""
        row = t * self.batches + b if self.time_major else b * self.time_steps + t
        return row * self.input_size, row * self.units


def _fc_multiplier(inp, weights) -> tuple[int, int]:
    """CreateGateParams: input scale x weight scale / 2^-12, then QuantizeMultiplier. In double from the
    float32 scales: kernel_util.cc of Aug 2026 multiplies the two in float first, but the tflite-micro runtime
    tinyq checks against computes in double (measured on dtln_noise_suppression: the float product gives
    multipliers whose cell states differ from TFLM's by 1 in the second LSTM; the double ones agree)."""
    return requant_multiplier(f32(inp.scale) * f32(weights.scale) / GATE_SCALE)


def _mul_multiplier(scale_1: float, scale_2: float, out_scale: float) -> tuple[int, int]:
    """CreateInterGateMulParams: double(scale_1) x double(scale_2) / double(out_scale)."""
    return requant_multiplier(f32(scale_1) * f32(scale_2) / f32(out_scale))


@lowers("UNIDIRECTIONAL_SEQUENCE_LSTM", dtypes=("int8", "int16"))
def lower_lstm(ctx: OpContext):
    """int8 activations with int8 weights, int32 biases and an int16 cell state, or int16 activations (16x8)
    with int8 weights and int64 biases; all four gates and their biases, no peephole, projection or layer
    norm (TFLM's micro LSTM). The hidden and cell states are variable tensors used by this op only."""
    inp, out = ctx.input(INPUT), ctx.output(0)
    if inp is None:
        raise ctx.fail("input 0 is missing")
    if inp.dtype not in ("int8", "int16") or out.dtype != inp.dtype:
        raise ctx.fail(f"input {inp.dtype} / output {out.dtype}: tinyq compiles the integer LSTM (int8 or int16 "
                       f"input and output of one type); float and hybrid LSTMs are not supported")
    ctx.require_quant(inp)
    ctx.require_quant(out)
    for k, what in ABSENT.items():
        if ctx.input(k) is not None:
            raise ctx.fail(f"input {k} ({what}) is present; TFLM's LSTM supports neither peephole, projection nor "
                           f"layer normalization")
    if ctx.input(1) is None or ctx.input(5) is None:
        raise ctx.fail("the input gate's weights (inputs 1 and 5) are missing: CIFG LSTMs are not supported "
                       "(TFLM requires every gate)")
    opts = ctx.op.options
    activation = int(opts.get("fused_activation_function", 0))
    if activation != ACT_TANH:
        # TFLM's kernel takes TANH or SIGMOID, but the schema has no SIGMOID: any other value parses as NONE,
        # which the kernel asserts against (release builds then leave the cell gate un-activated)
        raise ctx.fail(f"cell gate activation {activation}: TFLM's LSTM computes TANH (4) only")
    if opts.get("diagonal_recurrent_tensors", False):
        raise ctx.fail("diagonal recurrent weights are not supported (TFLM's LSTM takes full matrices)")
    time_major = bool(opts.get("time_major", False))

    if len(inp.shape) != 3:
        raise ctx.fail(f"input {list(inp.shape)} must be 3-D ({'time, batch' if time_major else 'batch, time'}, features)")
    hidden, cell = ctx.input(HIDDEN), ctx.input(CELL)
    for t, what, k in ((hidden, "hidden (output) state", HIDDEN), (cell, "cell state", CELL)):
        if t is None:
            raise ctx.fail(f"the {what} (input {k}) is missing")
        if not t.is_variable or t.is_constant:
            raise ctx.fail(f"the {what} {t.describe()} must be a variable tensor (is_variable)")
        ctx.require_quant(t)
        _check_state_owner(ctx, t, what)
    if hidden.dtype != inp.dtype:
        raise ctx.fail(f"the hidden state {hidden.describe()} must have the input's type ({inp.dtype})")
    if cell.dtype != "int16":
        raise ctx.fail(f"the cell state {cell.describe()} is {cell.dtype}: TFLM's integer LSTM needs an int16 cell")
    if cell.zero_point != 0:
        raise ctx.fail(f"the cell state {cell.describe()} has zero point {cell.zero_point}; TFLM ignores it, "
                       f"tinyq requires 0")
    if inp.dtype == "int16" and (inp.zero_point or hidden.zero_point or out.zero_point):
        raise ctx.fail("int16 input, output and hidden state must have zero point 0")
    if len(hidden.shape) != 2:
        raise ctx.fail(f"the hidden state {list(hidden.shape)} must be 2-D (batch, units)")
    units = hidden.shape[1]
    if time_major:
        time_steps, batches, input_size = inp.shape
    else:
        batches, time_steps, input_size = inp.shape
    if min(units, time_steps, batches, input_size) < 1:
        raise ctx.fail(f"input {list(inp.shape)} / hidden state {list(hidden.shape)} have an empty dimension")
    if hidden.size != batches * units or cell.size != batches * units:
        raise ctx.fail(f"hidden state {list(hidden.shape)} and cell state {list(cell.shape)} must hold "
                       f"{batches} x {units} values (batch x units)")
    if out.shape != (inp.shape[0], inp.shape[1], units):
        raise ctx.fail(f"output {list(out.shape)} must be [{inp.shape[0]}, {inp.shape[1]}, {units}]")

    weights = []
    for ks, cols, kind in ((INPUT_WEIGHTS, input_size, "input"), (RECURRENT_WEIGHTS, units, "recurrent")):
        for k, gate in zip(ks, GATES):
            w = ctx.const_input(k, f"{kind} weights of the {gate} gate")
            if w.dtype != "int8":
                raise ctx.fail(f"{w.describe()} ({kind} weights of the {gate} gate) is {w.dtype}; TFLM's integer "
                               f"LSTM takes int8 weights")
            ctx.require_quant(w)
            if w.zero_point != 0:
                raise ctx.fail(f"{w.describe()} has zero point {w.zero_point}; TFLM assumes symmetric weights")
            if w.shape != (units, cols):
                raise ctx.fail(f"{w.describe()} ({kind} weights of the {gate} gate) {list(w.shape)} must be "
                               f"[{units}, {cols}]")
            weights.append(w)
    bias_dtype = "int32" if inp.dtype == "int8" else "int64"
    biases = []
    for k, gate in zip(BIASES, GATES):
        b = ctx.const_input(k, f"bias of the {gate} gate")
        if b.dtype != bias_dtype:
            raise ctx.fail(f"{b.describe()} (bias of the {gate} gate) is {b.dtype}; TFLM reads a {inp.dtype} "
                           f"LSTM's biases as {bias_dtype}")
        if b.shape != (units,):
            raise ctx.fail(f"{b.describe()} (bias of the {gate} gate) {list(b.shape)} must be [{units}]")
        biases.append(b)
    if inp.dtype == "int16":  # TFLM's int64 requantize takes |sum| < 2^47
        worst = int(max(np.abs(b.data.astype(np.int64)).max() for b in biases)) + max(input_size, units) * (1 << 22)
        if worst >= 1 << 47:
            raise ctx.fail(f"a gate bias is too large for the 16x8 accumulator (|sum| could reach {worst:,})")

    in_m, in_s, rec_m, rec_s = [], [], [], []
    for g in range(4):
        m, s = _fc_multiplier(inp, weights[g])
        in_m.append(m)
        in_s.append(s)
        m, s = _fc_multiplier(hidden, weights[4 + g])
        rec_m.append(m)
        rec_s.append(s)
    if inp.dtype == "int16" and max(in_s + rec_s) > 14:
        raise ctx.fail("a gate's requantization shift exceeds what the 16x8 int64 requantize computes")
    q15 = 2.0**-15
    cell_scale = f32(cell.scale)
    forget_m, forget_s = _mul_multiplier(q15, cell_scale, cell_scale)
    update_m, update_s = _mul_multiplier(q15, q15, cell_scale)
    output_m, output_s = _mul_multiplier(q15, q15, hidden.scale)

    # CreateLstmCellStateInfo: 2^power ~ cell scale (CheckedLog2's result is not checked: rounded log2);
    # the cell tanh's input left shift is 15 + power - 3, a negative one becomes multiplier 3 and a right shift
    _, power = checked_log2(cell_scale)
    left = 12 + power
    tanh_m, tanh_rs = (3 << left, 0) if left >= 0 else (3, -left)
    if tanh_m > TANH_MAX_MULTIPLIER or tanh_rs > 31:
        raise ctx.fail(f"cell state scale {cell_scale:g}: TFLM's int16 tanh of the cell would overflow int32 "
                       f"(supported: 2^-43 to 2^1)")
    clip = float(opts.get("cell_clip", 0.0))
    use_clip = np.float32(clip) > 0
    q_clip = int(min(max(float(np.float32(clip)) / cell_scale, -32768.0), 32767.0)) if use_clip else 0

    kernel = "tq_lstm_s8" if inp.dtype == "int8" else "tq_lstm_s16"
    return LstmCall(
        **ctx.call_fields(kernel, inputs=(inp.index,), outputs=(out.index, hidden.index, cell.index)),
        batches=batches, time_steps=time_steps, input_size=input_size, units=units, time_major=time_major,
        input_offset=-inp.zero_point, hidden_zero_point=hidden.zero_point,
        input_multiplier=tuple(in_m), input_shift=tuple(in_s), recurrent_multiplier=tuple(rec_m),
        recurrent_shift=tuple(rec_s),
        forget_multiplier=forget_m, forget_shift=forget_s, update_multiplier=update_m, update_shift=update_s,
        output_multiplier=output_m, output_shift=output_s, use_cell_clip=bool(use_clip), cell_clip=q_clip,
        cell_tanh_multiplier=tanh_m, cell_tanh_right_shift=tanh_rs,
        input_weights=const_array(np.stack([w.data for w in weights[:4]]), np.int8),
        recurrent_weights=const_array(np.stack([w.data for w in weights[4:]]), np.int8),
        bias=const_array(np.stack([b.data for b in biases]), bias_dtype),
        sigmoid_table=sigmoid_table_uint16(),
    )


def _check_state_owner(ctx: OpContext, state, what: str) -> None:
    """The state belongs to this op alone: nothing else reads or writes it, and the caller never sees it."""
    g = ctx.graph
    if state.index in g.inputs or state.index in g.outputs:
        raise ctx.fail(f"the {what} {state.describe()} is a graph input or output")
    for op in g.ops:
        if op.index != ctx.op.index and state.index in op.inputs:
            raise ctx.fail(f"the {what} {state.describe()} is also read by operator #{op.index} ({op.opcode})")
        if state.index in op.outputs:
            raise ctx.fail(f"the {what} {state.describe()} is written by operator #{op.index} ({op.opcode})")
    if list(ctx.op.inputs).count(state.index) != 1:
        raise ctx.fail(f"the {what} {state.describe()} is also another input of this op")
