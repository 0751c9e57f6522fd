/* Executor: the one interface every executor (thread pool, process pool,
 * coroutine runner, Redis-backed) implements, and what is built on it for
 * all of them: map, the scoped "with" form, argument checking.
 *
 * Why a table of functions: Redis' ae backends show that a small static
 * interface keeps each implementation self-contained; the user sees one
 * mt_executor_t and one mt_future_t whatever runs the work.
 *
 * map: items run in chunks (one future per chunk).  A chunk copies its
 * argument pointers and returns its values in its own buffer (the chunk's
 * future owns it), so a map that gives up early (timeout, failure) leaves
 * nothing running that points into the caller's arrays.  Values are moved
 * to results[] in input order as each chunk's future is collected.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "executor/pool_internal.h"
#include "future/future_internal.h"
#include "wait/wait.h"

mt_executor_t *mt_executor_new(const mt_executor_ops_t *ops, void *self) {
  if (!ops || !ops->submit || !ops->shutdown || !ops->destroy)
    return mt__fail_null(MT_EINVAL);
  mt_executor_t *ex = mt__malloc(sizeof *ex);
  if (!ex) return mt__fail_null(MT_ENOMEM);
  ex->ops = ops;
  ex->self = self;
  return ex;
}

const char *mt_executor_kind(const mt_executor_t *ex) {
  if (!ex) return NULL;
  return ex->ops->kind ? ex->ops->kind : "";
}

int mt_executor_submit(mt_executor_t *ex, mt_task_fn fn, void *arg, mt_future_t **out) {
  if (!ex || !fn || !out) return MT_EINVAL;
  *out = NULL;
  return ex->ops->submit(ex->self, fn, arg, out);
}

int mt_executor_shutdown(mt_executor_t *ex, bool wait, bool cancel_futures, double timeout) {
  int64_t deadline;
  if (!ex || mt__deadline(timeout, &deadline) < 0) return MT_EINVAL;
  return ex->ops->shutdown(ex->self, wait, cancel_futures, timeout);
}

int mt_executor_resize(mt_executor_t *ex, int max_workers) {
  if (!ex || max_workers < 1) return MT_EINVAL;
  if (!ex->ops->resize) return MT_ENOTSUP;
  return ex->ops->resize(ex->self, max_workers);
}

int mt_executor_max_workers(mt_executor_t *ex) {
  if (!ex) return MT_EINVAL;
  if (!ex->ops->max_workers) return MT_ENOTSUP;
  return ex->ops->max_workers(ex->self);
}

/* Never blocks (docs/api.md, Life cycle): shutdown without wait, then the
 * implementation's destroy hands the queued and running work to its own
 * workers, which release it when they are done. */
void mt_executor_free(mt_executor_t *ex) {
  if (!ex) return;
  ex->ops->shutdown(ex->self, false, false, 0);
  ex->ops->destroy(ex->self);
  mt__free(ex);
}

/* Python's `with` exit: shutdown(wait=True), then free. */
void mt_executor_scope_end(mt_executor_t **ex) {
  if (!ex || !*ex) return;
  mt_executor_shutdown(*ex, true, false, MT_FOREVER);
  mt_executor_free(*ex);
}

/* ---- map --------------------------------------------------------------- */

typedef struct chunk_out {
  size_t done;   /* values stored */
  int code;      /* 0, or the failing item's code (item index = done) */
  mt_value_t v[];
} chunk_out_t;

typedef struct chunk {
  mt_task_fn fn;
  size_t count;
  void *args[];
} chunk_t;

static void chunk_out_free(void *ptr) {
  chunk_out_t *o = ptr;
  for (size_t i = 0; i < o->done; i++)
    if (o->v[i].free_fn) o->v[i].free_fn(o->v[i].ptr);
  mt__free(o);
}

static int run_chunk(void *arg, mt_value_t *result) {
  chunk_t *c = arg;
  chunk_out_t *o = mt__calloc(1, sizeof *o + c->count * sizeof(mt_value_t));
  if (!o) {
    mt__free(c);
    return mt_task_fail(MT_ENOMEM, "map: no memory for a chunk's results");
  }
  for (size_t i = 0; i < c->count; i++) {
    int r = c->fn(c->args[i], &o->v[i]);
    if (r < 0) {
      if (o->v[i].free_fn) o->v[i].free_fn(o->v[i].ptr);
      o->v[i] = (mt_value_t){0};
      o->code = r;
      break;
    }
    o->done++;
  }
  mt__free(c);
  *result = (mt_value_t){o, sizeof *o, chunk_out_free};
  return 0;
}

