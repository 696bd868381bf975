/* DEPTHWISE_CONV_2D int8 with 2-bit weights (int2, ternary, binary: w = m_c * t), depth multiplier 1, on
 * Helium: tq_depthwise_conv_s8_mve with the blocked filter stored as 2-bit codes, a byte a tap a group, after the
 * channels' int8 magnitudes (tinyq/specialize/depthwise_lowbit_mve.py), a quarter of its bytes in flash. Before a
 * group of 4 channels the kernel unpacks the group's taps into int8 [tap][4] in scratch (tq_dw_unpack2); the
 * channels' passes then run the int8 kernel's code on them (tq_depthwise_mve_common.h). */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
/* defined by the body included below (this line at column 0 also tells tinyq.targets.kernel_sources so) */
tq_status tq_depthwise_conv_s8_int2_mve(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input,
                                        int8_t *output, void *scratch);
#define TQ_DW_KERNEL tq_depthwise_conv_s8_int2_mve
#define TQ_DW_BITS 2
#define TQ_DW_PAD tq_dw_mve_pad_image
#include "tq_depthwise_mve_common.h"

#endif
