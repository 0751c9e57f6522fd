/* Issue 10, item 11:
 *  - mt_pool_free called from a pool callback (which runs on the pool's
 *    manager thread) used to free the pool while the manager still ran on
 *    it (a use after free: ASan reports it).  Now the pool is terminated
 *    and the manager frees it when it stops.  The test learns that the
 *    manager thread is gone from a threading.local destructor set in the
 *    callback (it runs when that thread exits, after the pool is freed).
 *  - mt__sys_map_populated (the futures' slab allocator) keeps errno. */
#include "tasks.h"
#include "platform/platform.h"
#include "wait/wait.h"

#include <errno.h>
#include <stdint.h>

static uint32_t manager_gone;

static void on_manager_exit(void *v) {
  (void)v;
  __atomic_store_n(&manager_gone, 1, __ATOMIC_SEQ_CST);
  mt__wake_word(&manager_gone, INT32_MAX, false);
}

typedef struct {
  mt_pool_t *pool;
  mt_local_t *local;
  int calls;
} cb_ctx_t;

static void free_pool_cb(const mt_value_t *result, void *arg) {
  (void)result;
  cb_ctx_t *c = arg;
  c->calls++;
  mt_local_set(c->local, c); /* destroyed when this (the manager) thread exits */
  mt_pool_free(c->pool);
}

static int t_quick(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len;
  out->ptr = (void *)5;
  return 0;
}

static int t_forever(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len, (void)out;
  for (;;) pause(); /* until the pool's terminate kills the worker */
  return 0;
}

static void free_from_callback(void **state) {
  (void)state;
  long rounds = mt_test_scaled(5, 2);
  for (long k = 0; k < rounds; k++) {
    __atomic_store_n(&manager_gone, 0, __ATOMIC_SEQ_CST);
    cb_ctx_t c = {0};
    c.local = mt_local_new(on_manager_exit);
    assert_non_null(c.local);
    mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
    popts.processes = 2;
    popts.grace = 0.2;
    c.pool = mt_pool_new(&popts);
    assert_non_null(c.pool);
    mt_future_t *slow = NULL, *quick = NULL;
    assert_code(mt_pool_apply_async(c.pool, t_forever, NULL, 0, NULL, &slow), 0);
    mt_pool_task_opts_t o = MT_POOL_TASK_OPTS_INIT;
    o.callback = free_pool_cb;
    o.cb_arg = &c;
    assert_code(mt_pool_apply_async(c.pool, t_quick, NULL, 0, &o, &quick), 0);
    /* the pool may be gone from here on: only the futures are used */
    mt_value_t v;
    assert_code(mt_future_result(quick, 30, &v), 0);
    assert_ptr_equal(v.ptr, (void *)5);
    assert_code(mt_future_result(slow, 30, &v), MT_ECANCELLED); /* terminated */
    int64_t deadline;
    mt__deadline(30, &deadline);
    while (!__atomic_load_n(&manager_gone, __ATOMIC_SEQ_CST))
      if (mt__wait_word(&manager_gone, 0, false, deadline) == MT_ETIMEDOUT) break;
    assert_int_equal(__atomic_load_n(&manager_gone, __ATOMIC_SEQ_CST), 1);
    assert_int_equal(c.calls, 1);
    mt_future_free(quick);
    mt_future_free(slow);
    mt_local_free(c.local);
  }
}

static void map_populated_keeps_errno(void **state) {
  (void)state;
  errno = EDOM;
  void *m = mt__sys_map_populated((size_t)1 << 62); /* too large: fails */
  assert_null(m);
  assert_int_equal(errno, EDOM);
  m = mt__sys_map_populated(1 << 16);
  assert_non_null(m);
  assert_int_equal(errno, EDOM);
  mt__sys_unmap(m, 1 << 16);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(map_populated_keeps_errno),
      cmocka_unit_test(free_from_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
