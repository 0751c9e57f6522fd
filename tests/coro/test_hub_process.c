/* A task parked on an MT_SHARED semaphore, event or condition is woken when
 * ANOTHER PROCESS releases it: the hub re-checks parked words (once per
 * round, at least every 1 ms while it sleeps), so the release reaches the
 * task although the releasing process knows nothing of the hub.  The child
 * is forked after the task parked and releases while the parent's thread
 * is parked in mt_coro_join (its hub asleep in poll).
 *
 * The table of issue 15 for the calls that wait for other processes
 * (Process join, Pool map / apply / imap next, subprocess wait): task A
 * blocks, task B on the same hub releases it (an MT_SHARED event the
 * child or the pool's worker waits on; a line on the subprocess's stdin);
 * and A cancelled or killed instead: MT_ECANCELLED, and the next waiter
 * gets the object (the process, the pool, the iterator's item).  The
 * objects are made before the hub: a child forked while a hub runs on the
 * thread would inherit it (see the report in docs/coroutines.md). */
#include "mt_test.h"
#include "queue/queue_internal.h"

#include <stdatomic.h>

static atomic_int parked;

static int sem_waiter(void *arg, mt_value_t *out) {
  (void)out;
  atomic_store(&parked, 1);
  return mt_sem_acquire(arg, 30.0);
}

static int event_waiter(void *arg, mt_value_t *out) {
  (void)out;
  atomic_store(&parked, 1);
  return mt_event_wait(arg, 30.0);
}

