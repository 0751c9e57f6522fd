/* multitask/pool.h - Python's multiprocessing.Pool and
 * concurrent.futures.ProcessPoolExecutor.  docs/pool.md maps each Python name.
 *
 * Workers are forked processes (daemon: they die with the parent, also when
 * the parent is killed).  A task is a C function that exists in the forked
 * worker (any function of the program: fork keeps the addresses) taking and
 * returning byte strings:
 *
 *   static int square(const void *in, size_t len, mt_value_t *out) {
 *     static int64_t r;  r = *(const int64_t *)in * *(const int64_t *)in;
 *     out->ptr = &r; out->len = sizeof r;  return 0; }
 *
 * The argument bytes are copied to the worker; the result bytes
 * (out->ptr, out->len) are copied back.  They must stay valid until the
 * function returns (a static buffer is fine); out->free_fn, if set, is
 * called on out->ptr in the worker once the bytes were copied.  A result
 * with len 0 carries the pointer VALUE itself (an integer stored in ptr).
 * Return 0 on success or a negative code: the item then fails with that
 * code (MT_ETASKFAILED from futures; mt_task_fail's message is carried).
 *
 * Guarantees Python lacks: a worker that dies (SIGKILL, a segfault, exit()
 * inside a task) fails ONLY the item it was running, with MT_EWORKERDIED and
 * its exit status (-N for signal N); the items it had received but not
 * started run elsewhere; the worker is replaced and the pool goes on.  A
 * RUNNING apply/submit task can be cancelled or given a timeout: its worker
 * is killed and replaced, the task ends MT_ECANCELLED.  terminate() ends
 * every worker within the grace period (SIGTERM, then SIGKILL); free never
 * waits at all (the library finishes in the background).
 * Workers ignore SIGINT unless asked; the library installs no handler in
 * the parent.  Results travel over one duplex pipe per worker (the library's
 * mt_conn) plus a per-worker shared-memory block that records progress, so
 * the parent knows exactly which item a dead worker was running.
 */
#ifndef MULTITASK_POOL_H
#define MULTITASK_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include "multitask/error.h"
#include "multitask/executor.h"
#include "multitask/future.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_pool mt_pool_t;

/* A pool task, run in a worker process (see above). */
typedef int (*mt_pool_fn)(const void *in, size_t len, mt_value_t *out);

/* One input item: len bytes at ptr (ptr may be NULL when len is 0). */
typedef struct mt_bytes {
  const void *ptr;
  size_t len;
} mt_bytes_t;

/* One result of map / imap: the task's value (the same mt_value_t a
 * future hands back) and how the item ended.  value.ptr is a malloc'd copy
 * of the result bytes (value.len of them; value.free_fn is free), or, when
 * the task set len 0, the pointer value itself (value.free_fn NULL).
 * Release with mt_pool_results_release (or value.free_fn(value.ptr)).
 * code: 0, the task's negative code, MT_EWORKERDIED (exitcode = the dead
 * worker's exit status, or -signal), MT_ECANCELLED (terminate) or
 * MT_EBROKEN (initializer failed); value is zero unless code is 0. */
typedef struct mt_pool_result {
  mt_value_t value;
  int code;
  int exitcode;
} mt_pool_result_t;

typedef struct mt_pool_opts {
  size_t size;                   /* set by MT_POOL_OPTS_INIT; 0 is MT_EINVAL */
  int processes;                 /* <= 0: mt_cpu_count() */
  int (*initializer)(void *arg); /* run first in each worker; non-zero: the
                                    pool is broken (MT_EBROKEN), as Python */
  void *initarg;                 /* must exist in the worker (fork copy) */
  long maxtasksperchild;         /* 0: unlimited; counts ITEMS, then the
                                    worker exits and is replaced */
  double grace;                  /* terminate: seconds between SIGTERM and
                                    SIGKILL (default 1.0; 0: SIGKILL at once;
                                    MT_FOREVER: never SIGKILL) */
  bool workers_get_sigint;       /* false (default): workers ignore SIGINT */
} mt_pool_opts_t;
#define MT_POOL_OPTS_INIT {.size = sizeof(mt_pool_opts_t), .grace = 1.0}

