/* Dummy model for tinyq's firmware-backend tests: the contract of a generated model.h, with two
 * inputs (int8 [1,4], int16 [1,3]) and two outputs of the same shapes. */
#ifndef MODEL_H
#define MODEL_H

#include <stdint.h>

#include "tinyq/tq_types.h"

#define MODEL_NUM_INPUTS 2
#define MODEL_NUM_OUTPUTS 2

extern const uint32_t model_input_bytes[MODEL_NUM_INPUTS];
extern const uint32_t model_output_bytes[MODEL_NUM_OUTPUTS];

tq_status model_invoke_v(const void *const *inputs, void *const *outputs);

#endif
