"""Compile-time kernel selection: which C implementation each kernel call gets on a board.

Lowering names a kernel (`KernelCall.kernel`, e.g. tq_fully_connected_s8); the portable reference
implementation of every kernel is in firmware/src and is what the simulator mirrors. An optimized
variant is registered here with the CPU feature it needs; `select_kernels` gives each call the first
variant the board's CPU has, else the reference. A variant takes the same parameter struct and
must give the same integers: the firmware tests run each variant against the simulator on the
emulated boards that select it.
"""
from __future__ import annotations

from dataclasses import dataclass

from tinyq.program import Program


@dataclass(frozen=True)
class Variant:
    symbol: str  # the C function
    feature: str  # CPU feature it needs: "dsp" (Arm DSP extension) or "mve" (Helium)
    macro: str  # the compiler's macro for that feature, checked by the generated model.c


DSP = "dsp"
MVE = "mve"
_MACROS = {DSP: "__ARM_FEATURE_DSP", MVE: "__ARM_FEATURE_MVE"}

# kernel -> variants, best first
VARIANTS: dict[str, tuple[Variant, ...]] = {
    "tq_fully_connected_s8": (Variant("tq_fully_connected_s8_dsp", DSP, _MACROS[DSP]),),
    "tq_lstm_s8": (Variant("tq_lstm_s8_dsp", DSP, _MACROS[DSP]),),
    "tq_conv_s8": (Variant("tq_conv_s8_dsp", DSP, _MACROS[DSP]),),
    "tq_depthwise_conv_s8": (Variant("tq_depthwise_conv_s8_dsp", DSP, _MACROS[DSP]),),
    # packed weights (firmware/src/tq_*_packed_dsp.c): int4, int2, ternary, binary codes as SMLAD lanes / SEL masks
    **{f"tq_{op}_s8_{w}": (Variant(f"tq_{op}_s8_{w}_dsp", DSP, _MACROS[DSP]),)
       for op in ("fully_connected", "conv") for w in ("w4", "w2", "wt", "wb")},
    # depthwise (firmware/src/tq_depthwise_conv_packed_dsp.c): every dense form, decoded once per channel group
    **{f"tq_depthwise_conv_s8_{w}": (Variant(f"tq_depthwise_conv_s8_{w}_dsp", DSP, _MACROS[DSP]),)
       for w in ("w4", "w2", "wk", "wt", "wb", "wc")},
    # sparse depthwise (firmware/src/tq_depthwise_conv_packed_sparse_dsp.c): every sparse form and value encoding
    "tq_depthwise_conv_s8_ws": (Variant("tq_depthwise_conv_s8_ws_dsp", DSP, _MACROS[DSP]),),
    # 16x8 on packed weights, every dense form (tq_packed_s16_dsp.c), and int8 on k-bit weights for FC and conv
    # (tq_packed_wk_dsp.c; depthwise's is above); 16x8 sparse has no DSP variant
    **{f"tq_{op}_{k}": (Variant(f"tq_{op}_{k}_dsp", DSP, _MACROS[DSP]),)
       for op in ("fully_connected", "conv", "depthwise_conv")
       for k in ("s16_w4", "s16_w2", "s16_wk", "s16_wt", "s16_wb", "s16_wc")},
    **{f"tq_{op}_s8_wk": (Variant(f"tq_{op}_s8_wk_dsp", DSP, _MACROS[DSP]),) for op in ("fully_connected", "conv")},
    # sparse (firmware/src/tq_*_packed_sparse_dsp.c) and codebook (tq_codebook_packed_dsp.c) weights
    **{f"tq_{op}_s8_{w}": (Variant(f"tq_{op}_s8_{w}_dsp", DSP, _MACROS[DSP]),)
       for op in ("fully_connected", "conv") for w in ("ws", "wc")},
    # nested topK, int8 activations (tq_fully_connected_packed_dsp.c, tq_conv_dsp.c, tq_depthwise_conv_dsp.c); the
    # 16x8 _wn kernels are portable C everywhere
    **{f"tq_{op}_s8_wn": (Variant(f"tq_{op}_s8_wn_dsp", DSP, _MACROS[DSP]),)
       for op in ("fully_connected", "conv", "depthwise_conv")},
}


def board_features(board) -> frozenset[str]:
    """The CPU features of a tinyq.boards.Board (none for the host: its build is portable C)."""
    if board.is_host:
        return frozenset()
    return frozenset(f for f, has in ((DSP, board.has_dsp), (MVE, board.has_mve)) if has)


def board_isa(board) -> str:
    """The CPU kind the weight-encoding cost model knows (tinyq.encode.select): "mve" (Helium: int8 runs the
    prepared Helium kernels), "dsp" or "portable"."""
    features = board_features(board)
    return "mve" if MVE in features else ("dsp" if DSP in features else "portable")


def select_kernels(program: Program, features: frozenset[str]) -> list[Variant | None]:
    """One entry per call: the variant to use, or None for the reference implementation."""
    return [next((v for v in VARIANTS.get(c.kernel, ()) if v.feature in features), None) for c in program.calls]
