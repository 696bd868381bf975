"""Compile-time kernel selection: the board's CPU features pick optimized variants, visibly, in model.c
and the manifest; the host and CPUs without the feature keep the reference kernels."""
import json

import pytest

from tinyq.boards import load_board
from tinyq.compiler import compile_model
from tinyq.kernel_select import VARIANTS, board_features, select_kernels
from tinyq.sim.run import as_program


@pytest.mark.parametrize("board, features", [("host", set()), ("mps2-an385", set()), ("mps2-an386", {"dsp"}),
                                             ("mps2-an505", {"dsp"}), ("mps3-an547", {"dsp", "mve"})])
def test_board_features(board, features):
    assert board_features(load_board(board)) == features


def test_every_variant_names_a_kernel_the_lowering_emits_and_a_known_feature():
    for kernel, variants in VARIANTS.items():
        assert kernel.startswith("tq_") and variants
        for v in variants:
            assert v.symbol.startswith(kernel) and v.feature in ("dsp", "mve") and v.macro.startswith("__ARM_FEATURE_")


def test_selection_follows_the_board(shared_models, tmp_path):
    model = shared_models / "tflm_hello_world_int8.tflite"
    program = as_program(model)
    assert select_kernels(program, frozenset()) == [None] * len(program.calls)
    chosen = select_kernels(program, frozenset({"dsp"}))
    assert [v.symbol if v else c.kernel for c, v in zip(program.calls, chosen)] == ["tq_fully_connected_s8_dsp"] * 3

    for board, dsp in (("host", False), ("mps2-an385", False), ("mps2-an386", True)):
        out = tmp_path / board
        compile_model(model, out, board=board, project=False, specialize_calls=False)
        model_c = (out / "src" / "model.c").read_text()
        assert ("tq_fully_connected_s8_dsp(" in model_c) is dsp
        assert ("#if !defined(__ARM_FEATURE_DSP)" in model_c) is dsp
        layers = json.loads((out / "tinyq.json").read_text())["layers"]
        assert {layer["kernel"] for layer in layers} == {"tq_fully_connected_s8"}
        assert {layer["implementation"] for layer in layers} == {"tq_fully_connected_s8" + ("_dsp" if dsp else "")}


def test_the_manifest_names_the_function_model_c_calls(shared_models, tmp_path):
    """`tinyq bench` reports each layer's kernel from the manifest's `implementation`: it must be the function
    model.c calls for that layer, prepared (_dsp) kernels included (KWS: conv GEMM, depthwise, FC)."""
    import re

    out = tmp_path / "kws"
    compile_model(shared_models / "mlperf_kws_dscnn_int8.tflite", out, board="mps2-an386", project=False,
                  patch="off")
    ran = [layer["implementation"] for layer in json.loads((out / "tinyq.json").read_text())["layers"]]
    called = re.findall(r"\b(tq_[a-z0-9_]+)\(&", (out / "src" / "model.c").read_text())
    assert ran == called
    # --weights-layout auto: KWS's widened weights fit the board's 4 MB, so conv and FC take the int16 layout (the
    # convs the 3-pixel kernels on the M4: 125 pixels a layer)
    assert {"tq_conv1x1_s8_wide3_dsp", "tq_conv_s8_im2col_wide3_dsp", "tq_depthwise_conv3x3_s8_dsp",
            "tq_fully_connected_s8_wide_dsp"} <= set(ran)
