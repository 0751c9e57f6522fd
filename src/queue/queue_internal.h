/* queue_internal.h - test hooks of the queue part (not public API). */
#ifndef MT_QUEUE_INTERNAL_H
#define MT_QUEUE_INTERNAL_H

#include "multitask/queue.h"

/* Number of threads currently blocked in get / put / join of q (counted
 * under the lock), so tests can wait for "all blocked" without sleeping. */
void mt__queue_waiting(mt_queue_t *q, int *getters, int *putters, int *joiners);
/* Number of processes parked (sleeping) in get / put of a cross-process
 * queue; may over-count after a sleeper was killed. */
void mt__mpqueue_sleeping(const mt_mpqueue_t *q, int *getters, int *putters);

#endif
