/* tinyq porting knobs: set with -D flags (platformio.ini build_flags), never by editing this file. */
#ifndef TINYQ_TQ_CONFIG_H
#define TINYQ_TQ_CONFIG_H

/* TQ_ENABLE_ASSERT: check kernel contracts at run time (costs code size and a few cycles per call).
 * Every kernel asserts what it relies on for memory safety and defined behaviour: non-NULL pointers,
 * positive dimensions, strides and dilations >= 1, act_min <= act_max within the output type, shift
 * ranges, depth relations. The host runner (tinyq/targets/host.py) defines it, and so do the tests'
 * sanitizer builds of the shared models; firmware does not: tinyq's lowering establishes these for every
 * model it accepts. */
#ifdef TQ_ENABLE_ASSERT
#include <assert.h>
#define TQ_ASSERT(x) assert(x)
#else
#define TQ_ASSERT(x) ((void)0)
#endif

/* A zero-point offset small enough to add to any stored int8/int16 value in int32 without overflow
 * (real zero points lie in the tensor type's range: |offset| <= 32768). */
#define TQ_OFFSET_OK(x) ((x) >= -65536 && (x) <= 65536)

/* act_min <= act_max, both inside [lo, hi] (the output type), so the clamp's result converts exactly. */
#define TQ_ACT_OK(act_min, act_max, lo, hi) ((lo) <= (act_min) && (act_min) <= (act_max) && (act_max) <= (hi))

/* Alignment of constant arrays and the activation arena (bytes). 16 suits every Cortex-M load. */
#ifndef TQ_ALIGN
#define TQ_ALIGN 16
#endif

#endif
