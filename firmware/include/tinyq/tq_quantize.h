/* placeholder: filled in by the quantize kernel family */
#ifndef TINYQ_TQ_QUANTIZE_H
#define TINYQ_TQ_QUANTIZE_H
#include "tinyq/tq_types.h"
#endif
