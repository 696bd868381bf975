"""Constant tables of TFLM's kernels, read out of the installed TFLM runtime instead of copied into tinyq.

Consumes: the `tflite_micro` Python runtime (tinyq's reference, a core dependency), `flatbuffers` and the
`tflite` package's generated schema builders (no TensorFlow). Produces: `sigmoid_table_uint16()`, the 256
uint16 values TFLM's int16 LOGISTIC and TANH kernels interpolate (sigmoid(k/24) in Q0.16). TFLM's table is
hand-tuned, so no formula reproduces it; tinyq's kernels need it bit for bit, hence the probe.
"""
from __future__ import annotations

import functools

import numpy as np

from tinyq.errors import MismatchError, RunError

TABLE_SIZE = 256
PROBE_COUNT = 1 << 15  # every non-negative int16 input
# TFLM's int16 Prepare turns this scale into input_multiplier 16384, left shift 13: scale * 3 * 4096 is
# 2.00006, doubled 13 times it first exceeds 32767/2 (16384.5) and truncates to 16384. Eval then rescales
# x to v = (16384 x + 4096) >> 13 = 2 x exactly (not a power of two, so no special case applies).
PROBE_INPUT_SCALE = float(np.float32((2**14 + 0.5) / (3 * 2**25)))
OUTPUT_SCALE = 2.0**-15
TANH_FRACTION_BITS = 8  # TANH reads the table at twice LOGISTIC's rate (tanh(x) = 2 sigmoid(2x) - 1)
LOGISTIC_FRACTION_BITS = 9


@functools.cache
def sigmoid_table_uint16() -> np.ndarray:
    """TFLM's `sigmoid_table_uint16` (read-only uint16[256]), derived by probing the TFLM runtime.

    The probe is one model with one int16 input x = 0..32767 (scale PROBE_INPUT_SCALE, so TFLM rescales it
    to v = 2x exactly) feeding an int16 TANH and an int16 LOGISTIC. For v >= 0 TFLM's int16 TANH computes
    uh = v >> 8, t = v & 255 and, for uh < 255,
        out = ((table[uh] << 8) + t * (table[uh + 1] - table[uh]) - 2^23 + 2^7) >> 8
    so a zero fraction (x = 128 k) gives table[k] - 32768 exactly, for k = 0..254. table[255] is never
    read directly (uh >= 255 saturates): it enters only as the upper end of uh = 254, and the 127 non-zero
    even fractions there pin the step table[255] - table[254] to a single value (searched over every
    step that keeps the entry a uint16; any ambiguity is an error). Consistency is then checked on every
    probe output: the TANH identity above for all 32768 inputs (every entry, every even fraction), and
    LOGISTIC's own interpolation (9 fraction bits, out = ((table[uh] << 9) + f * step + 2^9) >> 10) for
    the entries it reaches (uh <= 127), so the table is the one both kernels use.
    Raises RunError if the runtime cannot be probed, MismatchError if its outputs are inconsistent.
    """
    tanh_out, logistic_out = _run_probe()
    table = _solve(tanh_out)
    _check(table, tanh_out, logistic_out)
    arr = table.astype(np.uint16)
    arr.setflags(write=False)
    return arr


