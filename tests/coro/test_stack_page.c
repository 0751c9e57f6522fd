/* Regression: mt__stack_page() caches the page size in a static that two
 * threads may fill at once (two hubs starting their first coroutine).  That
 * race must be well-defined: under TSan (make check-tsan) a plain static was
 * reported as a data race here.  This must be the process's first call of
 * mt__stack_page, so the test runs nothing else before it. */
#include "mt_test.h"
#include "coro/coro.h"

#include <pthread.h>

enum { THREADS = 4 };
static pthread_barrier_t start;
static size_t seen[THREADS];

static void *first_call(void *arg) {
  size_t *out = arg;
  pthread_barrier_wait(&start); /* all threads make their first call together */
  *out = mt__stack_page();
  return NULL;
}

static void racing_first_calls_agree(void **state) {
  (void)state;
  pthread_t t[THREADS];
  assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, first_call, &seen[i]), 0);
  for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  pthread_barrier_destroy(&start);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < THREADS; i++) assert_int_equal(seen[i], page);
  assert_int_equal(mt__stack_page(), page);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(racing_first_calls_agree)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
