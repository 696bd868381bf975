/* tq_trace_tensor() for -DTQ_TRACE builds (see tq_trace.h). Debug only: never in a normal build. */
#include "tinyq/tq_trace.h"

#ifdef TQ_TRACE
#include <stdio.h>

void tq_trace_tensor(int32_t call, const void *data, uint32_t nbytes) {
    static FILE *file; /* opened on first use; a debug build may keep this one piece of state */
    if (file == NULL) file = fopen("tq_trace.bin", "wb");
    if (file == NULL) return;
    fwrite(&call, sizeof call, 1, file);
    fwrite(&nbytes, sizeof nbytes, 1, file);
    fwrite(data, 1, nbytes, file);
    fflush(file);
}
#else
typedef int tq_trace_unused; /* ISO C forbids an empty translation unit */
#endif