def probe_model() -> bytes:
    """The probe: input x (int16[PROBE_COUNT]) -> TANH -> output 0, and x -> LOGISTIC -> output 1."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    b = flatbuffers.Builder(1024)

    def vector(values, dtype):
        return b.CreateNumpyVector(np.asarray(values, dtype=dtype))

    def tensor(name: str, scale: float) -> int:
        name_off, shape_off = b.CreateString(name), vector([PROBE_COUNT], np.int32)
        scale_off, zp_off = vector([scale], np.float32), vector([0], np.int64)
        fb.QuantizationParametersStart(b)
        fb.QuantizationParametersAddScale(b, scale_off)
        fb.QuantizationParametersAddZeroPoint(b, zp_off)
        quant = fb.QuantizationParametersEnd(b)
        fb.TensorStart(b)
        fb.TensorAddShape(b, shape_off)
        fb.TensorAddType(b, fb.TensorType.INT16)
        fb.TensorAddBuffer(b, 0)
        fb.TensorAddName(b, name_off)
        fb.TensorAddQuantization(b, quant)
        return fb.TensorEnd(b)

    def operator(opcode_index: int, output: int) -> int:
        inputs, outputs = vector([0], np.int32), vector([output], np.int32)
        fb.OperatorStart(b)
        fb.OperatorAddOpcodeIndex(b, opcode_index)
        fb.OperatorAddInputs(b, inputs)
        fb.OperatorAddOutputs(b, outputs)
        return fb.OperatorEnd(b)

    def opcode(builtin: int) -> int:
        fb.OperatorCodeStart(b)
        fb.OperatorCodeAddDeprecatedBuiltinCode(b, builtin)
        fb.OperatorCodeAddBuiltinCode(b, builtin)
        fb.OperatorCodeAddVersion(b, 1)
        return fb.OperatorCodeEnd(b)

    def table_vector(start, offsets):
        start(b, len(offsets))
        for off in reversed(offsets):
            b.PrependUOffsetTRelative(off)
        return b.EndVector()

    tensors = [tensor("x", PROBE_INPUT_SCALE), tensor("tanh", OUTPUT_SCALE), tensor("logistic", OUTPUT_SCALE)]
    operators = [operator(0, 1), operator(1, 2)]
    codes = [opcode(fb.BuiltinOperator.TANH), opcode(fb.BuiltinOperator.LOGISTIC)]
    fb.BufferStart(b)
    buffers = [fb.BufferEnd(b)]  # buffer 0: the empty sentinel every activation tensor points at
    tensors_off = table_vector(fb.SubGraphStartTensorsVector, tensors)
    operators_off = table_vector(fb.SubGraphStartOperatorsVector, operators)
    inputs_off, outputs_off = vector([0], np.int32), vector([1, 2], np.int32)
    name_off = b.CreateString("main")
    fb.SubGraphStart(b)
    fb.SubGraphAddTensors(b, tensors_off)
    fb.SubGraphAddInputs(b, inputs_off)
    fb.SubGraphAddOutputs(b, outputs_off)
    fb.SubGraphAddOperators(b, operators_off)
    fb.SubGraphAddName(b, name_off)
    subgraph = fb.SubGraphEnd(b)
    codes_off = table_vector(fb.ModelStartOperatorCodesVector, codes)
    subgraphs_off = table_vector(fb.ModelStartSubgraphsVector, [subgraph])
    buffers_off = table_vector(fb.ModelStartBuffersVector, buffers)
    description = b.CreateString("tinyq probe: TFLM int16 sigmoid table")
    fb.ModelStart(b)
    fb.ModelAddVersion(b, 3)
    fb.ModelAddOperatorCodes(b, codes_off)
    fb.ModelAddSubgraphs(b, subgraphs_off)
    fb.ModelAddDescription(b, description)
    fb.ModelAddBuffers(b, buffers_off)
    b.Finish(fb.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _run_probe() -> tuple[np.ndarray, np.ndarray]:
    """(TANH outputs, LOGISTIC outputs) of the probe model in TFLM, as int64[PROBE_COUNT] each."""
    try:
        from tinyq.oracle import TflmReference

        x = np.arange(PROBE_COUNT, dtype=np.int16).reshape(1, PROBE_COUNT)
        tanh_out, logistic_out = TflmReference(probe_model()).run([x], 2)
    except Exception as exc:
        raise RunError(f"cannot read TFLM's int16 sigmoid table: the tflite-micro runtime failed on the "
                       f"probe model ({type(exc).__name__}: {exc})") from None
    return tanh_out.reshape(-1).astype(np.int64), logistic_out.reshape(-1).astype(np.int64)


def _solve(tanh_out: np.ndarray) -> np.ndarray:
    """table[0..254] from the zero-fraction inputs, table[255] as the only step fitting uh = 254's fractions."""
    table = np.empty(TABLE_SIZE, dtype=np.int64)
    step = 1 << (TANH_FRACTION_BITS - 1)  # x per table entry (v = 2x)
    table[:-1] = tanh_out[:(TABLE_SIZE - 1) * step:step] + 32768
    last = (TABLE_SIZE - 2) * step + np.arange(1, step)  # x = 254 * 128 + j: uh = 254, t = 2j
    fractions, above = 2 * (last - (TABLE_SIZE - 2) * step), tanh_out[last] - tanh_out[(TABLE_SIZE - 2) * step]
    deltas = np.arange(-table[-2], 65536 - table[-2])  # every step keeping table[255] a uint16
    fits = np.ones(deltas.size, dtype=bool)
    for t, want in zip(fractions, above):
        fits &= ((t * deltas + (1 << (TANH_FRACTION_BITS - 1))) >> TANH_FRACTION_BITS) == want
    if np.count_nonzero(fits) != 1:
        raise MismatchError(f"cannot read TFLM's int16 sigmoid table: {np.count_nonzero(fits)} values of entry "
                            f"255 fit the tflite-micro TANH probe (expected exactly one)")
    table[-1] = table[-2] + deltas[fits][0]
    return table


def _interpolate(table: np.ndarray, a: np.ndarray, bits: int, saturated: int) -> np.ndarray:
    """TFLM's int16 table read for a >= 0: saturated when a >> bits >= 255, else the linear interpolation."""
    uh = np.minimum(a >> bits, TABLE_SIZE - 2)
    value = (table[uh] << bits) + (a & ((1 << bits) - 1)) * (table[uh + 1] - table[uh])
    return np.where((a >> bits) >= TABLE_SIZE - 1, saturated, value)


def _check(table: np.ndarray, tanh_out: np.ndarray, logistic_out: np.ndarray) -> None:
    """Every probe output must follow from the table by the kernels' arithmetic (see sigmoid_table_uint16)."""
    v = 2 * np.arange(PROBE_COUNT, dtype=np.int64)
    tanh = (_interpolate(table, v, TANH_FRACTION_BITS, 0xFFFF << 8) - (1 << 23) + (1 << 7)) >> 8
    logistic = (_interpolate(table, v, LOGISTIC_FRACTION_BITS, 0x7FFF << 10) + (1 << 9)) >> 10
    for name, predicted, got in (("TANH", tanh, tanh_out), ("LOGISTIC", logistic, logistic_out)):
        bad = np.flatnonzero(predicted != got)
        if bad.size:
            raise MismatchError(f"cannot read TFLM's int16 sigmoid table: the tflite-micro {name} probe "
                                f"disagrees with the derived table at {bad.size} inputs (first x = {bad[0]})")
