"""One NumPy function per C kernel, registered under the C function's name.

A kernel function takes (call, *inputs) where each input is an array of shape (N, *tensor.shape)
and returns the output array (or a tuple of them) with N on axis 0; the driver reshapes it to
(N, *tensor.shape). Arithmetic is exact integer
arithmetic mirroring firmware/src/tq_<family>.c; see tinyq.sim.fixedpoint.
"""
from __future__ import annotations

import functools
import importlib
from typing import Callable

SIM_KERNELS: dict[str, Callable] = {}
FAMILIES = ("fully_connected", "conv", "pool", "reduce", "elementwise", "activation", "quantize", "softmax", "logistic", "shape",
            "svdf", "packed", "resize", "prelu", "lstm")


def sim_kernel(*names: str):
    def register(fn):
        for name in names:
            SIM_KERNELS[name] = fn
        return fn

    return register


@functools.cache
def _load_families() -> None:
    # every family, even when one was imported directly before (its kernels alone would be registered)
    for family in FAMILIES:
        importlib.import_module(f"tinyq.sim.kernels.{family}")


def get_kernel(name: str) -> Callable:
    _load_families()
    return SIM_KERNELS[name]
