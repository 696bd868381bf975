/* tinyq kernel library: every kernel family's prototypes. Include this one header. */
#ifndef TINYQ_TQ_KERNELS_H
#define TINYQ_TQ_KERNELS_H

#include "tinyq/tq_types.h"
#include "tinyq/tq_weights.h"
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_conv.h"
#include "tinyq/tq_conv_gemm.h"
#include "tinyq/tq_depthwise_conv_fast.h"
#include "tinyq/tq_packed_s16_wk_dsp.h"
#include "tinyq/tq_pool.h"
#include "tinyq/tq_elementwise.h"
#include "tinyq/tq_activation.h"
#include "tinyq/tq_prelu.h"
#include "tinyq/tq_softmax.h"
#include "tinyq/tq_logistic.h"
#include "tinyq/tq_shape.h"
#include "tinyq/tq_reduce.h"
#include "tinyq/tq_quantize.h"
#include "tinyq/tq_resize.h"
#include "tinyq/tq_svdf.h"
#include "tinyq/tq_lstm.h"
#include "tinyq/tq_lstm_fast_dsp.h"
#include "tinyq/tq_fully_connected_s8_interleaved_dsp.h"
#include "tinyq/tq_add_s8_table_dsp.h"
#include "tinyq/tq_mve.h" /* Helium kernels of prepared records (tinyq/specialize/gemm_mve.py, depthwise_mve.py) */
#include "tinyq/tq_s16_dsp.h"
#include "tinyq/tq_s16_mve.h" /* 16x8 on Helium (tinyq/specialize/s16_mve.py) */
#include "tinyq/tq_lowbit_dsp.h" /* 2-bit weights (tinyq/specialize/lowbit_dsp.py) */

#endif