/* Python's Pool(processes, initializer, initargs, maxtasksperchild).  opts
 * may be NULL.  Workers are started at once.  NULL + errno (EINVAL, ENOMEM,
 * EAGAIN when fork fails).
 * fork: in a process forked after the pool was made (its workers and
 * result thread are the parent's), apply/map/imap/imap_next, close,
 * terminate and join return MT_EFORKED and mt_pool_free does nothing;
 * make a new pool in the child. */
mt_pool_t *mt_pool_new(const mt_pool_opts_t *opts);

/* Options of one apply_async / submit (NULL: none). */
typedef struct mt_pool_task_opts {
  size_t size;    /* set by MT_POOL_TASK_OPTS_INIT; 0 is MT_EINVAL */
  double timeout; /* MT_FOREVER (default): no limit.  >= 0: kill the worker
                     when the task runs longer; the task ends
                     MT_ECANCELLED (0: as soon as it starts) */
  /* Python's callback / error_callback: run in the pool's result thread
   * (keep them short) when the task succeeded / failed. */
  void (*callback)(const mt_value_t *result, void *arg);
  void (*error_callback)(const mt_task_error_t *error, void *arg);
  void *cb_arg;
} mt_pool_task_opts_t;
#define MT_POOL_TASK_OPTS_INIT {.size = sizeof(mt_pool_task_opts_t), .timeout = MT_FOREVER}

/* Python's apply_async: copies the argument and returns 0 with *out a new
 * future (free with mt_future_free); the future's value is a malloc'd copy
 * of the result (or the pointer value when len 0).  Futures work with
 * mt_future_wait / mt_as_completed, mt_future_cancel (not started) and
 * mt_future_cancel_running (kills the worker: MT_ECANCELLED).  Errors seen
 * by mt_future_result: MT_ETASKFAILED (the task returned a code: see
 * mt_future_exception), MT_EWORKERDIED (mt_pool_died_exitcode tells the
 * status), MT_ECANCELLED, MT_EBROKEN.  Returns MT_ECLOSED after
 * close/terminate, MT_EINVAL, MT_ENOMEM. */
int mt_pool_apply_async(mt_pool_t *p, mt_pool_fn fn, const void *in, size_t len,
                        const mt_pool_task_opts_t *opts, mt_future_t **out);
/* Python's apply (apply_async(...).get(timeout)): apply_async, then waits
 * up to `timeout`.  0 with *out the value (caller frees out->ptr with
 * out->free_fn), the future's error code, or MT_ETIMEDOUT (a task not
 * started yet is dropped; a running one runs to its end, its result
 * discarded), MT_ECANCELLED (the calling coroutine's task was cancelled or
 * killed: the same as a timeout); MT_EINVAL for a bad timeout. */
int mt_pool_apply(mt_pool_t *p, mt_pool_fn fn, const void *in, size_t len, double timeout,
                  mt_value_t *out);

/* The dead worker's exit status for a future that ended MT_EWORKERDIED:
 * 0 and *exitcode (exit status, or -N for signal N); MT_EINVAL otherwise. */
int mt_pool_died_exitcode(mt_future_t *f, int *exitcode);

/* Python's map(fn, items, chunksize): runs fn over items[0..n) and fills
 * results[i] for EVERY item (a failed item does not stop the others).
 * chunksize 0: Python's default (n / (4 * processes), rounded up).
 * The timeout covers the whole call (Python: map_async(...).get(timeout));
 * MT_FOREVER is Python's map.  Returns 0 when all succeeded, else the code
 * of the first failed item in input order (its results[i].code);
 * MT_ETIMEDOUT (items not started are dropped, results[] are zeroed, the
 * items running finish and are discarded), MT_ECANCELLED (the calling
 * coroutine's task was cancelled or killed: as MT_ETIMEDOUT), MT_ECLOSED,
 * MT_EINVAL, MT_ENOMEM. */
