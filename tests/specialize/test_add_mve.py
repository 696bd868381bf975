"""tinyq/specialize/add_mve.py: the Helium ADD takes exactly the calls the DSP table preparer takes, with the same
record (so tests/specialize/test_fc_add_dsp.py's exactness proof covers its integers), and is tried first on the
M55. The firmware side is tests/firmware/test_mve_kernels.py (test_add_mve)."""
from dataclasses import fields

import numpy as np

from tests.specialize.test_fc_add_dsp import _add_call
from tinyq.specialize import add_dsp, add_mve, candidates


def test_add_mve_takes_the_dsp_record():
    call = _add_call(0.05, 3, 0.05, -7, 0.08, -2, act=(-128, 127))
    dsp, mve = add_dsp.prepare(call), add_mve.prepare(call)
    assert mve is not None and mve.symbol == "tq_add_s8_table_mve" and type(mve.call) is type(dsp.call)
    for f in fields(dsp.call):
        np.testing.assert_array_equal(getattr(mve.call, f.name), getattr(dsp.call, f.name))
    assert add_mve.prepare(_add_call(0.05, 0, 0.05, 0, 0.1, 0, n=511)) is None
    assert add_mve.prepare(_add_call(0.05, 0, 0.05, 0, 1e-9, 0)) is None  # declined by the DSP conditions too


def test_add_mve_is_tried_first_on_the_m55():
    assert [p.feature for p in candidates("tq_add_s8", frozenset({"mve", "dsp"}))] == ["mve", "dsp"]
    assert [p.feature for p in candidates("tq_add_s8", frozenset({"dsp"}))] == ["dsp"]
