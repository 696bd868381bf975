"""The reference: TFLite Micro's Python runtime (`tflite-micro` package), run on the same batches.

TFLM is tinyq's contract (double rounding, as CMSIS-NN). TFLM may reuse an input tensor's memory
for intermediates, so inputs are set again before every invoke. The samples of a batch are consecutive
invokes of one interpreter, so a stateful model's variable tensors (an SVDF's activation state) carry over
from one sample to the next, starting from a fresh interpreter; reset=True calls the interpreter's reset()
(MicroInterpreter::Reset) before every sample instead.

TFLite INT4 weights: TFLM's reference FULLY_CONNECTED refuses INT4 filters (its CONV_2D and
DEPTHWISE_CONV_2D unpack them). The TFLite spec defines an INT4 tensor as the int8 values its nibbles
hold, so where TFLM refuses the model as it is, the reference is TFLM on the same model with every INT4
tensor widened to INT8 (`widen_int4`), and `reference_for` says so.
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

ARENA_BYTES = 64 << 20


@contextlib.contextmanager
def _quiet_stdout():
    """TFLM's C++ side prints to fds 1 and 2 (e.g. 'Input index k out of range', a kernel's failed Prepare
    check); keep it off the user's screen: a failure reaches the user as one error line."""
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
        yield
    finally:
        for fd, old in zip((1, 2), saved):
            os.dup2(old, fd)
            os.close(old)


class TflmReference:
    def __init__(self, model: str | Path | bytes, preserve_all_tensors: bool = False):
        from tflite_micro import runtime

        data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
        config = runtime.InterpreterConfig.kPreserveAllTensors if preserve_all_tensors else runtime.InterpreterConfig.kAllocationRecording
        # contextlib.redirect_stdout: the runtime prints a count of resource variables from Python
        with _quiet_stdout(), contextlib.redirect_stdout(io.StringIO()):
            self.interp = runtime.Interpreter.from_bytes(data, arena_size=ARENA_BYTES, intrepreter_config=config)

    def run(self, batches: list[np.ndarray], n_outputs: int, reset: bool = False) -> list[np.ndarray]:
        """batches: one (N, *shape) array per input. Returns one (N, *shape) array per output."""
        return self.run_traced(batches, n_outputs, (), reset)[0]

    def run_traced(self, batches: list[np.ndarray], n_outputs: int,
                   tensors: tuple[int, ...], reset: bool = False) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
        """run(), plus the tensors asked for after every sample, (N, *shape) each (needs preserve_all_tensors)."""
        n = batches[0].shape[0]
        outs: list[list[np.ndarray]] = [[] for _ in range(n_outputs)]
        seen: dict[int, list[np.ndarray]] = {i: [] for i in tensors}
        for s in range(n):
            if reset:
                self.interp.reset()
            for k, b in enumerate(batches):
                self.interp.set_input(b[s], k)
            self.interp.invoke()
            for k in range(n_outputs):
                outs[k].append(np.array(self.interp.get_output(k)))
            for i in tensors:
                seen[i].append(self.tensor(i))
        return [np.stack(o) for o in outs], {i: np.stack(v) for i, v in seen.items()}

    def tensor(self, index: int) -> np.ndarray:
        """An intermediate tensor after the last invoke (needs preserve_all_tensors=True)."""
        t = self.interp.GetTensor(index, 0)  # a dict: dtype, shape, tensor_data, quantization
        return np.array(t["tensor_data"]).reshape(tuple(int(d) for d in t["shape"]))


def widen_int4(data: bytes) -> bytes | None:
    """The model with every INT4 constant tensor stored as INT8 holding the same values (two's complement
    nibbles, the even element in the low nibble); None when the model has no INT4 tensor."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    from tinyq.tflite_reader import unpack_int4

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    widened = False
    for graph in model.subgraphs or []:
        for t in graph.tensors or []:
            if t.type != schema.TensorType.INT4:
                continue
            t.type = schema.TensorType.INT8
            buf = model.buffers[t.buffer] if t.buffer < len(model.buffers or []) else None
            if buf is not None and buf.data is not None and len(buf.data):
                values = unpack_int4(np.asarray(buf.data, np.uint8))
                count = int(np.prod(t.shape)) if t.shape is not None else values.size
                buf.data = values[:count].view(np.uint8)
            widened = True
    if not widened:
        return None
    b = flatbuffers.Builder(len(data) * 2 + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def reference_for(model: str | Path | bytes, batches: list[np.ndarray], n_outputs: int, reset: bool = False):
    """TFLM's outputs on `batches` and what was run: (outputs, model bytes TFLM ran, label). The model as it
    is, or, when TFLM refuses it and it has INT4 tensors, the model with them widened to INT8."""
    from tinyq.errors import RunError

    data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
    try:
        return run_isolated(data, batches, n_outputs, reset=reset)[0], data, "TFLM runtime"
    except RunError:
        wide = widen_int4(data)
        if wide is None:
            raise
    return run_isolated(wide, batches, n_outputs, reset=reset)[0], wide, "TFLM runtime (INT4 widened to INT8)"


def _run_child(model: bytes, batches: list[np.ndarray], n_outputs: int, preserve: bool, tensors: tuple[int, ...],
               per_sample: bool, reset: bool):
    ref = TflmReference(model, preserve_all_tensors=preserve)
    if per_sample:
        return ref.run_traced(batches, n_outputs, tensors, reset)
    outs = ref.run(batches, n_outputs, reset)
    return outs, {i: ref.tensor(i) for i in tensors}


def run_isolated(model: str | Path | bytes, batches: list[np.ndarray], n_outputs: int,
                 tensors: tuple[int, ...] = (), per_sample: bool = False,
                 reset: bool = False) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
    """TflmReference.run in a child process: TFLM aborts or segfaults on some models it should refuse
    (e.g. a DEPTHWISE_CONV_2D whose bias index is -1); that must become an error, not a dead tinyq.
    Also returns the tensors asked for (preserves all tensors when any is asked): after the last sample, or
    with per_sample=True after every sample, (N, *shape) each."""
    import concurrent.futures
    import multiprocessing

    from tinyq.errors import RunError

    data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        try:
            return pool.submit(_run_child, data, batches, n_outputs, bool(tensors), tuple(tensors),
                               per_sample, reset).result()
        except concurrent.futures.process.BrokenProcessPool:
            raise RunError("the TFLM reference runtime crashed on this model (tflite-micro aborted or segfaulted); "
                           "it cannot serve as the reference for it") from None
        except Exception as exc:
            raise RunError(f"the TFLM reference runtime failed on this model: {exc}") from None
