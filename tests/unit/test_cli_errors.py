"""What a user can get wrong, command by command, through the real CLI: exactly one stderr line
`tinyq: error: <what and where>`, exit status 2, never a traceback or an internal error."""
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyq.cli import main

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO.parent / "shared" / "models" / "tflm_hello_world_int8.tflite"  # int8 [1, 1] -> int8 [1, 1]
IN = "serving_default_dense_input:0"


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    """A directory of good and bad files, and a compiled host project; paths by short name."""
    from tinyq.compiler import compile_model

    d = tmp_path_factory.mktemp("cli")
    arrays = {
        "x.npy": np.linspace(0, 6, 5, dtype=np.float32)[:, None],
        "nan.npy": np.array([[0.5], [1.0], [np.nan]], np.float32),
        "scalar.npy": np.float32(1.0),
        "empty.npy": np.zeros((0, 1), np.float32),
        "flat.npy": np.zeros((0,), np.int8),
        "complex.npy": np.ones((2, 1), np.complex64),
        "text.npy": np.array([["a"]]),
        "big.npy": np.array([[1], [300]], np.int32),
        "shape.npy": np.zeros((2, 3), np.float32),
    }
    for name, a in arrays.items():
        np.save(d / name, a)
    np.savez(d / "keys.npz", a=np.zeros((2, 1), np.int8), b=np.zeros((2, 1), np.int8))
    (d / "zero.npy").write_bytes(b"")
    (d / "junk.npy").write_bytes(b"not numpy")
    (d / "file").write_bytes(b"x")
    (d / "dir").mkdir()
    (d / "labels.npy").write_bytes((d / "big.npy").read_bytes())
    compile_model(HELLO, d / "proj", board="host")
    compile_model(HELLO, d / "real", board="nucleo_f446re")
    return d


def _one_error(argv, capsys) -> str:
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyq: error: "), err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0].removeprefix("tinyq: error: ")


