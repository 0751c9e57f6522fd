/* Timers: fire exactly once, cancel before/while/after firing (never both),
 * loop ticks without sleeps in assertions, missed ticks skipped, heap order,
 * 100k pending timers, callbacks cancelling/freeing their own timer. */
#include "mt_test.h"
#include "../thread/tflag.h"
#include "platform/platform.h"

#include <math.h>
#include <stdio.h>

static double now_s(void) { return (double)mt__now_ns() / 1e9; }

typedef struct {
  int calls;
  double at[64];
  tflag_t flag;
  int flag_at; /* set the flag when calls reaches this */
  mt_timer_t *self;
  int cancel_at;
  int cancel_rc;
  double overrun_first; /* busy-wait this long in the first call */
} rec_t;

static void record(void *arg) {
  rec_t *r = arg;
  int n = __atomic_load_n(&r->calls, __ATOMIC_RELAXED);
  if (n < 64) r->at[n] = now_s();
  if (n == 0 && r->overrun_first > 0) {
    double until = now_s() + r->overrun_first;
    while (now_s() < until) {}
  }
  __atomic_store_n(&r->calls, n + 1, __ATOMIC_RELEASE);
  if (r->cancel_at && n + 1 == r->cancel_at) r->cancel_rc = mt_timer_cancel(r->self, MT_FOREVER);
  if (n + 1 == r->flag_at) flag_set(&r->flag);
}

static void fires_once(void **state) {
  (void)state;
  rec_t r = {.flag_at = 1};
  mt_timer_t *t = mt_timer_new(0.02, record, &r);
  assert_non_null(t);
  assert_int_equal(mt_timer_is_fired(t), 0);
  double t0 = now_s();
  assert_code(mt_timer_start(t), 0);
  assert_code(mt_timer_join(t, MT_FOREVER), 0);
  assert_true(r.at[0] - t0 >= 0.02); /* not before the interval */
  assert_int_equal(r.calls, 1);
  assert_int_equal(mt_timer_is_fired(t), 1);
  assert_code(mt_timer_cancel(t, MT_FOREVER), 0); /* nothing left to cancel */
  assert_code(mt_timer_start(t), MT_ESTARTED);
  mt_timer_free(t);
}

static void cancel_before_firing(void **state) {
  (void)state;
  rec_t r = {0};
  mt_timer_t *t = mt_timer_new(30, record, &r);
  assert_code(mt_timer_start(t), 0);
  assert_code(mt_timer_join(t, 0), MT_ETIMEDOUT);
  double t0 = now_s();
  assert_code(mt_timer_join(t, 0.03), MT_ETIMEDOUT);
  assert_true(now_s() - t0 >= 0.03);
  /* a bad timeout is refused before anything changes: still pending */
  assert_code(mt_timer_cancel(t, -2), MT_EINVAL);
  assert_code(mt_timer_cancel(t, NAN), MT_EINVAL);
  assert_code(mt_timer_cancel(t, 0), 1);
  assert_code(mt_timer_cancel(t, MT_FOREVER), 0);
  assert_code(mt_timer_join(t, MT_FOREVER), 0);
  assert_int_equal(mt_timer_is_fired(t), 0);
  mt_timer_free(t);

  /* cancelled before start: start succeeds and it never fires (Python) */
  t = mt_timer_new(0, record, &r);
  assert_code(mt_timer_cancel(t, MT_FOREVER), 1);
  assert_code(mt_timer_start(t), 0);
  assert_code(mt_timer_join(t, MT_FOREVER), 0);
  assert_int_equal(mt_timer_is_fired(t), 0);
  assert_code(mt_timer_start(t), MT_ESTARTED);
  mt_timer_free(t);
  assert_int_equal(r.calls, 0);

  /* freeing a pending timer cancels it */
  t = mt_timer_new(30, record, &r);
  assert_code(mt_timer_start(t), 0);
  mt_timer_free(t);
}

