"""scripts/rewrite_weights.py: every form of every supported shared model loads and runs in TFLM, tinyq's reader
reads it, the rewritten weights take the form's levels, and the int<k> rescale keeps real values in place."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests import modelkit
from tests.encode.helpers import FORMS, MODELS, SCRIPT, WEIGHT_OPS, check_form, rewrite, rewritten, weights
from tinyq.ir import Graph
from tinyq.tflite_reader import read_model

FAST_MODELS = ("tflm_hello_world_int8", "mlperf_kws_dscnn_int8")


def _run_tflm(data: bytes, graph: Graph, n: int = 3) -> list[np.ndarray]:
    it = runtime.Interpreter.from_bytes(data, arena_size=1 << 24)
    rng = np.random.default_rng(0)
    outs = []
    for _ in range(n):
        for k, ti in enumerate(graph.inputs):
            t = graph.tensor(ti)
            info = np.iinfo(t.np_dtype)
            it.set_input(rng.integers(info.min, info.max + 1, t.shape).astype(t.np_dtype), k)
        it.invoke()
        outs.append(np.concatenate([np.asarray(it.get_output(k)).reshape(-1) for k in range(len(graph.outputs))]))
    return outs


def _check_rewrite(original: Graph, data: bytes, lines: list[str], form: str) -> None:
    graph = read_model(data)  # tinyq's reader, with all its checks
    _run_tflm(data, graph)
    assert len(graph.tensors) == len(original.tensors) and len(graph.ops) == len(original.ops)
    pairs = list(weights(graph))
    assert len(lines) == len(pairs) and all(f": {form}, " in line for line in lines)
    for op, t, rows, axis in pairs:
        check_form(rows, axis, form)
        old = original.tensor(t.index)
        assert t.shape == old.shape and t.name == old.name
        if form.startswith("int"):
            _check_rescale(original, graph, op, int(form[3:]))
        else:
            assert t.quant.scale == old.quant.scale  # levels in int8 units: scales kept
    for t, old in zip(graph.tensors, original.tensors):  # everything else is untouched
        if t.index not in {op.inputs[k] for op in graph.ops if op.opcode in WEIGHT_OPS for k in (1, 2)
                           if len(op.inputs) > k and op.inputs[k] >= 0}:
            assert t.quant == old.quant and (t.data is None) == (old.data is None)
            assert t.data is None or np.array_equal(t.data, old.data)


def _check_rescale(original: Graph, graph: Graph, op, k: int) -> None:
    """Real weights and biases move by at most half a step of the new scales."""
    w, w0 = graph.tensor(op.inputs[1]), original.tensor(op.inputs[1])
    axis = 3 if op.opcode == "DEPTHWISE_CONV_2D" else 0
    shape = [1] * w.data.ndim
    shape[axis] = -1
    scale = np.asarray(w.quant.scale, np.float64).reshape(shape if w.quant.per_channel else [1] * w.data.ndim)
    scale0 = np.asarray(w0.quant.scale, np.float64).reshape(scale.shape)
    err = np.abs(w.data * scale - w0.data * scale0)
    if k > 1:  # int1 keeps only {-1, 0}: positive weights are lost by design
        assert (err <= scale * 0.5 * (1 + 1e-5)).all()
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b, b0 = graph.tensor(op.inputs[2]), original.tensor(op.inputs[2])
        s_in = np.float32(graph.tensor(op.inputs[0]).scale)
        want = (s_in * np.asarray(w.quant.scale, np.float32)).astype(np.float32)
        assert np.array_equal(np.asarray(b.quant.scale, np.float32), want)
        real, real0 = b.data * np.asarray(b.quant.scale, np.float64), b0.data * np.asarray(b0.quant.scale, np.float64)
        assert (np.abs(real - real0) <= np.asarray(b.quant.scale, np.float64) * 0.5 * (1 + 1e-5)).all()


def test_all_forms_cli_fast(shared_models, tmp_path):
    for model in FAST_MODELS:
        out = tmp_path / model
        res = subprocess.run([sys.executable, str(SCRIPT), str(shared_models / f"{model}.tflite"), "--all", str(out)],
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        original = read_model(shared_models / f"{model}.tflite")
        for form in FORMS:
            data = (out / rewrite.form_file_name(model, form)).read_bytes()
            assert data == rewritten(shared_models, model, form)[0]  # the CLI writes what rewrite_model returns
            lines = rewritten(shared_models, model, form)[1]
            assert all(line in res.stdout for line in lines)
            _check_rewrite(original, data, lines, form)


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_all_models_all_forms(shared_models, model):
    original = read_model(shared_models / f"{model}.tflite")
    for form in FORMS:
        data, lines = rewritten(shared_models, model, form)
        _check_rewrite(original, data, lines, form)


def test_single_form_and_seed(shared_models, tmp_path):
    src = shared_models / "tflm_hello_world_int8.tflite"
    outs = []
    for seed in (0, 0, 5):
        out = tmp_path / f"s{seed}_{len(outs)}.tflite"
        res = subprocess.run([sys.executable, str(SCRIPT), str(src), str(out), "--form", "sparse2:4", "--seed",
                              str(seed)], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        assert res.stdout.count("sparse2:4,") == 3 and "zeros" in res.stdout
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]  # deterministic for a seed


def test_shared_buffers_get_their_own(tmp_path):
    """Two FCs whose weights share one buffer, and an unrelated constant sharing it too."""
    net = modelkit.fc_model(n_in=8, n_out=8, seed=3)
    sg = net.sg
    w_buf = sg.tensors[1].buffer
    h = net.add_tensor("h", [1, 8], scale=0.07, zero_point=2)
    w2 = net.add_tensor("w2", [8, 8], scale=0.02)
    sg.tensors[w2].buffer = w_buf
    b2 = net.add_tensor("b2", [8], "int32", scale=float(np.float32(0.1) * np.float32(0.02)),
                        data=np.arange(8) * 10)
    sg.tensors[3].name = b"y_mid"  # the first FC's output feeds the second
    net.add_op("FULLY_CONNECTED", [3, w2, b2], [h], schema.FullyConnectedOptionsT())
    keep = net.add_tensor("keep", [8, 8], scale=0.5)  # an unrelated constant on the same buffer
    sg.tensors[keep].buffer = w_buf
    net.io([0], [h])
    data = net.bytes()
    before = modelkit.unpack(data)
    out, lines = rewrite.rewrite_model(data, "int4")
    assert len(lines) == 2
    after = modelkit.unpack(out)
    t = after.subgraphs[0].tensors
    assert len({t[1].buffer, t[w2].buffer, t[keep].buffer}) == 3
    assert bytes(after.buffers[t[keep].buffer].data) == bytes(before.buffers[w_buf].data)
    graph = read_model(out)
    for _, _, rows, axis in weights(graph):
        check_form(rows, axis, "int4")
    _run_tflm(out, graph)


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_errors(shared_models, tmp_path):
    src = shared_models / "tflm_hello_world_int8.tflite"
    not_tflite = tmp_path / "x.tflite"
    not_tflite.write_bytes(b"hello world, not a model")
    no_weights = tmp_path / "relu.tflite"
    no_weights.write_bytes(modelkit.relu_chain().bytes())
    cases = [
        ((tmp_path / "missing.tflite", tmp_path / "o.tflite", "--form", "int4"), "no such file"),
        ((src, tmp_path / "o.tflite", "--form", "int9"), "invalid choice"),
        ((src, tmp_path / "o.tflite"), "--form"),
        ((src, tmp_path / "o.tflite", "--form", "int4", "--all", tmp_path), "--form"),
        ((src, "--all", src), "not a directory"),
        ((not_tflite, tmp_path / "o.tflite", "--form", "int4"), "not a TFLite model"),
        ((no_weights, tmp_path / "o.tflite", "--form", "int4"), "no constant int8"),
        ((src, tmp_path / "nodir" / "o.tflite", "--form", "int4"), "No such file or directory"),
    ]
    for args, want in cases:
        res = _cli(*args)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rewrite_weights: error: ") and want in lines[0], (args, lines)
