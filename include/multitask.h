/* multitask.h - umbrella header: Python's multitasking toolbox in C.
 * One header per concept under multitask/. */
#ifndef MULTITASK_H
#define MULTITASK_H

#include "multitask/error.h"
#include "multitask/sync.h"
#include "multitask/thread.h"
#include "multitask/timer.h"
#include "multitask/queue.h"
#include "multitask/pipe.h"
#include "multitask/future.h"
#include "multitask/executor.h"
#include "multitask/process.h"
#include "multitask/shm.h"
#include "multitask/manager.h"
#include "multitask/pool.h"
#include "multitask/greenlet.h"
#include "multitask/generator.h"
#include "multitask/coro.h"
#include "multitask/signal.h"
#include "multitask/subprocess.h"
#include "multitask/os.h"

#endif