CASES = [
    # bad command lines
    ([], "the following arguments are required: COMMAND"),
    (["frob"], "invalid choice: 'frob'"),
    (["compile", HELLO], "compile: the following arguments are required: --out/-o"),
    (["verify", HELLO, "-n", "abc"], "verify: argument --samples/-n: 'abc' is not an integer"),
    (["verify", HELLO, "-n", "-1"], "verify: argument --samples/-n: must be 0 or more, got -1"),
    (["verify", HELLO, "-n", "0"], "no samples to verify"),
    (["verify", HELLO, "--seed", "-2"], "verify: argument --seed: must be 0 or more"),
    (["run", "{proj}", "-i", "{x.npy}", "-o", "{out.npy}", "--timeout", "0"], "run: argument --timeout: must be more"),
    (["build", "{proj}", "--timeout", "nan"], "build: argument --timeout: must be a finite number"),
    (["quantize", "m.keras", "--qat", "--epochs", "0"], "quantize: argument --epochs: must be at least 1"),
    (["quantize", "m.keras", "--calibration", "{x.npy}", "--image-range", "1", "0"], "--image-range 1 0: LO must be"),
    (["evaluate", HELLO, "--data", "{x.npy}", "--backend", "gpu"], "evaluate: argument --backend: invalid choice"),
    (["boards", "extra"], "unrecognized arguments: extra"),
    # model files
    (["inspect", "{missing.tflite}"], "missing.tflite: no such file"),
    (["inspect", "{dir}"], "dir: not a regular file"),
    (["inspect", "{zero.npy}"], "zero.npy: file is empty"),
    (["inspect", "{x.npy}"], "not a TFLite model"),
    # compile
    (["compile", HELLO, "--board", "nope", "--out", "{c}"], "unknown board 'nope' (known: host, "),
    (["compile", HELLO, "--board", "nucleo-f446re", "--out", "{c}"], "(did you mean nucleo_f446re? known: host, "),
    (["compile", HELLO, "--prefix", "1x", "--out", "{c}"], "--prefix '1x' is not a C identifier"),
    (["compile", HELLO, "--prefix", "static", "--out", "{c}"], "--prefix 'static' is not a C identifier"),
    (["compile", HELLO, "--prefix", "tq_net", "--out", "{c}"], "names starting with tq_ belong to tinyq"),
    (["compile", HELLO, "--out", "{file}"], "--out {file}: exists and is not a directory"),
    (["compile", HELLO, "--out", "/dev/null"], "--out /dev/null: exists and is not a directory"),
    (["compile", HELLO, "--out", "{file}/sub"], "--out {file}/sub: {file} is not a directory"),
    # simulate: bad data
    (["simulate", HELLO, "-i", "{nan.npy}", "-o", "{out.npy}"], f"{{nan.npy}}: input '{IN}' sample 2 index [0] is NaN"),
    (["simulate", HELLO, "-i", "{scalar.npy}", "-o", "{out.npy}"], "array of shape [] does not fit input"),
    (["simulate", HELLO, "-i", "{empty.npy}", "-o", "{out.npy}"], "empty.npy: no samples"),
    (["simulate", HELLO, "-i", "{flat.npy}", "-o", "{out.npy}"], "array of shape [0] does not fit input"),
    (["simulate", HELLO, "-i", "{shape.npy}", "-o", "{out.npy}"], "array of shape [2, 3] does not fit input"),
    (["simulate", HELLO, "-i", "{complex.npy}", "-o", "{out.npy}"], "dtype complex64 cannot feed input"),
    (["simulate", HELLO, "-i", "{text.npy}", "-o", "{out.npy}"], "dtype <U1 cannot feed input"),
    (["simulate", HELLO, "-i", "{big.npy}", "-o", "{out.npy}"], "sample 1 index [0] is 300, outside the int8 range"),
    (["simulate", HELLO, "-i", "{keys.npz}", "-o", "{out.npy}"], f"keys.npz: no array for input '{IN}' (keys: a, b)"),
    (["simulate", HELLO, "-i", "{junk.npy}", "-o", "{out.npy}"], "junk.npy: not an .npy or .npz file"),
    (["simulate", HELLO, "-i", "{zero.npy}", "-o", "{out.npy}"], "zero.npy: file is empty"),
    (["simulate", HELLO, "-i", "{dir}", "-o", "{out.npy}"], "dir: is a directory, not a file"),
    (["simulate", HELLO, "-i", "{missing.npy}", "-o", "{out.npy}"], "missing.npy: no such file"),
    (["simulate", HELLO, "-i", HELLO, "-o", "{out.npy}"], "not an .npy or .npz file"),
    # simulate: bad output paths
    (["simulate", HELLO, "-i", "{x.npy}", "-o", "/dev/full"], "--output /dev/full: not a regular file"),
    (["simulate", HELLO, "-i", "{x.npy}", "-o", "/dev/null"], "--output /dev/null: not a regular file"),
    (["simulate", HELLO, "-i", "{x.npy}", "-o", "{dir}"], "--output {dir}: is a directory, not a file"),
    (["simulate", HELLO, "-i", "{x.npy}", "-o", "{file}/y.npy"], "--output {file}/y.npy: {file} is not a directory"),
    (["simulate", HELLO, "-i", "{x.npy}", "-o", "{out.npy}", "--trace", "{file}"], "--trace {file}: exists and is"),
    # run, build, flash
    (["run", "{dir}", "-i", "{x.npy}", "-o", "{out.npy}"], "is {dir} a directory made by `tinyq compile`?"),
    (["run", "{missing}", "-i", "{x.npy}", "-o", "{out.npy}"], "{missing}: no such directory"),
    (["run", "{file}", "-i", "{x.npy}", "-o", "{out.npy}"], "{file}: not a directory"),
    (["run", "{proj}", "-i", "{nan.npy}", "-o", "{out.npy}"], "nan.npy: input '"),
    (["run", "{proj}", "-i", "{missing.npy}", "-o", "{out.npy}"], "missing.npy: no such file"),
    (["run", "{proj}", "-i", "{x.npy}", "-o", "/dev/full"], "--output /dev/full: not a regular file"),
    (["run", "{real}", "-i", "{x.npy}", "-o", "{out.npy}"], "no serial port of a nucleo_f446re found"),
    (["build", "{missing}"], "{missing}: no such directory"),
    (["build", "{dir}"], "tinyq.json not found"),
    (["flash", "{file}"], "{file}: not a directory"),
    # verify, bench
    (["verify", HELLO, "-b", "nope"], "unknown board 'nope'"),
    (["verify", HELLO, "-b", "nucleo_f446re"], "no serial port of a nucleo_f446re found"),
    (["verify", HELLO, "--json", "/dev/full"], "--json /dev/full: not a regular file"),
    (["verify", HELLO, "--json", "{dir}"], "--json {dir}: is a directory"),
    (["verify", HELLO, "--work-dir", "{file}"], "--work-dir {file}: exists and is not a directory"),
    (["verify", HELLO, "-i", "{nan.npy}"], "nan.npy: input '"),
    (["bench", HELLO, "-b", "host"], "bench needs an emulated board"),
    (["bench", HELLO, "-b", "mps2-an386", "--json", "/dev/null"], "--json /dev/null: not a regular file"),
    (["bench", HELLO, "-b", "mps2-an386", "--work-dir", "{file}"], "--work-dir {file}: exists and is not a"),
    # quantize, evaluate: output paths (checked before TensorFlow is loaded)
    (["quantize", "m.keras", "--calibration", "{x.npy}", "--out", "/dev/full"], "--out /dev/full: not a regular"),
    (["quantize", "m.keras", "--calibration", "{x.npy}", "--out", "{dir}"], "--out {dir}: is a directory"),
    (["evaluate", HELLO, "--data", "{x.npy}", "--float", "m.keras", "--plot", "{p.txt}"], "give a path ending in .png"),
    (["evaluate", HELLO, "--data", "{x.npy}", "--float", "m.keras", "--plot", "/dev/null"], "--plot /dev/null: not a"),
    (["evaluate", HELLO, "--data", "{x.npy}", "--labels", "{labels.npy}"], "has 2 rows, but the data has 5 samples"),
]


