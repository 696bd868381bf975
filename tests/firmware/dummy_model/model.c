/* Dummy model: out0 = sat8(in0 + w0), out1 = sat16(2 * in1 + w1), as two profiled and traced "layers".
 * Test hooks on in0[0]: 101 hangs, 102 executes an undefined instruction (fault), 103 returns status 7. */
#include "model.h"

#include "tinyq/tq_profile.h"
#include "tinyq/tq_trace.h"

extern const int8_t model_w0[4];
extern const int16_t model_w1[3];

/* not static: the arena must survive optimisation, as a real model's (used through pointers) does */
extern int32_t model_arena[8];
int32_t model_arena[8] __attribute__((section(".tq_arena"), aligned(16)));

const uint32_t model_input_bytes[MODEL_NUM_INPUTS] = {4, 6};
const uint32_t model_output_bytes[MODEL_NUM_OUTPUTS] = {4, 6};

static int32_t clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

tq_status model_invoke_v(const void *const *inputs, void *const *outputs)
{
    const int8_t *in0 = (const int8_t *)inputs[0];
    const int16_t *in1 = (const int16_t *)inputs[1];
    int8_t *out0 = (int8_t *)outputs[0];
    int16_t *out1 = (int16_t *)outputs[1];

    if (in0[0] == 101) {
        volatile int spin = 1;
        while (spin) {
        }
    }
    if (in0[0] == 102) {
        __builtin_trap();
    }
    if (in0[0] == 103) {
        return 7;
    }
    TQ_LAYER_BEGIN(0);
    for (int i = 0; i < 4; i++) {
        model_arena[i] = (int32_t)in0[i] + model_w0[i];
        out0[i] = (int8_t)clamp(model_arena[i], -128, 127);
    }
    TQ_LAYER_END(0);
    TQ_TRACE_TENSOR(0, out0, 4);
    TQ_LAYER_BEGIN(1);
    for (int i = 0; i < 3; i++) {
        model_arena[4 + i] = 2 * (int32_t)in1[i] + model_w1[i];
        out1[i] = (int16_t)clamp(model_arena[4 + i], -32768, 32767);
    }
    TQ_LAYER_END(1);
    TQ_TRACE_TENSOR(1, out1, 6);
    return TQ_OK;
}
