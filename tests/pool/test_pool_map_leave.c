/* A map whose caller leaves before it is done, without a deadline.
 *
 * mt_pool_map lends the caller's items to the pool's manager, which reads
 * them when it sends a batch (send_batch).  With a timeout the job copies
 * them first: the caller may return at the deadline.  Without one it did
 * not, but a caller in a coroutine still returns early (MT_ECANCELLED when
 * the task is cancelled or killed), and so does a thread that opted in to
 * interrupts (MT_EINTR): its frame, with the items, is gone while the
 * manager may be reading them (first seen under TSan in coro_hub_process:
 * the task's next call wrote its stack against send_batch's read).
 *
 * Here a task maps one item held on its stack; the worker signals that it
 * runs the item (so the manager has read the items), the task is
 * cancelled, and then rewrites the items.  Nothing orders that write after
 * the manager's read but the copy: TSan reports the race on the old code
 * (this test is in check-tsan's fork list).  Without TSan it checks the
 * results: each cancelled map returns MT_ECANCELLED, and a map after it
 * still gets exact results.  The second case does the same from a thread
 * that opted in to interrupts (MT_EINTR). */
#include "mt_test.h"

#include <signal.h>
#include <stdint.h>

static mt_sem_t *started, *go; /* MT_SHARED: made before the pool's workers */
static int task_result;

static int t_hold(const void *in, size_t len, mt_value_t *out) {
  mt_sem_release(started, 1);
  if (mt_sem_acquire(go, 30.0) != 0) return mt_task_fail(MT_ETIMEDOUT, "never released");
  out->ptr = (void *)(uintptr_t)(len ? *(const unsigned char *)in : 0);
  return 0;
}

static int t_echo(const void *in, size_t len, mt_value_t *out) {
  out->ptr = (void *)(uintptr_t)(len ? *(const unsigned char *)in : 0);
  return 0;
}

static int mapper(void *arg, mt_value_t *out) {
  (void)out;
  mt_pool_t *p = arg;
  unsigned char byte = 7;
  mt_bytes_t items[1] = {{&byte, 1}};
  mt_pool_result_t res[1];
  task_result = mt_pool_map(p, t_hold, items, 1, 1, MT_FOREVER, res);
  /* the frame is the task's again: these writes must not race the manager */
  byte = 0;
  items[0] = (mt_bytes_t){NULL, 0};
  __asm__ volatile("" : : "r"(&byte), "r"(items) : "memory");
  return 0;
}

static void cancelled_map_leaves_its_items(void **state) {
  (void)state;
  started = mt_sem_new(0, MT_SHARED);
  go = mt_sem_new(0, MT_SHARED);
  assert_non_null(started);
  assert_non_null(go);
  mt_pool_opts_t o = MT_POOL_OPTS_INIT;
  o.processes = 1;
  mt_pool_t *p = mt_pool_new(&o);
  assert_non_null(p);
  mt_hub_t *h = mt_hub_new();
  assert_non_null(h);
  long rounds = mt_test_scaled(50, 3);
  for (long k = 0; k < rounds; k++) {
    task_result = 1;
    mt_future_t *t = mt_coro_spawn(mapper, p, NULL);
    assert_non_null(t);
    assert_code(mt_sem_acquire(started, 30.0), 0); /* the worker runs the item */
    assert_code(mt_coro_cancel(t), 1);
    assert_code(mt_coro_join(t, 30.0), 0);
    assert_int_equal(task_result, MT_ECANCELLED);
    mt_future_free(t);
    assert_code(mt_sem_release(go, 1), 0); /* the item ends; its result is dropped */
  }
  /* the pool is intact: a map from the root gets its results */
  unsigned char b[3] = {1, 2, 3};
  mt_bytes_t items[3] = {{&b[0], 1}, {&b[1], 1}, {&b[2], 1}};
  mt_pool_result_t res[3];
  assert_code(mt_pool_map(p, t_echo, items, 3, 1, 30.0, res), 0);
  for (int i = 0; i < 3; i++) {
    assert_code(res[i].code, 0);
    assert_int_equal((uintptr_t)res[i].value.ptr, i + 1);
  }
  mt_hub_free(h);
  assert_code(mt_pool_close(p), 0);
  assert_code(mt_pool_join(p, 30.0), 0);
  mt_pool_free(p);
  mt_sem_free(started);
  mt_sem_free(go);
}

/* The same from a thread that opted in to interrupts: a handler's run ends
 * its map with MT_EINTR. */
static void noop(int sig, void *arg) {
  (void)sig;
  (void)arg;
}

static void *interruptible_mapper(void *arg) {
  mt_pool_t *p = arg;
  if (mt_signal_set_interruptible(1) != 0) return (void *)1;
  unsigned char byte = 7;
  mt_bytes_t items[1] = {{&byte, 1}};
  mt_pool_result_t res[1];
  task_result = mt_pool_map(p, t_hold, items, 1, 1, MT_FOREVER, res);
  byte = 0; /* as in mapper */
  items[0] = (mt_bytes_t){NULL, 0};
  __asm__ volatile("" : : "r"(&byte), "r"(items) : "memory");
  return NULL;
}

static void interrupted_map_leaves_its_items(void **state) {
  (void)state;
  started = mt_sem_new(0, MT_SHARED);
  go = mt_sem_new(0, MT_SHARED);
  assert_non_null(started);
  assert_non_null(go);
  assert_code(mt_signal_signal(SIGUSR1, noop, NULL), 0);
  mt_pool_opts_t o = MT_POOL_OPTS_INIT;
  o.processes = 1;
  mt_pool_t *p = mt_pool_new(&o);
  assert_non_null(p);
  long rounds = mt_test_scaled(50, 3);
  for (long k = 0; k < rounds; k++) {
    task_result = 1;
    mt_thread_t *t = mt_thread_spawn(interruptible_mapper, p, NULL);
    assert_non_null(t);
    assert_code(mt_sem_acquire(started, 30.0), 0); /* the worker runs the item */
    /* the map waits (or is about to: the interrupt stays pending for it) */
    assert_code(mt_signal_raise_signal(SIGUSR1), 0); /* returns once the handler ran */
    void *bad = (void *)1;
    assert_code(mt_thread_join(t, 30.0, &bad), 0);
    assert_null(bad);
    mt_thread_free(t);
    assert_int_equal(task_result, MT_EINTR);
    assert_code(mt_sem_release(go, 1), 0);
  }
  assert_code(mt_pool_close(p), 0);
  assert_code(mt_pool_join(p, 30.0), 0);
  mt_pool_free(p);
  assert_code(mt_signal_signal(SIGUSR1, MT_SIG_DFL, NULL), 0);
  mt_sem_free(started);
  mt_sem_free(go);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(cancelled_map_leaves_its_items),
                                     cmocka_unit_test(interrupted_map_leaves_its_items)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
