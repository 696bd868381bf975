"""Helium preparer for int8 ADD: tq_add_s8_table_mve reads the record tinyq/specialize/add_dsp.py prepares (each
input's TFLM rescale as a 256-entry table, tq_requant_fast's proved conditions), so it takes exactly the calls the
DSP preparer takes; its VRMULH.S32 is the DSP kernel's SMMULR lane-wise (firmware/src/tq_add_s8_table_mve.c)."""
from __future__ import annotations

from tinyq.program import KernelCall
from tinyq.specialize import Prepared, Preparer, register
from tinyq.specialize import add_dsp

SYMBOL = "tq_add_s8_table_mve"


def prepare(call: KernelCall) -> Prepared | None:
    got = add_dsp.prepare(call)
    return None if got is None else Prepared(got.call, SYMBOL)


register(Preparer(kernel="tq_add_s8", feature="mve", macro="__ARM_FEATURE_MVE", prepare=prepare))
