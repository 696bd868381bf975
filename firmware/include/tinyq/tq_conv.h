/* placeholder: filled in by the conv kernel family */
#ifndef TINYQ_TQ_CONV_H
#define TINYQ_TQ_CONV_H
#include "tinyq/tq_types.h"
#endif
