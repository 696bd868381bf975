"""A user's install: tinyq's wheel in a clean venv outside the repository, with pip and the documented extras,
then quantize, compile, build, run and verify from there; and the plain install on the other supported Pythons.

pip fetches the dependencies from the package index (its cache makes a second run quick); a Python that this
machine lacks is skipped, naming it."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.firmware]

REPO = Path(__file__).resolve().parents[2]
KWS = REPO.parent / "shared" / "models" / "mlperf_kws_dscnn_int8.tflite"
BOARD = "mps2-an386"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)])
    (whl,) = out.glob("tinyq-*.whl")
    return whl


def _run(args, cwd=None, timeout=1200) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _python(version: str) -> str | None:
    """A python<version> that runs and has venv: on PATH, or one of pyenv's (its shims may not select it)."""
    import os

    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in [shutil.which(f"python{version}"), *sorted(root.glob(f"versions/{version}.*/bin/python{version}"))]:
        if candidate and subprocess.run([candidate, "-c", "import venv, ensurepip"], capture_output=True).returncode == 0:
            return str(candidate)
    return None


def _venv(python: str, where: Path, requirement: str) -> Path:
    """A fresh venv at `where` with `requirement` pip-installed; returns its bin directory. --no-compile: pip
    byte-compiles none of TensorFlow's thousands of modules up front (Python compiles the ones imported as they
    are), which halves the install's CPU time and changes nothing that runs."""
    _run([python, "-m", "venv", where])
    _run([where / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile",
          requirement])
    return where / "bin"


def test_wheel_with_the_tf_extra_quantizes_compiles_builds_runs_and_verifies(wheel, tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    rng = np.random.default_rng(0)
    np.save(tmp_path / "calib.npy", rng.random((32, 8, 8, 1), dtype=np.float32))
    np.save(tmp_path / "x.npy", rng.random((3, 8, 8, 1), dtype=np.float32))
    model.save(tmp_path / "m.keras")

    bin_dir = _venv(sys.executable, tmp_path / "venv", f"{wheel}[tf]")
    tinyq = bin_dir / "tinyq"
    work = tmp_path / "user"  # outside the repository: nothing is found through the checkout
    work.mkdir()
    _run([tinyq, "quantize", tmp_path / "m.keras", "--calibration", tmp_path / "calib.npy", "--out", "m.tflite"], work)
    _run([tinyq, "compile", "m.tflite", "--board", BOARD, "--out", "fw"], work)
    _run([tinyq, "build", "fw"], work)
    _run([tinyq, "run", "fw", "-i", tmp_path / "x.npy", "-o", "y.npy"], work)
    _run([tinyq, "simulate", "m.tflite", "-i", tmp_path / "x.npy", "-o", "sim.npy"], work)
    assert np.array_equal(np.load(work / "y.npy"), np.load(work / "sim.npy"))
    assert "PASS" in _run([tinyq, "verify", "m.tflite", "--board", BOARD, "-n", "3"], work)
    library = _run([bin_dir / "python", "-c", "import tinyq.resources as r; print(r.data_dir('firmware'))"], work)
    assert "site-packages" in library and str(REPO) not in library


def test_wheel_with_the_qat_extra_runs_quantization_aware_training(wheel, tmp_path):
    """The one documented command for QAT, `pip install 'tinyq[qat]'`, is all that int8 QAT (tfmot) needs."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    rng = np.random.default_rng(0)
    np.save(tmp_path / "train.npy", rng.random((64, 8, 8, 1), dtype=np.float32))
    np.save(tmp_path / "labels.npy", rng.integers(0, 3, 64))
    model.save(tmp_path / "m.keras")

    tinyq = _venv(sys.executable, tmp_path / "venv", f"{wheel}[qat]") / "tinyq"
    done = subprocess.run([str(a) for a in [tinyq, "quantize", tmp_path / "m.keras", "--method", "qat", "--train",
                           tmp_path / "train.npy", "--labels", tmp_path / "labels.npy", "--epochs", "1", "--out",
                           "m.tflite"]], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    noise = [line for line in done.stderr.splitlines() if "cuInit" in line or "absl::InitializeLog" in line
             or line.startswith(("I0000", "W0000", "E0000"))]
    assert not noise, noise  # the full tensorflow wheel's CUDA probe is silenced like the rest of TF's log lines
    assert "PASS" in _run([tinyq, "verify", "m.tflite", "--board", BOARD, "-n", "2"], tmp_path)


@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_plain_wheel_on_other_pythons_compiles_builds_and_verifies(wheel, tmp_path, version):
    python = _python(version)
    if python is None:
        pytest.skip(f"no python{version} with venv on this machine")
    bin_dir = _venv(python, tmp_path / "venv", str(wheel))
    out = _run([bin_dir / "tinyq", "verify", KWS, "--board", BOARD, "-n", "2"], tmp_path)
    assert "PASS: every stage equal, bit for bit" in out
