/* multitask/queue.h - Python's `queue` module (Queue, LifoQueue,
 * PriorityQueue, SimpleQueue) for threads, and multiprocessing's Queue /
 * JoinableQueue / SimpleQueue for processes.  docs/queues.md maps every
 * Python name to these functions.
 *
 * Timeouts are relative seconds as everywhere in multitask: MT_FOREVER
 * blocks (Python's block=True, timeout=None), 0 never blocks (block=False),
 * t > 0 waits at most t.  Python's exceptions become codes: Full ->
 * MT_EFULL, Empty -> MT_EEMPTY, ShutDown -> MT_ECLOSED, ValueError of
 * task_done -> MT_EOVERFLOW.  As in Python, a put or get that times out
 * raises Full / Empty whether the timeout was 0 or expired: MT_EFULL /
 * MT_EEMPTY in both cases (docs/api.md, "Would block").  join(timeout),
 * which Python does not have, returns MT_ETIMEDOUT.
 */
#ifndef MULTITASK_QUEUE_H
#define MULTITASK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

/* ======================= in-process queues ============================
 * Items are `void *` pointers owned by whoever holds them: put hands the
 * pointer to the queue, get hands it to the getter.  An uncontended put or
 * get makes no system call; a waker calls the kernel only when a waiter
 * really sleeps.  Not usable across processes (pointers would not mean
 * anything there): use mt_mpqueue_t below.
 *
 * fork: a child gets its own copy of each queue.  If another thread was
 * inside a call on the queue at fork (it held the queue's lock), the copy
 * may be torn: in the child every call on that queue returns
 * MT_ENOTRECOVERABLE (after at most ~10 ms for the first; mt_queue_free
 * then frees the object without touching the items).  Otherwise the copy
 * is usable. */
typedef struct mt_queue mt_queue_t;

/* queue.Queue(maxsize): FIFO.  maxsize 0 = unbounded. */
mt_queue_t *mt_queue_new(size_t maxsize);
/* queue.LifoQueue(maxsize): last in, first out. */
mt_queue_t *mt_queue_new_lifo(size_t maxsize);
/* queue.PriorityQueue(maxsize): lowest int64 key first; equal keys leave
 * in insertion order (stable, unlike a heapq of tuples). */
mt_queue_t *mt_queue_new_priority(size_t maxsize);
/* queue.SimpleQueue(): unbounded FIFO without task_done/join
 * (they return MT_ENOTSUP). */
mt_queue_t *mt_queue_new_simple(void);

/* Optional destructor called for every item still queued when the queue is
 * shut down with immediate=true or freed.  0 or MT_EINVAL. */
int mt_queue_set_item_free(mt_queue_t *q, void (*item_free)(void *item));

/* Frees the queue (calling the item destructor on what is left); never
 * blocks.  No thread may be blocked in it any more: shut it down and join
 * them first (freeing under a waiter is a use after free, not a wait). */
void mt_queue_free(mt_queue_t *q);

/* Queue.put(item, block, timeout).  0; MT_EFULL (still full at timeout 0
 * or at expiry); MT_ECLOSED after shutdown; MT_ENOMEM (unbounded growth
 * failed); MT_EINVAL (NULL queue, bad timeout).  On a PriorityQueue the key
 * is 0. */
int mt_queue_put(mt_queue_t *q, void *item, double timeout);
/* Queue.put_nowait(item) == mt_queue_put(q, item, 0). */
int mt_queue_put_nowait(mt_queue_t *q, void *item);
/* PriorityQueue.put((key, item)).  On the other kinds the key is ignored. */
int mt_queue_put_prio(mt_queue_t *q, int64_t key, void *item, double timeout);

/* Queue.get(block, timeout): *item receives the pointer.  0; MT_EEMPTY
 * (still empty at timeout 0 or at expiry); MT_ECLOSED when shut down and
 * nothing left to drain; MT_EINVAL. */
