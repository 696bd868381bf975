/* placeholder: filled in by the logistic kernel family */
#ifndef TINYQ_TQ_LOGISTIC_H
#define TINYQ_TQ_LOGISTIC_H
#include "tinyq/tq_types.h"
#endif
