"""TFLite tensor name -> Keras layer matching (tinyq.quantize.match), on names the TF 2.21 converter produced."""

from tinyq.quantize.match import LayerMatcher, predicted_scopes, scopes

# An auto-named functional model converted from Keras 3 (each layer scope opened twice: conv2d -> conv2d_1).
AUTO_LAYERS = [
    "input_layer",
    "conv2d",
    "batch_normalization",
    "re_lu",
    "conv2d_1",
    "add",
    "global_average_pooling2d",
    "dense",
    "dense_1",
]
AUTO_TENSORS = [
    "input_layer",
    # conv + folded BN + fused ReLU; 'add_1' here is a sub-scope of the batch norm, not layer 'add'
    "functional_1/re_lu_1/Relu;functional_1/batch_normalization_1/batchnorm/add_1;functional_1/conv2d_1/convolution",
    "functional_1/conv2d_1_2/convolution1",
    "functional_1/add_1/Add",
    "functional_1/global_average_pooling2d_1/Mean",
    "functional_1/dense_1/MatMul1",  # the first Dense, although 'dense_1' is also a layer name
    "Identity",
]


def test_scopes_are_the_layer_level_components_of_each_fused_part():
    assert scopes("a_1/conv_1/Relu;a_1/conv_1/BiasAdd;a_1/bn_1/batchnorm/add_1:0") == ["conv_1", "a_1", "bn_1"]
    assert scopes("dense/MatMul") == ["MatMul", "dense"]
    assert scopes("Identity:0") == ["Identity"]


def test_predicted_scopes_replay_tensorflow_uniquifier():
    assert predicted_scopes(["conv2d", "conv2d_1", "dense"], "", 2) == ["conv2d_1", "conv2d_1_2", "dense_1"]
    assert predicted_scopes(["conv2d", "conv2d_1", "dense"], "", 1) == ["conv2d", "conv2d_1", "dense"]
    assert predicted_scopes(["Conv", "conv"], "quant_", 1) == ["quant_Conv", "quant_conv_1"]


def test_keras3_auto_names_map_to_the_right_layers():
    owners = LayerMatcher(AUTO_LAYERS).owners(AUTO_TENSORS)
    assert [None if k is None else AUTO_LAYERS[k] for k in owners] == [
        "input_layer",
        "re_lu",
        "conv2d_1",
        "add",
        "global_average_pooling2d",
        "dense",
        None,
    ]


def test_tf_keras_exact_names_and_qat_wrappers():
    layers = ["x", "dense", "dense_1", "dense_2"]
    exact = [
        "sequential/dense/MatMul",
        "sequential/dense_1/MatMul;sequential/dense_1/Relu",
        "sequential/dense_2/MatMul",
    ]
    assert LayerMatcher(layers).owners(exact) == [1, 2, 3]
    qat = ["model/quant_dense/MatMul", "model/quant_dense_1/Relu", "model/quant_dense_2/BiasAdd"]
    assert LayerMatcher(layers).owners(qat) == [1, 2, 3]


def test_unexplained_scopes_go_to_the_earliest_free_layer():
    layers = ["inp", "block", "head"]
    assert LayerMatcher(layers).owners(["m_7/block_9/Add", "m_7/head_3/MatMul", "other/thing"]) == [1, 2, None]
