"""The digits example, trained briefly once per module group (its own process keeps its seeds and determinism)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def digits(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("digits")
    subprocess.run([sys.executable, str(REPO / "examples" / "digits" / "train.py"), str(out), "--epochs", "8"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return out


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "tinyq.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def explore_args(d: Path, out: Path, *extra: str) -> list[str]:
    return ["explore", str(d / "digits.keras"), "--calibration", str(d / "calib.npy"), "--data",
            str(d / "test_x.npy"), "--labels", str(d / "test_y.npy"), "--board", "mps2-an386", "--out", str(out),
            "--no-progress", *extra]
