/* Python shapes of threading (issue 12): the Thread "subclass" form
 * (mt_thread_new_run), started-and-forgotten threads
 * (mt_thread_start_detached) and the references mt_thread_enumerate hands
 * out.
 *
 * Regression: enumerate used to hand out borrowed pointers; a thread whose
 * handle was already freed (spawn then free: "started and forgotten") freed
 * its record when it ended, under a reader still holding the pointer.
 * enumerate_races_forgotten_threads failed under ASan on that code with
 *   ERROR: AddressSanitizer: heap-use-after-free ... in __interceptor_strlen
 *   freed by thread T9 here: ... thread_unref thread.c:145 <- thread_finish
 * Now every pointer enumerate stores is a reference, released with
 * mt_thread_free. */
#include "mt_test.h"
#include "tflag.h"

#include <string.h>

static void *wait_flag(void *arg) {
  flag_wait(arg, MT_FOREVER);
  return (void *)42;
}

/* ---- subclass form ------------------------------------------------------ */

typedef struct {
  mt_thread_run_t base; /* first member */
  int n;
  int sum;
  mt_thread_t *seen_self;
} adder_t;

static void *adder_run(mt_thread_run_t *self) {
  adder_t *a = (adder_t *)self;
  for (int i = 1; i <= a->n; i++) a->sum += i;
  a->seen_self = mt_thread_current();
  return (void *)(intptr_t)a->sum;
}

static void subclass_run(void **state) {
  (void)state;
  adder_t a = {{adder_run}, 10, 0, NULL};
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = "adder";
  mt_thread_t *t = mt_thread_new_run(&a.base, &o);
  assert_non_null(t);
  assert_string_equal(mt_thread_name(t), "adder");
  assert_int_equal(mt_thread_is_alive(t), 0);
  assert_code(mt_thread_start(t), 0);
  void *res = NULL;
  assert_code(mt_thread_join(t, MT_FOREVER, &res), 0);
  assert_int_equal((intptr_t)res, 55);
  assert_int_equal(a.sum, 55);
  assert_ptr_equal(a.seen_self, t);
  assert_code(mt_thread_start(t), MT_ESTARTED);
  mt_thread_free(t);

  /* errors: no self, no run, bad options */
  errno = 0;
  assert_null(mt_thread_new_run(NULL, NULL));
  assert_int_equal(errno, EINVAL);
  adder_t none = {{NULL}, 1, 0, NULL};
  errno = 0;
  assert_null(mt_thread_new_run(&none.base, NULL));
  assert_int_equal(errno, EINVAL);
  mt_thread_opts_t bad = {.name = "x"}; /* no MT_THREAD_OPTS_INIT: size 0 */
  errno = 0;
  assert_null(mt_thread_new_run(&a.base, &bad));
  assert_int_equal(errno, EINVAL);
}

/* ---- detached ------------------------------------------------------------ */

static void *count_up(void *arg) {
  __atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
  return NULL;
}

/* Joins every library thread still listed, through enumerate's references:
 * what is left of the detached threads, without sleeping. */
static void join_listed(void) {
  mt_thread_t *all[256], *me = mt_thread_current();
  int n = mt_thread_enumerate(all, 256);
  assert_true(n <= 256);
  for (int i = 0; i < n; i++) {
    if (all[i] != me && all[i] != mt_thread_main()) {
      int r = mt_thread_join(all[i], MT_FOREVER, NULL);
      assert_true(r == 0 || r == MT_ENOTSUP); /* a dummy of another test */
    }
    mt_thread_free(all[i]);
  }
}

static void start_detached_runs_and_frees_itself(void **state) {
  (void)state;
  int base = mt_thread_active_count();
  int count = 0;
  enum { K = 50 };
  for (int i = 0; i < K; i++)
    assert_code(mt_thread_start_detached(mt_thread_new(count_up, &count, NULL)), 0);
  join_listed();
  assert_int_equal(__atomic_load_n(&count, __ATOMIC_RELAXED), K);
  assert_int_equal(mt_thread_active_count(), base);
  /* ASan's leak check at exit proves each record was released */
}

static void start_detached_with_a_reference(void **state) {
  (void)state;
  tflag_t f = {0};
  mt_thread_t *t = mt_thread_new(wait_flag, &f, NULL);
  assert_non_null(t);
  assert_ptr_equal(mt_thread_ref(t), t); /* ours, kept past start_detached */
  assert_code(mt_thread_start_detached(t), 0);
  assert_int_equal(mt_thread_is_alive(t), 1);
  assert_code(mt_thread_join(t, 0, NULL), MT_ETIMEDOUT);
  flag_set(&f);
  void *res = NULL;
  assert_code(mt_thread_join(t, MT_FOREVER, &res), 0);
  assert_ptr_equal(res, (void *)42);
  assert_int_equal(mt_thread_is_alive(t), 0);
  mt_thread_free(t); /* the last reference */
}

