"""tq_depthwise_conv3x3_s8_dsp / tq_depthwise_convkxk_s8_dsp (tinyq/specialize/depthwise_dsp.py) on the emulated
DSP CPUs: firmware == simulator == TFLM, exactly. Two models reach every path: 3x3 stride 1 and 2, SAME and
VALID, interior pixels and every border, channels 4, 8, 13 (a tail of 1 after 3 blocks) and 64, 5x5 and 10x4
filters (the tap list), odd widths and heights, NONE / ReLU / ReLU6 (clamps other than int8's range), an input
zero point far from 0 (padded taps read it), and a dead channel (zero weights, a bias the converter makes huge)."""
import numpy as np
import pytest

from tests.ops.oplib import check_model, convert_keras, random_inputs
from tinyq.compiler import compile_model
from tinyq.io import from_batch
from tinyq.sim.run import as_program
from tinyq.targets.run import run_project

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

# Cortex-M4, M33, M7 (its own loads: TQ_DUAL_ISSUE); the M55 takes the Helium kernel (test_mve_kernels.py)
DSP_BOARDS = ["mps2-an386", "mps2-an505", "mps2-an500"]


def _dead_channel(layer, channel):
    """Zero one channel's filter and give it a bias: TFLite then quantizes that bias with a tiny scale."""
    kernel, bias = layer.get_weights()
    kernel[..., channel, :] = 0.0
    bias[channel] = 0.75
    layer.set_weights([kernel, bias])


def _tails_model():
    """13 channels (3 blocks + 1), odd sizes, every filter path, a dead channel."""
    import keras

    def build():
        dw = keras.layers.DepthwiseConv2D
        x = inp = keras.Input((13, 11, 13))
        first = dw(3, padding="same", activation="relu", bias_initializer="glorot_uniform")
        x = first(x)
        _dead_channel(first, 5)
        x = dw((10, 4), padding="same", bias_initializer="glorot_uniform")(x)
        x = dw(5, strides=2, padding="same", activation="relu6")(x)
        x = dw(3, strides=2, padding="valid", bias_initializer="glorot_uniform")(x)
        return keras.Model(inp, x)

    return convert_keras(build, seed=21, lo=-0.5, hi=1.5)


def _blocks_model():
    """4, 64 and 8 channels: whole blocks only, stride 2 SAME and VALID, stride 1 SAME and VALID."""
    import keras

    def build():
        dw = keras.layers.DepthwiseConv2D
        x = inp = keras.Input((12, 9, 4))
        x = dw(3, strides=2, padding="same", activation="relu", bias_initializer="glorot_uniform")(x)
        x = dw(3, padding="valid", bias_initializer="glorot_uniform")(keras.layers.Conv2D(64, 1)(x))
        x = dw(3, padding="same", activation="relu6")(keras.layers.ZeroPadding2D(1)(x))
        x = keras.layers.Conv2D(8, 1)(x)
        x = dw(3, strides=2, padding="valid", bias_initializer="glorot_uniform")(x)
        x = dw(3, strides=2, padding="same", activation="relu")(keras.layers.ZeroPadding2D((2, 3))(x))
        return keras.Model(inp, x)

    return convert_keras(build, seed=22, lo=-0.5, hi=1.5)


def _pairs_model():
    """Pixel pairs (span2_3x3: stride 1, full int8 range, depth % 4 == 0; a SAME row's border pixel either side
    paired with its neighbour) and the odd pixel out: rows of
    0..5 interior pixels (widths 1..7 SAME and VALID, a zero-padded VALID one), depths 4, 8, 12 and 6 (a tail,
    one pixel at a time), no activation, so that the range is int8's."""
    import keras

    def chain(inp):
        dw = keras.layers.DepthwiseConv2D
        outs, x = [], inp
        for pad in ("same", "valid", "same", "valid", "same", "valid", "same"):  # widths 7 7 5 5 3 3 1 -> 1
            x = dw(3, padding=pad, bias_initializer="glorot_uniform")(x)
        outs.append(x)
        x = keras.layers.Cropping2D(((0, 0), (0, 1)))(inp)  # widths 6 6 4 4 2 (interior 4 4 2 2 0)
        for pad in ("same", "valid", "same", "valid", "same"):
            x = dw(3, padding=pad, bias_initializer="glorot_uniform")(x)
        outs.append(x)
        padded = keras.layers.ZeroPadding2D((1, 2))(inp)  # width 11 -> 9 interior pixels reading the pad
        outs.append(dw(3, padding="valid", bias_initializer="glorot_uniform")(padded))
        return outs

    def build():
        inp = keras.Input((9, 7, 12))
        outs = []
        for depth in (12, 8, 4, 6):
            outs += chain(inp if depth == 12 else keras.layers.Conv2D(depth, 1)(inp))
        return keras.Model(inp, outs)

    return convert_keras(build, seed=23, lo=-0.5, hi=1.5)


# model -> (3x3 calls, kxk calls) the generated model.c must make
MODELS = {"tails": (_tails_model, 2, 2), "blocks": (_blocks_model, 5, 0), "pairs": (_pairs_model, 52, 0)}


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request):
    build, n3, nk = MODELS[request.param]
    tfl = build()
    program = as_program(tfl)
    inputs = random_inputs(program, 6, seed=4)
    sim = check_model(tfl, inputs=inputs)  # TFLM == simulator == host C first
    return tfl, inputs, sim, n3, nk


@pytest.mark.parametrize("board", DSP_BOARDS)
def test_depthwise_fast_equals_simulator(board, model, tmp_path):
    tfl, inputs, sim, n3, nk = model
    program = as_program(tfl)
    compile_model(tfl, tmp_path, board=board, weights="int8")
    model_c = (tmp_path / "src" / "model.c").read_text()
    assert model_c.count("tq_depthwise_conv3x3_s8_dsp(") == n3
    assert model_c.count("tq_depthwise_convkxk_s8_dsp(") == nk
    assert "tq_depthwise_conv_s8_dsp(" not in model_c  # no layer declined
    got = run_project(tmp_path, [from_batch(x, program.tensor(i)) for x, i in zip(inputs, program.inputs)]).arrays
    for g, s, i in zip(got, sim, program.outputs):
        np.testing.assert_array_equal(g, from_batch(s, program.tensor(i)))


def test_pairs_model_reaches_span2():
    """The pairs model's stride-1 layers take span2_3x3 (full range, whole blocks) with even and odd interior
    counts of 1..5 and more, SAME ones with both edge pairs, and depth 6 does not."""
    from tinyq.specialize.depthwise_dsp import prepare

    counts, edges = {}, {}
    for call in as_program(_pairs_model()).calls:
        got = prepare(call) if call.opcode == "DEPTHWISE_CONV_2D" else None
        if got is None:
            continue
        r = got.call
        full = (r.act_min, r.act_max, r.output_offset) == (-128, 127, 0) and r.depth % 4 == 0
        counts.setdefault(r.depth, set()).add(r.inner_x1 - r.inner_x0 if full and r.stride_width == 1 else None)
        if full and r.stride_width == 1 and r.inner_x0 == 1 and r.inner_x1 == r.output_width - 1:
            edges.setdefault(r.depth, set()).add(r.inner_x1 - r.inner_x0)  # a border pixel either side
    for depth in (4, 8, 12):
        assert {0, 1, 2, 3, 4, 5}.issubset(counts[depth]), counts
        assert {1, 2, 3, 4, 5}.issubset(edges[depth]), edges  # (0, 1) 2 (3, 4) and the other counts' splits
    assert counts[6] == {None}
