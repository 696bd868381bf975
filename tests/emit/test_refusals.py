"""Values that do not fit the C type that carries them are refused before any file is written, in one line
naming the call or tensor and the value (hand-built programs: no model could be this wrong and pass the
reader, but the emitter must not rely on that)."""
from dataclasses import dataclass

import numpy as np
import pytest

from tinyq.emit.emitter import emit_sources
from tinyq.errors import UnsupportedError
from tinyq.lower.quantize import QuantizeCall
from tinyq.lower.shape import CopyCall, StridedCopyCall
from tinyq.planner import MemoryPlan, plan_memory
from tinyq.program import KernelCall, Program, TensorInfo, const_array


def copy_program(shape=(1, 4), dtype="int8", nbytes=None, scale=0.5, zero_point=0) -> Program:
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize if nbytes is None else nbytes
    tensors = (TensorInfo(0, "in", shape, dtype, scale, zero_point), TensorInfo(1, "out", shape, dtype, 0.5, 0))
    return Program(tensors, (CopyCall("tq_copy", 0, "RESHAPE", (0,), (1,), bytes=n),), (0,), (1,), "0" * 64)


def strided(count) -> Program:
    tensors = (TensorInfo(0, "in", (1, 4), "int8", 0.5, 0), TensorInfo(1, "out", (1, 4), "int8", 0.5, 0))
    call = StridedCopyCall("tq_strided_copy", 3, "TRANSPOSE", (0,), (1,), elem_bytes=1, offset=0, count=count,
                           step=(0, 0, 0, 0, 1))
    return Program(tensors, (call,), (0,), (1,), "0" * 64)


def quantize(scale) -> Program:
    tensors = (TensorInfo(0, "x", (1, 4), "float32", 0.0, 0), TensorInfo(1, "q", (1, 4), "int8", 0.5, 0))
    call = QuantizeCall("tq_quantize_f32_s8", 0, "QUANTIZE", (0,), (1,), size=4, scale=scale, output_offset=0)
    return Program(tensors, (call,), (0,), (1,), "0" * 64)


def io_only_plan(program: Program) -> MemoryPlan:
    return MemoryPlan(0, (), program.weight_bytes, 0)


CASES = {
    "int32 member too large": (copy_program(nbytes=2**31), None,
                               r"^call 0 \(layer 0 RESHAPE\): parameter bytes = 2147483648 does not fit int32_t$"),
    "int32 member too small": (copy_program(nbytes=-(2**31) - 1), None, r"parameter bytes = -2147483649 does not"),
    "array member element": (strided((1, 1, 1, 2**32, 4)), None,
                             r"^call 0 \(layer 3 TRANSPOSE\): parameter count\[3\] = 4294967296 does not fit int32_t$"),
    "tensor of 2 GiB": (copy_program(shape=(1, 2**31)), "io",
                        r"^tensor 'in' \(#0\) int8\[1, 2147483648\]: 2147483648 bytes do not fit int32_t$"),
    "shape overflowing int64": (copy_program(shape=(2**40, 2**40), nbytes=4), "io", r"tensor 'in' \(#0\) int8\[1099511627776"),
    "arena beyond int32": (copy_program(), MemoryPlan(2**31, (), 0, 8),
                           r"^activation arena: 2147483648 bytes do not fit int32_t$"),
    "NaN scale": (quantize(float("nan")), None, r"parameter scale = nan is not a finite float32"),
    "scale overflowing float32": (quantize(1e39), None, r"parameter scale = 1e\+39 is not a finite float32"),
    "input scale inf": (copy_program(scale=float("inf")), None, r"^tensor 'in' \(#0\): scale = inf is not a finite"),
    "zero point beyond int32": (copy_program(zero_point=2**40), None, r"zero point 1099511627776 does not fit int32_t"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_value_that_does_not_fit_is_refused_before_writing(case, tmp_path):
    program, plan, message = CASES[case]
    plan = io_only_plan(program) if plan == "io" else (plan or plan_memory(program))
    with pytest.raises(UnsupportedError, match=message) as info:
        emit_sources(program, plan, tmp_path / "src")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "src").exists()  # nothing written, not even the directory


def test_refusal_leaves_earlier_output_untouched(tmp_path):
    good = copy_program()
    files = emit_sources(good, plan_memory(good), tmp_path / "src")
    before = {f.name: f.read_bytes() for f in files}
    bad = copy_program(nbytes=2**31)
    with pytest.raises(UnsupportedError):
        emit_sources(bad, plan_memory(bad), tmp_path / "src")
    assert {f.name: f.read_bytes() for f in files} == before


@dataclass(frozen=True, eq=False)
class TableCall(KernelCall):
    """A record with a float32 constant array (no tinyq kernel has one today; the emitter must still check)."""

    params_type = "tq_table_params"
    table: np.ndarray


def test_non_finite_constant_is_refused(tmp_path):
    tensors = (TensorInfo(0, "x", (1, 4), "int8", 0.5, 0), TensorInfo(1, "y", (1, 4), "int8", 0.5, 0))
    call = TableCall("tq_table_s8", 0, "CUSTOM", (0,), (1,), table=const_array([1.0, np.inf], np.float32))
    program = Program(tensors, (call,), (0,), (1,), "0" * 64)
    with pytest.raises(UnsupportedError, match=r"^call 0 \(layer 0 CUSTOM\): table: value inf is not a finite float32$"):
        emit_sources(program, plan_memory(program), tmp_path / "src")
    assert not (tmp_path / "src").exists()
