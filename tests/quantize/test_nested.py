"""Nested children (tinyq.quantize.nested, `tinyq quantize --nested-from`) of the shared real int8 models: the child's
weights are exactly the parent's top bits, TFLM runs it, the simulator matches TFLM bit for bit, and the reader
validates the `tinyq_nested` metadata (hostile files built with the flatbuffer object API)."""
import hashlib
import json
import subprocess
import sys

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.conftest import SHARED_MODELS
from tests.samples import model_path, samples
from tinyq.errors import ModelFormatError, QuantizationError
from tinyq.ir import NestedInfo
from tinyq.oracle import run_isolated
from tinyq.quantize.nested import nest
from tinyq.sim.run import as_program, run_program
from tinyq.tflite_reader import read_model

MODELS = ["mlperf_kws_dscnn_int8", "tflm_micro_speech_int8"]
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
WORDS = ("yes", "no", "silence", "noise")


def _speech_features() -> np.ndarray:
    """The 4 micro_speech feature files (yes, no, silence, noise), (4, 1960) int8: the only real data there is."""
    td = SHARED_MODELS / "testdata"
    return np.stack([np.load(td / f"tflm_micro_speech_features_{w}_1000ms_int8_49x40.npy").reshape(1960) for w in WORDS])


def _weight_ops(graph):
    return [op for op in graph.ops if op.opcode in WEIGHT_OPS]


def _inputs(stem: str) -> np.ndarray:
    """The shared sample inputs of the model, then 20 seeded random int8 inputs: (N, *input shape)."""
    graph = read_model(model_path(stem))
    shape = graph.tensor(graph.inputs[0]).shape
    real = [s.input.reshape(shape) for s in samples() if s.model == f"{stem}.tflite"]
    assert real, stem
    rand = np.random.default_rng(7).integers(-128, 128, (20, *shape), dtype=np.int8)
    return np.concatenate([np.stack(real), rand])


def _pack(model) -> bytes:
    b = flatbuffers.Builder(1 << 16)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.fixture(scope="module")
def children():
    """(stem, bits, corrected) -> child bytes. Bias correction for micro_speech from its 4 feature files; for KWS
    (one real sample) from _inputs(), the sample and 20 random inputs: enough to exercise the convolution path."""
    cache = {}

    def get(stem: str, bits: int, corrected: bool = False) -> bytes:
        key = (stem, bits, corrected)
        if key not in cache:
            calibration = (_speech_features() if stem == "tflm_micro_speech_int8" else _inputs(stem)[:, 0]) if corrected else None
            cache[key] = nest(model_path(stem), bits=bits, calibration=calibration).tflite
        return cache[key]

    return get


@pytest.mark.parametrize("bits", range(1, 8))
@pytest.mark.parametrize("stem", MODELS)
def test_child_weights_are_the_parents_top_bits(stem, bits, children):
    parent, child = read_model(model_path(stem)), read_model(children(stem, bits))
    s = 8 - bits
    assert len(_weight_ops(parent)) == len(_weight_ops(child)) > 0
    nested = set()
    for p_op, c_op in zip(_weight_ops(parent), _weight_ops(child)):
        pw, cw = parent.tensor(p_op.inputs[1]), child.tensor(c_op.inputs[1])
        np.testing.assert_array_equal(cw.data, pw.data >> s)
        assert cw.data.min() >= -(2 ** (bits - 1)) and cw.data.max() <= 2 ** (bits - 1) - 1
        assert np.array_equal(np.float32(cw.quant.scale), np.float32(pw.quant.scale) * np.float32(2**s))
        # the bias scale TFLM expects: float32(input scale x weight scale)
        s_in = np.float32(child.tensor(c_op.inputs[0]).scale)
        bias = child.tensor(c_op.inputs[2])
        np.testing.assert_array_equal(np.float32(bias.quant.scale), np.float32(s_in * np.float32(cw.quant.scale)))
        # without calibration the bias is only rescaled
        old = parent.tensor(p_op.inputs[2]).data.astype(np.float64) * np.asarray(parent.tensor(p_op.inputs[2]).quant.scale)
        np.testing.assert_array_equal(bias.data, np.round(old / np.asarray(bias.quant.scale, np.float64)))
        nested |= {c_op.inputs[1], c_op.inputs[2]}
    for p_t, c_t in zip(parent.tensors, child.tensors):  # everything else is the parent's
        if c_t.index not in nested:
            assert p_t.quant == c_t.quant and (p_t.data is None) == (c_t.data is None), c_t.name
            if c_t.data is not None:
                np.testing.assert_array_equal(p_t.data, c_t.data)


