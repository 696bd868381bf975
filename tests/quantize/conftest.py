"""Fixtures for the quantization front end: the trained digits example and small seeded Keras models."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def digits(tmp_path_factory) -> Path:
    """The digits example, trained once per session in its own process (its seeds and op determinism stay there)."""
    out = tmp_path_factory.mktemp("digits")
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "digits" / "train.py"), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return out


def dense_model(path: Path, middle=None, seed: int = 0):
    """x(16) -> Dense 'features' (relu) -> [middle layer] -> Dense 'head' (4); saved to `path` (.keras)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((16,), name="x")
    h = layers.Dense(16, activation="relu", name="features")(inp)
    if middle is not None:
        h = middle(h)
    out = layers.Dense(4, name="head")(h)
    model = keras.Model(inp, out, name="dense_model")
    model.save(path)
    return model


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> Path:
    return _saved(tmp_path_factory, "small.keras", None)


@pytest.fixture(scope="session")
def normal_data() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((64, 16)).astype(np.float32)


def _saved(tmp_path_factory, name, middle):
    path = tmp_path_factory.mktemp("models") / name
    dense_model(path, middle)
    return path
