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


def _run_child(model: bytes, batches: list[np.ndarray], n_outputs: int, preserve: bool, tensors: tuple[int, ...]):
    ref = TflmReference(model, preserve_all_tensors=preserve)
    outs = ref.run(batches, n_outputs)
    return outs, {i: ref.tensor(i) for i in tensors}


def run_isolated(model: str | Path | bytes, batches: list[np.ndarray], n_outputs: int,
                 tensors: tuple[int, ...] = ()) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
    """TflmReference.run in a child process: TFLM aborts or segfaults on some models it should refuse
    (e.g. a DEPTHWISE_CONV_2D whose bias index is -1); that must become an error, not a dead tinyq.
    Also returns the tensors asked for (after the last sample; preserves all tensors when any is asked)."""
    import concurrent.futures
    import multiprocessing

    from tinyq.errors import RunError

    data = Path(model).read_bytes() if not isinstance(model, (bytes, bytearray)) else bytes(model)
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        try:
            return pool.submit(_run_child, data, batches, n_outputs, bool(tensors), tuple(tensors)).result()
        except concurrent.futures.process.BrokenProcessPool:
            raise RunError("the TFLM reference runtime crashed on this model (tflite-micro aborted or segfaulted); "
                           "it cannot serve as the reference for it") from None
        except Exception as exc:
            raise RunError(f"the TFLM reference runtime failed on this model: {exc}") from None