static void errors(void **state) {
  (void)state;
  rec_t r = {0};
  assert_null(mt_timer_new(1, NULL, NULL));
  assert_int_equal(errno, EINVAL);
  assert_null(mt_timer_new(-1, record, &r));
  assert_int_equal(errno, EINVAL);
  assert_null(mt_timer_new(NAN, record, &r));
  assert_null(mt_timer_new_loop(0, record, &r));
  assert_int_equal(errno, EINVAL);
  assert_code(mt_timer_start(NULL), MT_EINVAL);
  assert_code(mt_timer_cancel(NULL, MT_FOREVER), MT_EINVAL);
  assert_code(mt_timer_join(NULL, 1), MT_EINVAL);
  assert_code(mt_timer_is_fired(NULL), MT_EINVAL);
  mt_timer_free(NULL);
  mt_timer_t *t = mt_timer_new(1, record, &r);
  assert_code(mt_timer_join(t, MT_FOREVER), MT_ENOTSTARTED);
  assert_code(mt_timer_join(t, -3), MT_EINVAL);
  assert_code(mt_timer_start(t), 0);
  assert_code(mt_timer_start(t), MT_ESTARTED);
  assert_code(mt_timer_join(t, NAN), MT_EINVAL);
  mt_timer_free(t);
}

static int race_calls;
static void count_call(void *arg) {
  (void)arg;
  __atomic_add_fetch(&race_calls, 1, __ATOMIC_RELAXED);
}

/* cancel vs firing: the callback runs xor cancel reports it stopped it. */
static void cancel_races_firing(void **state) {
  (void)state;
  long n = mt_test_scaled(3000, 100);
  int cancelled = 0, fired = 0;
  for (long i = 0; i < n; i++) {
    int before = __atomic_load_n(&race_calls, __ATOMIC_RELAXED);
    mt_timer_t *t = mt_timer_new(i % 3 == 0 ? 0 : 1e-5, count_call, NULL);
    assert_code(mt_timer_start(t), 0);
    /* spin 0..150 us: around the time the timer thread takes to wake */
    double until = now_s() + 1.5e-6 * (double)(i % 101);
    while (now_s() < until) {}
    int r = mt_timer_cancel(t, MT_FOREVER);
    /* after cancel returns the callback is not running: its count is final */
    int after = __atomic_load_n(&race_calls, __ATOMIC_RELAXED);
    assert_true(r == 0 || r == 1);
    if (r == 1) {
      assert_int_equal(after, before);
      assert_int_equal(mt_timer_is_fired(t), 0);
      cancelled++;
    } else {
      assert_int_equal(after, before + 1);
      assert_int_equal(mt_timer_is_fired(t), 1);
      fired++;
    }
    assert_code(mt_timer_join(t, MT_FOREVER), 0);
    mt_timer_free(t);
  }
  print_message("cancel won %d times, firing won %d times\n", cancelled, fired);
  assert_int_equal(cancelled + fired, n);
  assert_int_equal(race_calls, fired);
}

static void loop_ticks(void **state) {
  (void)state;
  const double iv = 0.01;
  rec_t r = {.flag_at = 5};
  mt_timer_t *t = mt_timer_new_loop(iv, record, &r);
  double t0 = now_s();
  assert_code(mt_timer_start(t), 0);
  assert_code(flag_wait(&r.flag, MT_FOREVER), 0); /* 5 ticks ran */
  assert_code(mt_timer_cancel(t, MT_FOREVER), 1);
  int calls = r.calls;
  assert_true(calls >= 5);
  assert_int_equal(mt_timer_is_fired(t), calls); /* frozen after cancel */
  assert_code(mt_timer_join(t, MT_FOREVER), 0);
  /* tick k is not before start + k*interval (ticks on a fixed grid) */
  for (int k = 1; k < calls && k < 64; k++) assert_true(r.at[k] - t0 >= k * iv - 1e-9);
  assert_code(mt_timer_cancel(t, MT_FOREVER), 0);
  mt_timer_free(t);
}

static void loop_skips_missed_ticks(void **state) {
  (void)state;
  const double iv = 0.02;
  rec_t r = {.flag_at = 3, .overrun_first = 0.07};
  mt_timer_t *t = mt_timer_new_loop(iv, record, &r);
  double t0 = now_s();
  assert_code(mt_timer_start(t), 0);
  flag_wait(&r.flag, MT_FOREVER);
  assert_code(mt_timer_cancel(t, MT_FOREVER), 1);
  /* the first call overran ticks 1..3 (0.02..0.06 after start): they are
   * skipped, not replayed: the next call is at tick 4 or later */
  assert_true(r.at[1] - t0 >= 4 * iv - 1e-9);
  assert_true(r.at[2] - r.at[1] >= 0); /* and then on the grid again */
  assert_true(r.at[2] - t0 >= 5 * iv - 1e-9);
  mt_timer_free(t);
}

