/* A firmware loop that changes precision level between invocations (examples/levels/README.md).
 *
 * Each sample first runs at the cheap level (MODEL_NUM_LEVELS - 1). When its top score does not beat the
 * runner-up by MARGIN (the cheap level is unsure), the loop switches to level 0, the int8 model, runs the
 * same sample again and keeps that answer; then it switches back. One line per sample on the console:
 *   sample <i> level <k> class <c> scores <hex bytes of the output>
 * for every invocation, so the host can check each one against the level's own .tflite.
 * samples.h (written by run_demo.py) holds NUM_SAMPLES int8 inputs and MARGIN.
 */
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "samples.h"

static int8_t scores[MODEL_OUTPUT0_BYTES] __attribute__((aligned(16)));

/* Index of the largest score, and its lead over the second largest (in quantized steps). */
static unsigned top_class(const int8_t *s, unsigned n, int *lead)
{
    unsigned best = 0;
    int second = -1000;
    for (unsigned i = 1; i < n; i++) {
        if (s[i] > s[best]) {
            second = s[best];
            best = i;
        } else if (s[i] > second) {
            second = s[i];
        }
    }
    *lead = s[best] - second;
    return best;
}

static int run(unsigned sample)
{
    int lead;
    if (model_invoke(samples[sample], scores) != TQ_OK) {
        return -1;
    }
    unsigned c = top_class(scores, MODEL_OUTPUT0_BYTES, &lead);
    printf("sample %u level %u class %u scores ", sample, model_level(), c);
    for (unsigned i = 0; i < MODEL_OUTPUT0_BYTES; i++) {
        printf("%02x", (unsigned)(uint8_t)scores[i]);
    }
    printf("\n");
    return lead;
}

int main(void)
{
    const unsigned cheap = MODEL_NUM_LEVELS - 1u;
    unsigned escalated = 0;
    for (unsigned i = 0; i < NUM_SAMPLES; i++) {
        model_set_level(cheap);
        int lead = run(i);
        if (lead < 0) {
            return 3;
        }
        if (lead < MARGIN) { /* unsure: ask the precise level */
            model_set_level(0u);
            if (run(i) < 0) {
                return 3;
            }
            escalated++;
        }
    }
    printf("escalated %u of %u samples to level 0\n", escalated, (unsigned)NUM_SAMPLES);
    return 0;
}
