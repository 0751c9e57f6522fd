/* A task parked on an MT_SHARED semaphore, event or condition is woken when
 * ANOTHER PROCESS releases it: the hub re-checks parked words (once per
 * round, at least every 1 ms while it sleeps), so the release reaches the
 * task although the releasing process knows nothing of the hub.  The child
 * is forked after the task parked and releases while the parent's thread
 * is parked in mt_coro_join (its hub asleep in poll). */
#include "mt_test.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(woken_by_another_process)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
