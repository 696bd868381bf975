/* Dummy model weights, placed like generated weights (section .tq_weights, aligned 16). */
#include <stdint.h>

extern const int8_t model_w0[4];
extern const int16_t model_w1[3];

__attribute__((section(".tq_weights"), aligned(16))) const int8_t model_w0[4] = {1, 2, 3, -4};
__attribute__((section(".tq_weights"), aligned(16))) const int16_t model_w1[3] = {5, -6, 7};
