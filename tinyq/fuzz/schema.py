"""Load and pack .tflite models with the official generated schema (tflite-micro's copy).

The object API (ModelT) is what structural mutators edit; pack() writes it back with the TFL3
identifier. data_ranges() finds the constant-buffer bytes, so byte mutators can aim at structure.
"""
from __future__ import annotations

import flatbuffers
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

TFL3 = b"TFL3"

OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
TYPE_NAMES = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
OPTION_NAMES = {v: k for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}


def load(data: bytes) -> schema.ModelT:
    return schema.ModelT.InitFromPackedBuf(bytearray(data), 0)


def pack(model: schema.ModelT) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=TFL3)
    return bytes(builder.Output())


def real_opcode(code: schema.OperatorCodeT) -> int:
    """Schema v3a: the larger of builtinCode and deprecatedBuiltinCode is the real one."""
    return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))


def op_name(model: schema.ModelT, op: schema.OperatorT) -> str:
    codes = model.operatorCodes or []
    if not 0 <= op.opcodeIndex < len(codes):
        return "?"
    return OP_NAMES.get(real_opcode(codes[op.opcodeIndex]), "?")


def data_ranges(data: bytes) -> list[tuple[int, int]]:
    """(start, end) byte ranges of every constant buffer's data in a packed model; [] if unreadable."""
    try:
        m = schema.Model.GetRootAs(bytearray(data), 0)
        ranges = []
        for i in range(m.BuffersLength()):
            tab = m.Buffers(i)._tab
            o = tab.Offset(4)  # Buffer.data is field 0 (vtable slot 4)
            if o:
                start = tab.Vector(o)
                ranges.append((start, start + tab.VectorLen(o)))
        return ranges
    except Exception:  # a corrupt file: treat every byte as structure
        return []