int mt_pool_map(mt_pool_t *p, mt_pool_fn fn, const mt_bytes_t *items, size_t n,
                size_t chunksize, double timeout, mt_pool_result_t *results);
/* Python's map_async: as map but returns at once with *out a future that
 * completes when every results[i] is filled: value none on success, else
 * the first failing code as an MT_ETASKFAILED exception.  items and
 * results must stay valid until then. */
int mt_pool_map_async(mt_pool_t *p, mt_pool_fn fn, const mt_bytes_t *items, size_t n,
                      size_t chunksize, mt_pool_result_t *results, mt_future_t **out);
/* Python's starmap(fn, [(a, b), (c, d), ...], chunksize): each item is an
 * argument vector of byte strings; the worker calls
 * fn(argc, argv, &value) with argv[k] pointing to a copy of item k's bytes
 * (each copy 8-byte aligned; ptr NULL when len is 0).  results[i] as map
 * (in input order; a failed item does not stop the others); the return
 * value as mt_pool_map.  MT_EINVAL also for an item with argc < 0, argv
 * NULL while argc > 0, or an argument with len > 0 and ptr NULL. */
typedef struct mt_pool_args {
  int argc;
  const mt_bytes_t *argv;
} mt_pool_args_t;
typedef int (*mt_pool_starfn)(int argc, const mt_bytes_t *argv, mt_value_t *out);
int mt_pool_starmap(mt_pool_t *p, mt_pool_starfn fn, const mt_pool_args_t *items, size_t n,
                    size_t chunksize, double timeout, mt_pool_result_t *results);
/* Python's starmap_async: as map_async (a future that completes when every
 * results[i] is filled).  The arguments are copied before it returns, so
 * items may go at once; results must stay valid until the future is done. */
int mt_pool_starmap_async(mt_pool_t *p, mt_pool_starfn fn, const mt_pool_args_t *items,
                          size_t n, size_t chunksize, mt_pool_result_t *results,
                          mt_future_t **out);
/* Releases results[i].value (its free_fn) for i < n and zeroes them. */
void mt_pool_results_release(mt_pool_result_t *results, size_t n);

/* Python's imap / imap_unordered: an iterator over the results.  The items
 * are copied (the iterator may be dropped before they were all sent). */
typedef struct mt_pool_imap mt_pool_imap_t;
mt_pool_imap_t *mt_pool_imap_new(mt_pool_t *p, mt_pool_fn fn, const mt_bytes_t *items,
                             size_t n, size_t chunksize, bool unordered);
/* next(timeout): 1 with *out (its value is now the caller's) and *index (may
 * be NULL) the item's input index; 0 when all were returned; MT_ETIMEDOUT
 * (Python's TimeoutError: nothing is lost, call again); MT_ECANCELLED (the
 * calling coroutine's task was cancelled or killed: nothing lost either);
 * MT_EINVAL. */
int mt_pool_imap_next(mt_pool_imap_t *it, double timeout, mt_pool_result_t *out,
                      size_t *index);
/* Frees the iterator; never blocks.  Its items not started yet are
 * dropped; those running finish in the workers, their results dropped. */
void mt_pool_imap_free(mt_pool_imap_t *it);

/* Python's close(): no new work; workers exit once the queued work is done. */
int mt_pool_close(mt_pool_t *p);
/* Python's terminate(): stops now.  Work not finished ends MT_ECANCELLED;
 * workers get SIGTERM, then SIGKILL after the grace period.  Then waits up
 * to `timeout` until every worker is gone (about grace seconds at most; 0:
 * start the terminate and return).  0, MT_ETIMEDOUT (the terminate goes on:
 * mt_pool_join waits for its end), MT_EDEADLK (from a callback: started,
 * not waited for), MT_EINVAL. */