@pytest.mark.parametrize("stem", MODELS)
def test_metadata_round_trips(stem, children, tmp_path):
    out = tmp_path / "child.tflite"
    result = nest(model_path(stem), out, bits=3)
    graph = read_model(out)
    parent = read_model(model_path(stem))
    expected = tuple((op.index, 3) for op in _weight_ops(parent))
    assert graph.nested == NestedInfo(hashlib.sha256(model_path(stem).read_bytes()).hexdigest(), expected)
    assert out.read_bytes() == result.tflite
    assert [op.index for op in result.ops] == [i for i, _ in expected] and not result.skipped
    assert parent.nested is None


@pytest.mark.parametrize("corrected", [False, True], ids=["plain", "bias_corrected"])
@pytest.mark.parametrize("stem", MODELS)
def test_tflm_runs_the_child_and_the_simulator_matches_it(stem, corrected, children):
    child = children(stem, 4, corrected)
    x = _inputs(stem)
    (tflm,), _ = run_isolated(child, [x], 1)
    expected = [s.expected for s in samples() if s.model == f"{stem}.tflite"]  # the parent's outputs
    assert tflm.shape[0] == x.shape[0] and tflm[0].size == expected[0].size
    program = as_program(child)
    sim = run_program(program, [x])[program.outputs[0]]
    np.testing.assert_array_equal(sim, tflm)


def test_bias_correction_adds_the_expected_lost_term():
    """micro_speech: DEPTHWISE_CONV_2D (depth multiplier 8 on one input channel) and FULLY_CONNECTED [4, 4000]; the
    correction round(b/2^s + (sum_i e_i mean(xp_i - zp) + sum_i (c_i << s) mean(xp_i - xc_i)) / 2^s), written out
    here from the definition: e = parent - (child << s) is what the floor drops, xp the parent's input and xc the
    child's (which differs from the parent's after the first nested op)."""
    feats = _speech_features()
    bits, s = 4, 4
    parent = read_model(model_path("tflm_micro_speech_int8"))
    child_bytes = nest(model_path("tflm_micro_speech_int8"), bits=bits, calibration=feats).tflite
    child = read_model(child_bytes)
    ops = _weight_ops(parent)
    wanted = tuple(op.inputs[0] for op in ops)
    _, seen = run_isolated(model_path("tflm_micro_speech_int8"), [feats[:, None]], 1, tensors=wanted, per_sample=True)
    _, seen_child = run_isolated(child_bytes, [feats[:, None]], 1, tensors=wanted, per_sample=True)
    for k, op in enumerate(ops):
        x = parent.tensor(op.inputs[0])
        pw = parent.tensor(op.inputs[1]).data.astype(np.int64)
        cw = (pw >> s) << s
        e = pw - cw
        assert e.min() >= 0 and e.max() < 2**s
        xp = seen[op.inputs[0]].astype(np.float64) - x.zero_point
        xc = seen_child[op.inputs[0]].astype(np.float64) - x.zero_point
        assert (k == 0) == np.array_equal(xp, xc)
        if op.opcode == "FULLY_CONNECTED":
            mp, mc = xp.reshape(-1, e.shape[1]).mean(axis=0), xc.reshape(-1, e.shape[1]).mean(axis=0)
            lost = np.array([sum(e[o] * mp) + sum(cw[o] * (mp - mc)) for o in range(e.shape[0])])
        else:  # one input channel: every tap sees the same mean
            assert x.shape[-1] == 1
            taps = lambda w: w.reshape(-1, w.shape[-1]).sum(axis=0)  # noqa: E731
            lost = taps(e) * xp.mean() + taps(cw) * (xp.mean() - xc.mean())
        b = parent.tensor(op.inputs[2])
        b_parent = b.data.astype(np.float64) * np.asarray(b.quant.scale)
        c = child.tensor(op.inputs[2])
        expected = np.round(b_parent / np.asarray(c.quant.scale, np.float64) + lost / 2**s)
        np.testing.assert_array_equal(c.data, expected)
        assert np.any(c.data != np.round(b_parent / np.asarray(c.quant.scale, np.float64)))


