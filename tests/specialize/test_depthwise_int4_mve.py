"""The Helium int4 depthwise record (tinyq/specialize/depthwise_int4_mve.py): its nibbles unpack, as the kernel's
tq_dw_unpack4 does, to the int8 record's blocked filter; every other field is the int8 record's on the decoded
weights; the calls it declines; on the M55 it is tried before the DSP int4 preparer."""
from dataclasses import replace

import numpy as np

from tests.specialize.test_depthwise_dsp import _call as _dw_int8_call
from tests.specialize.test_int4_dsp import _dw4
from tinyq.encode import encode
from tinyq.encode.apply import PackedWeights
from tinyq.program import const_array
from tinyq.specialize import candidates, depthwise_int4_mve, depthwise_mve


def _unpack(blocked: np.ndarray, groups: int, taps: int) -> np.ndarray:
    """What tq_dw_unpack4 writes for each group, in order: [groups][taps][4] int8 (low nibble = lane 2i)."""
    b = np.asarray(blocked).view(np.uint8).astype(np.int16).reshape(groups, 2 * taps)
    low, high = (b & 0xF) ^ 8, (b >> 4) ^ 8  # sign-extend a nibble: (n ^ 8) - 8
    return np.stack([low - 8, high - 8], axis=-1).reshape(groups, taps, 4).astype(np.int8)


