/* A child reaped by another thread's registry walk while its owner joins
 * and frees it.
 *
 * mt_process_active_children() (like the exit-time cleanup's sweep and
 * waitpid on a registered pid) reaps every listed child that ended, under
 * the registry lock.  The owner's join sees the child DONE without that
 * lock and the owner's free then frees the handle without it.  Before the
 * fix the walk read the handle (its 'detached' flag) after publishing DONE,
 * so it could read a freed handle, or the fork-page record already reused
 * by the owner's next mt_process_new: TSan reported that read against
 * mt__free / proc_alloc's memset (first seen in process_exit_pool, where
 * the exit handler's sweep races a pool's manager).
 *
 * The main thread starts two children at a time (so that one handle is the
 * fork-page record and the other comes from the heap), joins them, checks
 * each exit code and frees them, while a second thread walks the registry
 * without pause.  Every exit code must be the one its child returned. */
#include "mt_test.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_bool stop;
static atomic_long walks;

static int child_ret(void *arg) { return (int)(intptr_t)arg; }

static void *walker(void *unused) {
  (void)unused;
  while (!atomic_load(&stop)) {
    int n = mt_process_active_children(NULL, 0);
    if (n < 0 || n > 2) return (void *)1; /* at most the two of this round */
    atomic_fetch_add(&walks, 1);
  }
  return NULL;
}

static void test_walk_races_join_and_free(void **state) {
  (void)state;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, walker, NULL), 0);
  long rounds = mt_test_scaled(400, 100); /* ~11 s here (fork-bound) */
  for (long k = 0; k < rounds; k++) {
    mt_process_t *p[2];
    for (int i = 0; i < 2; i++) {
      p[i] = mt_process_new(child_ret, (void *)(intptr_t)((k * 2 + i) % 100), NULL);
      assert_non_null(p[i]);
      assert_code(mt_process_start(p[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
      assert_code(mt_process_join(p[i], MT_FOREVER), 0);
      int code = -1;
      assert_code(mt_process_exitcode(p[i], &code), 0);
      assert_int_equal(code, (k * 2 + i) % 100);
      mt_process_free(p[i]);
    }
  }
  atomic_store(&stop, true);
  void *bad;
  assert_int_equal(pthread_join(t, &bad), 0);
  assert_null(bad);
  assert_true(atomic_load(&walks) > 0);
  assert_int_equal(mt_process_active_children(NULL, 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_walk_races_join_and_free)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
