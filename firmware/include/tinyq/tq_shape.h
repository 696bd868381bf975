/* placeholder: filled in by the shape kernel family */
#ifndef TINYQ_TQ_SHAPE_H
#define TINYQ_TQ_SHAPE_H
#include "tinyq/tq_types.h"
#endif
