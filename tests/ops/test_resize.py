"""RESIZE_NEAREST_NEIGHBOR (int8, int16) and RESIZE_BILINEAR (int8): TFLM == simulator == host C on grids of
up- and downsampling with non-integer ratios, 1-pixel edges and every option TFLM accepts, plus the refusals.

A converter-made case is one model with several resizes side by side (one conversion, one host build).
TensorFlow refuses align_corners together with half_pixel_centers, which TFLM's nearest neighbour accepts:
that case is converted with half_pixel_centers and edited. The hand-built models (tests/modelkit.py) reach
what the converter does not emit: rounding ties of the bilinear sum, 1-pixel inputs upscaled far, and
the hostile files.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from tests.modelkit import Net, schema
from tests.ops.oplib import check_model, convert_function, edit_model, random_inputs


@dataclass(frozen=True)
class Resize:
    method: str  # "nearest" or "bilinear"
    shape: tuple[int, int, int]  # input HWC
    size: tuple[int, int]
    align: bool = False
    half: bool = False


@dataclass(frozen=True)
class Case:
    name: str
    ops: tuple[Resize, ...]
    int16: bool = False
    batch: int = 1
    both: bool = False  # set align_corners and half_pixel_centers on every op after conversion


def _grid(method: str) -> tuple[Resize, ...]:
    r = lambda *a, **k: Resize(method, *a, **k)  # noqa: E731
    return (
        r((3, 4, 2), (7, 5)),  # upsampling, non-integer ratios
        r((3, 4, 2), (7, 5), align=True),
        r((3, 4, 2), (7, 5), half=True),
        r((9, 7, 3), (4, 3)),  # downsampling
        r((9, 7, 3), (4, 3), align=True),
        r((9, 7, 3), (4, 3), half=True),
        r((4, 4, 2), (8, 8), half=True),  # integer ratio
        r((5, 6, 1), (1, 1), align=True),  # 1-pixel output (align_corners falls back to in / out)
        r((1, 1, 3), (4, 5), align=True),  # 1-pixel input
        r((1, 5, 2), (3, 2), half=True),
        r((2, 3, 4), (5, 1)),  # up in one axis, down to 1 in the other
        r((6, 2, 2), (4, 7), align=True),
    )


NEAREST_S16 = tuple(op for k, op in enumerate(_grid("nearest")) if k in (0, 1, 2, 4, 7, 9))
CASES = [
    Case("nearest_s8", _grid("nearest")),
    Case("bilinear_s8", _grid("bilinear")),
    Case("nearest_s16_batch2", NEAREST_S16, int16=True, batch=2),
    Case("nearest_align_and_half_s8", (Resize("nearest", (3, 4, 2), (7, 5), half=True),
                                       Resize("nearest", (9, 7, 3), (4, 6), half=True)), both=True),
]


def _resize(op: Resize):
    import tensorflow as tf

    v1 = tf.compat.v1.image
    if op.half and not op.align:  # TF2's tf.image.resize: half-pixel centers
        return lambda x: tf.image.resize(x, op.size, method=op.method)
    if op.method == "nearest":
        return lambda x: v1.resize_nearest_neighbor(x, op.size, align_corners=op.align, half_pixel_centers=op.half)
    return lambda x: v1.resize_bilinear(x, op.size, align_corners=op.align, half_pixel_centers=op.half)


def convert_case(case: Case) -> bytes:
    fns = [_resize(op) for op in case.ops]
    tfl = convert_function(lambda *xs: [f(x) for f, x in zip(fns, xs)], [op.shape for op in case.ops],
                           seed=len(case.name), int16=case.int16, batch=case.batch)
    if not case.both:
        return tfl

    def edit(model, schema):
        for op in model.subgraphs[0].operators:
            op.builtinOptions.alignCorners = op.builtinOptions.halfPixelCenters = True

    return edit_model(tfl, edit)


def _opcodes(case: Case) -> list[str]:
    return sorted({"RESIZE_NEAREST_NEIGHBOR" if op.method == "nearest" else "RESIZE_BILINEAR" for op in case.ops})


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_resize(case):
    from tinyq.tflite_reader import read_model

    tfl = convert_case(case)
    graph = read_model(tfl)
    # the converter kept every resize, with the options and geometry asked for
    got = sorted((op.opcode, graph.tensors[op.inputs[0]].shape[1:], tuple(graph.tensors[op.outputs[0]].shape[1:3]),
                  bool(op.option("align_corners")), bool(op.option("half_pixel_centers"))) for op in graph.ops)
    want = sorted(("RESIZE_NEAREST_NEIGHBOR" if op.method == "nearest" else "RESIZE_BILINEAR", op.shape, op.size,
                   op.align or case.both, op.half or case.both) for op in case.ops)
    assert got == want
    check_model(tfl, n=12, seed=3, expect_ops=_opcodes(case))


# ---------------------------------------------------------------- hand-built models (no TensorFlow)


def _resize_model(specs, dtype="int8", quant=(0.05, -3)) -> bytes:
    """One RESIZE per spec = (opcode, input NHWC, size, align, half[, overrides]), side by side. Overrides (a
    dict): size_tensor (name, shape, dtype, data; data None: a graph input), out_shape, out_dtype, out_quant
    (scale, zero point), inputs (the op's tensor indices), no_options (no options table)."""
    net = Net()
    ins, outs = [], []
    for k, spec in enumerate(specs):
        opcode, shape, size, align, half, *extra = spec
        over = extra[0] if extra else {}
        scale, zp = quant
        x = net.add_tensor(f"x{k}", shape, dtype, scale=scale, zero_point=zp if dtype == "int8" else 0)
        s_name, s_shape, s_dtype, s_data = over.get("size_tensor", ("size", [2], "int32", list(size)))
        s = net.add_tensor(f"{s_name}{k}", s_shape, s_dtype, data=s_data)
        o_scale, o_zp = over.get("out_quant", (scale, zp if dtype == "int8" else 0))
        out_shape = over.get("out_shape", [shape[0], size[0], size[1], shape[-1]])
        y = net.add_tensor(f"y{k}", out_shape, over.get("out_dtype", dtype), scale=o_scale, zero_point=o_zp)
        options = (schema.ResizeNearestNeighborOptionsT() if opcode == "RESIZE_NEAREST_NEIGHBOR"
                   else schema.ResizeBilinearOptionsT())
        options.alignCorners, options.halfPixelCenters = align, half
        net.add_op(opcode, over.get("inputs", [x, s]), [y], None if over.get("no_options") else options)
        ins.append(x)
        if s_data is None:
            ins.append(s)
        outs.append(y)
    return net.io(ins, outs).bytes()


NN, BL = "RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"
HAND_S8 = [
    (BL, [1, 2, 2, 3], (4, 4), False, True),  # x2 half-pixel: the sum lands on .5 often (rounding ties)
    (BL, [1, 3, 3, 2], (8, 8), False, True),
    (BL, [1, 2, 2, 3], (5, 5), True, False),
    (BL, [1, 3, 4, 2], (4, 4), False, False),
    (BL, [2, 3, 2, 2], (5, 3), False, False),  # model batch 2
    (BL, [1, 1, 2, 2], (700, 3), False, True),  # 1-pixel input upscaled far: weights of -512 / 1536
    (BL, [1, 17, 13, 1], (2, 3), False, True),  # strong downsampling
    (NN, [1, 1, 3, 2], (2000, 4), True, True),
    (NN, [1, 7, 5, 2], (3, 11), True, True),
    (NN, [2, 4, 3, 2], (3, 5), False, False),
]


@pytest.mark.slow
def test_resize_hand_built_s8():
    check_model(_resize_model(HAND_S8), n=6, seed=4, expect_ops=[NN, BL])


def test_resize_no_options_table():
    """TFLM reads a missing options table as both flags false."""
    from tinyq.sim.run import as_program

    program = as_program(_resize_model([(NN, [1, 3, 4, 2], (5, 7), False, False, {"no_options": True})]))
    want = as_program(_resize_model([(NN, [1, 3, 4, 2], (5, 7), False, False)]))
    assert program.calls[0].src_y.tolist() == want.calls[0].src_y.tolist() == [0, 0, 1, 1, 2]


@pytest.mark.slow
def test_resize_hand_built_s16():
    specs = [(NN, [1, 3, 4, 2], (7, 5), True, True), (NN, [1, 5, 9, 3], (2, 4), False, True)]
    tfl = _resize_model(specs, dtype="int16", quant=(1 / 4096, 0))
    check_model(tfl, n=6, seed=5, expect_ops=[NN])


def test_nearest_indices_match_the_float_formula():
    """TFLM's GetNearestNeighbor worked by hand."""
    from tinyq.lower.resize import nearest_indices

    assert nearest_indices(3, 7, False, False).tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert nearest_indices(3, 7, True, False).tolist() == [0, 0, 1, 1, 1, 2, 2]  # round(y * 2 / 6)
    assert nearest_indices(4, 8, False, True).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert nearest_indices(7, 1, True, True).tolist() == [4]  # round(0.5 * 7)


def test_bilinear_axis_is_tflm_integer_math():
    from tinyq.lower.resize import bilinear_axis

    lo, hi, frac = bilinear_axis(2, 4, False, True)  # scale_10 512: positions -256, 256, 768, 1280
    assert (lo.tolist(), hi.tolist(), frac.tolist()) == ([0, 0, 0, 1], [0, 1, 1, 1], [-256, 256, 768, 256])
    lo, hi, frac = bilinear_axis(3, 5, True, False)  # scale_10 512
    assert (lo.tolist(), hi.tolist(), frac.tolist()) == ([0, 0, 1, 1, 2], [0, 1, 1, 2, 2], [0, 512, 0, 512, 0])


# ---------------------------------------------------------------- refusals


def _refusal(specs, dtype="int8", quant=(0.05, -3)) -> str:
    from tinyq.lower import support_error
    from tinyq.tflite_reader import read_model

    graph = read_model(_resize_model(specs, dtype, quant))
    reasons = [support_error(graph, op) for op in graph.ops]
    assert all(reasons), f"expected every op to be refused: {reasons}"
    return reasons[0]


REFUSALS = [
    ([(BL, [1, 3, 4, 2], (5, 5), True, True)], "int8", "align_corners and half_pixel_centers"),
    ([(BL, [1, 3, 4, 2], (5, 5), False, False)], "int16", "int16 is not supported"),
    ([(NN, [3, 4, 2], (5, 5), False, False, {"out_shape": [5, 5, 2]})], "int8", "4-D"),
    ([(BL, [1, 3, 4, 2], (5, 5), False, False, {"size_tensor": ("size", [2], "int32", None)})], "int8", "constant"),
    ([(NN, [1, 3, 4, 2], (5, 5), False, False, {"size_tensor": ("size", [2], "int64", [5, 5])})], "int8", "int32[2]"),
    ([(NN, [1, 3, 4, 2], (5, 5), False, False, {"size_tensor": ("size", [3], "int32", [5, 5, 1])})], "int8", "int32[2]"),
    ([(BL, [1, 3, 4, 2], (5, 5), False, False, {"size_tensor": ("size", [1, 2], "int32", [5, 5])})], "int8", "int32[2]"),
    ([(NN, [1, 3, 4, 2], (-1, 5), False, False, {"out_shape": [1, 1, 5, 2]})], "int8", "must be positive"),
    ([(NN, [1, 3, 4, 2], (5, 5), False, False, {"out_shape": [1, 5, 6, 2]})], "int8", "does not match the size"),
    ([(BL, [1, 3, 4, 2], (5, 5), False, False, {"out_shape": [1, 5, 5, 3]})], "int8", "does not match the size"),
    ([(NN, [1, 3, 4, 2], (5, 5), False, False, {"out_quant": (0.1, -3)})], "int8", "quantized differently"),
    ([(BL, [1, 3, 4, 2], (5, 5), False, False, {"out_quant": (0.05, 4)})], "int8", "quantized differently"),
    ([(NN, [1, 3, 4, 2], (5, 5), False, False, {"out_dtype": "int16"})], "int8", "dtype int16"),
    ([(NN, [1, 3, 4, 2], (5, 5), False, False)], "float32", "dtype float32"),
    ([(NN, [1, 3, 4, 2], (5, 70000), False, False)], "int8", "sides above 65536"),
]


@pytest.mark.parametrize("specs,dtype,words", REFUSALS, ids=[f"{k}-{r[2]}" for k, r in enumerate(REFUSALS)])
def test_resize_refusals(specs, dtype, words):
    quant = (None, None) if dtype == "float32" else (0.05, -3)
    reason = _refusal(specs, dtype, quant)
    assert specs[0][0] in reason and words in reason, reason


@pytest.mark.parametrize("rows,out_rows,align,half", [(200, 641, False, False), (1, 55, False, False),
                                                     (5, 1127, False, True), (2, 2049, True, False)])
def test_bilinear_refuses_reading_outside_the_input(rows, out_rows, align, half):
    """TFLM rounds the 10-bit scale (1024 * in / out) up here, so its last output row's lower source row is
    `rows`, one past the input (TFLM reads outside its buffer); one output row less stays inside."""
    reason = _refusal([(BL, [1, rows, 2, 1], (out_rows, 3), align, half)])
    assert "RESIZE_BILINEAR" in reason and f"reads row {rows} of an input with {rows}" in reason, reason
    from tinyq.sim.run import as_program

    as_program(_resize_model([(BL, [1, rows, 2, 1], (out_rows - 1, 3), align, half)]))


@pytest.mark.parametrize("inputs", [[0], [0, 1, 1]], ids=["1", "3"])
def test_resize_refuses_input_counts(inputs):
    reason = _refusal([(NN, [1, 3, 4, 2], (5, 5), False, False, {"inputs": inputs})])
    assert "RESIZE_NEAREST_NEIGHBOR" in reason and "takes 2" in reason, reason


def test_resize_inspect_lists_the_ops_as_supported(tmp_path, capsys):
    from tinyq.cli import main

    path = tmp_path / "resize.tflite"
    path.write_bytes(_resize_model([(NN, [1, 3, 4, 2], (7, 5), True, True), (BL, [1, 3, 4, 2], (2, 2), False, True)]))
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "RESIZE_NEAREST_NEIGHBOR" in text and "RESIZE_BILINEAR" in text and "unsupported" not in text.lower(), text


def test_hand_built_inputs_reach_ties():
    """test_resize_hand_built_s8's inputs to its x2 half-pixel bilinear op include sums exactly halfway
    between two outputs (where TFLM's double rounding and single rounding differ)."""
    from tinyq.lower.resize import bilinear_axis
    from tinyq.sim.run import as_program

    x = random_inputs(as_program(_resize_model(HAND_S8)), 6, seed=4)[0].astype(np.int64).reshape(-1, 2, 2, 3)
    lo, hi, frac = bilinear_axis(2, 4, False, True)
    w_lo, w_hi = 1024 - frac, frac  # per output index
    rows = x[:, lo] * w_lo[None, :, None, None] + x[:, hi] * w_hi[None, :, None, None]
    acc = rows[:, :, lo] * w_lo[None, None, :, None] + rows[:, :, hi] * w_hi[None, None, :, None]
    assert ((acc < 0) & (acc % (1 << 20) == 1 << 19)).any()
