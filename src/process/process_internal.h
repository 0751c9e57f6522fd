/* process_internal.h - what other parts use of src/process/ beyond the
 * public header. */
#ifndef MT_PROCESS_INTERNAL_H
#define MT_PROCESS_INTERNAL_H

#include <signal.h>

#include "multitask/process.h"

/* The mask the child of p begins with, instead of the mask of the thread
 * that calls mt_process_start (the pool: its manager thread starts the
 * workers, with the mask of mt_pool_new's caller).  Before start. */
void mt__process_set_child_mask(mt_process_t *p, const sigset_t *mask);

#endif
