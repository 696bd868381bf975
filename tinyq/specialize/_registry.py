"""Imports every preparer module, in the order their preparers are tried (Helium before DSP)."""
from tinyq.specialize import depthwise_dsp  # noqa: F401,E402
