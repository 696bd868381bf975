/* placeholder: filled in by the activation kernel family */
#ifndef TINYQ_TQ_ACTIVATION_H
#define TINYQ_TQ_ACTIVATION_H
#include "tinyq/tq_types.h"
#endif
