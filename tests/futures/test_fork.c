/* A thread pool made before fork refuses work in the child with
 * MT_EFORKED (its workers do not exist there) instead of hanging; the
 * parent's pool keeps working. */
#include "mt_test.h"

#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static void pool_after_fork(void **state) {
  (void)state;
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 2;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  mt_future_t *f;
  assert_code(mt_executor_submit(ex, twice, (void *)3, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
  mt_future_free(f);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int ok = mt_executor_submit(ex, twice, (void *)1, &f) == MT_EFORKED &&
             mt_executor_shutdown(ex, true, false, MT_FOREVER) == MT_EFORKED &&
             mt_executor_resize(ex, 3) == MT_EFORKED;
    mt_executor_free(ex); /* must not hang */
    /* a new pool works in the child */
    mt_executor_t *ex2 = mt_executor_new_thread_pool(&o);
    mt_value_t v;
    ok = ok && mt_executor_submit(ex2, twice, (void *)5, &f) == 0 &&
         mt_future_result(f, MT_FOREVER, &v) == 0 && (intptr_t)v.ptr == 10;
    _exit(ok ? 0 : 1);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  mt_value_t v;
  assert_code(mt_executor_submit(ex, twice, (void *)4, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, &v), 0);
  assert_int_equal((intptr_t)v.ptr, 8);
  mt_future_free(f);
  mt_executor_free(ex);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(pool_after_fork)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
