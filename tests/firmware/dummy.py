"""A stand-in for `tinyq compile` output: the dummy model (dummy_model/) + a tinyq.json, made into a
project by write_project. Two inputs (int8 [1,4], int16 [1,3]), two outputs of the same shapes:
    out0 = sat8(in0 + [1, 2, 3, -4]),  out1 = sat16(2 * in1 + [5, -6, 7])
Test hooks on in0[0]: 101 hangs, 102 faults (undefined instruction), 103 returns status 7.
"""
import json
import shutil
from pathlib import Path

import numpy as np

from tinyq.targets.project import write_project

MODEL_DIR = Path(__file__).resolve().parent / "dummy_model"
HANG, FAULT, BAD_STATUS = 101, 102, 103
W0 = np.array([1, 2, 3, -4], np.int32)
W1 = np.array([5, -6, 7], np.int32)


def manifest(board: str, **plan) -> dict:
    return {
        "prefix": "model",
        "board": board,
        "model_sha256": "0" * 64,
        "inputs": [
            {"name": "in0", "shape": [1, 4], "dtype": "int8", "scale": 0.5, "zero_point": -1, "bytes": 4},
            {"name": "in1", "shape": [1, 3], "dtype": "int16", "scale": 0.25, "zero_point": 0, "bytes": 6},
        ],
        "outputs": [
            {"name": "out0", "shape": [1, 4], "dtype": "int8", "scale": 0.5, "zero_point": -1, "bytes": 4},
            {"name": "out1", "shape": [1, 3], "dtype": "int16", "scale": 0.25, "zero_point": 0, "bytes": 6},
        ],
        "plan": {"arena_bytes": 32, "scratch_bytes": 0, "weight_bytes": 14, **plan},
    }


def make_project(root: Path, board: str, **plan) -> Path:
    """Write the dummy model's sources and manifest into root/<board>, then call write_project."""
    out = Path(root) / board
    (out / "src").mkdir(parents=True, exist_ok=True)
    for f in MODEL_DIR.iterdir():
        shutil.copy(f, out / "src" / f.name)
    info = manifest(board, **plan)
    (out / "tinyq.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    write_project(out, board, info)
    return out


def sample_inputs(n: int, seed: int = 0) -> dict:
    """n random samples that avoid the test hooks."""
    rng = np.random.default_rng(seed)
    return {
        "in0": rng.integers(-128, 100, (n, 4)).astype(np.int8),
        "in1": rng.integers(-32768, 32768, (n, 3)).astype(np.int16),
    }


def expected_outputs(inputs: dict) -> dict:
    in0 = np.asarray(inputs["in0"], np.int32)
    in1 = np.asarray(inputs["in1"], np.int32)
    return {
        "out0": np.clip(in0 + W0, -128, 127).astype(np.int8),
        "out1": np.clip(2 * in1 + W1, -32768, 32767).astype(np.int16),
    }


def hook_inputs(hook: int) -> dict:
    return {"in0": np.array([[hook, 0, 0, 0]], np.int8), "in1": np.zeros((1, 3), np.int16)}
