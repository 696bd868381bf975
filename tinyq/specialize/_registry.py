"""Imports every preparer module, in the order their preparers are tried (Helium before DSP)."""
# Helium (MVE): the Cortex-M55
from tinyq.specialize import gemm_mve  # noqa: F401  tq_fully_connected_s8_mve, tq_conv1x1_s8_mve, tq_conv_s8_im2col_mve
from tinyq.specialize import depthwise_mve  # noqa: F401  tq_depthwise_conv_s8_mve
from tinyq.specialize import depthwise_int4_mve  # noqa: F401  int4 weights: tq_depthwise_conv_s8_int4_mve
from tinyq.specialize import depthwise_lowbit_mve  # noqa: F401  2-bit weights (int2, ternary, binary): tq_depthwise_conv_s8_int2_mve
from tinyq.specialize import add_mve  # noqa: F401  tq_add_s8_table_mve
from tinyq.specialize import pool_mve  # noqa: F401  tq_avgpool_s8_mve
from tinyq.specialize import int4_mve  # noqa: F401  int4 weights: tq_fully_connected_s8_int4_mve, tq_conv1x1_s8_int4_mve, tq_conv_s8_im2col_int4_mve
from tinyq.specialize import lowbit_mve  # noqa: F401  2-bit weights (int2, ternary, binary): tq_fully_connected_s8_int2_mve, tq_conv1x1_s8_int2_mve, tq_conv_s8_im2col_int2_mve
from tinyq.specialize import s16_mve  # noqa: F401  16x8: tq_fully_connected_s16_mve, tq_conv1x1_s16_mve, tq_conv_s16_im2col_mve, tq_depthwise_conv_s16_mve
# Arm DSP extension: Cortex-M4, M7, M33, and the M55 where no Helium kernel takes the call
from tinyq.specialize import add_dsp  # noqa: F401  tq_add_s8_table_dsp
from tinyq.specialize import pool_dsp  # noqa: F401  tq_avgpool_s8_dsp
from tinyq.specialize import conv_dsp  # noqa: F401  tq_conv1x1_s8_dsp, tq_conv_s8_im2col_dsp
from tinyq.specialize import depthwise_dsp  # noqa: F401  tq_depthwise_conv3x3_s8_dsp, tq_depthwise_convkxk_s8_dsp
from tinyq.specialize import fully_connected_dsp  # noqa: F401  tq_fully_connected_s8_interleaved_dsp
from tinyq.specialize import int4_dsp  # noqa: F401  int4 weights: tq_conv1x1_s8_int4_dsp, tq_conv_s8_im2col_int4_dsp, tq_fully_connected_s8_int4_dsp, tq_depthwise_conv{3x3,kxk}_s8_int4_dsp
from tinyq.specialize import s16_dsp  # noqa: F401  16x8: tq_{conv,depthwise_conv,fully_connected}_s16_dsp
from tinyq.specialize import lstm_dsp  # noqa: F401  tq_lstm_s8_fast_dsp
from tinyq.specialize import lowbit_dsp  # noqa: F401  2-bit weights (int2, ternary, binary): tq_conv1x1_s8_int2_dsp, tq_conv_s8_im2col_int2_dsp, tq_fully_connected_s8_int2_dsp, tq_depthwise_conv{3x3,kxk}_s8_int2_dsp
