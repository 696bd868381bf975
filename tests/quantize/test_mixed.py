"""Per-layer int16 activations (tinyq.quantize.mixed.convert_mixed, through ai-edge-quantizer): a small CNN trained
on sklearn's digits, one or two layers at int16 and the rest at int8. The named layers' ops read and write int16,
the others int8, with QUANTIZE (requantize) ops between; TFLM and tinyq's simulator agree exactly on real digits,
and `tinyq verify` on the host (simulator vs TFLM, host C vs simulator) passes. A name that is no layer, or a
layer with no op of its own, is a one-line error."""

import numpy as np
import pytest

from tinyq import read_model
from tinyq.errors import InputError

import ai_edge_quantizer  # noqa: E402,F401  (the tf extra installs it: a missing one fails, never skips)

COMPUTE = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "RESHAPE")


def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32)[..., None], d.target


def _cnn(dropout: bool = False):
    """pixels(8x8x1) -> Conv2D 'conv' (relu) -> MaxPool 'pool' -> Flatten 'flat' -> Dense 'dense_1' (relu)
    -> [Dropout 'drop'] -> Dense 'head' (10 logits)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1), name="pixels")
    h = layers.Conv2D(8, 3, activation="relu", name="conv")(inp)
    h = layers.MaxPooling2D(name="pool")(h)
    h = layers.Flatten(name="flat")(h)
    h = layers.Dense(32, activation="relu", name="dense_1")(h)
    if dropout:
        h = layers.Dropout(0.1, name="drop")(h)
    out = layers.Dense(10, name="head")(h)
    return keras.Model(inp, out, name="digits_cnn")


@pytest.fixture(scope="module")
def trained():
    """(FloatModel, calibration SampleSet, 50 test digits): trained for 8 epochs (about 0.9 test accuracy)."""
    import keras

    from tinyq.quantize.data import load_samples
    from tinyq.quantize.float_model import load_float_model

    x, y = _digits()
    model = _cnn()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:1400], y[:1400], epochs=8, batch_size=32, verbose=0)
    float_model = load_float_model(model)
    return float_model, load_samples(x[:200], float_model.specs, "calibration data"), x[1400:1450]


@pytest.fixture(scope="module")
def dense_int16(trained):
    from tinyq.quantize.mixed import convert_mixed

    float_model, samples, _ = trained
    return convert_mixed(float_model, samples, {"dense_1"}, "int8", False, "model 'digits_cnn'")


def _activation_dtypes(graph, op) -> list[str]:
    return [graph.tensors[i].dtype for i in op.inputs + op.outputs if i >= 0 and not graph.tensors[i].is_constant]


def _tflm_equals_simulator(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """TFLM's and the simulator's outputs on the float digits x (quantized as the model's input says)."""
    from tinyq.io import load_inputs
    from tinyq.oracle import TflmReference
    from tinyq.sim.run import as_program, run_program

    program = as_program(tflite)
    batches = load_inputs(x, [program.tensor(i) for i in program.inputs])
    (want,) = TflmReference(tflite).run(batches, 1)
    (got,) = [run_program(program, batches)[i] for i in program.outputs]
    np.testing.assert_array_equal(got, want.reshape(got.shape), err_msg="simulator != TFLM")
    return got


@pytest.mark.slow
def test_named_layer_int16_rest_int8_with_requantize_between(dense_int16):
    graph = read_model(dense_int16)
    assert [op.opcode for op in graph.ops] == [
        "CONV_2D", "MAX_POOL_2D", "RESHAPE", "QUANTIZE", "FULLY_CONNECTED", "QUANTIZE", "FULLY_CONNECTED"]
    dense, head = [op for op in graph.ops if op.opcode == "FULLY_CONNECTED"]
    assert _activation_dtypes(graph, dense) == ["int16", "int16"]
    assert [graph.tensors[i].dtype for i in dense.inputs[1:]] == ["int8", "int64"]  # 16x8: int8 weights, int64 bias
    assert graph.tensors[dense.outputs[0]].zero_point == 0  # int16 activations are symmetric
    for op in graph.ops:
        if op.opcode in COMPUTE and op is not dense:
            assert set(_activation_dtypes(graph, op)) == {"int8"}, op.opcode
    into, out_of = [op for op in graph.ops if op.opcode == "QUANTIZE"]
    assert _activation_dtypes(graph, into) == ["int8", "int16"] and into.outputs[0] == dense.inputs[0]
    assert _activation_dtypes(graph, out_of) == ["int16", "int8"] and out_of.inputs[0] == dense.outputs[0]
    assert [graph.tensors[i].dtype for i in graph.inputs + graph.outputs] == ["int8", "int8"]  # io="int8"


@pytest.mark.slow
def test_tflm_equals_simulator_on_digits_and_classifies(dense_int16, trained):
    float_model, _, x = trained
    got = _tflm_equals_simulator(dense_int16, x)
    agree = np.mean(got.reshape(len(x), 10).argmax(1) == float_model.predict([x])[0].argmax(1))
    assert agree >= 0.9, agree  # the integer model still computes the float model's function


@pytest.mark.slow
@pytest.mark.parametrize("layers,io,edges", [
    ({"conv", "head"}, "float32", ("QUANTIZE", "DEQUANTIZE")),  # first and last layer int16, float edges
    ({"pool"}, "int16", ("QUANTIZE", "QUANTIZE")),  # int16 edges around int8 ends, a SAME_AS_INPUT op at int16
], ids=["conv+head-float_io", "pool-int16_io"])
def test_other_layers_and_io(trained, layers, io, edges):
    from tinyq.quantize.mixed import convert_mixed

    float_model, samples, x = trained
    tflite = convert_mixed(float_model, samples, layers, io, False, "model 'digits_cnn'")
    graph = read_model(tflite)
    assert (graph.ops[0].opcode, graph.ops[-1].opcode) == edges
    assert [graph.tensors[i].dtype for i in graph.inputs + graph.outputs] == [io, io]
    int16 = [op.opcode for op in graph.ops if op.opcode in COMPUTE and set(_activation_dtypes(graph, op)) == {"int16"}]
    want = {"conv": "CONV_2D", "head": "FULLY_CONNECTED", "pool": "MAX_POOL_2D"}
    assert sorted(int16) == sorted(want[n] for n in layers)
    _tflm_equals_simulator(tflite, x)


@pytest.mark.slow
def test_tinyq_verify_on_host(dense_int16, tmp_path, capsys):
    from tinyq.cli import main

    path = tmp_path / "mixed.tflite"
    path.write_bytes(dense_int16)
    assert main(["verify", str(path), "--board", "host", "-n", "50"]) == 0
    assert "PASS: every stage equal, bit for bit" in capsys.readouterr().out


@pytest.fixture(scope="module")
def untrained():
    from tinyq.quantize.data import load_samples
    from tinyq.quantize.float_model import load_float_model

    float_model = load_float_model(_cnn(dropout=True))
    return float_model, load_samples(_digits()[0][:16], float_model.specs, "calibration data")


def test_unknown_layer_is_a_one_line_error(untrained):
    from tinyq.quantize.mixed import convert_mixed

    with pytest.raises(InputError) as info:
        convert_mixed(*untrained, {"dense_2"}, "int8", False, "model 'digits_cnn'")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("model 'digits_cnn': no layer named 'dense_2' for int16 activations")
    assert "dense_1" in message  # the layers there are, to pick from


def test_layer_without_an_op_is_a_one_line_error(untrained):
    from tinyq.quantize.mixed import convert_mixed

    with pytest.raises(InputError, match=r"^model 'digits_cnn': layer 'drop' has no TFLite op of its own [^\n]*$"):
        convert_mixed(*untrained, {"drop"}, "int8", False, "model 'digits_cnn'")


@pytest.mark.slow
def test_softmax_at_the_output_goes_with_its_dense_layer():
    """Dense(activation="softmax") as the model output: the SOFTMAX op writes `PartitionedCall:0`, a name of no
    layer, and still belongs to the layer behind the output, so both of its ops run at int16."""
    import keras

    from tinyq.quantize.data import load_samples
    from tinyq.quantize.float_model import load_float_model
    from tinyq.quantize.mixed import convert_mixed

    keras.utils.set_random_seed(1)
    inp = keras.Input((64,), name="pixels")
    h = keras.layers.Dense(16, activation="relu", name="features")(inp)
    model = keras.Model(inp, keras.layers.Dense(10, activation="softmax", name="head")(h))
    x = _digits()[0].reshape(-1, 64)
    float_model = load_float_model(model)
    tflite = convert_mixed(float_model, load_samples(x[:64], float_model.specs, "calibration data"), {"head"},
                           "int8", False, "model 'mlp'")
    graph = read_model(tflite)
    int16 = [op.opcode for op in graph.ops if _activation_dtypes(graph, op) == ["int16", "int16"]]
    assert int16 == ["FULLY_CONNECTED", "SOFTMAX"]
    assert graph.ops[-1].opcode == "QUANTIZE"  # back to the int8 output
    _tflm_equals_simulator(tflite, x[:50])
