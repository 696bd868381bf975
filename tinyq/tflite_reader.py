"""The only module that touches the TFLite flatbuffer: .tflite bytes -> tinyq.ir.Graph.

Reads the file through the official generated schema (`schema_py_generated`, shipped with tflite-micro),
which follows the schema exactly: an opcode is max(builtin_code, deprecated_builtin_code), so files that
set only `builtin_code` (as current Google tools write them) read correctly. Reads subgraph 0 (and the
constants that CALL_ONCE init subgraphs assign to resource variables: Graph.variable_inits), copies
constant buffers into read-only NumPy arrays, and turns op options into snake_case mappings.

The file is untrusted input. Everything about one element (indices, dtypes, quantization, buffer sizes,
options tables) is checked here as it is read; checks that need the whole graph (producers, order, graph
inputs and outputs) are in tinyq/graph_checks.py, which read_model runs last. Every problem raises
ModelFormatError (the file is malformed) or UnsupportedError (valid, but not something tinyq compiles),
naming the file and the element. The `tinyq_nested` metadata entry of a nested child is validated by
tinyq/tflite_nested.py and becomes Graph.nested; other metadata is not read.
"""
from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from types import MappingProxyType

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinyq import tflite_nested
from tinyq.errors import ModelFormatError, UnsupportedError
from tinyq.graph_checks import check_graph
from tinyq.ir import Graph, NestedInfo, Op, QuantParams, Tensor, VariableInit

_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_OPTION_NAMES = {v: k for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
_ACCESSOR_SUFFIXES = ("AsNumpy", "IsNone", "Length", "BufferHasIdentifier")
_NUMPY_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                 "float32", "float16", "float64", "bool")
# Zero points must lie inside the stored type's range; other dtypes (float, bool, ...) take int32's.
_ZERO_POINT_RANGE = {"int4": (-8, 7), "int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
                     "uint16": (0, 65535), "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_MIN_NORMAL_F32 = float(np.finfo(np.float32).tiny)
_MAX_TENSOR_BYTES = 2**31 - 1  # every size in the generated C is an int32 or a uint32
_MAX_NAME_CHARS = 8192  # names key .npz members (a zip name holds at most 64 KiB) and trace file names

# The builtin-options table each op must carry (TFLite schema), and whether it may be absent. A table of
# another type is refused: its fields would be read as this op's. Where TFLM's defaults for an absent
# table (all zero: stride 0, filter 0, beta 0, alpha 0) differ from what the op means, absence is refused too.
_OPTIONS = {
    "CONV_2D": ("Conv2DOptions", True), "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", True),
    "AVERAGE_POOL_2D": ("Pool2DOptions", True), "MAX_POOL_2D": ("Pool2DOptions", True),
    "SOFTMAX": ("SoftmaxOptions", True), "LEAKY_RELU": ("LeakyReluOptions", True),
    "FULLY_CONNECTED": ("FullyConnectedOptions", False), "MEAN": ("ReducerOptions", False),
    "REDUCE_MAX": ("ReducerOptions", False),
    "ADD": ("AddOptions", False), "SUB": ("SubOptions", False), "MUL": ("MulOptions", False),
    "MAXIMUM": ("MaximumMinimumOptions", False), "MINIMUM": ("MaximumMinimumOptions", False),
    "HARD_SWISH": ("HardSwishOptions", False), "QUANTIZE": ("QuantizeOptions", False),
    "DEQUANTIZE": ("DequantizeOptions", False), "RESHAPE": ("ReshapeOptions", False),
    "SQUEEZE": ("SqueezeOptions", False), "EXPAND_DIMS": ("ExpandDimsOptions", False),
    "CONCATENATION": ("ConcatenationOptions", False), "PAD": ("PadOptions", False),
    "PADV2": ("PadV2Options", False), "TRANSPOSE": ("TransposeOptions", False),
    "STRIDED_SLICE": ("StridedSliceOptions", False), "SLICE": ("SliceOptions", False),
    "SVDF": ("SVDFOptions", True), "UNIDIRECTIONAL_SEQUENCE_LSTM": ("UnidirectionalSequenceLSTMOptions", True),
    "RELU": ("NONE", False), "RELU6": ("NONE", False), "LOGISTIC": ("NONE", False), "TANH": ("NONE", False),
    "SHAPE": ("ShapeOptions", False), "PACK": ("PackOptions", False), "GATHER": ("GatherOptions", False),
    "CAST": ("CastOptions", False),
    "RESIZE_NEAREST_NEIGHBOR": ("ResizeNearestNeighborOptions", False), "RESIZE_BILINEAR": ("ResizeBilinearOptions", False),
    "PRELU": ("NONE", False),
    "VAR_HANDLE": ("VarHandleOptions", True), "CALL_ONCE": ("CallOnceOptions", True),
    "READ_VARIABLE": ("ReadVariableOptions", False), "ASSIGN_VARIABLE": ("AssignVariableOptions", False),
}