int mt_pool_terminate(mt_pool_t *p, double timeout);
/* Python's join(): waits until the workers are gone; only after close or
 * terminate (else MT_EBUSY, Python's ValueError).  0 or MT_ETIMEDOUT. */
int mt_pool_join(mt_pool_t *p, double timeout);
/* Frees the pool; never blocks (docs/api.md, Life cycle).  An open pool is
 * terminated (Python's `with Pool()` exit: queued work ends MT_ECANCELLED,
 * running tasks are stopped with SIGTERM, then SIGKILL after the grace); a
 * closed pool (mt_pool_close first) runs its queued work to the end.
 * Either way that happens in the background: the pool's manager thread
 * finishes it, reaps the workers and releases the pool.  To wait, call
 * mt_pool_close or mt_pool_terminate, then mt_pool_join(p, timeout), before
 * freeing.  Futures handed out stay valid and complete as usual.  NULL is
 * ignored.  May be called from a callback (on the manager thread).
 * The rule with other threads: a thread that is already INSIDE a call on p
 * (mt_pool_join, mt_pool_terminate, mt_pool_close, a map, ...) when
 * mt_pool_free is called, from a callback or from another thread, is safe:
 * the memory is released only when the last such call has returned (and
 * the last imap iterator was freed with mt_pool_imap_free).  A call that
 * STARTS after mt_pool_free was called is a use after free.  The manager
 * and workers die with the process: background work still queued at exit
 * is lost. */
void mt_pool_free(mt_pool_t *p);

/* Pids of the live workers into out (up to n); returns how many there are
 * (a dead worker's replacement may still be starting). */
int mt_pool_pids(mt_pool_t *p, int *out, int n);
/* Number of workers started so far (replacements included). */
long mt_pool_workers_started(mt_pool_t *p);

/* ---- ProcessPoolExecutor -------------------------------------------- */

typedef struct mt_process_pool_opts {
  size_t size;                   /* set by MT_PROCESS_POOL_OPTS_INIT; 0 is MT_EINVAL */
  int max_workers;               /* <= 0: mt_cpu_count() */
  int (*initializer)(void *arg); /* as mt_pool_opts_t */
  void *initarg;
  long max_tasks_per_child;      /* 0: unlimited */
  double grace;                  /* SIGTERM -> SIGKILL, as mt_pool_opts_t */
  double shutdown_timeout;       /* shutdown(wait): after this many seconds
                                    the running work is killed (the tasks
                                    end MT_ECANCELLED); MT_FOREVER (default):
                                    wait for it */
} mt_process_pool_opts_t;
#define MT_PROCESS_POOL_OPTS_INIT \
  {.size = sizeof(mt_process_pool_opts_t), .grace = 1.0, .shutdown_timeout = MT_FOREVER}

/* Python's ProcessPoolExecutor behind the executor interface (kind
 * "process").  mt_executor_submit(ex, fn, arg, &f) runs fn(arg, &value) in
 * a worker: arg is passed BY VALUE (its bits): an integer, or a pointer to
 * memory that existed when the pool started (globals, MT_SHARED memory);
 * a value with len > 0 is copied back as bytes (malloc'd, freed with the
 * future), len 0 returns the pointer value.  mt_executor_map works: its
 * chunks run in the workers.  shutdown(wait, cancel_futures, timeout) as
 * Python, also bounded by shutdown_timeout; mt_executor_free never waits
 * (the queued work runs to its end in the background, shutdown_timeout
 * does not apply there).  NULL + errno. */
mt_executor_t *mt_executor_new_process_pool(const mt_process_pool_opts_t *opts);
/* The bytes form of submit (argument copied) with task options (timeout,
 * callbacks); same codes as mt_pool_apply_async. */
int mt_executor_submit_bytes(mt_executor_t *ex, mt_pool_fn fn, const void *in, size_t len,
                           const mt_pool_task_opts_t *opts, mt_future_t **out);
/* The Pool behind a process executor (pids, started count), or NULL. */
mt_pool_t *mt_executor_pool(mt_executor_t *ex);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
