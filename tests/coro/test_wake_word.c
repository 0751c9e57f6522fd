/* mt__wake_word calls the kernel for a private word only while a thread
 * sleeps in the kernel on a word of its bucket (src/wait/wait.c, "kernel
 * sleepers"):
 *  - tasks completing futures their hub's root task waits on make no
 *    futex_wake (the waiter is a parked coroutine: woken through its node);
 *  - threads sleeping in the kernel on a word are still woken, exactly:
 *    two threads hand a private word back and forth through
 *    mt__wait_word / mt__wake_word many times (a lost wake hangs the test:
 *    CTest's timeout), and a thread blocked in mt_future_result wakes when
 *    a task completes the future. */
#include "mt_test.h"
#include "coro_test.h"
#include "wait/wait.h"

#include <pthread.h>

static int tiny(void *arg, mt_value_t *out) {
  out->ptr = arg;
  return 0;
}

static void tasks_wake_no_kernel(void **state) {
  (void)state;
  long n = mt_test_scaled(100000, 1000);
  unsigned long k0 = mt__wake_word_syscalls();
  long sum = 0;
  for (long i = 0; i < n; i += 10) {
    mt_future_t *f[10];
    for (int j = 0; j < 10; j++) assert_non_null(f[j] = mt_coro_spawn(tiny, (void *)(i + j), NULL));
    for (int j = 0; j < 10; j++) { /* the first one parks the root task */
      mt_value_t v;
      assert_int_equal(mt_future_result(f[j], MT_FOREVER, &v), 0);
      sum += (long)v.ptr;
      mt_future_free(f[j]);
    }
  }
  assert_int_equal(sum, n * (n - 1) / 2);
  assert_int_equal(mt__wake_word_syscalls() - k0, 0);
}

/* ---- two threads, one private word: turn = 0 (A's) / 1 (B's) ---- */
typedef struct {
  uint32_t turn;
  long rounds, a, b;
} turn_t;

static void take_turns(turn_t *t, uint32_t mine, long *count) {
  for (long i = 0; i < t->rounds; i++) {
    uint32_t v;
    while ((v = __atomic_load_n(&t->turn, __ATOMIC_ACQUIRE)) != mine)
      mt__wait_word(&t->turn, v, false, MT__NO_DEADLINE);
    (*count)++;
    __atomic_store_n(&t->turn, !mine, __ATOMIC_RELEASE);
    mt__wake_word(&t->turn, 1, false);
  }
}

static void *player_b(void *arg) {
  turn_t *t = arg;
  take_turns(t, 1, &t->b);
  return NULL;
}

static void threads_still_woken(void **state) {
  (void)state;
  turn_t t = {0, mt_test_scaled(20000, 500), 0, 0};
  unsigned long k0 = mt__wake_word_syscalls();
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, player_b, &t), 0);
  take_turns(&t, 0, &t.a);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(t.a, t.rounds);
  assert_int_equal(t.b, t.rounds);
  print_message("%ld hand-offs, %lu of the 2 x %ld wakes called the kernel\n", t.rounds,
                mt__wake_word_syscalls() - k0, t.rounds);
}

/* A plain thread blocks in result(); a task on the hub completes it. */
static void *blocked_reader(void *arg) {
  mt_value_t v = {0};
  int r = mt_future_result(arg, MT_FOREVER, &v);
  return r == 0 ? v.ptr : NULL;
}

static int complete_later(void *arg, mt_value_t *out) {
  (void)arg;
  out->ptr = (void *)42;
  return 0;
}

static void thread_waiter_woken(void **state) {
  (void)state;
  for (int k = 0; k < (int)mt_test_scaled(200, 20); k++) {
    mt_future_t *f = mt_coro_spawn(complete_later, NULL, NULL);
    assert_non_null(f);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, blocked_reader, f), 0);
    if (k & 1) mt_coro_sleep(0); /* the task may end before or after the reader sleeps */
    assert_int_equal(mt_coro_join(f, MT_FOREVER), 0);
    void *got;
    assert_int_equal(pthread_join(th, &got), 0);
    assert_ptr_equal(got, (void *)42);
    mt_future_free(f);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(tasks_wake_no_kernel, setup, teardown),
      cmocka_unit_test(threads_still_woken),
      cmocka_unit_test_setup_teardown(thread_waiter_woken, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
