"""How tinyq made a .tflite, kept in the file: a `tinyq_method` metadata entry (e.g. b"qat"), which
`tinyq evaluate` reads to say what its float model comparison means. Nothing else reads or trusts it."""
from __future__ import annotations

import flatbuffers

NAME = "tinyq_method"
_MAX_CHARS = 32


def with_method(tflite: bytes, method: str) -> bytes:
    """The model with a `tinyq_method` entry saying `method` (an earlier entry of that name replaced)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    buf = schema.BufferT()
    buf.data = list(method.encode())
    model.buffers.append(buf)
    entry = schema.MetadataT()
    entry.name, entry.buffer = NAME, len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name not in (NAME, NAME.encode())] + [entry]
    b = flatbuffers.Builder(len(tflite) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def method_of(tflite: bytes) -> str | None:
    """The `tinyq_method` entry's text, or None (absent, or not readable as a short ASCII word)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    try:
        m = schema.Model.GetRootAs(tflite, 0)
        for k in range(m.MetadataLength()):
            entry = m.Metadata(k)
            if entry.Name() == NAME.encode():
                data = m.Buffers(entry.Buffer()).DataAsNumpy()
                text = bytes(data).decode("ascii") if not isinstance(data, int) else ""
                return text if 0 < len(text) <= _MAX_CHARS and text.isalnum() else None
    except Exception:  # noqa: BLE001 - the reader has already checked the file; a bad entry just says nothing
        return None
    return None
