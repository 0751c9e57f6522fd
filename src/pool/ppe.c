/* ppe.c - ProcessPoolExecutor: the pool (pool.c) behind the executor
 * interface of the futures part, so process tasks hand out the same
 * mt_future_t as thread tasks and work with wait / as_completed.
 *
 * submit(fn, arg) runs fn(arg, &value) in a worker with arg passed by value
 * (its 8 bytes travel; what it points to must exist in the worker).  map
 * goes through the executor's optional map operation: the generic map would
 * hand the workers a chunk descriptor allocated in the parent after they
 * were forked, which they cannot see.  shutdown(wait, timeout) waits for
 * the queued work up to timeout; when the shutdown_timeout option is
 * shorter, the pool is terminated at that deadline (SIGTERM, grace,
 * SIGKILL).  free never waits: the closed pool drains in the background. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "executor/pool_internal.h"
#include "pool/pool_internal.h"
#include "wait/wait.h"

typedef struct ppe {
  mt_pool_t *pool;
  double shutdown_timeout;
} ppe_t;

static const mt_executor_ops_t ppe_ops;

static int ppe_submit(void *self, mt_task_fn fn, void *arg, mt_future_t **out) {
  ppe_t *e = self;
  return mt__pool_submit_one(e->pool, MODE_VALUE, (void *)(uintptr_t)fn, &arg, sizeof arg,
                             NULL, out);
}

/* wait: up to `timeout`; the pool's own shutdown_timeout (a policy: kill
 * the work still running by then) applies within it. */
static int ppe_shutdown(void *self, bool wait, bool cancel_futures, double timeout) {
  ppe_t *e = self;
  int64_t deadline;
  if (mt__deadline(timeout, &deadline) < 0) return MT_EINVAL;
  if (cancel_futures) mt__pool_cancel_pending(e->pool);
  mt_pool_close(e->pool);
  if (!wait) return 0;
  double left = mt__deadline_left(deadline);
  bool policy_first = e->shutdown_timeout != MT_FOREVER &&
                      (left == MT_FOREVER || e->shutdown_timeout < left);
  int r = mt_pool_join(e->pool, policy_first ? e->shutdown_timeout : left);
  if (r == MT_ETIMEDOUT && policy_first)
    r = mt_pool_terminate(e->pool, mt__deadline_left(deadline));
  return r == MT_EDEADLK ? 0 : r; /* from one of its own callbacks */
}

static int ppe_max_workers(void *self) { return ((ppe_t *)self)->pool->nw; }

/* Never blocks: the pool (closed by the shutdown before) finishes its
 * queued work and releases itself in the background (mt_pool_free). */
static void ppe_destroy(void *self) {
  ppe_t *e = self;
  mt_pool_free(e->pool);
  mt__free(e);
}

static int ppe_map(void *self, mt_task_fn fn, void *const *args, size_t n, double timeout,
                   size_t chunksize, mt_value_t *results, size_t *failed_index) {
  ppe_t *e = self;
  mt_bytes_t *items = mt__malloc((n ? n : 1) * sizeof *items);
  mt_pool_result_t *res = mt__calloc(n ? n : 1, sizeof *res);
  if (!items || !res) {
    mt__free(items);
    mt__free(res);
    return MT_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) items[i] = (mt_bytes_t){&args[i], sizeof args[i]};
  int r = mt__pool_map_values(e->pool, MODE_VALUE, (void *)(uintptr_t)fn, items, n,
                              chunksize, timeout, res);
  mt__free(items);
  if (r == MT_ETIMEDOUT || r == MT_ECLOSED || r == MT_EBROKEN || r == MT_EINVAL ||
      r == MT_ENOMEM) {
    if (r != MT_ETIMEDOUT) mt_pool_results_release(res, n);
    mt__free(res);
    return r;
  }
  r = 0;
  for (size_t i = 0; i < n; i++) {
    if (r == 0 && res[i].code < 0) {
      int c = res[i].code;
      r = (c == MT_EWORKERDIED || c == MT_ECANCELLED || c == MT_EBROKEN) ? c : MT_ETASKFAILED;
      if (failed_index) *failed_index = i;
    }
    if (r < 0) {
      mt_pool_results_release(&res[i], 1);
      continue;
    }
    results[i] = res[i].value; /* the bytes' copy, or the pointer value */
  }
  mt__free(res);
  return r;
}

static const mt_executor_ops_t ppe_ops = {
    .kind = "process",
    .submit = ppe_submit,
    .shutdown = ppe_shutdown,
    .max_workers = ppe_max_workers,
    .destroy = ppe_destroy,
    .map = ppe_map,
};

mt_executor_t *mt_executor_new_process_pool(const mt_process_pool_opts_t *opts) {
  if (opts && !mt__opts_size_ok(opts->size, sizeof(mt_process_pool_opts_t)))
    return mt__fail_null(MT_EINVAL);
  mt_process_pool_opts_t o = opts ? *opts : (mt_process_pool_opts_t)MT_PROCESS_POOL_OPTS_INIT;
  if (!mt__time_opt_ok(o.shutdown_timeout)) return mt__fail_null(MT_EINVAL);
  mt_pool_opts_t po = MT_POOL_OPTS_INIT;
  po.processes = o.max_workers;
  po.initializer = o.initializer;
  po.initarg = o.initarg;
  po.maxtasksperchild = o.max_tasks_per_child;
  po.grace = o.grace;
  ppe_t *e = mt__calloc(1, sizeof *e);
  if (!e) return mt__fail_null(MT_ENOMEM);
  e->shutdown_timeout = o.shutdown_timeout;
  e->pool = mt_pool_new(&po);
  if (!e->pool) {
    int err = errno;
    mt__free(e);
    return mt__fail_null(-err);
  }
  mt_executor_t *ex = mt_executor_new(&ppe_ops, e);
  if (!ex) {
    mt_pool_free(e->pool);
    mt__free(e);
    return mt__fail_null(MT_ENOMEM);
  }
  return ex;
}

mt_pool_t *mt_executor_pool(mt_executor_t *ex) {
  if (!ex || ex->ops != &ppe_ops) return NULL;
  return ((ppe_t *)ex->self)->pool;
}

int mt_executor_submit_bytes(mt_executor_t *ex, mt_pool_fn fn, const void *in, size_t len,
                           const mt_pool_task_opts_t *opts, mt_future_t **out) {
  mt_pool_t *p = mt_executor_pool(ex);
  if (!p) {
    if (out) *out = NULL;
    return MT_EINVAL;
  }
  return mt__pool_submit_one(p, MODE_BYTES, (void *)(uintptr_t)fn, in, len, opts, out);
}