static void start_detached_errors(void **state) {
  (void)state;
  assert_code(mt_thread_start_detached(NULL), MT_EINVAL);
  assert_code(mt_thread_start_detached(mt_thread_new(NULL, NULL, NULL)), MT_EINVAL);
  /* started twice: MT_ESTARTED, and the handle is released all the same */
  tflag_t f = {0};
  mt_thread_t *t = mt_thread_new(wait_flag, &f, NULL);
  mt_thread_ref(t);
  mt_thread_ref(t);
  assert_code(mt_thread_start(t), 0);
  assert_code(mt_thread_start_detached(t), MT_ESTARTED); /* drops one */
  flag_set(&f);
  assert_code(mt_thread_join(t, MT_FOREVER, NULL), 0);
  mt_thread_free(t);
  mt_thread_free(t);
  /* the system cannot make the thread (a 2^46-byte stack): an error, and
   * the handle is released (ASan's leak check) */
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.stack_size = (size_t)1 << 46;
  int r = mt_thread_start_detached(mt_thread_new(count_up, NULL, &o));
  assert_true(r < 0);
  assert_true(r != MT_EINVAL);
}

static void references(void **state) {
  (void)state;
  assert_null(mt_thread_ref(NULL));
  mt_thread_free(NULL);
  /* borrowed pointers to a dummy hold no reference: free is a no-op */
  mt_thread_t *m = mt_thread_main();
  for (int i = 0; i < 3; i++) mt_thread_free(m);
  assert_string_equal(mt_thread_name(mt_thread_main()), "MainThread");
  /* a reference to the main thread (a dummy) is taken and dropped */
  assert_ptr_equal(mt_thread_ref(m), m);
  mt_thread_free(m);
  mt_thread_free(m); /* nothing left to drop: no-op */
  assert_int_equal(mt_thread_is_alive(m), 1);
  /* enumerate: references to every live thread, the caller included */
  mt_thread_t *all[64];
  int n = mt_thread_enumerate(all, 64);
  assert_true(n >= 1 && n <= 64);
  int found_main = 0;
  for (int i = 0; i < n; i++) {
    found_main += all[i] == m;
    mt_thread_free(all[i]);
  }
  assert_int_equal(found_main, 1);
  assert_code(mt_thread_enumerate(NULL, -1), MT_EINVAL);
  assert_code(mt_thread_enumerate(NULL, 2), MT_EINVAL);
}

/* ---- the regression: forgotten threads racing enumerate ------------------ */

static void *short_fn(void *arg) {
  (void)arg;
  return NULL;
}

/* Rounds of enumerate the main thread finished.  The spawner goes on
 * starting threads until there were MIN_ROUNDS of them, so the reads
 * overlap the forgotten threads' ends however the two threads are
 * scheduled (on a loaded machine main could otherwise first run after the
 * spawner was done, and there was no race to test). */
enum { MIN_ROUNDS = 10 };
static unsigned long enum_rounds;

static void *spawner(void *arg) {
  long n = (long)arg;
  for (long i = 0; i < n || __atomic_load_n(&enum_rounds, __ATOMIC_ACQUIRE) < MIN_ROUNDS; i++)
    if (mt_thread_start_detached(mt_thread_new(short_fn, NULL, NULL)) < 0) return (void *)1;
  return NULL;
}

static void enumerate_races_forgotten_threads(void **state) {
  (void)state;
  long n = mt_test_scaled(20000, 300);
  __atomic_store_n(&enum_rounds, 0, __ATOMIC_RELEASE);
  mt_thread_t *sp = mt_thread_spawn(spawner, (void *)n, NULL);
  assert_non_null(sp);
  unsigned long sum = 0, rounds = 0;
  while (mt_thread_is_alive(sp) == 1) {
    mt_thread_t *all[64];
    int k = mt_thread_enumerate(all, 64);
    for (int i = 0; i < k && i < 64; i++) {
      for (volatile int d = 0; d < 200; d++) {} /* widen the window */
      sum += strlen(mt_thread_name(all[i])) + (unsigned long)mt_thread_is_daemon(all[i]);
      (void)mt_thread_is_alive(all[i]);
      mt_thread_free(all[i]);
    }
    __atomic_store_n(&enum_rounds, ++rounds, __ATOMIC_RELEASE);
  }
  assert_true(sum > 0 && rounds >= MIN_ROUNDS);
  void *res = (void *)2;
  assert_code(mt_thread_join(sp, MT_FOREVER, &res), 0);
  assert_null(res); /* every start succeeded */
  mt_thread_free(sp);
  join_listed();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(subclass_run),
      cmocka_unit_test(start_detached_runs_and_frees_itself),
      cmocka_unit_test(start_detached_with_a_reference),
      cmocka_unit_test(start_detached_errors),
      cmocka_unit_test(references),
      cmocka_unit_test(enumerate_races_forgotten_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
