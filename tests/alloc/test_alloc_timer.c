/* Allocation failures in timers: creation and start return MT_ENOMEM; a
 * started one-shot fires exactly once; a started loop timer keeps ticking
 * (its re-arm never allocates) until cancelled. */
#include "failpoint.h"

static mt_event_t *ticked; /* made before the runs: not part of them */
static int ticks;

static void one_shot(void *arg) { __atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST); }

static void loop_tick(void *arg) {
  (void)arg;
  if (__atomic_add_fetch(&ticks, 1, __ATOMIC_SEQ_CST) == 3) mt_event_set(ticked);
}

static int scenario(void) {
  int r = 0, fired[8] = {0};
  mt_timer_t *ts[8] = {0};
  int started = 0;
  for (int i = 0; i < 8 && r == 0; i++) {
    ts[i] = mt_timer_new(0.001 * (i % 3), one_shot, &fired[i]);
    if (!ts[i]) r = fp_errno();
    else if ((r = mt_timer_start(ts[i])) == 0) started++;
  }
  for (int i = 0; i < 8 && ts[i]; i++) {
    if (i < started) {
      FP_CHECK(mt_timer_join(ts[i], 10) == 0);
      FP_CHECK(__atomic_load_n(&fired[i], __ATOMIC_SEQ_CST) == 1);
    }
    mt_timer_free(ts[i]);
  }
  if (r == 0) {
    ticks = 0;
    FP_CHECK(mt_event_clear(ticked) == 0);
    mt_timer_t *lt = mt_loop_timer_new(0.001, loop_tick, NULL);
    if (!lt) return fp_errno();
    r = mt_timer_start(lt);
    if (r == 0) {
      /* a loop timer whose re-arm failed would stop here */
      FP_CHECK(mt_event_wait(ticked, 10) == 0);
      FP_CHECK(mt_timer_cancel(lt) >= 0);
      FP_CHECK(mt_timer_join(lt, 10) == 0);
    }
    mt_timer_free(lt);
  }
  return r;
}

static void timer_under_failures(void **state) {
  (void)state;
  ticked = mt_event_new(0);
  assert_non_null(ticked);
  fp_run("timer", scenario);
  mt_event_free(ticked);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(timer_under_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
