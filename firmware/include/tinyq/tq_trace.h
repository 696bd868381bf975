/* Per-call output tracing for `tinyq verify`: with -DTQ_TRACE the generated model.c hands every
 * kernel call's output to tq_trace_tensor(), which appends it to the file tq_trace.bin (host stdio,
 * or semihosting on QEMU) as records {int32 call, uint32 nbytes, bytes}. Without TQ_TRACE: nothing. */
#ifndef TINYQ_TQ_TRACE_H
#define TINYQ_TQ_TRACE_H

#include <stdint.h>

#ifdef TQ_TRACE
void tq_trace_tensor(int32_t call, const void *data, uint32_t nbytes);
#define TQ_TRACE_TENSOR(call, data, nbytes) tq_trace_tensor((int32_t)(call), (data), (uint32_t)(nbytes))
#else
#define TQ_TRACE_TENSOR(call, data, nbytes) ((void)0)
#endif

#endif
