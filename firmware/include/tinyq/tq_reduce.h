/* placeholder: filled in by the reduce kernel family */
#ifndef TINYQ_TQ_REDUCE_H
#define TINYQ_TQ_REDUCE_H
#include "tinyq/tq_types.h"
#endif
