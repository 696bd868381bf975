/* DEPTHWISE_CONV_2D int8 with int4 weights, depth multiplier 1, on Helium: tq_depthwise_conv_s8_mve with the
 * blocked filter stored as nibbles (tinyq/specialize/depthwise_int4_mve.py), half its bytes in flash. Before a
 * group of 4 channels the kernel unpacks the group's taps (2 bytes a tap) into int8 [tap][4] in scratch, a few
 * vector instructions per 8 taps; the channels' passes then read them as the int8 kernel reads its filter, so
 * every pixel costs what it costs there (tq_depthwise_mve_common.h). */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
/* defined by the body included below (this line at column 0 also tells tinyq.targets.kernel_sources so) */
tq_status tq_depthwise_conv_s8_int4_mve(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input,
                                        int8_t *output, void *scratch);
#define TQ_DW_KERNEL tq_depthwise_conv_s8_int4_mve
#define TQ_DW_BITS 4
#define TQ_DW_PAD tq_dw_mve_pad_image
#include "tq_depthwise_mve_common.h"

#endif
