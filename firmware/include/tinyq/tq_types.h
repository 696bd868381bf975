/* tinyq kernel library: status codes and conventions shared by every kernel.
 *
 * Conventions (the same names and signs as tinyq/program.py):
 *   multiplier: Q31, 0 <= multiplier < 2^31;  shift: positive = left shift (TFLite's sign).
 *   input_offset = -(input zero point);  output_offset = +(output zero point).
 *   Activations NHWC; conv filters OHWI; depthwise filters 1HW(C*M); fully-connected weights [out][in].
 * No kernel allocates memory or keeps state: scratch memory, when needed, comes from the caller.
 */
#ifndef TINYQ_TQ_TYPES_H
#define TINYQ_TQ_TYPES_H

#include <stdint.h>
#include <stddef.h>

typedef int32_t tq_status;
#define TQ_OK 0
#define TQ_ERR_ARG 1 /* a parameter outside the kernel's contract */

#include "tinyq/tq_config.h"

#endif
