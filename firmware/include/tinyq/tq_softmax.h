/* placeholder: filled in by the softmax kernel family */
#ifndef TINYQ_TQ_SOFTMAX_H
#define TINYQ_TQ_SOFTMAX_H
#include "tinyq/tq_types.h"
#endif
