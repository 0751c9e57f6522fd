/* multitask/executor.h - Python's concurrent.futures.Executor and
 * ThreadPoolExecutor.  docs/futures.md maps each Python name.
 *
 * mt_executor_t is one interface (a small table of functions) with several
 * implementations behind it: the thread pool here, and the process pool, a
 * coroutine runner or a Redis-backed executor elsewhere, all handing out
 * the same mt_future_t.  An implementation fills mt_executor_ops_t and wraps
 * itself with mt_executor_new; mt_executor_map and the scoped "with" form
 * work for every implementation. */
#ifndef MULTITASK_EXECUTOR_H
#define MULTITASK_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include "multitask/error.h"
#include "multitask/future.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_executor mt_executor_t;

/* The interface.  Every function gets the implementation's `self`.
 * submit: makes a future for fn(arg) and returns 0 (*out = the caller's
 *   reference) or MT_ECLOSED / MT_EBROKEN / MT_ENOMEM.
 * shutdown: stops accepting work; cancel_futures cancels queued work; wait
 *   waits until all started work ended, at most `timeout` (a checked
 *   MT_FOREVER or >= 0; MT_ETIMEDOUT).  Must be callable more than once.
 * resize: changes max_workers (MT_ENOTSUP if it cannot).
 * destroy: called after a shutdown WITHOUT wait; must not block: the
 *   implementation lets its queued and running work finish and frees self
 *   when the last of it ended (mt_executor_free never blocks).
 * map: the implementation's own mt_executor_map (same contract), for
 *   executors whose workers cannot run the generic chunk tasks (a process
 *   pool's workers do not share the parent's heap).
 * Optional (NULL): resize, map. */
typedef struct mt_executor_ops {
  const char *kind; /* "thread", "process", ... */
  int (*submit)(void *self, mt_task_fn fn, void *arg, mt_future_t **out);
  int (*shutdown)(void *self, bool wait, bool cancel_futures, double timeout);
  int (*resize)(void *self, int max_workers);
  int (*max_workers)(void *self);
  void (*destroy)(void *self);
  int (*map)(void *self, mt_task_fn fn, void *const *args, size_t n, double timeout,
             size_t chunksize, mt_value_t *results, size_t *failed_index);
} mt_executor_ops_t;

/* Wraps an implementation (ops must outlive the executor).  NULL + errno. */
mt_executor_t *mt_executor_new(const mt_executor_ops_t *ops, void *self);
/* "thread", "process", ... (NULL for NULL). */
const char *mt_executor_kind(const mt_executor_t *ex);

/* ---- ThreadPoolExecutor --------------------------------------------- */

typedef struct mt_thread_pool_opts {
  size_t size;                    /* set by MT_THREAD_POOL_OPTS_INIT; 0 is MT_EINVAL */
  int max_workers;                /* <= 0: min(32, ncpu + 4), as Python */
  const char *thread_name_prefix; /* NULL: "ThreadPoolExecutor-N"; workers
                                     are named "<prefix>_<index>" (kernel
                                     names keep the first 15 bytes) */
  int (*initializer)(void *arg);  /* run first in each worker; a non-zero
                                     return breaks the pool */
  void *initarg;
} mt_thread_pool_opts_t;
#define MT_THREAD_POOL_OPTS_INIT {.size = sizeof(mt_thread_pool_opts_t)}

/* Python's ThreadPoolExecutor(max_workers, thread_name_prefix, initializer,
 * initargs).  opts may be NULL.  Workers start lazily, one per submit that
 * finds no idle worker, up to max_workers.  NULL + errno (EINVAL, ENOMEM). */
mt_executor_t *mt_executor_new_thread_pool(const mt_thread_pool_opts_t *opts);

/* ---- Executor methods (every implementation) ------------------------ */

/* Python's submit(fn, arg): 0 and *out = a new future (free it with
 * mt_future_free), MT_ECLOSED after shutdown, MT_EBROKEN when a worker's
 * initializer failed, MT_EFORKED for a thread pool made before fork (in the
 * child its workers do not exist; shutdown and resize say the same, and
 * mt_executor_free returns at once), MT_EINVAL for NULL ex/fn/out. */
int mt_executor_submit(mt_executor_t *ex, mt_task_fn fn, void *arg, mt_future_t **out);

/* Python's map(fn, iterable, timeout, chunksize): runs fn(args[i]) for i in
 * [0, n) and stores each value in results[i] in INPUT order (the caller
 * owns them afterwards).  chunksize items run as one task (0: automatic,
 * about 4 chunks per worker; Python's thread pool uses 1, its process pool
 * honours the argument).  The timeout covers the whole call.  Returns 0
 * when every item succeeded; else the first failure in input order
 * (MT_ETASKFAILED: *failed_index, if not NULL, names the item and
 * results[] after it are zero), or MT_ETIMEDOUT (work not started yet is
 * cancelled, as Python), MT_ECLOSED, MT_EBROKEN, MT_EINVAL.  On failure the
 * values already stored stay the caller's. */
int mt_executor_map(mt_executor_t *ex, mt_task_fn fn, void *const *args, size_t n,
                    double timeout, size_t chunksize, mt_value_t *results,
                    size_t *failed_index);

/* Python's shutdown(wait, cancel_futures): no new work is accepted
 * (MT_ECLOSED); cancel_futures cancels every future not started yet; wait
 * blocks until the running and queued work ended and the workers are gone,
 * at most `timeout` seconds (MT_FOREVER: no limit, Python's wait=True).
 * 0, MT_ETIMEDOUT (the work goes on; call again to wait more), MT_EINVAL
 * (NULL, bad timeout); MT_ECANCELLED when the calling coroutine was killed
 * while it waited (shut down all the same).  Calling it again is fine.  Called from one of the
 * pool's own workers (e.g. in a callback) with wait, it does not wait for
 * itself. */
int mt_executor_shutdown(mt_executor_t *ex, bool wait, bool cancel_futures, double timeout);

/* Changes max_workers at run time (>= 1).  Growing lets later submits start
 * more workers; shrinking makes idle workers above the limit exit (busy ones
 * exit when they become idle).  MT_EINVAL, MT_ECLOSED, MT_ENOTSUP. */
int mt_executor_resize(mt_executor_t *ex, int max_workers);
/* Current max_workers, or MT_EINVAL. */
int mt_executor_max_workers(mt_executor_t *ex);
/* Number of worker threads alive right now (thread pool only, else
 * MT_ENOTSUP). */
int mt_executor_thread_count(mt_executor_t *ex);

/* Frees the executor; never blocks (docs/api.md, Life cycle).  It is shut
 * down (no new work) but NOT waited for: the work already submitted, queued
 * or running, still runs to its end in the background (its futures
 * complete as usual) and the library releases the workers and the pool
 * afterwards.  To wait first, call mt_executor_shutdown(ex, true, ...,
 * timeout).  Futures it handed out stay valid (free them separately).
 * NULL is ignored.  Workers are daemon threads / processes: work still
 * running when the program exits is lost, as with a daemon thread. */
void mt_executor_free(mt_executor_t *ex);

/* The `with` statement: a variable declared
 *     mt_executor_t *ex MT_WITH_EXECUTOR = mt_executor_new_thread_pool(NULL);
 * is shut down (wait = true, no time limit: Python's `with` exit waits) and
 * freed when it goes out of scope. */
void mt_executor_scope_end(mt_executor_t **ex);
#define MT_WITH_EXECUTOR __attribute__((cleanup(mt_executor_scope_end)))

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
