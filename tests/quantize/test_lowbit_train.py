"""Low-bit fine-tuning (tinyq.quantize.lowbit.train): real Keras 3 training, checked exactly on the kernels it leaves.

Fast tests use a tiny Conv2D -> BatchNormalization -> DepthwiseConv2D -> Dense model on random data; the slow ones
fine-tune the trained digits example and compare accuracy with float and with PTQ (project() on the float kernels).
"""

import numpy as np
import pytest

from tinyq.errors import InputError, QuantizationError
from tinyq.quantize.lowbit.layout import WEIGHT_LAYERS, keras_channels, keras_from_channels, rows_of_channels
from tinyq.quantize.lowbit.project import project
from tinyq.quantize.lowbit.spec import Sparsity, parse_spec, with_sparsity

LEVEL_SETS = {"int4": set(range(-7, 8)), "ternary": {-1, 0, 1}, "binary": {-1, 1}}


def tiny_model(seed=0):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((6, 6, 2), name="image")
    x = layers.Conv2D(8, 3, padding="same", name="conv")(inp)
    x = layers.ReLU(name="relu")(layers.BatchNormalization(name="bn")(x))
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu", name="dw")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inp, layers.Dense(3, name="head")(x), name="tiny")


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((96, 6, 6, 2)).astype(np.float32)
    y = (x[:, :3, :, 0].mean(axis=(1, 2)) > 0).astype(np.int64) + (x[..., 1].mean(axis=(1, 2)) > 0)
    return x, y


def train(model, specs, x, y, method, epochs=2, lr=1e-2, seed=0, loss=None, metrics=("accuracy",)):
    import keras

    from tinyq.quantize.lowbit.train import train_lowbit

    loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return train_lowbit(model, specs, [x], y, method=method, loss=loss, metrics=list(metrics), epochs=epochs,
                        batch_size=32, learning_rate=lr, seed=seed, progress=False)


def channels(model, name):
    layer = model.get_layer(name)
    return keras_channels(layer.kernel.numpy(), WEIGHT_LAYERS[type(layer).__name__] == "DEPTHWISE_CONV_2D")


def check_levels(model, result, specs):
    """Each constrained kernel is exactly float32(scale · levels), with levels in the spec's set."""
    for name, spec in specs.items():
        levels, scale = result.levels[name], result.scales[name]
        assert levels.dtype == np.int8 and levels.shape == channels(model, name).shape
        assert set(np.unique(levels).tolist()) <= LEVEL_SETS[str(spec.weights)], name
        assert scale.shape == (levels.shape[0],) and np.all(scale > 0)
        np.testing.assert_array_equal(channels(model, name), (scale[:, None] * levels).astype(np.float32))


def rows(model, name, matrix=None):
    op = WEIGHT_LAYERS[type(model.get_layer(name)).__name__]
    return rows_of_channels(channels(model, name) if matrix is None else matrix, op)


@pytest.mark.parametrize("method", ["qat", "admm"])
@pytest.mark.parametrize("weights", ["int4", "ternary", "binary"])
def test_kernels_hold_exactly_the_levels(tiny_data, method, weights):
    model = tiny_model()
    bias = model.get_layer("head").bias.numpy().copy()
    specs = {"conv": parse_spec(weights), "dw": parse_spec(weights)}  # 'head' trains as float
    result = train(model, specs, *tiny_data, method)
    check_levels(model, result, specs)
    assert set(result.levels) == set(specs)
    assert not np.array_equal(model.get_layer("head").bias.numpy(), bias)  # the free layer trained too
    head = channels(model, "head")
    assert len(np.unique(head)) > 16  # ... and stayed float
    assert len(result.history["loss"]) == 2 and result.loss == result.history["loss"][-1]
    assert "accuracy" in result.history and result.seconds > 0


@pytest.mark.parametrize("method,weights", [("prune", "int8"), ("qat", "ternary"), ("admm", "int4")])
def test_pruned_fraction_is_exact_on_every_encoder_row(tiny_data, method, weights):
    model = tiny_model()
    sparse = with_sparsity(parse_spec(weights), Sparsity(fraction=0.5), "test")
    specs = {"conv": sparse, "dw": sparse, "head": sparse}
    result = train(model, specs, *tiny_data, method, epochs=3)
    for name in specs:
        r = rows(model, name)
        want = int(np.floor(0.5 * r.shape[1] + 0.5))
        zeros = (r == 0).sum(axis=1)
        if method == "prune":  # no quantization: exactly the pruned ones are 0
            assert np.all(zeros == want), (name, zeros)
        else:  # quantizing may round a few more to 0
            assert np.all(zeros >= want), (name, zeros)
        # the levels returned have the zeros where the kernel has them
        np.testing.assert_array_equal(rows(model, name, result.levels[name].astype(np.float32)) == 0, r == 0)
    if method != "prune":
        check_levels(model, result, specs)


def test_n_of_m_groups(tiny_data):
    model = tiny_model()
    spec = with_sparsity(parse_spec("int4"), Sparsity(n=2, m=4), "test")
    specs = {"conv": spec, "head": spec}
    result = train(model, specs, *tiny_data, "qat", epochs=3)
    check_levels(model, result, specs)
    for name in specs:
        r = rows(model, name)
        groups = np.pad(r, ((0, 0), (0, -r.shape[1] % 4))).reshape(r.shape[0], -1, 4)  # a short group: 0-padded
        assert (groups != 0).sum(axis=2).max() <= 2, name


