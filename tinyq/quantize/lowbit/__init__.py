"""Low-bit, mixed-precision and sparse weights for converted models (`tinyq quantize --weights/--layer/--sparsity`).

    spec.py     SPEC / sparsity strings -> LayerSpec, Sparsity
    project.py  float channel matrix -> levels + per-channel scale (int<k>, ternary, binary, po2, codebook:K)
    prune.py    magnitude / N:M keep masks on the encoder's rows, and the pruning schedule
    layout.py   Keras kernel <-> TFLite weight tensor, as channel matrices
    plan.py     --weights / --layer / --sparsity resolved against the Keras model's layers
    train.py    STE QAT, ADMM and pruning fine-tuning of the Keras kernels (the levels the rewrite then stores)
    rewrite.py  int8 .tflite + specs (+ trained levels) -> int8 .tflite whose weights take the levels
"""
from tinyq.quantize.lowbit.spec import INT8, LayerSpec, Sparsity, WeightSpec, parse_sparsity, parse_spec

__all__ = ["INT8", "LayerSpec", "Sparsity", "WeightSpec", "parse_sparsity", "parse_spec"]