def read_model(model: str | Path | bytes) -> Graph:
    """Read a .tflite model from a path or from bytes; the Graph returned is well-formed."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        data, where = bytes(model), "model bytes"
    else:
        path = Path(model)
        where = str(path)
        if not path.exists():
            raise ModelFormatError(f"{where}: no such file")
        if not path.is_file():
            raise ModelFormatError(f"{where}: not a regular file")
        data = path.read_bytes()
    if len(data) == 0:
        raise ModelFormatError(f"{where}: file is empty")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFormatError(f"{where}: not a TFLite model (no 'TFL3' flatbuffer identifier)")
    try:
        # Parse every table of the file once, as TFLM's Python runtime does before it runs a model: a
        # corrupt part that tinyq itself never reads (metadata, signatures, unused options) is still refused.
        schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))
        graph = _Reader(data, where).graph()
    except (ModelFormatError, UnsupportedError):
        raise
    except Exception as exc:  # the flatbuffer library raises struct/index/unicode errors on corrupt data
        raise ModelFormatError(
            f"{where}: corrupt or truncated TFLite flatbuffer ({type(exc).__name__}: {_short(exc)})"
        ) from None
    check_graph(graph, where)
    return graph


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:120]


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def unpack_int4(packed: np.ndarray) -> np.ndarray:
    """TFLite INT4 bytes (two's complement nibbles, the even element in the low nibble) as int8 values,
    two per byte."""
    nibbles = np.empty(2 * packed.size, np.int16)
    nibbles[0::2], nibbles[1::2] = packed & 0xF, packed >> 4
    return ((nibbles ^ 8) - 8).astype(np.int8)

class _Reader:
    def __init__(self, data: bytes, where: str):
        self.data = data
        self.where = where
        self.model = schema.Model.GetRootAs(data, 0)

    def fail(self, what: str) -> ModelFormatError:
        return ModelFormatError(f"{self.where}: {what}")

    def _count(self, n: int, what: str) -> int:
        # Each vector element takes at least 4 bytes: a larger count means a corrupt length field.
        if n < 0 or n * 4 > len(self.data):
            raise self.fail(f"corrupt flatbuffer ({what} count {n})")
        return n

    def graph(self) -> Graph:
        m = self.model
        n_subgraphs = self._count(m.SubgraphsLength(), "subgraph")
        if n_subgraphs == 0:
            raise self.fail("model has no subgraph")
        sg = m.Subgraphs(0)
        n_buffers = self._count(m.BuffersLength(), "buffer")
        tensors = [
            self._tensor(sg.Tensors(i), i, n_buffers) for i in range(self._count(sg.TensorsLength(), "tensor"))
        ]
        opcodes = [self._opcode(m.OperatorCodes(i)) for i in range(self._count(m.OperatorCodesLength(), "opcode"))]
        ops = tuple(
            self._op(sg.Operators(i), i, opcodes, len(tensors))
            for i in range(self._count(sg.OperatorsLength(), "operator"))
        )
        inputs = self._indices(sg.InputsAsNumpy(), len(tensors), "graph input")
        outputs = self._indices(sg.OutputsAsNumpy(), len(tensors), "graph output")
        desc = m.Description()
        nested = self._nested(ops, tensors, n_buffers)
        inits = self._variable_inits(ops, n_subgraphs, opcodes, n_buffers) if n_subgraphs > 1 else ()
        return Graph(
            tensors=tuple(_unique_names(tensors)),
            ops=ops,
            inputs=inputs,
            outputs=outputs,
            sha256=hashlib.sha256(self.data).hexdigest(),
            description=desc.decode("utf-8", "replace") if desc else "",
            source=self.where,
            nested=nested,
            variable_inits=inits,
        )

    def _variable_inits(self, ops, n_subgraphs: int, opcodes, n_buffers: int) -> tuple[VariableInit, ...]:
        """The one multi-subgraph form tinyq compiles: subgraph 0 runs CALL_ONCE ops whose init subgraphs only
        assign constants to resource variables (what TF's converter writes for a model that keeps a tf.Variable).
        Returns what they assign, in the order TFLM runs them; any other use of subgraphs is refused."""
        def refuse(detail: str = "") -> UnsupportedError:
            return UnsupportedError(
                f"{self.where}: model has {n_subgraphs} subgraphs; tinyq compiles single-subgraph models and, beyond "
                f"them, only CALL_ONCE init subgraphs that assign constants to resource variables (control flow "
                f"such as WHILE and IF is not supported){': ' + detail if detail else ''}")

        calls = [op for op in ops if op.opcode == "CALL_ONCE"]
        targets = [int(op.option("init_subgraph_index", 0)) for op in calls]
        for op, k in zip(calls, targets):
            if k == 0:
                raise refuse(f"operator #{op.index} (CALL_ONCE) calls subgraph 0, the model itself (recursion)")
            if not 0 < k < n_subgraphs:
                raise self.fail(f"operator #{op.index} (CALL_ONCE) calls subgraph {k}, but there are {n_subgraphs}")
        missing = sorted(set(range(1, n_subgraphs)) - set(targets))
        if missing:
            raise refuse(f"subgraph {missing[0]} is no CALL_ONCE's init subgraph")
        if len(set(targets)) != len(targets):
            raise refuse("two CALL_ONCE ops call the same init subgraph")
        out = []
        for k in targets:
            sg = self.model.Subgraphs(k)
            label = f"init subgraph {k}"
            tensors = [self._tensor(sg.Tensors(i), i, n_buffers) for i in range(self._count(sg.TensorsLength(), "tensor"))]
            if sg.InputsLength() or sg.OutputsLength():
                raise refuse(f"{label} has inputs or outputs")
            handles: dict[int, tuple[str | None, str]] = {}
            for j in range(self._count(sg.OperatorsLength(), "operator")):
                op = self._op(sg.Operators(j), j, opcodes, len(tensors))
                where = f"{label} operator #{j} ({op.opcode})"
                if op.opcode == "VAR_HANDLE" and not op.inputs and len(op.outputs) == 1:
                    handles[op.outputs[0]] = variable_name(op, f"{self.where}: {where}")
                elif op.opcode == "ASSIGN_VARIABLE" and len(op.inputs) == 2 and not op.outputs:
                    h, v = op.inputs
                    if h not in handles:
                        raise refuse(f"{where} assigns through tensor #{h}, which no earlier VAR_HANDLE of the "
                                     f"subgraph writes")
                    if v < 0 or not tensors[v].is_constant:
                        raise refuse(f"{where} assigns {tensors[v].describe() if v >= 0 else 'no tensor'}, not a constant")
                    out.append(VariableInit(*handles[h], tensors[v], where))
                else:
                    raise refuse(f"{where}: an init subgraph may only assign constants to variables "
                                 f"(VAR_HANDLE + ASSIGN_VARIABLE)")
        return tuple(out)

    def _nested(self, ops, tensors, n_buffers: int) -> NestedInfo | None:
        m = self.model
        name = tflite_nested.NAME.encode()
        entries = [m.Metadata(i) for i in range(self._count(m.MetadataLength(), "metadata"))]
        entries = [e for e in entries if e.Name() == name]
        if not entries:
            return None
        label = f"metadata '{tflite_nested.NAME}'"
        if len(entries) > 1:
            raise self.fail(f"{label} appears {len(entries)} times")
        b = entries[0].Buffer()
        if not 0 < b < n_buffers:
            raise self.fail(f"{label} points to buffer {b}, but there are {n_buffers} (buffer 0 is the empty one)")
        buf = m.Buffers(b)
        if buf.Offset() > 1:
            raise self.fail(f"{label} keeps its data outside the flatbuffer (buffer {b})")
        raw = buf.DataAsNumpy()
        return tflite_nested.decode(b"" if isinstance(raw, int) else raw.tobytes(), ops, tensors, self.where)

    def _indices(self, arr, n_tensors: int, what: str, allow_absent: bool = False) -> tuple[int, ...]:
        if isinstance(arr, int):  # the accessor returns 0 for an absent vector
            return ()
        out = tuple(int(x) for x in arr)
        for x in out:
            if not (0 <= x < n_tensors or (allow_absent and x == -1)):
                raise self.fail(f"{what} refers to tensor {x}, but there are {n_tensors}")
        return out

    def _opcode(self, oc) -> tuple[str, int, bool]:
        # Schema v3a: builtin_code is the real field; old files set only deprecated_builtin_code (int8,
        # 127 = "look in builtin_code"). The larger of the two is the opcode either way.
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        if code == schema.BuiltinOperator.CUSTOM:
            custom = oc.CustomCode()
            return (custom.decode("utf-8", "replace") if custom else "CUSTOM"), oc.Version(), True
        return _BUILTIN_NAMES.get(code, f"BUILTIN_{code}"), oc.Version(), False

    def _tensor(self, t, index: int, n_buffers: int) -> Tensor:
        name = (t.Name() or b"").decode("utf-8", "replace") or f"tensor_{index}"
        if len(name) > _MAX_NAME_CHARS:
            raise UnsupportedError(f"{self.where}: tensor #{index} has a name of {len(name):,} characters "
                                   f"(the limit is {_MAX_NAME_CHARS:,})")
        label = f"tensor '{name}' (#{index})"
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            raise self.fail(f"{label} has a negative dimension in its shape {list(shape)}")
        if t.Type() not in _TYPE_NAMES:
            raise self.fail(f"{label} has an unknown dtype (TensorType {t.Type()})")
        dtype = _TYPE_NAMES[t.Type()]
        if dtype in _NUMPY_DTYPES and math.prod(shape) * np.dtype(dtype).itemsize > _MAX_TENSOR_BYTES:
            raise UnsupportedError(f"{self.where}: {label} {dtype}{list(shape)} is larger than 2 GiB")
        quant = self._quant(t.Quantization(), shape, dtype, label)
        data = None
        b = t.Buffer()
        if b >= n_buffers or b < 0:
            raise self.fail(f"{label} points to buffer {b}, but there are {n_buffers}")
        if b > 0:
            data = self._buffer_data(b, label, shape, dtype)
        return Tensor(index, name, shape, dtype, quant, data, bool(t.IsVariable()))

    def _buffer_data(self, b: int, label: str, shape, dtype: str) -> np.ndarray | None:
        buf = self.model.Buffers(b)
        if buf.Offset() > 1:
            raise UnsupportedError(
                f"{self.where}: {label} keeps its data outside the flatbuffer "
                f"(buffer {b} at file offset {buf.Offset()}, the >2 GB layout); tinyq reads only inline buffers"
            )
        raw = buf.DataAsNumpy()
        if isinstance(raw, int) or raw.size == 0:
            return None  # an activation tensor with an empty buffer
        if dtype == "int4":
            return self._int4_data(raw, b, label, shape)
        if dtype not in _NUMPY_DTYPES:
            return np.frombuffer(raw.tobytes(), np.uint8).copy()  # opaque bytes (e.g. string)
        dt = np.dtype(dtype).newbyteorder("<")
        need = math.prod(shape) * dt.itemsize
        if raw.size != need:
            raise self.fail(f"{label} ({dtype}{list(shape)}) needs {need} bytes, but buffer {b} holds {raw.size}")
        arr = np.frombuffer(raw.tobytes(), dt).astype(dt.newbyteorder("="), copy=True).reshape(shape)
        arr.setflags(write=False)
        return arr

    def _int4_data(self, raw: np.ndarray, b: int, label: str, shape) -> np.ndarray:
        """TFLite INT4: two values per byte, the even element in the low nibble, two's complement. Read as
        the int8 values they hold (tensor dtype stays "int4"); the encoder packs them again, to the same bytes."""
        n = math.prod(shape)
        if n % 2:
            raise self.fail(f"{label} is INT4 with an odd element count {n}: its last byte would be half a "
                            f"value (tinyq keeps INT4 rows packed in whole bytes)")
        if raw.size != n // 2:
            raise self.fail(f"{label} (int4{list(shape)}) needs {n // 2} bytes packed two per byte, "
                            f"but buffer {b} holds {raw.size}")
        arr = unpack_int4(np.frombuffer(raw.tobytes(), np.uint8)).reshape(shape)
        arr.setflags(write=False)
        return arr

    def _quant(self, q, shape, dtype: str, label: str) -> QuantParams | None:
        if q is None or q.ScaleLength() == 0:
            if q is not None and q.ZeroPointLength():
                raise self.fail(f"{label} has {q.ZeroPointLength()} zero points but no scale")
            return None
        scale = tuple(float(s) for s in q.ScaleAsNumpy())
        for s in scale:  # TFLM refuses these, and every multiplier tinyq derives would be meaningless
            if not (math.isfinite(s) and s >= _MIN_NORMAL_F32):
                raise self.fail(f"{label} has quantization scale {s!r}; scales must be finite, positive and normal")
        n_zp = q.ZeroPointLength()
        if n_zp not in (1, len(scale)):  # TFLM aborts on scales without zero points
            raise self.fail(f"{label} has {len(scale)} scales but {n_zp} zero points")
        zp = tuple(int(z) for z in q.ZeroPointAsNumpy())
        lo, hi = _ZERO_POINT_RANGE.get(dtype, _ZERO_POINT_RANGE["int32"])
        for z in zp:
            if not lo <= z <= hi:
                raise self.fail(f"{label} has zero point {z}, outside the {dtype} range [{lo}, {hi}]")
        if len(zp) == 1 and len(scale) > 1:
            zp = zp * len(scale)
        axis = int(q.QuantizedDimension())
        # TOCO-era files put quantized_dimension=3 on 1-D bias tensors: the only axis is 0.
        if len(shape) == 1 and axis == 3:
            axis = 0
        if not 0 <= axis < max(len(shape), 1):
            raise self.fail(f"{label} has quantized_dimension {axis}, but its rank is {len(shape)}")
        if len(scale) > 1 and (not shape or len(scale) != shape[axis]):
            raise self.fail(
                f"{label} {list(shape)} has {len(scale)} per-channel scales along dimension {axis}"
                + (f", which has {shape[axis]} channels" if shape else ", but it is a scalar")
            )
        return QuantParams(scale, zp, axis)

    def _op(self, o, index: int, opcodes, n_tensors: int) -> Op:
        oc = o.OpcodeIndex()
        if oc >= len(opcodes):
            raise self.fail(f"operator #{index} uses opcode {oc}, but there are {len(opcodes)}")
        opcode, version, custom = opcodes[oc]
        where = f"operator #{index} ({opcode})"
        inputs = self._indices(o.InputsAsNumpy(), n_tensors, f"{where} input", allow_absent=True)
        outputs = self._indices(o.OutputsAsNumpy(), n_tensors, f"{where} output")
        options = {} if custom else self._options(o, opcode, where)
        return Op(index, opcode, version, inputs, outputs, MappingProxyType(options), custom)

    def _options(self, o, opcode: str, where: str) -> dict:
        kind = o.BuiltinOptionsType()
        name = _OPTION_NAMES.get(kind)
        if name is None:
            raise self.fail(f"{where} has an unknown builtin options type {kind}")
        table = o.BuiltinOptions()
        if table is None:
            name = "NONE"
        expected, required = _OPTIONS.get(opcode, (None, False))
        if expected is not None and name != expected and not (name == "NONE" and not required):
            have = "no options table" if name == "NONE" else f"a {name} table"
            raise self.fail(f"{where} has {have}; the op takes {expected}")
        if name == "NONE":
            return {}
        cls = getattr(schema, name, None)
        if cls is None:
            return {}
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        options = {}
        for attr in dir(cls):
            if attr.startswith(("_", "GetRootAs")) or attr == "Init" or attr.endswith(_ACCESSOR_SUFFIXES):
                continue
            if hasattr(cls, attr + "Length"):
                value = getattr(obj, attr + "AsNumpy")()
                value = () if isinstance(value, int) else tuple(int(v) for v in value)
            else:
                value = getattr(obj, attr)()
            options[_snake(attr)] = value
        return options


def variable_name(op: Op, where: str) -> tuple[str | None, str]:
    """(container, shared_name) of a VAR_HANDLE, which name its resource variable as TFLM's FindId does."""
    def text(value):
        return None if value is None else bytes(value).decode("utf-8", "replace")

    container, shared = text(op.option("container")), text(op.option("shared_name"))
    if not shared:
        raise UnsupportedError(f"{where}: VAR_HANDLE has no shared_name (TFLM names a variable by it)")
    if len(shared) > _MAX_NAME_CHARS or len(container or "") > _MAX_NAME_CHARS:
        raise UnsupportedError(f"{where}: VAR_HANDLE's names are longer than {_MAX_NAME_CHARS:,} characters")
    return container, shared


def _unique_names(tensors: list[Tensor]) -> list[Tensor]:
    """Tensor names key traces, .npz files and results: give a repeated name its index, '<name>#<index>'."""
    seen: set[str] = set()
    out = []
    for t in tensors:
        if t.name in seen:
            t = Tensor(t.index, f"{t.name}#{t.index}", t.shape, t.dtype, t.quant, t.data, t.is_variable)
        seen.add(t.name)
        out.append(t)
    return out
