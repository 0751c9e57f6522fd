/* The per-thread stack pool adapts (src/coro/stack.c): a steady workload
 * with N tasks alive maps its N stacks once and then reuses them (the old
 * fixed pool of 16 mapped a stack per task past 16), and the stacks past
 * the base size go back to the system when fewer are used for a while:
 * after two busy periods (PERIOD_GETS stacks taken with few alive), and on
 * an idle hub within two idle periods (IDLE_NS, 1 s: the hub sleeps until
 * that deadline; the second case waits for the trim itself, polling every
 * 0.25 s: the periods are the behaviour under test).  Mappings are counted by the pool's own counter (mt__stack_maps)
 * and, for the trim, in /proc/self/maps. */
#include "mt_test.h"
#include "coro/coro.h"
#include "coro_test.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer)
#define UNDER_TSAN 1 /* a TSan fiber costs ~1 ms to make: no 2 x 16,384 spawns */
#else
#define UNDER_TSAN 0
#endif

#define POOL_MIN 16     /* stack.c */
#define PERIOD_GETS 16384

static int parked(void *arg, mt_value_t *out) {
  out->ptr = (void *)(intptr_t)7;
  return mt_event_wait(arg, MT_FOREVER);
}

static int tiny(void *arg, mt_value_t *out) {
  out->ptr = arg;
  return 0;
}

/* n tasks alive at once (parked on an event), then all released. */
static void burst(int n) {
  mt_event_t *e = mt_event_new(0);
  mt_future_t **f = malloc((size_t)n * sizeof *f);
  assert_non_null(f);
  for (int i = 0; i < n; i++) assert_non_null(f[i] = mt_coro_spawn(parked, e, NULL));
  mt_coro_sleep(0); /* every task runs and parks: n stacks in use */
  assert_int_equal(mt_event_set(e), 0);
  for (int i = 0; i < n; i++) {
    mt_value_t v;
    assert_int_equal(mt_future_result(f[i], MT_FOREVER, &v), 0);
    assert_int_equal((intptr_t)v.ptr, 7);
    mt_future_free(f[i]);
  }
  free(f);
  mt_event_free(e);
}

/* bytes of anonymous mappings in /proc/self/maps (stacks, with or without
 * a separate guard mapping, and malloc's arenas) */
static long anon_bytes(void) {
  FILE *m = fopen("/proc/self/maps", "r");
  assert_non_null(m);
  char line[512];
  long bytes = 0;
  while (fgets(line, sizeof line, m)) {
    unsigned long lo, hi, inode = 1;
    char path[256] = "";
    if (sscanf(line, "%lx-%lx %*s %*s %*s %lu %255s", &lo, &hi, &inode, path) >= 3 && inode == 0 &&
        !path[0])
      bytes += (long)(hi - lo);
  }
  fclose(m);
  return bytes;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void steady_burst_maps_nothing(void **state) {
  (void)state;
  int n = (int)mt_test_scaled(500, 100);
  long before = mt__stack_maps(), rss0 = mt_test_rss_kib();
  burst(n); /* warm-up: n stacks (and the hub's) mapped */
  long warm = mt__stack_maps() - before;
  assert_true(warm >= n && warm <= n + 2);
  assert_true(mt__stack_pooled() >= n);
  long rss_pooled = mt_test_rss_kib();
  for (int k = 0; k < 3; k++) {
    long m = mt__stack_maps();
    burst(n);
    assert_int_equal(mt__stack_maps() - m, 0); /* all reused */
  }
  if (UNDER_TSAN) return;
  /* a busy thread with one task alive: two periods forget the burst */
  long m = mt__stack_maps();
  for (long i = 0; i < 2 * PERIOD_GETS + 1; i++) {
    mt_future_t *f = mt_coro_spawn(tiny, (void *)i, NULL);
    assert_non_null(f);
    mt_value_t v;
    assert_int_equal(mt_future_result(f, MT_FOREVER, &v), 0);
    assert_int_equal((intptr_t)v.ptr, i);
    mt_future_free(f);
  }
  assert_int_equal(mt__stack_maps() - m, 0);
  assert_true(mt__stack_pooled() <= POOL_MIN);
  printf("# %d tasks alive: %ld stacks mapped once, then 0 per burst; RSS %ld KiB before, "
         "%ld KiB with them pooled, %ld KiB after the trim\n",
         n, warm, rss0, rss_pooled, mt_test_rss_kib());
}

static void idle_hub_gives_stacks_back(void **state) {
  (void)state;
  int n = (int)mt_test_scaled(500, 100);
  burst(n);
  assert_true(mt__stack_pooled() >= n);
  long mapped = anon_bytes();
  /* the root task sleeps: the hub idles, and its sleep is cut at the pool's
   * deadlines; two idle periods (1 s each) trim the pool: ~2 s, checked
   * every 0.25 s (a loaded machine may wake the hub late), at most 30 s */
  double t0 = now_s(), waited = 0;
  while (mt__stack_pooled() > POOL_MIN && waited < 30) {
    assert_int_equal(mt_coro_sleep(0.25), 0);
    waited = now_s() - t0;
  }
  assert_true(mt__stack_pooled() <= POOL_MIN);
  assert_true(waited >= 1.0); /* not before a whole idle period */
  long freed = mapped - anon_bytes(), one = (long)mt__stack_default_size();
  assert_true(freed >= (long)(n - POOL_MIN - 2) * one);
  printf("# idle hub: %ld KiB of mappings given back after %.2f s (%d stacks pooled before)\n",
         freed / 1024, waited, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(steady_burst_maps_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(idle_hub_gives_stacks_back, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
