/* queue_internal.h - test hooks of the queue part (not public API). */
#ifndef MT_QUEUE_INTERNAL_H
#define MT_QUEUE_INTERNAL_H

#include <stdbool.h>

#include "multitask/queue.h"

/* Number of threads currently blocked in get / put / join of q (counted
 * under the lock), so tests can wait for "all blocked" without sleeping. */
void mt__queue_waiting(mt_queue_t *q, int *getters, int *putters, int *joiners);
/* Number of processes parked (sleeping) in get / put of a cross-process
 * queue; may over-count after a sleeper was killed. */
void mt__mpqueue_sleeping(const mt_mpqueue_t *q, int *getters, int *putters);

/* mt_conn_wait (src/pipe/pipe.c) over queues, without polling: begin registers
 * the caller and returns a descriptor (an eventfd) that becomes readable
 * when a put or shutdown happens while registered, or a negative code.
 * check returns 1 if the queue is ready (not empty or shut down), else 0
 * after making sure the descriptor is not readable from an old event;
 * call it after begin and after every wake-up, before polling.  end
 * unregisters.  A cross-process queue's descriptor is made with the queue,
 * so it is valid in every process forked after mt_mpqueue_new. */
int mt__queue_wait_begin(mt_queue_t *q);
int mt__queue_wait_check(mt_queue_t *q);
void mt__queue_wait_end(mt_queue_t *q);
int mt__mpqueue_wait_begin(mt_mpqueue_t *q);
int mt__mpqueue_wait_check(mt_mpqueue_t *q);
void mt__mpqueue_wait_end(mt_mpqueue_t *q);
/* Test hooks: mt_conn_wait calls registered on q right now. */
int mt__queue_fd_waiters(mt_queue_t *q);
int mt__mpqueue_fd_waiters(mt_mpqueue_t *q);
/* Test hook: takes (hold) or releases q's internal lock, as a thread inside
 * a queue call would hold it. */
void mt__queue_hold_lock(mt_queue_t *q, bool hold);

#endif
