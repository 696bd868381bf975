/* tinyq profiling markers: TQ_INVOKE_BEGIN/END around each model invoke (in the harness) and
 * TQ_LAYER_BEGIN(i)/TQ_LAYER_END(i) around each kernel call (in the generated model.c).
 *
 * Without TQ_PROFILE they compile to nothing. With -DTQ_PROFILE they call the marker functions
 * below, which the harness (main.c) defines as empty `noipa` functions: never inlined, cloned or
 * merged, so each keeps its own address. tinyq's QEMU plugin (firmware/plugin/tqcount.c) counts the
 * guest instructions executed between the first instructions of a begin and the matching end
 * marker, which gives exact instructions per invoke and per layer (layers are numbered in the
 * order they run within an invoke; TQ_LAYER_* calls are emitted for i = 0..L-1 in that order).
 */
#ifndef TINYQ_TQ_PROFILE_H
#define TINYQ_TQ_PROFILE_H

#include <stdint.h>

#ifdef TQ_PROFILE

void tq_prof_invoke_begin(void);
void tq_prof_invoke_end(void);
void tq_prof_layer_begin(int32_t layer);
void tq_prof_layer_end(int32_t layer);

#define TQ_INVOKE_BEGIN() tq_prof_invoke_begin()
#define TQ_INVOKE_END() tq_prof_invoke_end()
#define TQ_LAYER_BEGIN(i) tq_prof_layer_begin((int32_t)(i))
#define TQ_LAYER_END(i) tq_prof_layer_end((int32_t)(i))

#else

#define TQ_INVOKE_BEGIN() ((void)0)
#define TQ_INVOKE_END() ((void)0)
#define TQ_LAYER_BEGIN(i) ((void)0)
#define TQ_LAYER_END(i) ((void)0)

#endif /* TQ_PROFILE */

#endif /* TINYQ_TQ_PROFILE_H */
