"""tinyq: quantized neural networks to bit-exact C for Cortex-M microcontrollers.

Public API (each imports its stage lazily so `import tinyq` stays fast):
    read_model(path_or_bytes) -> Graph
    simulate(model, inputs, trace=False) -> SimResult
"""
__version__ = "0.1.0"

__all__ = ["__version__", "read_model", "simulate"]


def read_model(model):
    """Read a .tflite file (path or bytes) into the frozen IR (tinyq.ir.Graph)."""
    from tinyq.tflite_reader import read_model as _read

    return _read(model)


def simulate(model, inputs, trace=False):
    """Run a model in the bit-exact NumPy simulator; see tinyq.sim.run.simulate."""
    from tinyq.sim.run import simulate as _simulate

    return _simulate(model, inputs, trace=trace)