def test_nibbles_unpack_to_the_int8_blocked_filter():
    rng = np.random.default_rng(4)
    for c, kh, kw in ((6, 3, 2), (9, 3, 3), (4, 5, 5), (1, 2, 3)):
        call = _dw4(_dw_int8_call(rng, 6, 5, c, kh, kw))
        r = depthwise_int4_mve.prepare_depthwise(call)
        assert r.symbol == depthwise_int4_mve.KERNEL
        groups, taps = -(-c // 4), kh * kw
        assert r.call.blocked.nbytes == r.call.packed.nbytes == groups * taps * 2  # 2 bytes a tap a group
        want = depthwise_mve.arrange(r.call.filter).reshape(groups, taps, 4)
        assert (_unpack(r.call.blocked, groups, taps) == want).all()
        assert (want[-1, :, 4 - (4 * groups - c):] == 0).all()  # the last group's lanes past the depth


def test_record_is_the_int8_record_on_the_decoded_weights():
    rng = np.random.default_rng(5)
    call4 = _dw4(_dw_int8_call(rng, 7, 6, 13, 3, 3, stride=(2, 1), dead=5))
    r4 = depthwise_int4_mve.prepare_depthwise(call4).call
    call8 = replace(call4, kernel="tq_depthwise_conv_s8", packed=None, filter=const_array(r4.filter, np.int8))
    r8 = depthwise_mve.prepare_depthwise(call8).call
    for name in r8.__dataclass_fields__:
        if name not in ("blocked", "_source", "kernel"):
            a, b = getattr(r8, name), getattr(r4, name)
            assert (np.asarray(a) == np.asarray(b)).all(), name
    taps = depthwise_int4_mve.unpacked_bytes(9)
    assert taps == 64 and r4.scratch_bytes() == r8.scratch_bytes() + taps  # 36 bytes, rounded up to 2 steps of 32


def test_declines():
    rng = np.random.default_rng(6)
    plain = _dw_int8_call(rng, 5, 5, 6, 3, 3)
    prepare = depthwise_int4_mve.prepare_depthwise
    assert prepare(_dw4(plain)) is not None
    assert prepare(plain) is None  # int8 weights: depthwise_mve.py's
    two = replace(_dw4(plain), packed=PackedWeights.of(encode(np.clip(plain.filter, -2, 1).reshape(9, 6), 1, "int2")))
    assert prepare(two) is None  # int2 keeps its own kernels
    assert prepare(replace(_dw4(plain), acc64=True)) is None
    assert prepare(_dw4(_dw_int8_call(rng, 5, 5, 3, 3, 3, m=2))) is None  # depth multiplier 2
    for s in (0, 1, -32):  # no right shift, a left one, past VRSHL's: requant_vectors refuses them
        assert prepare(replace(_dw4(plain), shift=const_array(np.full(6, s), np.int32))) is None


def test_tried_before_the_dsp_int4_preparer_on_the_m55():
    got = [p.prepare.__module__ for p in candidates("tq_depthwise_conv_s8_w4", frozenset({"dsp", "mve"}))]
    assert got[:2] == ["tinyq.specialize.depthwise_int4_mve", "tinyq.specialize.int4_dsp"]
    assert "tinyq.specialize.depthwise_int4_mve" not in [
        p.prepare.__module__ for p in candidates("tq_depthwise_conv_s8_w4", frozenset({"dsp"}))]


# --- 2-bit weights (tinyq/specialize/depthwise_lowbit_mve.py -> tq_depthwise_conv_s8_int2_mve) ---

from tinyq.specialize import depthwise_lowbit_mve  # noqa: E402

SUFFIX = {"int2": "w2", "ternary": "wt", "binary": "wb"}


def _dw2(call8, form: str, rng):
    """The 2-bit twin of an int8 depthwise call: weights m_c * t of the form's levels."""
    kh, kw, c = np.asarray(call8.filter).shape
    levels = {"int2": [-2, -1, 0, 1], "ternary": [-1, 0, 1], "binary": [-1, 1]}[form]
    t = rng.choice(levels, (kh * kw, c))
    m = np.ones(c, np.int64) if form == "int2" else rng.integers(1, 128, c)  # the encoder's magnitudes: 1..127
    packed = PackedWeights.of(encode((t * m).astype(np.int8), 1, form))
    return replace(call8, kernel=f"tq_depthwise_conv_s8_{SUFFIX[form]}", filter=None, packed=packed)


def _unpack2(blocked: np.ndarray, groups: int, taps: int) -> np.ndarray:
    """What tq_dw_unpack2 writes for each group: m [groups * 4] first, then lane i's t at bits 2i of a byte."""
    b = np.asarray(blocked, np.int64)
    m, u = b[:4 * groups].reshape(groups, 1, 4), b[4 * groups:].reshape(groups, taps, 1) & 0xFF
    t = ((u >> (2 * np.arange(4))) & 3 ^ 2) - 2  # sign-extend 2 bits
    return (m * t).astype(np.int8)


def test_2bit_codes_unpack_to_the_int8_blocked_filter():
    rng = np.random.default_rng(7)
    for form in SUFFIX:
        for c, kh, kw in ((6, 3, 2), (9, 3, 3), (4, 5, 5), (1, 2, 3)):
            r = depthwise_lowbit_mve.prepare_depthwise(_dw2(_dw_int8_call(rng, 6, 5, c, kh, kw), form, rng))
            assert r.symbol == depthwise_lowbit_mve.KERNEL
            groups, taps = -(-c // 4), kh * kw
            assert r.call.blocked.nbytes == r.call.packed.nbytes == groups * (taps + 4)  # a byte a tap, 4 magnitudes
            want = depthwise_mve.arrange(r.call.filter).reshape(groups, taps, 4)
            assert (_unpack2(r.call.blocked, groups, taps) == want).all(), (form, c)
            copy = groups * r.call.padded_height * r.call.padded_width * 4
            assert r.call.scratch_bytes() == copy + -(-taps // 16) * 64  # 16 taps unpacked to 64 bytes a step


def test_2bit_declines():
    rng = np.random.default_rng(8)
    plain = _dw_int8_call(rng, 5, 5, 6, 3, 3)
    prepare = depthwise_lowbit_mve.prepare_depthwise
    assert prepare(_dw2(plain, "binary", rng)) is not None
    assert prepare(plain) is None and prepare(_dw4(plain)) is None  # int8, int4: their own preparers
    assert prepare(replace(_dw2(plain, "ternary", rng), acc64=True)) is None
    assert prepare(_dw2(_dw_int8_call(rng, 5, 5, 3, 3, 3, m=2), "ternary", rng)) is None  # depth multiplier 2
    assert prepare(replace(_dw2(plain, "int2", rng), shift=const_array(np.full(6, 1), np.int32))) is None