def test_int4_weights_are_kept_and_reported():
    """A parent whose first CONV_2D has INT4 weights (nibbles packed as TFLite stores them): that op is skipped."""
    data = model_path("mlperf_kws_dscnn_int8").read_bytes()
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    sg = model.subgraphs[0]
    t = sg.tensors[sg.operators[0].inputs[1]]
    w = np.frombuffer(bytes(bytearray(model.buffers[t.buffer].data)), np.int8) >> 4  # int4 values
    nib = (w.astype(np.uint8) & 0xF).reshape(-1, 2)
    model.buffers[t.buffer].data = (nib[:, 0] | (nib[:, 1] << 4)).astype(np.uint8)
    t.type = schema.TensorType.INT4
    result = nest(_pack(model), bits=4)
    assert [(s.index, s.opcode) for s in result.skipped] == [(0, "CONV_2D")]
    assert "int4 weights" in result.skipped[0].reason
    assert [op.index for op in result.ops] == [1, 2, 3, 4, 5, 6, 7, 8, 11]
    assert read_model(result.tflite).nested.ops == tuple((i, 4) for i in [1, 2, 3, 4, 5, 6, 7, 8, 11])


# --- hostile metadata: the reader refuses each malformed entry with one line naming it ---

def _with_metadata(child: bytes, edit) -> bytes:
    """The child with its tinyq_nested entry edited by edit(model, entry) (object API)."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(child), 0)
    entry = next(m for m in model.metadata if m.name == b"tinyq_nested")
    edit(model, entry)
    return _pack(model)


def _json(change):
    def edit(model, entry):
        doc = json.loads(bytes(bytearray(model.buffers[entry.buffer].data)))
        change(doc)
        model.buffers[entry.buffer].data = np.frombuffer(json.dumps(doc).encode(), np.uint8)
    return edit


def _raw(raw: bytes):
    def edit(model, entry):
        model.buffers[entry.buffer].data = np.frombuffer(raw, np.uint8) if raw else None
    return edit


def _set_buffer(index):
    def edit(model, entry):
        entry.buffer = index(model)
    return edit


def _duplicate(model, entry):
    twin = schema.MetadataT()
    twin.name, twin.buffer = entry.name, entry.buffer
    model.metadata.append(twin)


HOSTILE = {
    "not_utf8": (_raw(b"\xff\xfe{}"), "is not UTF-8"),
    "empty": (_raw(b""), "is not valid JSON"),
    "not_json": (_raw(b'{"version": 1,'), "is not valid JSON"),
    "nan": (_raw(b'{"version": NaN}'), "is not valid JSON"),
    "array": (_raw(b"[1, 2]"), "is a JSON list, not an object"),
    "version_2": (_json(lambda d: d.update(version=2)), "has version 2"),
    "version_true": (_json(lambda d: d.update(version=True)), "has version True"),
    "no_sha": (_json(lambda d: d.pop("parent_sha256")), "has no key 'parent_sha256'"),
    "no_ops": (_json(lambda d: d.pop("ops")), "has no key 'ops'"),
    "unknown_key": (_json(lambda d: d.update(extra=1)), "has unknown key 'extra'"),
    "short_sha": (_json(lambda d: d.update(parent_sha256="ab" * 31)), "not 64 lower-case hex digits"),
    "upper_sha": (_json(lambda d: d.update(parent_sha256=d["parent_sha256"].upper())), "not 64 lower-case hex"),
    "empty_ops": (_json(lambda d: d.update(ops=[])), "lists no ops"),
    "ops_not_list": (_json(lambda d: d.update(ops={"op": 1})), "has no list of ops"),
    "op_not_object": (_json(lambda d: d.update(ops=[1])), "ops[0] is not an object"),
    "op_missing_bits": (_json(lambda d: d["ops"][0].pop("bits")), "ops[0] has no key 'bits'"),
    "op_out_of_range": (_json(lambda d: d["ops"][0].update(op=999)), "names operator 999, but the model has 4"),
    "op_negative": (_json(lambda d: d["ops"][0].update(op=-1)), "names operator -1"),
    "op_not_weight_op": (_json(lambda d: d["ops"][0].update(op=0)), "operator #0 (RESHAPE), which is not a"),
    "bits_0": (_json(lambda d: d["ops"][0].update(bits=0)), "0 bits; a nested op has 1 to 7"),
    "bits_8": (_json(lambda d: d["ops"][0].update(bits=8)), "8 bits"),
    "bits_string": (_json(lambda d: d["ops"][0].update(bits="4")), "'4' bits"),
    "bits_float": (_json(lambda d: d["ops"][0].update(bits=4.0)), "4.0 bits"),
    "duplicate_op": (_json(lambda d: d["ops"].append(dict(d["ops"][0]))), "lists operator #1 twice"),
    "buffer_out_of_range": (_set_buffer(lambda m: len(m.buffers) + 5), "points to buffer"),
    "buffer_0": (_set_buffer(lambda m: 0), "points to buffer 0"),
    "two_entries": (_duplicate, "appears 2 times"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_malformed_metadata_is_refused_by_the_reader(case, children, tmp_path):
    edit, fragment = HOSTILE[case]
    path = tmp_path / f"{case}.tflite"
    path.write_bytes(_with_metadata(children("tflm_micro_speech_int8", 4), edit))
    with pytest.raises(ModelFormatError) as info:
        read_model(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: metadata 'tinyq_nested'"), message
    assert fragment in message, message


def test_hostile_metadata_edit_keeps_a_valid_file_otherwise(children):
    """The hostile cases above fail because of the edited entry only: a no-op edit reads back."""
    same = _with_metadata(children("tflm_micro_speech_int8", 4), _json(lambda d: None))
    assert read_model(same).nested.ops == ((1, 4), (2, 4))


# --- nest() errors ---

def test_nest_refuses_bad_bits_and_non_parents(children, tmp_path):
    parent = model_path("tflm_micro_speech_int8")
    for bits in (0, 8, True, 4.0):
        with pytest.raises(QuantizationError, match="a nested child's weights have 1 to 7 bits"):
            nest(parent, bits=bits)
    with pytest.raises(QuantizationError, match="is itself a nested child .* nest from its int8 parent"):
        nest(children("tflm_micro_speech_int8", 4))
    with pytest.raises(QuantizationError, match="no CONV_2D/DEPTHWISE_CONV_2D/FULLY_CONNECTED op with constant"):
        nest(model_path("tflm_simple_add_int8"))
    (tmp_path / "cut.tflite").write_bytes(parent.read_bytes()[:5000])
    with pytest.raises(ModelFormatError, match="cut.tflite"):
        nest(tmp_path / "cut.tflite")
    with pytest.raises(ModelFormatError, match="no such file"):
        nest(tmp_path / "missing.tflite")


# --- the command line, as a user runs it ---

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tinyq.cli", "quantize", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_writes_the_child_and_reports_each_op(tmp_path):
    out = tmp_path / "child.tflite"
    np.save(tmp_path / "calib.npy", _speech_features())
    p = _cli("--nested-from", model_path("tflm_micro_speech_int8"), "--weights", "int6",
             "--calibration", tmp_path / "calib.npy", "--out", out)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:3] == ["#1", "DEPTHWISE_CONV_2D", "int6"] and lines[0].endswith("Relu")
    assert lines[1].split()[:3] == ["#2", "FULLY_CONNECTED", "int6"] and "weight error" in lines[1]
    assert lines[2].startswith(f"wrote {out} (") and "bias correction on 4 calibration samples" in lines[2]
    assert read_model(out).nested.ops == ((1, 6), (2, 6))


USAGE = {
    "both": (["model.keras", "--nested-from", "P"], "not both"),
    "neither": ([], "needs a Keras MODEL, or --nested-from"),
    "weights_int8": (["--nested-from", "P", "--weights", "int8"], "--weights int8 with --nested-from"),
    "weights_ternary": (["--nested-from", "P", "--weights", "ternary"], "--weights ternary with --nested-from"),
    "layer": (["--nested-from", "P", "--layer", "a=int4"], "--layer does not apply with --nested-from"),
    "sparsity": (["--nested-from", "P", "--sparsity", "0.5"], "--sparsity does not apply"),
    "method": (["--nested-from", "P", "--method", "ptq"], "--method does not apply"),
    "qat": (["--nested-from", "P", "--qat"], "--qat does not apply"),
    "activations": (["--nested-from", "P", "--activations", "int8"], "--activations does not apply"),
    "io": (["--nested-from", "P", "--io", "float32"], "--io does not apply"),
    "nested_parent": (["--nested-from", "CHILD"], "is itself a nested child"),
    "not_tflite": (["--nested-from", "NOTTFLITE"], "not a TFLite model"),
}


@pytest.mark.parametrize("case", USAGE)
def test_cli_usage_errors(case, children, tmp_path):
    argv, fragment = USAGE[case]
    (tmp_path / "child.tflite").write_bytes(children("tflm_micro_speech_int8", 4))
    (tmp_path / "x.tflite").write_text("hello")
    subst = {"P": model_path("tflm_micro_speech_int8"), "CHILD": tmp_path / "child.tflite",
             "NOTTFLITE": tmp_path / "x.tflite"}
    p = _cli(*(subst.get(a, a) for a in argv), "--out", tmp_path / "out.tflite")
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyq: error: "), p.stderr
    assert fragment in lines[0], lines[0]
    assert not (tmp_path / "out.tflite").exists()