int mt_queue_get(mt_queue_t *q, void **item, double timeout);
int mt_queue_get_nowait(mt_queue_t *q, void **item);
/* As mt_queue_get, also returning the key (0 on non-priority queues);
 * key may be NULL. */
int mt_queue_get_prio(mt_queue_t *q, int64_t *key, void **item, double timeout);

/* qsize() (a count, >= 0), empty() and full() (1 / 0); MT_EINVAL for
 * NULL.  Like Python's, the answers may be stale as soon as they return. */
int mt_queue_qsize(const mt_queue_t *q);
int mt_queue_is_empty(const mt_queue_t *q);
int mt_queue_is_full(const mt_queue_t *q);
/* The maxsize given at creation (0 = unbounded; 0 for NULL). */
size_t mt_queue_maxsize(const mt_queue_t *q);

/* Queue.task_done(): one fetched item is processed.  0, MT_EOVERFLOW when
 * called more often than items were put (Python's ValueError), MT_ENOTSUP
 * on a SimpleQueue.  Takes no timeout because it cannot block: it waits
 * for nothing but the queue's own lock, which every call holds only for a
 * few instructions (never while waiting). */
int mt_queue_task_done(mt_queue_t *q);
/* Queue.join(): blocks until every item put has been task_done()'d (or an
 * immediate shutdown discarded it).  0, MT_ETIMEDOUT, MT_ENOTSUP. */
int mt_queue_join(mt_queue_t *q, double timeout);

/* Queue.shutdown(immediate) of Python 3.13.  Afterwards put returns
 * MT_ECLOSED; get drains what is left, then returns MT_ECLOSED.  With
 * immediate=true the queued items are discarded at once (item destructor
 * called, unfinished task count reduced) so get returns MT_ECLOSED at once
 * and join returns.  Every blocked putter and getter wakes.  0 or
 * MT_EINVAL.  Cannot block, as task_done (the item destructor runs on the
 * calling thread, outside the lock). */
int mt_queue_shutdown(mt_queue_t *q, bool immediate);
/* 1 after shutdown, else 0. */
int mt_queue_is_shutdown(const mt_queue_t *q);

/* ===================== cross-process queues ===========================
 * multiprocessing.Queue / JoinableQueue / SimpleQueue.  The queue lives in
 * one anonymous MAP_SHARED mapping made by mt_mpqueue_new; every process
 * forked afterwards uses the same handle.  Messages are byte strings that
 * are COPIED into a ring of `maxsize` fixed-size slots, so put returns only
 * once the message is in shared memory: nothing is lost when the producer
 * exits right after put (there is no feeder thread).
 *
 * Message size: at most `max_msg` bytes (fixed at creation; 0 picks
 * MT_MPQUEUE_DEFAULT_MSG).  A larger put returns MT_EMSGSIZE and stores
 * nothing.  max_msg is at most MT_MPQUEUE_MAX_MSG; use a Pipe for bigger
 * messages.  maxsize 0 picks MT_MPQUEUE_DEFAULT_SLOTS (the ring is always
 * bounded: put blocks when it is full).  Memory: maxsize * (max_msg + 8)
 * bytes of address space, touched only as slots are used.
 *
 * Crash safety (SIGKILL at any instruction): every operation runs under a
 * robust lock; the ring's head and tail (and the unfinished-task count,
 * packed with the tail) change with ONE store after the copy is complete.
 * A producer killed before that store leaves an unpublished slot that is
 * overwritten later; a consumer killed before it leaves the message queued.
 * So no torn message is ever delivered and none is delivered twice; a
 * message whose consumer died after the store is gone with it (at most
 * once).  The next process to take the lock notices the dead holder within
 * ~10 ms and carries on.  A process killed while asleep in the queue leaves
 * a spare wake behind (costs time, never correctness); sleepers re-check
 * every 50 ms in case a producer died between publishing and waking. */
