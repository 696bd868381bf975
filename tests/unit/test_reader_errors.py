"""Broken model files: one clear error line naming what and where, exit status 2, no traceback, no hang."""
import subprocess
import sys

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as tflite

from tinyq.cli import main
from tinyq.errors import ModelFormatError, TinyqError
from tinyq.tflite_reader import read_model


def run_cli(args):
    """Run the real console entry point in a subprocess: what a user sees."""
    p = subprocess.run([sys.executable, "-m", "tinyq.cli", *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def _patched(data: bytes, pos: int, value: int) -> bytes:
    b = bytearray(data)
    b[pos : pos + 4] = int(value).to_bytes(4, "little", signed=True)
    return bytes(b)


def _weights_buffer_length_pos(data: bytes) -> tuple[int, int]:
    """Byte position of the length field of the first constant tensor's buffer vector, and that length."""
    m = tflite.Model.GetRootAs(data, 0)
    sg = m.Subgraphs(0)
    for i in range(sg.TensorsLength()):
        b = sg.Tensors(i).Buffer()
        buf = m.Buffers(b)
        if buf.DataLength() > 4:
            o = buf._tab.Offset(4)
            vec = buf._tab.Vector(o)
            return vec - 4, buf.DataLength()
    raise AssertionError("no constant tensor")


def _tensor_buffer_field_pos(data: bytes) -> int:
    m = tflite.Model.GetRootAs(data, 0)
    t = m.Subgraphs(0).Tensors(0)
    return t._tab.Pos + t._tab.Offset(8)  # field 2 (buffer)


@pytest.fixture()
def hello(shared_models):
    return (shared_models / "tflm_hello_world_int8.tflite").read_bytes()


def test_empty_file(tmp_path):
    p = tmp_path / "empty.tflite"
    p.write_bytes(b"")
    code, out, err = run_cli(["inspect", str(p)])
    assert code == 2 and err.strip() == f"tinyq: error: {p}: file is empty"


def test_random_bytes(tmp_path):
    p = tmp_path / "random.tflite"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    code, _, err = run_cli(["inspect", str(p)])
    assert code == 2 and "not a TFLite model" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_truncated_file(tmp_path, shared_models):
    data = (shared_models / "mlperf_kws_dscnn_int8.tflite").read_bytes()
    p = tmp_path / "truncated.tflite"
    p.write_bytes(data[: len(data) // 3])
    code, _, err = run_cli(["simulate", str(p), "-i", "x.npy", "-o", "y.npy"])
    assert code == 2 and str(p) in err and "corrupt or truncated" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file(tmp_path):
    code, _, err = run_cli(["inspect", str(tmp_path / "nope.tflite")])
    assert code == 2 and "no such file" in err


def test_tensor_past_its_buffer(hello):
    pos, n = _weights_buffer_length_pos(hello)
    bad = _patched(hello, pos, n - 4)
    with pytest.raises(ModelFormatError, match=r"needs \d+ bytes, but buffer \d+ holds"):
        read_model(bad)


def test_tensor_buffer_index_out_of_range(hello):
    bad = _patched(hello, _tensor_buffer_field_pos(hello), 9999)
    with pytest.raises(ModelFormatError, match="points to buffer 9999"):
        read_model(bad)


def test_unsupported_custom_ops_named(shared_models, tmp_path):
    model = shared_models / "tflm_audio_preprocessor_int8.tflite"
    code, _, err = run_cli(["compile", str(model), "--board", "host", "--out", str(tmp_path / "o")])
    assert code == 2, err
    assert err.startswith(f"tinyq: error: {model}: op #0 SignalWindow") and "custom op is not supported" in err
    assert len(err.strip().splitlines()) == 1


def test_inspect_reports_unsupported_and_exits_1(shared_models, capsys):
    assert main(["inspect", str(shared_models / "tflm_audio_preprocessor_int8.tflite")]) == 1
    out = capsys.readouterr().out
    assert "SignalWindow" in out and "custom op is not supported" in out
    assert main(["inspect", str(shared_models / "mlperf_kws_dscnn_int8.tflite")]) == 0


def test_compile_and_simulate_name_every_blocker_at_once(shared_models, tmp_path):
    """One error line lists every op tinyq cannot lower (the audio preprocessor: Signal custom ops and more)."""
    from tinyq.lower import support_error

    model = shared_models / "tflm_audio_preprocessor_int8.tflite"
    graph = read_model(model)
    blocked = [op for op in graph.ops if support_error(graph, op) is not None]
    assert len(blocked) > 1
    np.save(tmp_path / "x.npy", np.zeros((1, 480), np.int16))
    simulate = ["simulate", str(model), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]
    for command in (["compile", str(model), "--out", str(tmp_path / "o")], simulate):
        code, _, err = run_cli(command)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"and {len(blocked) - 1} more op(s) tinyq cannot lower" in err
        assert all(f"op #{op.index} {op.opcode}" in err for op in blocked[:20]), err


@pytest.mark.parametrize("seed", range(40))
def test_mutated_models_never_crash(hello, seed):
    """Random byte corruption: the reader and lowering either work or raise a TinyqError (no other exception)."""
    rng = np.random.default_rng(seed)
    b = bytearray(hello)
    for pos in rng.integers(0, len(b), size=int(rng.integers(1, 20))):
        b[pos] = int(rng.integers(0, 256))
    try:
        from tinyq.lower import lower

        lower(read_model(bytes(b)))
    except TinyqError:
        pass


@pytest.mark.slow
def test_buffer_outside_the_flatbuffer_is_refused(hello, tmp_path):
    """The >2 GB layout keeps buffer data after the flatbuffer (offset/size): refused with one clear line."""
    from tests.ops.oplib import edit_model

    def move_first_weights_out(model, schema):
        for b in model.buffers:
            if b.data is not None and len(b.data) > 4:
                b.offset, b.size, b.data = 1 << 20, len(b.data), None
                return

    p = tmp_path / "external.tflite"
    p.write_bytes(edit_model(hello, move_first_weights_out))
    code, _, err = run_cli(["inspect", str(p)])
    assert code == 2 and "keeps its data outside the flatbuffer" in err and "Traceback" not in err
