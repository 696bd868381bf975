"""Imports every preparer module, in the order their preparers are tried (Helium before DSP)."""
# Arm DSP extension (Cortex-M4, M7, M33, M55 without a Helium kernel)
from tinyq.specialize import add_dsp  # noqa: F401  tq_add_s8_table_dsp
from tinyq.specialize import conv_dsp  # noqa: F401  tq_conv1x1_s8_dsp, tq_conv_s8_im2col_dsp
from tinyq.specialize import depthwise_dsp  # noqa: F401  tq_depthwise_conv3x3_s8_dsp, tq_depthwise_convkxk_s8_dsp
from tinyq.specialize import fully_connected_dsp  # noqa: F401  tq_fully_connected_s8_interleaved_dsp
