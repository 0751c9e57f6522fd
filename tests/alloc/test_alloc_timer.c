/* Allocation failures in timers: creation and start return MT_ENOMEM; a
 * started one-shot fires exactly once; a started loop timer keeps ticking
 * (its re-arm never allocates, even into a full heap) until cancelled. */
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
    mt_timer_t *lt = mt_timer_new_loop(0.001, loop_tick, NULL);
    if (!lt) return fp_errno();
    r = mt_timer_start(lt);
    if (r == 0) {
      /* a loop timer whose re-arm failed would stop here */
      FP_CHECK(mt_event_wait(ticked, 10) == 0);
      FP_CHECK(mt_timer_cancel(lt, MT_FOREVER) >= 0);
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

/* A loop timer is out of the heap while its callback runs; each tick here
 * starts one far-off timer (the heap fills up through every capacity) and
 * then arms a failure for the next allocation, which is the re-arm's own
 * when the heap is full.  The loop must keep ticking. */
#define NFAR 300
static mt_timer_t *far[NFAR];
static int nfar;
static void noop(void *arg) { (void)arg; }

static void filling_tick(void *arg) {
  (void)arg;
  mt__alloc_fail_at(0);
  mt_timer_t *t = nfar < NFAR ? mt_timer_new(3600, noop, NULL) : NULL;
  if (t) {
    far[nfar++] = t;
    FP_CHECK(mt_timer_start(t) == 0);
  }
  if (__atomic_add_fetch(&ticks, 1, __ATOMIC_SEQ_CST) == NFAR) mt_event_set(ticked);
  mt__alloc_fail_at(1);
}

static void loop_timer_rearm_never_fails(void **state) {
  (void)state;
  ticked = mt_event_new(0);
  assert_non_null(ticked);
  ticks = 0;
  mt_timer_t *lt = mt_timer_new_loop(0.0005, filling_tick, NULL);
  assert_non_null(lt);
  assert_code(mt_timer_start(lt), 0);
  int r = mt_event_wait(ticked, 20);
  mt_timer_cancel(lt, MT_FOREVER);
  mt_timer_join(lt, 10);
  mt__alloc_fail_at(0);
  if (r != 0) fail_msg("the loop timer stopped after %d ticks (its re-arm failed)", ticks);
  mt_timer_free(lt);
  for (int i = 0; i < nfar; i++) {
    mt_timer_cancel(far[i], MT_FOREVER);
    mt_timer_free(far[i]);
  }
  mt_event_free(ticked);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(timer_under_failures),
                                     cmocka_unit_test(loop_timer_rearm_never_fails)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
