"""Build tiny TFLite models from scratch with the official schema's object API, for hostile-input tests.

`Net` collects tensors and ops; `bytes()` packs a valid TFLite file that a test then breaks on purpose
(shapes, quantization, indices, options). Nothing here reads a model: tinyq.tflite_reader does that.
"""
from __future__ import annotations

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

DTYPES = {"int4": schema.TensorType.INT4, "int8": schema.TensorType.INT8, "int16": schema.TensorType.INT16, "int32": schema.TensorType.INT32,
          "int64": schema.TensorType.INT64, "float32": schema.TensorType.FLOAT32, "uint8": schema.TensorType.UINT8}


def int4_bytes(values) -> np.ndarray:
    """TFLite INT4 packing: two's complement nibbles, the even element in the low nibble."""
    v = np.asarray(values, np.int16).reshape(-1) & 0xF
    if v.size % 2:
        v = np.append(v, 0)
    return (v[0::2] | (v[1::2] << 4)).astype(np.uint8)


def pack(model: schema.ModelT) -> bytes:
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def unpack(data: bytes) -> schema.ModelT:
    return schema.ModelT.InitFromPackedBuf(bytearray(data), 0)


class Net:
    """One subgraph under construction: add_tensor / add_op, then graph inputs and outputs, then bytes()."""

    def __init__(self):
        self.model = schema.ModelT()
        self.model.version = 3
        self.model.buffers = [schema.BufferT()]  # buffer 0: the empty sentinel of activation tensors
        self.model.operatorCodes = []
        self.sg = schema.SubGraphT()
        self.sg.tensors, self.sg.operators, self.sg.inputs, self.sg.outputs = [], [], [], []
        self.model.subgraphs = [self.sg]

    def add_tensor(self, name, shape, dtype="int8", scale=None, zero_point=None, data=None, axis=0) -> int:
        t = schema.TensorT()
        t.name, t.shape, t.type = name.encode(), list(shape), DTYPES[dtype]
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = list(np.atleast_1d(scale).astype(float))
            zp = np.atleast_1d(0 if zero_point is None else zero_point)
            q.zeroPoint = [int(z) for z in zp]
            q.quantizedDimension = axis
            t.quantization = q
        t.buffer = 0
        if data is not None:
            buf = schema.BufferT()
            buf.data = list(int4_bytes(data) if dtype == "int4" else
                            np.ascontiguousarray(np.asarray(data, dtype=dtype)).view(np.uint8).reshape(-1))
            self.model.buffers.append(buf)
            t.buffer = len(self.model.buffers) - 1
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def opcode(self, name: str, deprecated: bool = True) -> int:
        code = getattr(schema.BuiltinOperator, name)
        for k, oc in enumerate(self.model.operatorCodes):
            if oc.builtinCode == code:
                return k
        oc = schema.OperatorCodeT()
        oc.builtinCode = code
        # Old files set only deprecated_builtin_code; current tools set builtin_code and leave it 0.
        oc.deprecatedBuiltinCode = min(code, 127) if deprecated else 0
        oc.version = 1
        self.model.operatorCodes.append(oc)
        return len(self.model.operatorCodes) - 1

    def add_op(self, name, inputs, outputs, options=None, deprecated_code: bool = True) -> schema.OperatorT:
        op = schema.OperatorT()
        op.opcodeIndex = self.opcode(name, deprecated_code)
        op.inputs, op.outputs = list(inputs), list(outputs)
        if options is not None:
            op.builtinOptionsType = getattr(schema.BuiltinOptions, type(options).__name__[:-1])
            op.builtinOptions = options
        self.sg.operators.append(op)
        return op

    def io(self, inputs, outputs) -> "Net":
        self.sg.inputs, self.sg.outputs = list(inputs), list(outputs)
        return self

    def bytes(self) -> bytes:
        return pack(self.model)


def fc_model(n_in=16, n_out=4, in_scale=0.05, out_scale=0.1, w_scale=0.01, in_zp=-3, out_zp=5, seed=0,
             weight_shape=None, out_shape=None, weight_dtype="int8", levels=(-127, 128)) -> Net:
    """input int8[1, n_in] -> FULLY_CONNECTED (int8 weights, int32 bias) -> output int8[1, n_out]."""
    rng = np.random.default_rng(seed)
    net = Net()
    x = net.add_tensor("x", [1, n_in], scale=in_scale, zero_point=in_zp)
    w_data = rng.integers(*levels, (n_out, n_in))
    w = net.add_tensor("w", weight_shape or [n_out, n_in], weight_dtype, scale=w_scale,
                       data=w_data.reshape(weight_shape or [n_out, n_in]))
    b = net.add_tensor("b", [n_out], "int32", scale=float(np.float32(in_scale) * np.float32(w_scale)), data=rng.integers(-500, 500, n_out))
    y = net.add_tensor("y", out_shape or [1, n_out], scale=out_scale, zero_point=out_zp)
    net.add_op("FULLY_CONNECTED", [x, w, b], [y], schema.FullyConnectedOptionsT())
    return net.io([x], [y])


def relu_chain(shape=(1, 8), scale=0.05, zero_point=-10, out_shape=None) -> Net:
    """input -> RELU -> hidden -> RELU -> output, all int8 with one quantization."""
    net = Net()
    x = net.add_tensor("x", shape, scale=scale, zero_point=zero_point)
    h = net.add_tensor("h", shape, scale=scale, zero_point=zero_point)
    y = net.add_tensor("y", out_shape or shape, scale=scale, zero_point=zero_point)
    net.add_op("RELU", [x], [h])
    net.add_op("RELU", [h], [y])
    return net.io([x], [y])