def _fill(text, w: Path) -> str:
    text = str(text)
    while "{" in text and "}" in text:
        start = text.index("{")
        end = text.index("}", start)
        text = text[:start] + str(w / text[start + 1 : end]) + text[end + 1 :]
    return text


@pytest.mark.parametrize("argv, fragment", CASES, ids=[" ".join(map(str, a))[-60:] for a, _ in CASES])
def test_one_line_error(w, capsys, argv, fragment):
    line = _one_error([_fill(a, w) for a in argv], capsys)
    assert _fill(fragment, w) in line, line


def test_nan_message_is_exact(w, capsys):
    line = _one_error(["simulate", HELLO, "-i", w / "nan.npy", "-o", w / "o.npy"], capsys)
    assert line == f"{w / 'nan.npy'}: input '{IN}' sample 2 index [0] is NaN"
    assert not (w / "o.npy").exists()


def test_output_without_suffix_is_the_file_written_and_reported(w, tmp_path, capsys):
    out = tmp_path / "result"
    assert main(["simulate", str(HELLO), "-i", str(w / "x.npy"), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"-> {out}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]
    assert np.load(out).shape == (5, 1)


def test_infinities_saturate_through_the_cli(tmp_path, capsys):
    np.save(tmp_path / "inf.npy", np.array([[np.inf], [-np.inf], [1e30]], np.float32))
    np.save(tmp_path / "sat.npy", np.array([[127], [-128], [127]], np.int8))
    assert main(["simulate", str(HELLO), "-i", str(tmp_path / "inf.npy"), "-o", str(tmp_path / "a.npy")]) == 0
    assert main(["simulate", str(HELLO), "-i", str(tmp_path / "sat.npy"), "-o", str(tmp_path / "b.npy")]) == 0
    assert capsys.readouterr().err == ""  # no RuntimeWarning
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


@pytest.mark.parametrize("argv, fragment", [
    (["compile"], "compile: the following arguments are required: model, --out/-o"),
    (["simulate", HELLO, "-i", "{nan.npy}", "-o", "{o.npy}"], "is NaN"),
    (["run", "{dir}", "-i", "{x.npy}", "-o", "/dev/full"], "--output /dev/full: not a regular file"),
])
def test_the_installed_command(w, argv, fragment):
    """The console script itself: one line on stderr, status 2, nothing on stdout."""
    p = subprocess.run([str(REPO / ".venv" / "bin" / "tinyq"), *(_fill(a, w) for a in argv)],
                       capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "error"})
    assert p.returncode == 2 and p.stdout == "", p
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyq: error: ") and _fill(fragment, w) in lines[0], p.stderr


def test_qat_without_its_extra_names_it(tmp_path, monkeypatch, capsys):
    """With the tf extra but not the qat one (no tfmot, no tf_keras), --method qat names the qat extra."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("tf_keras", "tensorflow_model_optimization") else real(name, *a))
    import keras

    keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]).save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", np.zeros((2, 4, 4, 1), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(2, np.int64))
    code = main(["quantize", str(tmp_path / "m.keras"), "--method", "qat", "--train", str(tmp_path / "x.npy"),
                 "--labels", str(tmp_path / "y.npy"), "-o", str(tmp_path / "m.tflite")])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("tinyq: error:")]
    assert code == 2 and len(errors) == 1, errors
    assert "needs Python package 'tf_keras'" in errors[0] and "pip install 'tinyq[qat]'" in errors[0], errors


@pytest.mark.parametrize("missing", ["keras", "tensorflow_model_optimization"])
def test_a_command_that_needs_an_extra_names_it(missing, tmp_path, monkeypatch, capsys):
    """Without TensorFlow (a plain `pip install tinyq`), quantize says which extra to install, in one line."""
    import builtins

    real = builtins.__import__

    def without(name, *args, **kwargs):
        if name.split(".")[0] in ("keras", "tensorflow", missing):
            raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)
        return real(name, *args, **kwargs)

    (tmp_path / "m.keras").write_text("not read: the import comes first")
    np.save(tmp_path / "c.npy", np.zeros((2, 4, 4, 1), np.float32))
    monkeypatch.setattr(builtins, "__import__", without)
    code = main(["quantize", str(tmp_path / "m.keras"), "--calibration", str(tmp_path / "c.npy"), "-o",
                 str(tmp_path / "m.tflite")])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("tinyq: error:")]
    assert code == 2 and len(errors) == 1, errors
    assert errors[0].startswith(f"tinyq: error: `tinyq quantize` needs Python package '{missing}'"), errors
    assert f"pip install 'tinyq[{'tf' if missing == 'keras' else 'qat'}]'" in errors[0]


def test_a_missing_arm_compiler_or_qemu_is_named(tmp_path, monkeypatch, capsys):
    """Without arm-none-eabi-gcc on PATH, build names it and its packages before PlatformIO runs; so does run
    without qemu-system-arm."""
    import shutil

    from tinyq.errors import BuildError
    from tinyq.targets.build import require_tool

    assert main(["compile", str(HELLO), "--board", "mps2-an386", "-o", str(tmp_path / "fw")]) == 0
    capsys.readouterr()
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda tool, *a, **k: None if tool == "arm-none-eabi-gcc" else real(tool, *a, **k))
    assert main(["build", str(tmp_path / "fw")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinyq: error: building for mps2-an386 needs `arm-none-eabi-gcc`") and "gcc-arm-none-eabi" in err
    monkeypatch.setattr(shutil, "which", lambda tool, *a, **k: None)
    with pytest.raises(BuildError, match="needs `qemu-system-arm`"):
        require_tool("qemu-system-arm", "running firmware on mps2-an386", "qemu-system-arm")
