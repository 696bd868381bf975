"""The only module that touches the TFLite flatbuffer: .tflite bytes -> tinyq.ir.Graph.

Uses the `tflite` package's generated accessors for the TFLite schema. Reads subgraph 0, copies
constant buffers into read-only NumPy arrays, and turns op options into snake_case mappings.
Every problem with the file itself raises ModelFormatError naming the file and the element.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from types import MappingProxyType

import numpy as np
import tflite

from tinyq.errors import ModelFormatError, UnsupportedError
from tinyq.ir import Graph, Op, QuantParams, Tensor

_BUILTIN_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_OPTION_NAMES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k.lower() for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
_ACCESSOR_SUFFIXES = ("AsNumpy", "IsNone", "Length", "BufferHasIdentifier")


def read_model(model: str | Path | bytes) -> Graph:
    """Read a .tflite model from a path or from bytes."""
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
        return _Reader(data, where).graph()
    except (ModelFormatError, UnsupportedError):
        raise
    except Exception as exc:  # the flatbuffer library raises struct/index errors on corrupt data
        raise ModelFormatError(
            f"{where}: corrupt or truncated TFLite flatbuffer ({type(exc).__name__}: {exc})"
        ) from None


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class _Reader:
    def __init__(self, data: bytes, where: str):
        self.data = data
        self.where = where
        self.model = tflite.Model.GetRootAsModel(data, 0)

    def _count(self, n: int, what: str) -> int:
        # Each vector element takes at least 4 bytes: a larger count means a corrupt length field.
        if n < 0 or n * 4 > len(self.data):
            raise ModelFormatError(f"{self.where}: corrupt flatbuffer ({what} count {n})")
        return n

    def graph(self) -> Graph:
        m = self.model
        if self._count(m.SubgraphsLength(), "subgraph") == 0:
            raise ModelFormatError(f"{self.where}: model has no subgraph")
        sg = m.Subgraphs(0)
        n_buffers = self._count(m.BuffersLength(), "buffer")
        tensors = tuple(
            self._tensor(sg.Tensors(i), i, n_buffers) for i in range(self._count(sg.TensorsLength(), "tensor"))
        )
        opcodes = [self._opcode(m.OperatorCodes(i)) for i in range(self._count(m.OperatorCodesLength(), "opcode"))]
        ops = tuple(
            self._op(sg.Operators(i), i, opcodes, len(tensors))
            for i in range(self._count(sg.OperatorsLength(), "operator"))
        )
        inputs = self._indices(sg.InputsAsNumpy(), len(tensors), "graph input")
        outputs = self._indices(sg.OutputsAsNumpy(), len(tensors), "graph output")
        desc = m.Description()
        return Graph(
            tensors=tensors,
            ops=ops,
            inputs=inputs,
            outputs=outputs,
            sha256=hashlib.sha256(self.data).hexdigest(),
            description=desc.decode("utf-8", "replace") if desc else "",
        )

    def _indices(self, arr, n_tensors: int, what: str, allow_absent: bool = False) -> tuple[int, ...]:
        if isinstance(arr, int):  # the accessor returns 0 for an absent vector
            return ()
        out = tuple(int(x) for x in arr)
        for x in out:
            if not (0 <= x < n_tensors or (allow_absent and x == -1)):
                raise ModelFormatError(f"{self.where}: {what} refers to tensor {x}, but there are {n_tensors}")
        return out

    def _opcode(self, oc) -> tuple[str, int, bool]:
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())  # schema v3a: the larger one is real
        if code == tflite.BuiltinOperator.CUSTOM:
            custom = oc.CustomCode()
            return (custom.decode("utf-8", "replace") if custom else "CUSTOM"), oc.Version(), True
        return _BUILTIN_NAMES.get(code, f"BUILTIN_{code}"), oc.Version(), False

    def _tensor(self, t, index: int, n_buffers: int) -> Tensor:
        name = (t.Name() or b"").decode("utf-8", "replace") or f"tensor_{index}"
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        dtype = _TYPE_NAMES.get(t.Type(), f"type{t.Type()}")
        quant = self._quant(t.Quantization(), shape)
        data = None
        b = t.Buffer()
        if b >= n_buffers or b < 0:
            raise ModelFormatError(f"{self.where}: tensor '{name}' (#{index}) points to buffer {b}, but there are {n_buffers}")
        if b > 0:
            data = self._buffer_data(b, name, index, shape, dtype)
        return Tensor(index, name, shape, dtype, quant, data, bool(t.IsVariable()))

    def _buffer_data(self, b: int, name: str, index: int, shape, dtype: str) -> np.ndarray | None:
        buf = self.model.Buffers(b)
        if buf.Offset() > 1:
            raise UnsupportedError(
                f"{self.where}: tensor '{name}' (#{index}) keeps its data outside the flatbuffer "
                f"(buffer {b} at file offset {buf.Offset()}, the >2 GB layout); tinyq reads only inline buffers"
            )
        raw = buf.DataAsNumpy()
        if isinstance(raw, int) or raw.size == 0:
            return None  # an activation tensor with an empty buffer
        if dtype not in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                         "float32", "float16", "float64", "bool"):
            return np.frombuffer(raw.tobytes(), np.uint8).copy()  # opaque bytes (e.g. int4, string)
        dt = np.dtype(dtype).newbyteorder("<")
        need = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        if raw.size != need:
            raise ModelFormatError(
                f"{self.where}: tensor '{name}' (#{index}, {dtype}{list(shape)}) needs {need} bytes, "
                f"but buffer {b} holds {raw.size}"
            )
        arr = np.frombuffer(raw.tobytes(), dt).astype(dt.newbyteorder("="), copy=True).reshape(shape)
        arr.setflags(write=False)
        return arr

    def _quant(self, q, shape) -> QuantParams | None:
        if q is None or q.ScaleLength() == 0:
            return None
        scale = tuple(float(s) for s in q.ScaleAsNumpy())
        zp = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scale)
        if len(zp) == 1 and len(scale) > 1:
            zp = zp * len(scale)
        axis = int(q.QuantizedDimension())
        # TOCO-era files put quantized_dimension=3 on 1-D per-channel bias tensors: the only axis is 0.
        if len(shape) == 1 and axis != 0 and len(scale) == shape[0]:
            axis = 0
        return QuantParams(scale, zp, axis)

    def _op(self, o, index: int, opcodes, n_tensors: int) -> Op:
        oc = o.OpcodeIndex()
        if oc >= len(opcodes):
            raise ModelFormatError(f"{self.where}: operator #{index} uses opcode {oc}, but there are {len(opcodes)}")
        opcode, version, custom = opcodes[oc]
        where = f"operator #{index} ({opcode})"
        inputs = self._indices(o.InputsAsNumpy(), n_tensors, f"{where} input", allow_absent=True)
        outputs = self._indices(o.OutputsAsNumpy(), n_tensors, f"{where} output")
        options = {} if custom else self._options(o)
        return Op(index, opcode, version, inputs, outputs, MappingProxyType(options), custom)

    def _options(self, o) -> dict:
        name = _OPTION_NAMES.get(o.BuiltinOptionsType())
        table = o.BuiltinOptions()
        if not name or name == "NONE" or table is None:
            return {}
        cls = getattr(tflite, name, None)
        if cls is None:
            return {}
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        options = {}
        for attr in dir(cls):
            if attr.startswith(("_", "GetRootAs", "Init")) or attr.endswith(_ACCESSOR_SUFFIXES):
                continue
            if hasattr(cls, attr + "Length"):
                value = getattr(obj, attr + "AsNumpy")()
                value = () if isinstance(value, int) else tuple(int(v) for v in value)
            else:
                value = getattr(obj, attr)()
            options[_snake(attr)] = value
        return options