@pytest.mark.parametrize("sparsity", [Sparsity(fraction=0.6), Sparsity(n=1, m=4)])
def test_ramped_masks_only_grow_and_end_at_the_target(sparsity):
    """The schedule train_lowbit follows: a mask per step from |W| (pruned weights zeroed after each step), each
    pruning a superset of the last, the last one the full target."""
    from tinyq.quantize.lowbit.prune import keep_mask
    from tinyq.quantize.lowbit.train import _Target

    model = tiny_model()
    layer = model.get_layer("dw")
    target = _Target("dw", layer.kernel, with_sparsity(parse_spec("int4"), sparsity, "test"), "DEPTHWISE_CONV_2D", True)
    rng = np.random.default_rng(0)
    pruned = np.zeros(channels(model, "dw").shape, bool)
    steps = 20
    for step in range(1, steps + 1):
        target.update_mask(step, steps)
        assert np.all(~target.keep[pruned]), step  # once pruned, always pruned
        pruned = ~target.keep
        noisy = layer.kernel.numpy() + 0.01 * rng.standard_normal(layer.kernel.shape).astype(np.float32)
        layer.kernel.assign(noisy * target.mask())  # what a training step leaves
    np.testing.assert_array_equal(rows(model, "dw", target.keep), keep_mask(rows(model, "dw"), sparsity))


def test_same_seed_same_levels(tiny_data):
    spec = with_sparsity(parse_spec("ternary"), Sparsity(fraction=0.3), "test")
    runs = []
    for _ in range(2):
        model = tiny_model()
        runs.append(train(model, {"conv": spec, "dw": parse_spec("int4")}, *tiny_data, "qat", seed=7).levels)
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name])
    other = train(tiny_model(), {"conv": spec, "dw": parse_spec("int4")}, *tiny_data, "qat", seed=8).levels
    assert any(not np.array_equal(other[n], runs[0][n]) for n in other)


def test_user_errors_name_the_layer(tiny_data):
    model = tiny_model()
    with pytest.raises(QuantizationError, match="'gap'"):
        train(model, {"gap": parse_spec("int4")}, *tiny_data, "qat")
    with pytest.raises(QuantizationError, match="'bn'"):
        train(model, {"bn": parse_spec("int4")}, *tiny_data, "qat")
    with pytest.raises(InputError, match="'nope'"):
        train(model, {"nope": parse_spec("int4")}, *tiny_data, "qat")
    with pytest.raises(QuantizationError, match="method"):
        train(model, {"conv": parse_spec("int4")}, *tiny_data, "sgd")


# --- the digits example: accuracy -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_run(digits):
    """(fresh float model, training data, loss, metrics, test accuracy function) for the trained digits example."""
    import keras

    from tinyq.quantize.float_model import load_float_model
    from tinyq.quantize.qat_worker import training_loss

    x, y = np.load(digits / "train_x.npy"), np.load(digits / "train_y.npy")
    tx, ty = np.load(digits / "test_x.npy"), np.load(digits / "test_y.npy")
    loss, metrics = training_loss(load_float_model(digits / "digits.keras"), y)

    def fresh():
        return keras.saving.load_model(digits / "digits.keras")

    def accuracy(model):
        return float(np.mean(np.argmax(model.predict(tx, verbose=0), axis=1) == ty))

    return fresh, x, y, loss, metrics, accuracy


def ptq_accuracy(digits_run, specs):
    fresh, *_, accuracy = digits_run
    model = fresh()
    for name, spec in specs.items():
        kernel = model.get_layer(name).kernel
        levels, scale = project(channels(model, name), spec.weights)
        kernel.assign(keras_from_channels(scale[:, None] * levels, kernel.shape).astype(np.float32))
    return accuracy(model)


def digits_train(digits_run, weights, method, epochs):
    from tinyq.quantize.lowbit.train import train_lowbit

    fresh, x, y, loss, metrics, accuracy = digits_run
    model = fresh()
    specs = {n: parse_spec(weights) for n in ("conv1", "dwconv", "pointwise", "logits")}
    result = train_lowbit(model, specs, [x], y, method=method, loss=loss, metrics=metrics, epochs=epochs,
                          batch_size=32, learning_rate=1e-3, seed=0, progress=False)
    check_levels(model, result, specs)
    return accuracy(model), specs, result


@pytest.mark.slow
def test_digits_int4_qat_is_close_to_float(digits_run):
    fresh, *_, accuracy = digits_run
    float_accuracy = accuracy(fresh())
    qat, _, result = digits_train(digits_run, "int4", "qat", epochs=3)
    assert qat >= float_accuracy - 0.02, (qat, float_accuracy)
    assert result.history["accuracy"][-1] > 0.95


@pytest.mark.slow
def test_digits_ternary_qat_beats_ternary_ptq(digits_run):
    qat, specs, _ = digits_train(digits_run, "ternary", "qat", epochs=4)
    ptq = ptq_accuracy(digits_run, specs)
    assert qat > ptq + 0.01, (qat, ptq)


@pytest.mark.slow
def test_digits_ternary_admm_learns(digits_run):
    admm, specs, _ = digits_train(digits_run, "ternary", "admm", epochs=4)
    assert admm > 0.85, admm
