/* The future allocator gives memory back (issue 13): after a burst of
 * 10^6 futures (scaled by MT_TEST_SCALE) is freed, mt_future_trim brings
 * the resident set back within 2x of where it started (plus 4 MiB of
 * slack for a small start).  RSS from /proc/self/statm. */
#include "mt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  assert_non_null(f);
  long size, resident;
  assert_int_equal(fscanf(f, "%ld %ld", &size, &resident), 2);
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int noop(void *arg, mt_value_t *out) {
  (void)arg, (void)out;
  return 0;
}

/* n futures alive at once, from the calling thread, then all freed. */
static void burst(long n) {
  /* mmap, not malloc: glibc keeps a freed big block after raising its
   * mmap threshold, which would count against the bound below */
  size_t bytes = sizeof(mt_future_t *) * (size_t)n;
  mt_future_t **fs = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(fs != MAP_FAILED);
  for (long i = 0; i < n; i++) {
    fs[i] = mt_future_new();
    assert_non_null(fs[i]);
  }
  for (long i = 0; i < n; i++) mt_future_free(fs[i]);
  munmap(fs, bytes);
}

static void burst_is_given_back(void **state) {
  (void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  /* these builds use malloc (and ASan's quarantine): nothing to trim */
  assert_int_equal(mt_future_trim(), 0);
  skip();
#endif
  long n = mt_test_scaled(1000000, 20000);
  long start = rss_kib();
  burst(n);
  long peak = rss_kib();
#ifndef NO_TRIM
  int slabs = mt_future_trim();
#else
  int slabs = 0;
#endif
  long after = rss_kib();
  printf("futures %ld: rss start %ld KiB, after the burst %ld KiB, after trim %ld KiB "
         "(%d slabs given back)\n", n, start, peak, after, slabs);
  assert_true(after <= 2 * start + 4096);
  /* the slabs are reusable after a trim: a second burst and trim again */
  burst(n / 4);
  slabs = mt_future_trim();
  after = rss_kib();
  printf("second burst: after trim %ld KiB (%d slabs given back)\n", after, slabs);
  assert_true(after <= 2 * start + 4096);
}

/* Slabs with a live future stay; the future is still usable. */
static void live_futures_keep_their_slab(void **state) {
  (void)state;
  mt_future_t *keep = mt_future_new();
  burst(mt_test_scaled(100000, 10000));
  mt_future_trim();
  assert_code(mt_future_set_result(keep, (mt_value_t){(void *)7, 0, NULL}), 0);
  mt_value_t v;
  assert_code(mt_future_result(keep, 0, &v), 0);
  assert_ptr_equal(v.ptr, (void *)7);
  mt_future_free(keep);
}

/* Futures freed by pool workers (other threads' caches) and a trim while
 * an executor runs: results stay right. */
static void trim_beside_an_executor(void **state) {
  (void)state;
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 2;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  assert_non_null(ex);
  long n = mt_test_scaled(20000, 2000);
  for (long i = 0; i < n; i++) {
    mt_future_t *f;
    assert_code(mt_executor_submit(ex, noop, NULL, &f), 0);
    if (i % 1000 == 0) assert_true(mt_future_trim() >= 0);
    assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
    mt_future_free(f);
  }
  mt_executor_free(ex);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(burst_is_given_back),
      cmocka_unit_test(live_futures_keep_their_slab),
      cmocka_unit_test(trim_beside_an_executor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
