/* placeholder: filled in by the elementwise kernel family */
#ifndef TINYQ_TQ_ELEMENTWISE_H
#define TINYQ_TQ_ELEMENTWISE_H
#include "tinyq/tq_types.h"
#endif
