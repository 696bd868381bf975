"""tinyq.fold on hand-built graphs: each folded op's value against TFLite itself (LiteRT's reference kernels run
the same graph with the folded tensor made a graph output), the pass's structure (what is removed, what is left
to lowering), and hostile files: every refusal an UnsupportedError naming the op, nothing ever crashes.

Converter-made models with a dynamic batch, run TFLM == simulator == host C, are in tests/ops/test_fold.py.
"""
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.modelkit import Net
from tinyq.errors import UnsupportedError
from tinyq.fold import MAX_ELEMENTS, fold
from tinyq.lower import lower, prepare
from tinyq.tflite_reader import read_model


def _options(opcode: str, **fields):
    """The schema options object of `opcode` (e.g. StridedSliceOptionsT), fields set by their snake_case names."""
    name = {"STRIDED_SLICE": "StridedSlice", "EXPAND_DIMS": "ExpandDims"}.get(opcode, opcode.title())
    options = getattr(schema, f"{name}OptionsT")()
    for key, value in fields.items():
        camel = key.split("_")[0] + "".join(w.title() for w in key.split("_")[1:])
        assert hasattr(options, camel), (opcode, camel)
        setattr(options, camel, value)
    return options


def net_with(opcode, inputs, out_shape, out_dtype, options=None):
    """x int8[1, 4] -> RELU -> y (the graph's computation), beside `opcode` on constant `inputs` (arrays) writing
    tensor `t`, which nothing reads."""
    net = Net()
    x = net.add_tensor("x", [1, 4], scale=0.1, zero_point=0)
    y = net.add_tensor("y", [1, 4], scale=0.1, zero_point=0)
    net.add_op("RELU", [x], [y])
    ids, made = [], {}
    for k, v in enumerate(inputs):  # one tensor per distinct array: a hostile op may read one many times
        if id(v) not in made:
            a = np.asarray(v)
            made[id(v)] = net.add_tensor(f"in{k}", list(a.shape), str(a.dtype), data=a)
        ids.append(made[id(v)])
    t = net.add_tensor("t", list(out_shape), out_dtype)
    net.add_op(opcode, ids, [t], options)
    net.io([x], [y])
    return net, t


def folded_value(opcode, inputs, out_shape, out_dtype, options=None) -> np.ndarray:
    net, t = net_with(opcode, inputs, out_shape, out_dtype, options)
    graph = fold(read_model(net.bytes()))
    assert [op.opcode for op in graph.ops] == ["RELU"], "the op was not folded"
    return graph.tensors[t].data


