/* An in-process queue across fork (issue 10, item 8).  A queue whose lock
 * another thread held when the process forked may be torn in the child
 * (that thread was in the middle of a put or get): every call on it there
 * returns MT_ENOTRECOVERABLE instead of silently adopting it (or hanging).
 * A queue nobody was inside at fork is a usable copy. */
#include "mt_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "queue/queue_internal.h"

static mt_queue_t *q;
static atomic_int held;
static int release_pipe[2];

static void *holder(void *arg) {
  (void)arg;
  mt__queue_hold_lock(q, true);
  atomic_store(&held, 1);
  char c;
  while (read(release_pipe[0], &c, 1) < 0) {}
  mt__queue_hold_lock(q, false);
  return NULL;
}

static int child_busy(void) {
  void *item;
  if (mt_queue_put(q, &item, 0) != MT_ENOTRECOVERABLE) return 1;
  if (mt_queue_get(q, &item, 0) != MT_ENOTRECOVERABLE) return 2; /* every call, not once */
  if (mt_queue_put(q, &item, MT_FOREVER) != MT_ENOTRECOVERABLE) return 3;
  if (mt_queue_join(q, MT_FOREVER) != MT_ENOTRECOVERABLE) return 4;
  if (mt_queue_task_done(q) != MT_ENOTRECOVERABLE) return 5;
  if (mt_queue_shutdown(q, true) != MT_ENOTRECOVERABLE) return 6;
  mt_queue_free(q); /* frees the memory, touches no item */
  mt_queue_t *fresh = mt_queue_new(0);
  if (!fresh || mt_queue_put(fresh, &item, 0) != 0) return 7;
  mt_queue_free(fresh);
  return 0;
}

static int child_idle(void) {
  void *item = NULL;
  if (mt_queue_get(q, &item, 0) != 0 || item != (void *)q) return 1; /* the copy */
  if (mt_queue_put(q, &item, 0) != 0 || mt_queue_get(q, &item, 0) != 0) return 2;
  mt_queue_free(q);
  return 0;
}

static void test_lock_held_at_fork(void **state) {
  (void)state;
  q = mt_queue_new(0);
  assert_non_null(q);
  assert_code(mt_queue_put(q, q, 0), 0);
  assert_int_equal(pipe(release_pipe), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, holder, NULL), 0);
  while (!atomic_load(&held)) sched_yield();
  assert_int_equal(mt_test_run_child(child_busy), 0);
  assert_int_equal(write(release_pipe[1], "x", 1), 1);
  pthread_join(t, NULL);
  /* The parent's queue is untouched by what the child did. */
  void *item;
  assert_code(mt_queue_get(q, &item, 0), 0);
  assert_ptr_equal(item, q);
  mt_queue_free(q);
  close(release_pipe[0]);
  close(release_pipe[1]);
}

static void test_idle_queue_is_a_copy(void **state) {
  (void)state;
  q = mt_queue_new(0);
  assert_non_null(q);
  assert_code(mt_queue_put(q, q, 0), 0);
  assert_int_equal(mt_test_run_child(child_idle), 0);
  assert_int_equal(mt_queue_qsize(q), 1);
  mt_queue_free(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lock_held_at_fork),
      cmocka_unit_test(test_idle_queue_is_a_copy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
