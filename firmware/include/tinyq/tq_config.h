/* tinyq porting knobs: set with -D flags (platformio.ini build_flags), never by editing this file. */
#ifndef TINYQ_TQ_CONFIG_H
#define TINYQ_TQ_CONFIG_H

/* TQ_ENABLE_ASSERT: check kernel contracts at run time (costs code size and a few cycles per call). */
#ifdef TQ_ENABLE_ASSERT
#include <assert.h>
#define TQ_ASSERT(x) assert(x)
#else
#define TQ_ASSERT(x) ((void)0)
#endif

/* Alignment of constant arrays and the activation arena (bytes). 16 suits every Cortex-M load. */
#ifndef TQ_ALIGN
#define TQ_ALIGN 16
#endif

#endif
