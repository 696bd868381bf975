/* placeholder: filled in by the pool kernel family */
#ifndef TINYQ_TQ_POOL_H
#define TINYQ_TQ_POOL_H
#include "tinyq/tq_types.h"
#endif