static void loop_cancels_itself(void **state) {
  (void)state;
  rec_t r = {.cancel_at = 3};
  mt_timer_t *t = mt_timer_new_loop(0.005, record, &r);
  r.self = t;
  assert_code(mt_timer_start(t), 0);
  assert_code(mt_timer_join(t, MT_FOREVER), 0); /* done once cancelled */
  assert_int_equal(r.calls, 3);
  assert_int_equal(r.cancel_rc, 1);
  assert_int_equal(mt_timer_is_fired(t), 3);
  mt_timer_free(t);
}

typedef struct {
  mt_timer_t *self;
  tflag_t done;
  int join_rc;
} selffree_t;

static void free_self(void *arg) {
  selffree_t *s = arg;
  s->join_rc = mt_timer_join(s->self, 0);
  mt_timer_free(s->self);
  flag_set(&s->done);
}

static void callback_frees_its_timer(void **state) {
  (void)state;
  selffree_t s = {0};
  s.self = mt_timer_new(0, free_self, &s);
  assert_code(mt_timer_start(s.self), 0);
  flag_wait(&s.done, MT_FOREVER);
  assert_code(s.join_rc, MT_EDEADLK);
}

typedef struct {
  tflag_t entered, release;
  int finished;
} slow_t;

static void slow_cb(void *arg) {
  slow_t *s = arg;
  flag_set(&s->entered);
  flag_wait(&s->release, MT_FOREVER);
  double until = now_s() + 0.02;
  while (now_s() < until) {}
  __atomic_store_n(&s->finished, 1, __ATOMIC_RELEASE);
}

static void cancel_waits_for_running_callback(void **state) {
  (void)state;
  slow_t s = {0};
  mt_timer_t *t = mt_timer_new(0, slow_cb, &s);
  assert_code(mt_timer_start(t), 0);
  flag_wait(&s.entered, MT_FOREVER);
  /* issue 12: cancel takes a timeout; 0 never waits (Python's cancel) */
  assert_code(mt_timer_cancel(t, 0), MT_ETIMEDOUT); /* parked on release */
  assert_code(mt_timer_cancel(t, -2), MT_EINVAL);
  /* a timed cancel waits, and returns by its deadline (mt_timer_cancel reads
   * the clock only in this case: the callback runs) */
  double t0 = now_s();
  assert_code(mt_timer_cancel(t, 0.02), MT_ETIMEDOUT);
  assert_true(now_s() - t0 >= 0.02);
  flag_set(&s.release);
  assert_code(mt_timer_cancel(t, MT_FOREVER), 0); /* it fired: nothing stopped */
  assert_int_equal(__atomic_load_n(&s.finished, __ATOMIC_ACQUIRE), 1);
  assert_int_equal(mt_timer_is_fired(t), 1);
  mt_timer_free(t);
}

enum { NORDER = 40 };
static int order[NORDER];
static int norder;
static tflag_t order_done;
static void push_order(void *arg) {
  order[norder++] = (int)(intptr_t)arg;
  if (norder == NORDER) flag_set(&order_done);
}

static tflag_t blocker_in, blocker_go;
static void blocker(void *arg) {
  (void)arg;
  flag_set(&blocker_in);
  flag_wait(&blocker_go, MT_FOREVER);
}

/* Timers fire in due-time order.  The timer thread is held in a callback
 * while the timers are started (in a scrambled order), so all of them sit
 * in the heap when it is released.  A due time is only known to lie
 * between the clock read before and after start, so the check is: no timer
 * fired before one that was certainly due earlier. */
static void heap_order(void **state) {
  (void)state;
  mt_timer_t *b = mt_timer_new(0, blocker, NULL);
  mt_timer_start(b);
  flag_wait(&blocker_in, MT_FOREVER);
  mt_timer_t *ts[NORDER];
  double lo[NORDER], hi[NORDER], last = 0;
  for (int k = 0; k < NORDER; k++) {
    int i = (k * 17) % NORDER; /* 17 is prime to 40: a permutation */
    double iv = 0.001 * i;
    ts[i] = mt_timer_new(iv, push_order, (void *)(intptr_t)i);
    lo[i] = now_s() + iv;
    mt_timer_start(ts[i]);
    hi[i] = now_s() + iv;
    if (hi[i] > last) last = hi[i];
  }
  while (now_s() < last + 0.001) {} /* all are due; the thread is held */
  flag_set(&blocker_go);
  flag_wait(&order_done, MT_FOREVER);
  for (int k = 1; k < NORDER; k++) {
    int a = order[k - 1], c = order[k];
    if (lo[a] > hi[c]) fail_msg("timer %d fired before %d, due earlier", a, c);
  }
  for (int i = 0; i < NORDER; i++) mt_timer_free(ts[i]);
  mt_timer_free(b);
}