def litert_value(opcode, inputs, out_shape, out_dtype, options=None) -> np.ndarray:
    """The same graph run by LiteRT's reference kernels, `t` a graph output."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    net, t = net_with(opcode, inputs, out_shape, out_dtype, options)
    net.io(net.sg.inputs, [*net.sg.outputs, t])
    interp = Interpreter(model_content=net.bytes(), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], np.zeros((1, 4), np.int8))
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[1]["index"])


def check_against_litert(opcode, inputs, out_shape, out_dtype, options=None, want=None):
    got = folded_value(opcode, inputs, out_shape, out_dtype, options)
    ref = litert_value(opcode, inputs, out_shape, out_dtype, options)
    assert got.dtype == ref.dtype and got.shape == ref.shape == tuple(out_shape), (got, ref)
    assert np.array_equal(got, ref), (got, ref)
    if want is not None:
        assert np.array_equal(got, np.asarray(want)), (got, want)


def refusal(net: Net, *words: str) -> str:
    with pytest.raises(UnsupportedError) as info:
        lower(read_model(net.bytes()))
    text = str(info.value)
    for word in words:
        assert word in text, text
    return text


# ----------------------------------------------------------------------------- STRIDED_SLICE

V = np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4)
# (begin, end, strides, masks, numpy equivalent on V)
SLICES = [
    ([0], [1], [1], {}, V[0:1]),
    ([1, 0], [2, 3], [1, 2], {}, V[1:2, 0:3:2]),
    ([-1], [-3], [-1], {}, V[-1:-3:-1]),
    ([0, -1, -1], [0, -4, -5], [1, -1, -2], {"begin_mask": 1, "end_mask": 1}, V[:, -1:-4:-1, -1:-5:-2]),
    ([0, 0, 0], [0, 0, 0], [-1, -1, -1], {"begin_mask": 7, "end_mask": 7}, V[::-1, ::-1, ::-1]),
    ([-10, 1], [100, 100], [1, 1], {}, V[-10:100, 1:100]),
    ([1, 2], [0, 0], [1, 1], {"shrink_axis_mask": 3}, V[1, 2]),
    ([-1, 0, -2], [0, 0, 0], [1, 1, 1], {"shrink_axis_mask": 5, "end_mask": 2}, V[-1, :, -2]),
    ([0, 1], [0, 3], [1, 1], {"ellipsis_mask": 1}, V[..., 1:3]),
    ([1, 0], [2, 0], [1, 1], {"ellipsis_mask": 2, "shrink_axis_mask": 1}, V[1, ...]),
    ([0, 1], [0, 3], [1, 1], {"new_axis_mask": 1}, V[np.newaxis, 1:3]),
    ([0, 0, 0, 2], [0, 0, 0, 3], [1, 1, 1, 1], {"shrink_axis_mask": 9, "ellipsis_mask": 2, "new_axis_mask": 4},
     V[0, ..., np.newaxis, 2]),
    ([0, 0], [0, 0], [1, 1], {"new_axis_mask": 3, "ellipsis_mask": 1}, V[..., np.newaxis]),
    ([1], [3], [1], {}, V[1:3]),  # fewer indices than dimensions: the rest are whole
    ([0, 0, 1], [2, 3, 4], [1, 2, 2], {"end_mask": 4}, V[0:2, 0:3:2, 1::2]),
]


@pytest.mark.parametrize("case", SLICES, ids=lambda c: f"{c[0]}:{c[1]}:{c[2]}{c[3]}")
def test_strided_slice_matches_tflite(case):
    begin, end, strides, masks, want = case
    ints = [np.array(v, np.int32) for v in (begin, end, strides)]
    check_against_litert("STRIDED_SLICE", [V, *ints], want.shape, "int32", _options("STRIDED_SLICE", **masks), want)


def test_strided_slice_int64_and_random_specs_never_crash():
    """Seeded random specs on int64 values: tinyq's fold equals LiteRT wherever LiteRT computes a slice, and
    refuses (UnsupportedError) the rest; nothing else escapes."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    rng = np.random.default_rng(7)
    x = np.arange(3 * 4 * 5, dtype=np.int64).reshape(3, 4, 5) - 30
    agreed = refused = 0
    for _ in range(150):
        n = int(rng.integers(1, 4))
        begin, end = rng.integers(-7, 7, (2, n)).astype(np.int32)
        strides = rng.choice(np.array([-3, -2, -1, 1, 2, 3], np.int32), n)
        masks = {name: int(rng.integers(0, 1 << n)) if rng.random() < 0.5 else 0 for name in
                 ("begin_mask", "end_mask", "shrink_axis_mask", "ellipsis_mask", "new_axis_mask")}
        if bin(masks["ellipsis_mask"]).count("1") > 1:
            masks["ellipsis_mask"] &= -masks["ellipsis_mask"]
        options = _options("STRIDED_SLICE", **masks)
        inputs = [x, begin, end, strides]
        net, t = net_with("STRIDED_SLICE", inputs, [1], "int64", options)
        net.io(net.sg.inputs, [*net.sg.outputs, t])
        try:
            interp = Interpreter(model_content=net.bytes(), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            interp.allocate_tensors()
            interp.invoke()
            ref = interp.get_tensor(interp.get_output_details()[1]["index"])
        except (RuntimeError, ValueError):
            ref = None
        if ref is not None and ref.size == 0:
            continue  # the reader refuses an empty activation tensor
        shape = list(ref.shape) if ref is not None else [1]
        try:
            got = folded_value("STRIDED_SLICE", inputs, shape, "int64", options)
        except UnsupportedError as exc:
            assert "op #1 STRIDED_SLICE" in str(exc)
            refused += 1
            continue
        assert ref is not None, (masks, begin, end, strides)
        assert np.array_equal(got, ref), (masks, begin, end, strides, got, ref)
        agreed += 1
    assert agreed > 50 and refused > 10, (agreed, refused)


# ----------------------------------------------------------------------------- the other ops

P = np.arange(3 * 4, dtype=np.int32).reshape(3, 4)


@pytest.mark.parametrize("case", [
    ("PACK", [np.int32(1), np.int32(-1)], [2], {"values_count": 2, "axis": 0}, [1, -1]),
    ("PACK", [P, P + 100], [3, 4, 2], {"values_count": 2, "axis": -1}, np.stack([P, P + 100], -1)),
    ("PACK", [np.array([1, 2], np.int64)] * 3, [2, 3], {"values_count": 3, "axis": 1}, [[1, 1, 1], [2, 2, 2]]),
    ("CONCATENATION", [np.array([1], np.int32), np.array([3, 8], np.int32)], [3], {"axis": 0}, [1, 3, 8]),
    ("CONCATENATION", [P, P[:, :1]], [3, 5], {"axis": -1}, np.concatenate([P, P[:, :1]], -1)),
    ("GATHER", [np.array([1, 4, 6], np.int32), np.int32(0)], [], {"axis": 0}, 1),
    ("GATHER", [np.array([1, 4, 6], np.int32), np.array([2, 0, 2], np.int64)], [3], {"axis": 0}, [6, 1, 6]),
    ("GATHER", [P, np.array([[3, 0], [1, 1]], np.int32)], [3, 2, 2], {"axis": -1}, np.take(P, [[3, 0], [1, 1]], 1)),
    ("GATHER", [P, np.array([[3, 0], [1, 1], [2, 2]], np.int32)], [3, 2], {"axis": 1, "batch_dims": 1},
     np.take_along_axis(P, np.array([[3, 0], [1, 1], [2, 2]]), 1)),
    ("SLICE", [P, np.array([1, 1], np.int32), np.array([-1, 2], np.int32)], [2, 2], {}, P[1:, 1:3]),
    ("SLICE", [P, np.array([0, 3], np.int64), np.array([3, 1], np.int64)], [3, 1], {}, P[:, 3:4]),
    ("RESHAPE", [P, np.array([2, -1], np.int32)], [2, 6], {}, P.reshape(2, 6)),
    ("SQUEEZE", [P.reshape(1, 3, 1, 4)], [3, 4], {}, P),
    ("SQUEEZE", [P.reshape(1, 3, 1, 4)], [1, 3, 4], {"squeeze_dims": [-2]}, P.reshape(1, 3, 4)),
    ("EXPAND_DIMS", [P, np.array([-1], np.int32)], [3, 4, 1], {}, P[..., None]),
    ("EXPAND_DIMS", [P, np.int64(0)], [1, 3, 4], {}, P[None]),
    ("CAST", [np.array([1, 2**31 + 5, -(2**40)], np.int64)], [3], {}, np.array([1, 2**31 + 5, -(2**40)]).astype(np.int32)),
    ("CAST", [np.array([7, -7], np.int32)], [2], {}, np.array([7, -7], np.int64)),
    ("ADD", [P, np.array([10, 20, 30, 40], np.int32)], [3, 4], {}, P + [10, 20, 30, 40]),
    ("SUB", [np.int64(2**40), np.array([[1], [2]], np.int64)], [2, 1], {}, 2**40 - np.array([[1], [2]])),
    ("MUL", [np.array([[2], [3]], np.int32), np.array([4, -5], np.int32)], [2, 2], {}, [[8, -10], [12, -15]]),
], ids=lambda c: f"{c[0]}-{c[2]}")
def test_op_matches_tflite(case):
    opcode, inputs, out_shape, fields, want = case
    options = None if opcode in ("SLICE", "CAST") or (opcode == "RESHAPE") else _options(opcode, **fields)
    out_dtype = "int32" if opcode == "CAST" and inputs[0].dtype == np.int64 else \
        "int64" if opcode == "CAST" else str(np.asarray(inputs[0]).dtype)
    check_against_litert(opcode, inputs, out_shape, out_dtype, options, want)


@pytest.mark.parametrize("out_type,dtype", [(schema.TensorType.INT32, "int32"), (schema.TensorType.INT64, "int64")])
def test_shape_of_an_activation(out_type, dtype):
    net = Net()
    x = net.add_tensor("x", [1, 6, 4], scale=0.1, zero_point=0)
    y = net.add_tensor("y", [1, 6, 4], scale=0.1, zero_point=0)
    s = net.add_tensor("s", [3], dtype)
    net.add_op("SHAPE", [x], [s], _options("SHAPE", out_type=out_type))
    net.add_op("RESHAPE", [x, s], [y])  # TFLite reads an int64 shape input as absent (no new_shape either)
    graph = fold(read_model(net.io([x], [y]).bytes()))
    assert [op.opcode for op in graph.ops] == ["RESHAPE"]
    assert graph.tensors[s].data.dtype == dtype and graph.tensors[s].data.tolist() == [1, 6, 4]


# ----------------------------------------------------------------------------- the pass


def flatten_net(relu_feeds_shape: bool = True, declared=(1, 24), shape_is_output: bool = False) -> Net:
    """x int8[1,4,6] (-> RELU -> h) -> SHAPE -> STRIDED_SLICE [0] -> PACK [b, 24] -> RESHAPE(x) -> y int8[1,24]."""
    net = Net()
    x = net.add_tensor("x", [1, 4, 6], scale=0.1, zero_point=-3)
    h = net.add_tensor("h", [1, 4, 6], scale=0.1, zero_point=-3)
    shape = net.add_tensor("shape", [3], "int32")
    ints = {k: net.add_tensor(k, [1], "int32", data=[v]) for k, v in (("b0", 0), ("b1", 1), ("s1", 1))}
    batch = net.add_tensor("batch", [], "int32")
    rest = net.add_tensor("rest", [], "int32", data=np.int32(24))
    target = net.add_tensor("target", [2], "int32")
    y = net.add_tensor("y", list(declared), scale=0.1, zero_point=-3)
    if relu_feeds_shape:
        net.add_op("RELU", [x], [h])
    net.add_op("SHAPE", [h if relu_feeds_shape else x], [shape], _options("SHAPE", out_type=schema.TensorType.INT32))
    net.add_op("STRIDED_SLICE", [shape, ints["b0"], ints["b1"], ints["s1"]], [batch],
               _options("STRIDED_SLICE", shrink_axis_mask=1))
    net.add_op("PACK", [batch, rest], [target], _options("PACK", values_count=2, axis=0))
    net.add_op("RESHAPE", [x, target], [y])
    return net.io([x], [y, shape] if shape_is_output else [y])


def test_chain_folds_and_its_only_reader_goes():
    graph = read_model(flatten_net().bytes())
    folded = prepare(graph)
    assert [op.opcode for op in folded.ops] == ["RESHAPE"]  # RELU only fed SHAPE: unused, removed
    assert [op.index for op in folded.ops] == [4]  # ops keep their index: calls name the file's layers
    assert folded.tensors[folded.ops[0].inputs[1]].data.tolist() == [1, 24]
    program = lower(graph)
    assert [c.kernel for c in program.calls] == ["tq_copy"]
    from tinyq.sim.run import simulate

    x = np.arange(-60, 60, 5, dtype=np.int8).reshape(1, 4, 6)
    assert np.array_equal(simulate(program, x).output_list()[0].reshape(-1), x.reshape(-1))


def test_nothing_to_fold_is_the_same_graph():
    from tests.modelkit import relu_chain

    graph = read_model(relu_chain().bytes())
    assert fold(graph) is graph


def test_a_graph_output_is_not_folded():
    # SHAPE writes a graph output: it stays for lowering, which refuses it (naming the op)
    refusal(flatten_net(shape_is_output=True), "op #1 SHAPE", "not supported")


def test_inspect_marks_folded_and_unused_ops(tmp_path):
    from tinyq.commands.inspect import describe

    path = tmp_path / "m.tflite"
    path.write_bytes(flatten_net().bytes())
    text, unsupported = describe(str(path))
    assert unsupported == 0
    rows = {line.split()[1]: next(w for w in ("folded", "unused", "yes", "NO") if f" {w} " in line)
            for line in text.splitlines() if line[:3].strip().isdigit()}
    assert rows == {"RELU": "unused", "SHAPE": "folded", "STRIDED_SLICE": "folded", "PACK": "folded",
                    "RESHAPE": "yes"}, rows
    assert "5 of 5 ops supported (4 folded)" in text


def test_inspect_shows_a_fold_refusal(tmp_path):
    from tinyq.commands.inspect import describe

    path = tmp_path / "m.tflite"
    path.write_bytes(flatten_net(declared=(1, 1, 24)).bytes())
    text, unsupported = describe(str(path))
    assert unsupported and "constant folding failed: op #4 RESHAPE" in text


# ----------------------------------------------------------------------------- hostile files


def test_reshape_declaring_another_shape_than_its_folded_input():
    # the converter writes [1, 1] for tf.reshape(x, [tf.shape(x)[0], -1]); TFLM refuses that model too
    refusal(flatten_net(declared=(1, 1, 24)), "op #4 RESHAPE", "computes [1, 24]", "int8[1, 1, 24]")
    refusal(flatten_net(declared=(2, 12)), "op #4 RESHAPE", "computes [1, 24]")


def hostile(opcode, inputs, out_shape, out_dtype, options=None, *words):
    net, _ = net_with(opcode, inputs, out_shape, out_dtype, options)
    with pytest.raises(UnsupportedError) as info:
        fold(read_model(net.bytes()))
    text = str(info.value)
    assert f"op #1 {opcode}" in text, text
    for word in words:
        assert word in text, text


I1 = np.array([1], np.int32)


@pytest.mark.parametrize("case", [
    # huge results: refused from the declared or the computed shape, before anything is made
    ("PACK", [np.zeros(1000, np.int32)] * 200, [200, 1000], "int32", _options("PACK", values_count=200), "at most"),
    ("PACK", [np.zeros(1000, np.int32)] * 200, [2], "int32", _options("PACK", values_count=200), "computes int32[200, 1000]"),
    ("CONCATENATION", [np.zeros(60000, np.int32)] * 300, [3], "int32", _options("CONCATENATION"), "computes int32[18000000]"),
    ("GATHER", [np.zeros(10, np.int32), np.zeros((300, 300), np.int32)], [1], "int32", _options("GATHER"), "computes"),
    ("ADD", [np.zeros((1, 5000), np.int32), np.zeros((5000, 1), np.int32)], [1], "int32", _options("ADD"), "computes"),
    # declared output inconsistent with the computation
    ("PACK", [np.int32(1), np.int32(2)], [3], "int32", _options("PACK", values_count=2), "computes int32[2]"),
    ("PACK", [np.int32(1), np.int32(2)], [2], "int64", _options("PACK", values_count=2), "declares"),
    ("CAST", [np.array([1, 2], np.int64)], [3], "int32", None, "computes int32[2]"),
    ("RESHAPE", [P, np.array([5, -1], np.int32)], [3, 4], "int32", None, "cannot hold 12"),
    ("RESHAPE", [P, np.array([-1, -1], np.int32)], [3, 4], "int32", None, "more than one -1"),
    ("RESHAPE", [P, np.array([6, 2], np.int32)], [4, 3], "int32", None, "computes [6, 2]"),
    # bad indices, counts and options
    ("GATHER", [np.array([1, 4, 6], np.int32), np.array([0, 3], np.int32)], [2], "int32", None, "index 3 is outside 0..2"),
    ("GATHER", [np.array([1, 4, 6], np.int32), np.array([-1], np.int32)], [1], "int32", None, "index -1"),
    ("GATHER", [P, I1], [1, 4], "int32", _options("GATHER", axis=2), "axis 2 is out of range"),
    ("GATHER", [P, np.zeros((2, 1), np.int32)], [3, 1], "int32", _options("GATHER", axis=1, batch_dims=1), "batch_dims"),
    ("PACK", [np.int32(1), I1], [2], "int32", _options("PACK", values_count=2), "one shape and dtype"),
    ("PACK", [np.int32(1), np.int64(1)], [2], "int32", _options("PACK", values_count=2), "one shape and dtype"),
    ("PACK", [np.int32(1), np.int32(1)], [2], "int32", _options("PACK", values_count=3), "values_count 3"),
    ("PACK", [I1, I1], [2, 1], "int32", _options("PACK", values_count=2, axis=3), "axis 3"),
    ("CONCATENATION", [I1, P], [13], "int32", _options("CONCATENATION"), "concatenates"),
    ("CONCATENATION", [I1, I1], [2], "int32", _options("CONCATENATION", fused_activation_function=1), "fused"),
    ("STRIDED_SLICE", [P, I1, I1, np.array([0], np.int32)], [1, 4], "int32", _options("STRIDED_SLICE"), "stride 0"),
    ("STRIDED_SLICE", [P, I1 * 3, I1, I1], [4], "int32", _options("STRIDED_SLICE", shrink_axis_mask=1), "shrunk"),
    ("STRIDED_SLICE", [P, I1, I1, -I1], [4], "int32", _options("STRIDED_SLICE", shrink_axis_mask=1), "shrunk"),
    ("STRIDED_SLICE", [P, I1, I1, I1], [1, 4], "int32", _options("STRIDED_SLICE", begin_mask=2), "bits beyond"),
    ("STRIDED_SLICE", [P, I1, I1, I1], [1, 4], "int32", _options("STRIDED_SLICE", offset=True), "offset"),
    ("STRIDED_SLICE", [P, np.array([0, 0], np.int32), I1, I1], [1, 4], "int32", _options("STRIDED_SLICE"), "1 and 1"),
    ("STRIDED_SLICE", [P, np.zeros(3, np.int32)] + [np.ones(3, np.int32)] * 2, [1], "int32", _options("STRIDED_SLICE"),
     "3 indices"),
    ("STRIDED_SLICE", [P, I1, I1, I1.astype(np.int64)], [1, 4], "int32", _options("STRIDED_SLICE"), "strides (input 3) is int64"),
    ("SLICE", [P, np.array([2, 0], np.int32), np.array([2, -1], np.int32)], [2, 4], "int32", None, "do not fit"),
    ("SLICE", [P, np.array([-1, 0], np.int32), np.array([1, 1], np.int32)], [1, 1], "int32", None, "begin -1"),
    ("SLICE", [P, I1, I1], [1, 1], "int32", None, "rank 2"),
    ("SQUEEZE", [P], [4], "int32", _options("SQUEEZE", squeeze_dims=[0]), "not 1"),
    ("SQUEEZE", [P], [3, 4], "int32", _options("SQUEEZE", squeeze_dims=[5]), "out of range"),
    ("EXPAND_DIMS", [P, np.int32(4)], [3, 4, 1], "int32", None, "axis 4 is out of range"),
    ("EXPAND_DIMS", [P, np.array([0, 1], np.int32)], [1, 3, 4], "int32", None, "2 values"),
    ("ADD", [I1, I1.astype(np.int64)], [1], "int32", _options("ADD"), "one dtype"),
    ("ADD", [np.array([2**31 - 1], np.int32), I1], [1], "int32", _options("ADD"), "overflows int32"),
    ("MUL", [np.array([2**62], np.int64), np.array([2], np.int64)], [1], "int64", _options("MUL"), "overflows int64"),
    ("SUB", [P, np.zeros(3, np.int32)], [3, 4], "int32", _options("SUB"), "do not broadcast"),
    ("MUL", [I1, I1], [1], "int32", _options("MUL", fused_activation_function=1), "fused"),
], ids=lambda c: f"{c[0]}-{c[-1]}")
def test_hostile_folds_are_refused(case):
    opcode, inputs, out_shape, out_dtype, options, word = case
    hostile(opcode, inputs, out_shape, out_dtype, options, word)


def shape_net(out_type, declared_dtype="int32", rank=2) -> Net:
    """x int8[1, 4] -> SHAPE -> s (declared `declared_dtype`[rank]) -> RESHAPE(x, s) -> y."""
    net = Net()
    x = net.add_tensor("x", [1, 4], scale=0.1, zero_point=0)
    y = net.add_tensor("y", [1, 4], scale=0.1, zero_point=0)
    s = net.add_tensor("s", [rank], declared_dtype)
    net.add_op("SHAPE", [x], [s], _options("SHAPE", out_type=out_type))
    net.add_op("RESHAPE", [x, s], [y])
    return net.io([x], [y])


def test_shape_refusals():
    refusal(shape_net(schema.TensorType.INT64), "op #0 SHAPE", "computes int64[2], but declares", "int32[2]")
    refusal(shape_net(schema.TensorType.FLOAT32), "op #0 SHAPE", "out_type 0 is not int32 or int64")
    refusal(shape_net(schema.TensorType.INT32, rank=3), "op #0 SHAPE", "computes int32[2]", "int32[3]")


def test_a_huge_declared_shape_output_is_refused_before_folding():
    assert MAX_ELEMENTS < 10**6
    net, _ = net_with("CAST", [np.zeros(2, np.int64)], [10**6], "int32")
    with pytest.raises(UnsupportedError, match="op #1 CAST.*1,000,000 values; tinyq folds at most"):
        fold(read_model(net.bytes()))


def test_quantized_and_float_paths_are_never_folded():
    # a quantized int8 constant RESHAPE and a float CAST: left to the lowering, which refuses constant inputs
    net = Net()
    x = net.add_tensor("x", [1, 4], scale=0.1, zero_point=0)
    y = net.add_tensor("y", [1, 4], scale=0.1, zero_point=0)
    c = net.add_tensor("c", [2, 2], "int8", scale=0.1, zero_point=0, data=np.ones((2, 2)))
    r = net.add_tensor("r", [4], "int8", scale=0.1, zero_point=0)
    f = net.add_tensor("f", [2], "float32", data=np.ones(2, np.float32))
    g = net.add_tensor("g", [2], "int32")
    net.add_op("RELU", [x], [y])
    net.add_op("RESHAPE", [c], [r], _options("RESHAPE", new_shape=[4]))
    net.add_op("CAST", [f], [g])
    graph = read_model(net.io([x], [y]).bytes())
    assert fold(graph) is graph
