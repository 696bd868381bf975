"""--weights-layout (tinyq.compiler.WEIGHTS_LAYOUTS): the int16 layouts hold exactly the int8 weights in the order the
_wide_dsp kernels read them; auto widens only where the image still fits the board's flash (else int8, said in the
note), int16 refuses a model it does not fit, and a bad value is one `tinyq: error:` line."""
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.ops.oplib import convert_keras
from tests.samples import model_path
from tinyq.compiler import compile_model
from tinyq.errors import DoesNotFit, InputError
from tinyq.specialize.conv_dsp import widen_filter
from tinyq.specialize.fully_connected_dsp import interleave, widen


def _lanes(words: np.ndarray) -> np.ndarray:
    """int32 words of int16 pairs -> int16 [..., 2] (low lane first, as SMLAD reads them)."""
    return np.ascontiguousarray(words, "<i4").view("<i2").reshape(*words.shape, 2)


@pytest.mark.parametrize("c, k", [(4, 8), (5, 27), (1, 3), (6, 16)])
def test_conv_wide_words_are_the_filter_rows_in_read_order(c, k):
    rows = np.random.default_rng(c * k).integers(-128, 128, (c, k)).astype(np.int8)
    words = widen_filter(rows)
    g = -(-k // 4)
    padded = np.zeros((c, 4 * g), np.int16)
    padded[:, :k] = rows
    assert words.size == 2 * c * g  # two words a group of 4 taps a channel: twice the int8 layout
    pairs = _lanes(words[: c // 2 * 8 * g // 2]).reshape(c // 2, g, 2, 2, 2)  # pair, group, channel, even/odd, lane
    for p in range(c // 2):
        for ch in range(2):
            got = pairs[p, :, ch]  # [g, even/odd, lane]
            taps = np.stack([got[:, 0, 0], got[:, 1, 0], got[:, 0, 1], got[:, 1, 1]], axis=1).reshape(-1)
            np.testing.assert_array_equal(taps, padded[2 * p + ch])
    if c % 2:
        last = _lanes(words[c // 2 * 4 * g:]).reshape(g, 2, 2)
        taps = np.stack([last[:, 0, 0], last[:, 1, 0], last[:, 0, 1], last[:, 1, 1]], axis=1).reshape(-1)
        np.testing.assert_array_equal(taps, padded[-1])


def test_fc_wide_words_are_the_interleaved_words_widened():
    w = np.random.default_rng(1).integers(-128, 128, (7, 13)).astype(np.int8)
    inter, wide = interleave(w), widen(interleave(w))
    assert wide.dtype == np.int16 and wide.shape == inter.shape
    lanes = wide.reshape(-1, 2, 2)  # per int8 word: even word (inputs 0, 2), odd word (inputs 1, 3)
    words = inter.reshape(-1, 4)
    np.testing.assert_array_equal(lanes[:, 0], words[:, [0, 2]])
    np.testing.assert_array_equal(lanes[:, 1], words[:, [1, 3]])


def _fc(features: int, units: int) -> bytes:
    import keras

    return convert_keras(lambda: keras.Sequential([keras.Input((features,)), keras.layers.Dense(units)]), seed=4)


def _layers(out):
    return json.loads((out / "tinyq.json").read_text())


@pytest.mark.slow
def test_auto_widens_only_what_fits_the_flash(tmp_path):
    # 640 x 560 int8 weights: 358,400 B fit the F446RE's 512 KB flash, widened to int16 (716,800 B) they do not
    big = _fc(640, 560)
    r = compile_model(big, tmp_path / "auto", board="nucleo_f446re", project=False)
    info = _layers(tmp_path / "auto")
    assert [x["implementation"] for x in info["layers"]] == ["tq_fully_connected_s8_interleaved_dsp"]
    assert info["plan"]["widened_weight_bytes"] == 0 and "int16 weight layout does not fit nucleo_f446re" in r.note
    with pytest.raises(DoesNotFit, match="flash"):
        compile_model(big, tmp_path / "forced", board="nucleo_f446re", project=False, weights_layout="int16")
    # the same model on a 2 MB board, and a small one on the F446RE: widened, and the manifest says what it costs
    for name, model, board in (("l4r5", big, "nucleo_l4r5zi"), ("small", _fc(64, 32), "nucleo_f446re")):
        r = compile_model(model, tmp_path / name, board=board, project=False)
        info = _layers(tmp_path / name)
        layer = info["layers"][0]
        assert layer["implementation"] == "tq_fully_connected_s8_wide_x16_dsp"  # both Cortex-M4 boards
        assert layer["weights_layout"] == "int16"
        assert layer["widened_extra_bytes"] == info["plan"]["widened_weight_bytes"] > 0 and not r.note
    r = compile_model(big, tmp_path / "int8", board="nucleo_l4r5zi", project=False, weights_layout="int8")
    assert _layers(tmp_path / "int8")["layers"][0]["implementation"] == "tq_fully_connected_s8_interleaved_dsp"


def test_bad_layouts_are_refused(tmp_path):
    with pytest.raises(InputError, match="--weights-layout 'int4'"):
        compile_model(model_path("tflm_hello_world_int8"), tmp_path / "a", board="mps2-an386", weights_layout="int4")
    with pytest.raises(InputError, match="--weights-layout int16: one model only"):
        compile_model([model_path("tflm_hello_world_int8")] * 2, tmp_path / "b", board="mps2-an386",
                      weights_layout="int16")


def test_cli_names_a_bad_layout(tmp_path):
    for command in (["compile", "-o", str(tmp_path / "out")], ["bench", "--board", "mps2-an386"]):
        p = subprocess.run([sys.executable, "-m", "tinyq.cli", command[0], str(model_path("tflm_hello_world_int8")),
                            *command[1:], "--weights-layout", "int12"], capture_output=True, text=True, timeout=120)
        assert p.returncode == 2 and p.stderr.startswith("tinyq: error: --weights-layout 'int12'"), p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_compile_reports_the_widened_layers(tmp_path):
    p = subprocess.run([sys.executable, "-m", "tinyq.cli", "compile", str(model_path("tflm_hello_world_int8")),
                        "-b", "mps2-an386", "-o", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "flash of int16 weights beyond int8, --weights-layout: calls 0, 1, 2" in p.stdout, p.stdout
