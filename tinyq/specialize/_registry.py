"""Imports every preparer module, in the order their preparers are tried (Helium before DSP)."""
from tinyq.specialize import fully_connected_dsp, add_dsp  # noqa: F401
