"""Imports every preparer module, in the order their preparers are tried (Helium before DSP)."""
from tinyq.specialize import conv_dsp  # noqa: F401,E402  (DSP: tq_conv1x1_s8_dsp, tq_conv_s8_im2col_dsp)
