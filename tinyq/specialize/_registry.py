"""Imports every preparer module, in the order their preparers are tried (Helium before DSP)."""
from tinyq.specialize import s16_dsp  # noqa: F401  16x8 conv, depthwise, FC (DSP)