typedef struct {
  char name[64];
  int spawned_daemon;
  int count_in_cb;
  tflag_t done;
  mt_thread_t *worker;
} cbinfo_t;

static void *long_work(void *arg) { return arg; }

static void inspect_cb(void *arg) {
  cbinfo_t *c = arg;
  snprintf(c->name, sizeof c->name, "%s", mt_thread_name(mt_thread_current()));
  c->count_in_cb = mt_thread_active_count();
  c->worker = mt_thread_spawn(long_work, NULL, NULL); /* hand long work off */
  c->spawned_daemon = mt_thread_is_daemon(c->worker);
  flag_set(&c->done);
}

/* The timer thread is internal: named mt-timer, not enumerated, and threads
 * started from a callback are non-daemon by default (as Python's Timer). */
static void callback_context(void **state) {
  (void)state;
  int base = mt_thread_active_count();
  cbinfo_t c = {0};
  mt_timer_t *t = mt_timer_new(0, inspect_cb, &c);
  mt_timer_start(t);
  flag_wait(&c.done, MT_FOREVER);
  assert_string_equal(c.name, "mt-timer");
  assert_int_equal(c.spawned_daemon, 0);
  assert_code(mt_thread_join(c.worker, MT_FOREVER, NULL), 0);
  mt_thread_free(c.worker);
  assert_int_equal(c.count_in_cb, base); /* the timer thread is not listed */
  assert_int_equal(mt_thread_active_count(), base);
  mt_timer_free(t);
}

static int many_calls;
static tflag_t many_done;
static long many_expected;
static void many_cb(void *arg) {
  (void)arg;
  if (__atomic_add_fetch(&many_calls, 1, __ATOMIC_RELAXED) == many_expected) flag_set(&many_done);
}

static void hundred_thousand_pending(void **state) {
  (void)state;
  long n = mt_test_scaled(100000, 2000);
  mt_timer_t **v = malloc((size_t)n * sizeof *v);
  for (long i = 0; i < n; i++) {
    v[i] = mt_timer_new(100 + (double)(i % 997), many_cb, NULL);
    assert_code(mt_timer_start(v[i]), 0);
  }
  /* cancel in a scattered order: removal from the middle of the heap */
  for (long k = 0; k < n; k++) {
    long i = (k * 7919) % n;
    if (!v[i]) continue;
    assert_code(mt_timer_cancel(v[i], MT_FOREVER), 1);
    mt_timer_free(v[i]);
    v[i] = NULL;
  }
  for (long i = 0; i < n; i++)
    if (v[i]) {
      assert_code(mt_timer_cancel(v[i], MT_FOREVER), 1);
      mt_timer_free(v[i]);
    }
  /* and many short ones all fire exactly once */
  many_expected = mt_test_scaled(5000, 200);
  for (long i = 0; i < many_expected; i++) {
    v[i] = mt_timer_new(0.001 * (double)(i % 10), many_cb, NULL);
    mt_timer_start(v[i]);
  }
  flag_wait(&many_done, MT_FOREVER);
  for (long i = 0; i < many_expected; i++) {
    assert_code(mt_timer_join(v[i], MT_FOREVER), 0);
    assert_int_equal(mt_timer_is_fired(v[i]), 1);
    mt_timer_free(v[i]);
  }
  assert_int_equal(many_calls, many_expected);
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fires_once),
      cmocka_unit_test(cancel_before_firing),
      cmocka_unit_test(errors),
      cmocka_unit_test(cancel_races_firing),
      cmocka_unit_test(loop_ticks),
      cmocka_unit_test(loop_skips_missed_ticks),
      cmocka_unit_test(loop_cancels_itself),
      cmocka_unit_test(callback_frees_its_timer),
      cmocka_unit_test(cancel_waits_for_running_callback),
      cmocka_unit_test(heap_order),
      cmocka_unit_test(callback_context),
      cmocka_unit_test(hundred_thousand_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
