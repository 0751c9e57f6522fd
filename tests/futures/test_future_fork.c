/* Futures and as_completed iterators across fork (issue 10, item 8).  A
 * future whose internal lock another thread held at fork may have torn
 * callback/watcher lists in the child: there add_done_callback, wait() and
 * as_completed() over it return MT_ENOTRECOVERABLE, completing it stores
 * the outcome but returns MT_ENOTRECOVERABLE (its callbacks cannot run),
 * instead of silently adopting the lists.  Likewise an as_completed
 * iterator whose lock was held at fork.  Objects nobody was inside at fork
 * are usable copies. */
#include "mt_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "future/future_internal.h"

static mt_future_t *g_f;
static mt_as_completed_t *g_it;
static atomic_int held;
static int release_pipe[2];
static int g_calls;

static void count_cb(mt_future_t *f, void *arg) {
  (void)f, (void)arg;
  g_calls++;
}

static void *holder(void *arg) {
  (void)arg;
  if (g_it) mt__as_completed_hold_lock(g_it, true);
  else mt__future_hold_lock(g_f, true);
  atomic_store(&held, 1);
  char c;
  while (read(release_pipe[0], &c, 1) < 0) {}
  if (g_it) mt__as_completed_hold_lock(g_it, false);
  else mt__future_hold_lock(g_f, false);
  return NULL;
}

/* Runs child_fn in a child forked while a thread holds the lock. */
static int fork_while_held(int (*child_fn)(void)) {
  assert_int_equal(pipe(release_pipe), 0);
  atomic_store(&held, 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, holder, NULL), 0);
  while (!atomic_load(&held)) sched_yield();
  int rc = mt_test_run_child(child_fn);
  assert_int_equal(write(release_pipe[1], "x", 1), 1);
  pthread_join(t, NULL);
  close(release_pipe[0]);
  close(release_pipe[1]);
  return rc;
}

static int fresh_future_works(void) {
  mt_future_t *f = mt_future_new();
  int calls = g_calls;
  if (!f || mt_future_add_done_callback(f, count_cb, NULL) != 0) return 20;
  if (mt_future_set_result(f, (mt_value_t){.ptr = (void *)7}) != 0) return 21;
  if (g_calls != calls + 1) return 22;
  mt_future_free(f);
  return 0;
}

static int child_future_busy(void) {
  mt_future_t *fs[1] = {g_f};
  if (mt_future_add_done_callback(g_f, count_cb, NULL) != MT_ENOTRECOVERABLE) return 1;
  if (mt_future_wait(fs, 1, 0, MT_ALL_COMPLETED, NULL, NULL, NULL) != MT_ENOTRECOVERABLE)
    return 2;
  errno = 0;
  if (mt_as_completed_new(fs, 1, 0) != NULL || errno != ENOTRECOVERABLE) return 3;
  /* Completing stores the outcome but says the callbacks could not run. */
  if (mt_future_set_result(g_f, (mt_value_t){.ptr = (void *)5}) != MT_ENOTRECOVERABLE) return 4;
  mt_value_t v;
  if (mt_future_result(g_f, 0, &v) != 0 || (intptr_t)v.ptr != 5) return 5;
  if (g_calls != 0) return 6; /* the callback added before fork did not run */
  if (mt_future_add_done_callback(g_f, count_cb, NULL) != 0 || g_calls != 1)
    return 7; /* done: runs at once, no list involved */
  mt_future_free(g_f); /* does not walk the torn list */
  return fresh_future_works();
}

static int child_future_idle(void) {
  if (mt_future_set_result(g_f, (mt_value_t){.ptr = (void *)5}) != 0) return 1;
  if (g_calls != 1) return 2; /* the copy's callback ran */
  mt_future_free(g_f);
  return 0;
}

static void test_future_lock_held_at_fork(void **state) {
  (void)state;
  g_f = mt_future_new();
  assert_non_null(g_f);
  assert_code(mt_future_add_done_callback(g_f, count_cb, NULL), 0);
  assert_int_equal(fork_while_held(child_future_busy), 0);
  assert_int_equal(mt_test_run_child(child_future_idle), 0);
  /* The parent's future is untouched by what the children did. */
  assert_int_equal(mt_future_is_done(g_f), 0);
  assert_code(mt_future_set_result(g_f, (mt_value_t){.ptr = (void *)9}), 0);
  assert_int_equal(g_calls, 1);
  mt_future_free(g_f);
  g_f = NULL;
  g_calls = 0;
}

static int child_iter_busy(void) {
  mt_future_t *out;
  if (mt_as_completed_next(g_it, &out) != MT_ENOTRECOVERABLE) return 1;
  if (mt_as_completed_next(g_it, &out) != MT_ENOTRECOVERABLE) return 2; /* every call */
  mt_as_completed_free(g_it);
  return fresh_future_works();
}

static int child_iter_idle(void) {
  mt_future_t *out = NULL;
  if (mt_as_completed_next(g_it, &out) != 1 || out != g_f) return 1;
  if (mt_as_completed_next(g_it, &out) != 0) return 2;
  mt_as_completed_free(g_it);
  return 0;
}

static void test_iterator_lock_held_at_fork(void **state) {
  (void)state;
  g_f = mt_future_new();
  assert_non_null(g_f);
  assert_code(mt_future_set_result(g_f, (mt_value_t){0}), 0);
  mt_future_t *fs[1] = {g_f};
  g_it = mt_as_completed_new(fs, 1, MT_FOREVER);
  assert_non_null(g_it);
  assert_int_equal(fork_while_held(child_iter_busy), 0);
  assert_int_equal(mt_test_run_child(child_iter_idle), 0);
  mt_future_t *out = NULL;
  assert_code(mt_as_completed_next(g_it, &out), 1);
  assert_ptr_equal(out, g_f);
  mt_as_completed_free(g_it);
  g_it = NULL;
  mt_future_free(g_f);
  g_f = NULL;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_future_lock_held_at_fork),
      cmocka_unit_test(test_iterator_lock_held_at_fork),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
