"""The reference: TFLite Micro's Python runtime (`tflite-micro` package), run on the same batches.

TFLM is tinyq's contract (double rounding, as CMSIS-NN). TFLM may reuse an input tensor's memory
for intermediates, so inputs are set again before every invoke.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

ARENA_BYTES = 64 << 20


@contextlib.contextmanager
def _quiet_stdout():
    """TFLM's C++ side prints to fd 1 (e.g. 'Input index k out of range'); keep it off the user's screen."""
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class TflmReference:
    def __init__(self, model: str | Path | bytes, preserve_all_tensors: bool = False):
        from tflite_micro import runtime

        data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
        config = runtime.InterpreterConfig.kPreserveAllTensors if preserve_all_tensors else runtime.InterpreterConfig.kAllocationRecording
        with _quiet_stdout():
            self.interp = runtime.Interpreter.from_bytes(data, arena_size=ARENA_BYTES, intrepreter_config=config)

    def run(self, batches: list[np.ndarray], n_outputs: int) -> list[np.ndarray]:
        """batches: one (N, *shape) array per input. Returns one (N, *shape) array per output."""
        n = batches[0].shape[0]
        outs: list[list[np.ndarray]] = [[] for _ in range(n_outputs)]
        for s in range(n):
            for k, b in enumerate(batches):
                self.interp.set_input(b[s], k)
            self.interp.invoke()
            for k in range(n_outputs):
                outs[k].append(np.array(self.interp.get_output(k)))
        return [np.stack(o) for o in outs]

    def tensor(self, index: int) -> np.ndarray:
        """An intermediate tensor after the last invoke (needs preserve_all_tensors=True)."""
        t = self.interp.GetTensor(index, 0)  # a dict: dtype, shape, tensor_data, quantization
        return np.array(t["tensor_data"]).reshape(tuple(int(d) for d in t["shape"]))