typedef struct mt_mpqueue mt_mpqueue_t;

#define MT_MPQUEUE_DEFAULT_SLOTS 1024
#define MT_MPQUEUE_DEFAULT_MSG 4096
#define MT_MPQUEUE_MAX_MSG (64u * 1024 * 1024)

/* multiprocessing.Queue(maxsize).  NULL with errno EINVAL (max_msg above
 * MT_MPQUEUE_MAX_MSG, maxsize above 2^30 or the ring above 1 TiB), ENOMEM,
 * or EMFILE (each cross-process queue holds one eventfd, made here so that
 * mt_conn_wait works in every process forked afterwards; closed by
 * mt_mpqueue_free). */
mt_mpqueue_t *mt_mpqueue_new(size_t maxsize, size_t max_msg);
/* multiprocessing.JoinableQueue(maxsize): adds task_done/join. */
mt_mpqueue_t *mt_mpqueue_new_joinable(size_t maxsize, size_t max_msg);
/* Unmaps the queue in the calling process (each process that is done with
 * it may call this; the memory goes away with the last mapping).  Never
 * blocks. */
void mt_mpqueue_free(mt_mpqueue_t *q);

/* put(obj, block, timeout) of `len` bytes from `data`.  0; MT_EFULL
 * (timeout 0 or expiry); MT_EMSGSIZE (len > max_msg); MT_ECLOSED
 * after shutdown; MT_EINVAL. */
int mt_mpqueue_put(mt_mpqueue_t *q, const void *data, size_t len, double timeout);
/* get(block, timeout) into buf[cap].  Returns the message length (>= 0).
 * MT_EMSGSIZE when cap is too small: *needed (if not NULL) receives the
 * length and the message stays queued.  MT_EEMPTY (timeout 0 or
 * expiry); MT_ECLOSED (shut down and drained); MT_EINVAL. */
int mt_mpqueue_get(mt_mpqueue_t *q, void *buf, size_t cap, size_t *needed,
                   double timeout);
/* put_nowait / get_nowait: the same with timeout 0 (MT_EFULL / MT_EEMPTY
 * at once), as mt_queue_put_nowait / mt_queue_get_nowait. */
int mt_mpqueue_put_nowait(mt_mpqueue_t *q, const void *data, size_t len);
int mt_mpqueue_get_nowait(mt_mpqueue_t *q, void *buf, size_t cap, size_t *needed);
/* Number of messages queued (works on Linux, unlike Python's macOS one),
 * empty() and full() as 1 / 0. */
int mt_mpqueue_qsize(const mt_mpqueue_t *q);
int mt_mpqueue_is_empty(const mt_mpqueue_t *q);
int mt_mpqueue_is_full(const mt_mpqueue_t *q);
/* The largest message accepted (0 for NULL). */
size_t mt_mpqueue_max_msg(const mt_mpqueue_t *q);
/* JoinableQueue.task_done(): MT_EOVERFLOW if called too often,
 * MT_ENOTSUP on a plain mt_mpqueue_new queue.  Takes no timeout: it waits
 * only for the queue's robust lock, which another process holds for one
 * operation at most (the copy of one message: bounded by max_msg), never
 * while waiting; a holder that died is noticed within ~10 ms. */
int mt_mpqueue_task_done(mt_mpqueue_t *q);
/* JoinableQueue.join(timeout): 0 when every message put was task_done()'d,
 * MT_ETIMEDOUT (always give a timeout when a consumer may die: a dead
 * consumer never calls task_done), MT_ENOTSUP. */
int mt_mpqueue_join(mt_mpqueue_t *q, double timeout);
/* Shuts the queue down for every process (Python 3.13's shutdown
 * semantics, see mt_queue_shutdown).  No timeout, for task_done's
 * reason. */
int mt_mpqueue_shutdown(mt_mpqueue_t *q, bool immediate);
int mt_mpqueue_is_shutdown(const mt_mpqueue_t *q);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