static size_t auto_chunksize(mt_executor_t *ex, size_t n) {
  int w = mt_executor_max_workers(ex);
  size_t chunks = (size_t)(w > 0 ? w : 1) * 4;
  size_t cs = (n + chunks - 1) / chunks;
  return cs ? cs : 1;
}

/* Submits chunk j covering args[start, start + count). */
static int submit_chunk(mt_executor_t *ex, mt_task_fn fn, void *const *args, size_t start,
                        size_t count, mt_future_t **out) {
  chunk_t *c = mt__malloc(sizeof *c + count * sizeof(void *));
  if (!c) return MT_ENOMEM;
  c->fn = fn;
  c->count = count;
  memcpy(c->args, args + start, count * sizeof(void *));
  int r = mt_executor_submit(ex, run_chunk, c, out);
  if (r < 0) mt__free(c);
  return r;
}

/* Gives up a chunk: cancels it if not started.  A chunk that never ran
 * (cancelled, or failed by the executor: broken pool, dead worker) still
 * owns its argument block; one that ran (or runs) frees it itself.  Decided
 * from the future's state, never from a wait: the caller may be a killed
 * task, whose every wait returns MT_ECANCELLED, even one with timeout 0
 * (that answer once freed the block of a running chunk). */
static void drop_chunk_future(mt_future_t *f) {
  mt_future_cancel(f);
  int st = mt_future_state(f);
  if (st == MT_FUTURE_CANCELLED || (st == MT_FUTURE_FINISHED && f->err && !f->task_err))
    mt__free(f->arg);
  mt_future_free(f);
}

/* Moves chunk j's values into results; returns 0 or the failing code. */
static int collect_chunk(mt_future_t *f, int64_t deadline, mt_value_t *results,
                         size_t start, size_t *failed_index) {
  mt_value_t v;
  int r = mt_future_result(f, mt__deadline_left(deadline), &v);
  if (r == MT_ETASKFAILED) return MT_ENOMEM; /* run_chunk fails only for memory */
  if (r < 0) return r;
  chunk_out_t *o = v.ptr;
  memcpy(results + start, o->v, o->done * sizeof(mt_value_t));
  size_t done = o->done;
  o->done = 0; /* moved: the future's free must not free them */
  if (o->code < 0) {
    if (failed_index) *failed_index = start + done;
    return MT_ETASKFAILED;
  }
  return 0;
}

int mt_executor_map(mt_executor_t *ex, mt_task_fn fn, void *const *args, size_t n,
                    double timeout, size_t chunksize, mt_value_t *results,
                    size_t *failed_index) {
  if (!ex || !fn || (n > 0 && (!args || !results))) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  if (n == 0) return 0;
  memset(results, 0, n * sizeof *results);
  if (ex->ops->map)
    return ex->ops->map(ex->self, fn, args, n, mt__deadline_left(deadline), chunksize,
                        results, failed_index);
  size_t cs = chunksize ? chunksize : auto_chunksize(ex, n);
  size_t nchunks = (n + cs - 1) / cs;
  mt_future_t **fs = mt__calloc(nchunks, sizeof *fs);
  if (!fs) return MT_ENOMEM;
  size_t submitted = 0;
  for (; submitted < nchunks && r == 0; submitted++) {
    size_t start = submitted * cs;
    size_t count = n - start < cs ? n - start : cs;
    r = submit_chunk(ex, fn, args, start, count, &fs[submitted]);
    if (r < 0) break;
  }
  for (size_t j = 0; j < submitted; j++) {
    if (r == 0) {
      r = collect_chunk(fs[j], deadline, results, j * cs, failed_index);
      if (r < 0) {
        drop_chunk_future(fs[j]);
        continue;
      }
      mt_future_free(fs[j]);
    } else {
      drop_chunk_future(fs[j]); /* as Python: cancel what did not start */
    }
  }
  mt__free(fs);
  return r;
}
