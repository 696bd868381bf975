"""Imports every preparer module, in the order their preparers are tried (Helium before DSP)."""
from tinyq.specialize import add_dsp, depthwise_dsp, fully_connected_dsp  # noqa: F401