static void released_by(mt_task_fn waiter, void *obj, int (*release)(void *)) {
  mt_hub_t *h = mt_hub_new();
  assert_non_null(h);
  atomic_store(&parked, 0);
  mt_future_t *t = mt_coro_spawn(waiter, obj, NULL);
  assert_code(mt_coro_sleep(0), 0); /* the task runs and parks */
  assert_int_equal(atomic_load(&parked), 1);
  assert_code(mt_future_is_done(t), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(release(obj) == 0 ? 0 : 1);
  assert_code(mt_future_result(t, 30.0, NULL), 0);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  mt_future_free(t);
  mt_hub_free(h);
}

static int sem_release(void *s) { return mt_sem_release(s, 1); }
static int event_set(void *e) { return mt_event_set(e); }

static void woken_by_another_process(void **state) {
  (void)state;
  int rounds = (int)mt_test_scaled(20, 2);
  for (int i = 0; i < rounds; i++) {
    mt_sem_t *s = mt_sem_new(0, MT_SHARED);
    released_by(sem_waiter, s, sem_release);
    assert_code(mt_sem_value(s), 0);
    mt_sem_free(s);
    mt_event_t *e = mt_event_new(MT_SHARED);
    released_by(event_waiter, e, event_set);
    mt_event_free(e);
  }
}

/* ---- the table ------------------------------------------------------------------ */

enum { P_JOIN, P_MAP, P_APPLY, P_IMAP, P_POPEN, P_N };
static const char *pnames[P_N] = {"process join", "pool map", "pool apply", "pool imap next",
                                  "subprocess wait"};

static mt_event_t *go; /* MT_SHARED: the child / the worker waits for it */

typedef struct {
  int kind;
  mt_process_t *proc;
  mt_pool_t *pool;
  mt_pool_imap_t *it;
  mt_popen_t *popen;
  bool again;
  double again_timeout;
  atomic_int started, done;
  int r, r2;
} prow_t;

static int child_waits(void *arg) {
  (void)arg;
  return mt_event_wait(go, 30.0) == 0 ? 0 : 3;
}

static int item_waits(const void *in, size_t len, mt_value_t *out) {
  (void)in;
  (void)len;
  out->ptr = (void *)7;
  return mt_event_wait(go, 30.0);
}

static void pmake(prow_t *x) {
  go = mt_event_new(MT_SHARED);
  assert_non_null(go);
  if (x->kind == P_JOIN) {
    x->proc = mt_process_new(child_waits, NULL, NULL);
    assert_non_null(x->proc);
    assert_code(mt_process_start(x->proc), 0);
  } else if (x->kind == P_POPEN) {
    mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
    o.stdin_fd = MT_SUBPROCESS_PIPE;
    x->popen = mt_popen_new_shell("read line; exit 5", &o);
    assert_non_null(x->popen);
  } else {
    mt_pool_opts_t o = MT_POOL_OPTS_INIT;
    o.processes = 1;
    x->pool = mt_pool_new(&o);
    assert_non_null(x->pool);
    if (x->kind == P_IMAP) {
      mt_bytes_t one = {NULL, 0};
      x->it = mt_pool_imap_new(x->pool, item_waits, &one, 1, 1, false);
      assert_non_null(x->it);
    }
  }
}

static void pdestroy(prow_t *x) {
  if (x->proc) {
    int code = -1;
    assert_code(mt_process_join(x->proc, 30.0), 0);
    assert_code(mt_process_exitcode(x->proc, &code), 0);
    assert_int_equal(code, 0);
    mt_process_free(x->proc);
  }
  if (x->popen) {
    int rc = -1;
    assert_code(mt_popen_wait(x->popen, 30.0, &rc), 0);
    assert_int_equal(rc, 5);
    mt_popen_free(x->popen);
  }
  if (x->it) {
    mt_pool_result_t out;
    assert_code(mt_pool_imap_next(x->it, 0, &out, NULL), 0); /* its one item was taken */
    mt_pool_imap_free(x->it);
  }
  if (x->pool) {
    assert_code(mt_pool_close(x->pool), 0);
    assert_code(mt_pool_join(x->pool, 30.0), 0);
    mt_pool_free(x->pool);
  }
  mt_event_free(go);
}

static int pblock(prow_t *x, double timeout) {
  switch (x->kind) {
  case P_JOIN: return mt_process_join(x->proc, timeout);
  case P_MAP: {
    mt_bytes_t one = {NULL, 0};
    mt_pool_result_t res;
    int r = mt_pool_map(x->pool, item_waits, &one, 1, 1, timeout, &res);
    if (r == 0) assert_ptr_equal(res.value.ptr, (void *)7);
    return r;
  }
  case P_APPLY: {
    mt_value_t v = {0};
    int r = mt_pool_apply(x->pool, item_waits, NULL, 0, timeout, &v);
    if (r == 0) assert_ptr_equal(v.ptr, (void *)7);
    return r;
  }
  case P_IMAP: {
    mt_pool_result_t out;
    int r = mt_pool_imap_next(x->it, timeout, &out, NULL);
    if (r == 1) assert_ptr_equal(out.value.ptr, (void *)7);
    return r == 1 ? 0 : r;
  }
  case P_POPEN: {
    int rc = -1;
    int r = mt_popen_wait(x->popen, timeout, &rc);
    if (r == 0) assert_int_equal(rc, 5);
    return r;
  }
  }
  return MT_EINVAL;
}

static int prelease(prow_t *x) {
  if (x->kind != P_POPEN) return mt_event_set(go);
  int fd = mt_popen_stdin(x->popen);
  return write(fd, "\n", 1) == 1 ? 0 : MT_EIO;
}

static int pwaiter(void *arg, mt_value_t *out) {
  (void)out;
  prow_t *x = arg;
  atomic_store(&x->started, 1);
  x->r = pblock(x, MT_FOREVER);
  if (x->r == MT_ECANCELLED && x->again) x->r2 = pblock(x, x->again_timeout);
  atomic_store(&x->done, 1);
  return x->r;
}

static int preleaser(void *arg, mt_value_t *out) {
  (void)out;
  prow_t *x = arg;
  assert_int_equal(atomic_load(&x->started), 1); /* A ran first and parked */
  assert_int_equal(atomic_load(&x->done), 0);
  return prelease(x);
}

/* A blocks, B releases it, both on one hub; both end. */
static void hand_off(prow_t *x) {
  atomic_store(&x->started, 0);
  atomic_store(&x->done, 0);
  mt_future_t *a = mt_coro_spawn(pwaiter, x, NULL), *b = mt_coro_spawn(preleaser, x, NULL);
  assert_non_null(a);
  assert_non_null(b);
  mt_future_t *both[2] = {a, b};
  if (mt_coro_joinall(both, 2, 30.0) != 2) fail_msg("%s: not done", pnames[x->kind]);
  if (x->r != 0) fail_msg("%s: A got %s", pnames[x->kind], mt_err_name(x->r));
  assert_code(mt_future_result(b, 0, NULL), 0);
  mt_future_free(a);
  mt_future_free(b);
}

static void process_calls_in_tasks(void **state) {
  (void)state;
  for (int mode = 0; mode < 3; mode++) /* hand-off, cancelled, killed */
    for (int k = 0; k < P_N; k++) {
      bool kill = mode == 2;
      prow_t x = {.kind = k, .again = mode > 0, .again_timeout = kill ? MT_FOREVER : 0};
      pmake(&x);
      mt_hub_t *h = mt_hub_new();
      assert_non_null(h);
      if (mode == 0) hand_off(&x);
      else {
        mt_future_t *a = mt_coro_spawn(pwaiter, &x, NULL);
        assert_code(mt_coro_sleep(0), 0); /* A runs and parks */
        assert_int_equal(atomic_load(&x.started), 1);
        assert_int_equal(atomic_load(&x.done), 0);
        if (!kill) assert_code(mt_coro_cancel(a), 1);
        int e = kill ? mt_coro_kill(a, 10.0) : mt_coro_join(a, 10.0);
        if (e != 0)
          fail_msg("%s: the %s task did not end: %s", pnames[k], kill ? "killed" : "cancelled",
                   mt_err_name(e));
        if (x.r != MT_ECANCELLED) fail_msg("%s: got %s", pnames[k], mt_err_name(x.r));
        int want2 = kill ? MT_ECANCELLED : MT_ETIMEDOUT; /* sticky; once */
        if (x.r2 != want2) fail_msg("%s: second call got %s", pnames[k], mt_err_name(x.r2));
        assert_code(mt_future_is_cancelled(a), 1);
        mt_future_free(a);
        x.again = false;
        hand_off(&x); /* intact: the next waiter gets it */
      }
      mt_hub_free(h);
      pdestroy(&x);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(woken_by_another_process),
                                     cmocka_unit_test(process_calls_in_tasks)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
