/* multitask.h - umbrella header: Python's multitasking toolbox in C.
 * One header per concept under multitask/. */
#ifndef MULTITASK_H
#define MULTITASK_H

#include "multitask/error.h"
#include "multitask/sync.h"
#include "multitask/queue.h"
#include "multitask/pipe.h"

#endif
