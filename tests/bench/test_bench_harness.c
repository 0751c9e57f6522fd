/* The benchmark harness: sides alternate run by run, a row carries every
 * field docs/benchmarks.md lists, a wrong checksum exits 1 (loudly), and
 * mtb_proc_cpu reads a live process's CPU time and fails for a gone one.
 * Latency rows carry p50/p99/p999/max (nearest rank), a p99 row's ratio is
 * the p99 ratio, latency recorded on one side only exits 1, mtb_min_reps
 * raises the repetitions (not in QUICK), mtb_cap_reps lowers the default
 * (MT_BENCH_REPS and mtb_min_reps win over it), memory rows carry every field,
 * the time budget stops a row after whole rounds, never below 3 per side;
 * a row records the minor page faults per op of each side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char order[64];
static int norder;

typedef struct {
  char id;
  uint64_t sum;
} side_arg_t;

static volatile uint64_t sink; /* keeps the timed loop (clang: no set-but-unused local) */

static void side(void *arg, mtb_run_t *r) {
  side_arg_t *a = arg;
  mtb_start(r);
  for (int i = 0; i < 100000; i++) sink += (uint64_t)i;
  mtb_stop(r);
  if (norder < (int)sizeof order - 1) order[norder++] = a->id;
  r->ops = 100000, r->sum = a->sum;
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

static void test_alternates_and_reports_every_field(void **state) {
  (void)state;
  char path[] = "/tmp/mt_bench_harness_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  setenv("MT_BENCH_OUT", path, 1);
  setenv("MT_BENCH_REPS", "3", 1);
  unsetenv("MT_BENCH_QUICK");
  side_arg_t a = {'A', 42}, b = {'B', 42}, c = {'C', 42};
  mtb_row_t row = {"t", "ops/s", true, 0, 42};
  mtb_side_t sides[] = {{"ours", side, &a}, {"b", side, &b}, {"c", side, &c}};
  norder = 0;
  mtb_compare(&row, sides, 3);
  order[norder] = 0;
  assert_string_equal(order, "ABCABCABC");
  char *text = read_all(path);
  const char *fields[] = {"\"bench\"", "\"unit\"", "\"ours\"", "\"baseline\"", "\"theirs\"",
                          "\"ratio\"", "\"cpu_ours\"", "\"cpu_theirs\"", "\"cpu_ratio\"",
                          "\"minflt_ours\"", "\"minflt_theirs\"",
                          "\"spread\"", "\"samples\"", "\"first\": \"ours\"",
                          "\"validated\": true", "\"reps\": 3"};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    assert_non_null(strstr(text, fields[i]));
  int lines = 0;
  for (char *p = text; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 2); /* one row per baseline */
  unlink(path);
}

/* One op = one fresh anonymous page touched: one minor fault per op. */
enum { FAULT_PAGES = 256 };
static void faulting_side(void *arg, mtb_run_t *r) {
  (void)arg;
  long pg = sysconf(_SC_PAGESIZE);
  mtb_start(r);
  char *p = mmap(NULL, (size_t)(FAULT_PAGES * pg), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(p != MAP_FAILED);
  for (long i = 0; i < FAULT_PAGES; i++) p[i * pg] = 1;
  munmap(p, (size_t)(FAULT_PAGES * pg));
  mtb_stop(r);
  r->ops = FAULT_PAGES, r->sum = 42;
}

static double json_num(const char *text, const char *key) {
  const char *p = strstr(text, key);
  assert_non_null(p);
  return atof(p + strlen(key));
}

static void test_minor_faults_per_op(void **state) {
  (void)state;
  char path[] = "/tmp/mt_bench_harness_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  setenv("MT_BENCH_OUT", path, 1);
  setenv("MT_BENCH_REPS", "3", 1);
  unsetenv("MT_BENCH_QUICK");
  side_arg_t b = {'B', 42};
  mtb_row_t row = {"t", "ops/s", true, 0, 42};
  mtb_side_t sides[] = {{"ours", faulting_side, NULL}, {"b", side, &b}};
  mtb_compare(&row, sides, 2);
  char *text = read_all(path);
  double fo = json_num(text, "\"minflt_ours\": "), ft = json_num(text, "\"minflt_theirs\": ");
  /* THP could map several pages per fault: at least one fault per 4 pages;
   * at most 1.5, except under TSan, whose shadow of each page written
   * faults too (3.3 per page here) */
  assert_true(fo >= 0.25);
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if !defined(__SANITIZE_THREAD__) && !__has_feature(thread_sanitizer)
  assert_true(fo <= 1.5);
#endif
  assert_true(ft < 0.01); /* a loop over a static counter faults in nothing */
  unlink(path);
}

static void test_wrong_checksum_exits_1(void **state) {
  (void)state;
  unsetenv("MT_BENCH_OUT");
  setenv("MT_BENCH_REPS", "3", 1);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    side_arg_t a = {'A', 42}, b = {'B', 41}; /* the baseline did other work */
    mtb_row_t row = {"t", "ns/op", false, 1e9, 42};
    mtb_side_t sides[] = {{"ours", side, &a}, {"b", side, &b}};
    mtb_compare(&row, sides, 2);
    _exit(0); /* reached only if the harness accepted the wrong sum */
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 1);
}

static void test_proc_cpu(void **state) {
  (void)state;
  double c0 = mtb_proc_cpu(getpid());
  assert_true(c0 >= 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(0);
  waitpid(pid, NULL, 0);
  assert_true(mtb_proc_cpu(pid) < 0); /* reaped: no /proc entry */
}

static void test_quick_mode(void **state) {
  (void)state;
  setenv("MT_BENCH_QUICK", "1", 1);
  setenv("MT_BENCH_SCALE", "2", 1);
  assert_int_equal(mtb_reps(), 1);
  assert_true(mtb_scale() > 0.019 && mtb_scale() < 0.021);
  unsetenv("MT_BENCH_QUICK");
  unsetenv("MT_BENCH_SCALE");
}

/* Latency samples 1..1000 ns times the side's factor. */
static void lat_side(void *arg, mtb_run_t *r) {
  double f = (double)(intptr_t)arg, v[1000];
  mtb_start(r);
  for (int i = 0; i < 1000; i++) v[i] = (double)(1000 - i) * f; /* unsorted on purpose */
  mtb_stop(r);
  if (f > 0) mtb_latency(r, v, 1000);
  r->ops = 1000, r->sum = 7;
}

static void test_latency_row(void **state) {
  (void)state;
  char path[] = "/tmp/mt_bench_harness_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  setenv("MT_BENCH_OUT", path, 1);
  setenv("MT_BENCH_REPS", "3", 1);
  mtb_row_t row = {"lat", "ns p99", false, 1e9, 7};
  mtb_side_t sides[] = {{"ours", lat_side, (void *)1}, {"b", lat_side, (void *)2}};
  mtb_compare_p99(&row, sides, 2);
  char *text = read_all(path);
  assert_non_null(strstr(text, "\"p50\": {\"ours\": 501, \"theirs\": 1002}"));
  assert_non_null(strstr(text, "\"p99\": {\"ours\": 990, \"theirs\": 1980}"));
  assert_non_null(strstr(text, "\"p999\": {\"ours\": 999, \"theirs\": 1998}"));
  assert_non_null(strstr(text, "\"max\": {\"ours\": 1000, \"theirs\": 2000}"));
  assert_non_null(strstr(text, "\"ours\": 990, \"baseline\""));  /* the figure is the p99 */
  assert_non_null(strstr(text, "\"ratio\": 2,"));               /* theirs p99 / ours p99 */
  assert_non_null(strstr(text, "\"lat_unit\": \"ns\""));
  unlink(path);
}

static void test_latency_on_one_side_exits_1(void **state) {
  (void)state;
  unsetenv("MT_BENCH_OUT");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    mtb_row_t row = {"lat", "ns/op", false, 1e9, 7};
    mtb_side_t sides[] = {{"ours", lat_side, (void *)1}, {"b", lat_side, (void *)0}};
    mtb_compare(&row, sides, 2);
    _exit(0);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 1);
}

static void test_min_reps(void **state) {
  (void)state;
  setenv("MT_BENCH_REPS", "3", 1);
  mtb_min_reps(11);
  assert_int_equal(mtb_reps(), 11);
  setenv("MT_BENCH_QUICK", "1", 1);
  assert_int_equal(mtb_reps(), 1);
  unsetenv("MT_BENCH_QUICK");
  mtb_min_reps(0);
  assert_int_equal(mtb_reps(), 3);
}

static void test_cap_reps(void **state) {
  (void)state;
  unsetenv("MT_BENCH_REPS");
  unsetenv("MT_BENCH_QUICK");
  assert_int_equal(mtb_reps(), MTB_REPS);
  mtb_cap_reps(3);
  assert_int_equal(mtb_reps(), 3);
  setenv("MT_BENCH_REPS", "9", 1); /* the caller's explicit count wins */
  assert_int_equal(mtb_reps(), 9);
  unsetenv("MT_BENCH_REPS");
  mtb_min_reps(5); /* a goal's minimum wins over a cap */
  assert_int_equal(mtb_reps(), 5);
  mtb_min_reps(0);
  setenv("MT_BENCH_QUICK", "1", 1);
  assert_int_equal(mtb_reps(), 1);
  unsetenv("MT_BENCH_QUICK");
  mtb_cap_reps(0);
  assert_int_equal(mtb_reps(), MTB_REPS);
}

/* A side that takes 10 ms of wall time (a busy loop on the clock). */
static void slow_side(void *arg, mtb_run_t *r) {
  side_arg_t *a = arg;
  mtb_start(r);
  double t0 = mtb_now();
  while (mtb_now() - t0 < 0.010) sink++;
  mtb_stop(r);
  if (norder < (int)sizeof order - 1) order[norder++] = a->id;
  r->ops = 1, r->sum = a->sum;
}

/* The time budget stops a row after whole rounds (still alternating), never
 * below 3 per side, and says so in the row; MT_BENCH_BUDGET=0 and an
 * explicit MT_BENCH_REPS turn it off. */
static void test_time_budget(void **state) {
  (void)state;
  char path[] = "/tmp/mt_bench_harness_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  setenv("MT_BENCH_OUT", path, 1);
  unsetenv("MT_BENCH_REPS");
  unsetenv("MT_BENCH_QUICK");
  setenv("MT_BENCH_BUDGET", "0.05", 1); /* soft budget 40 ms: spent after one round */
  side_arg_t a = {'A', 7}, b = {'B', 7};
  mtb_row_t row = {"budget", "ops/s", true, 0, 7};
  mtb_side_t sides[] = {{"ours", slow_side, &a}, {"b", slow_side, &b}};
  norder = 0;
  mtb_compare(&row, sides, 2);
  order[norder] = 0;
  assert_string_equal(order, "ABABAB"); /* 3 of MTB_REPS rounds */
  char *text = read_all(path);
  assert_non_null(strstr(text, "\"reps\": 3, \"budget_cut\": true"));
  /* a goal's minimum wins over the budget */
  mtb_min_reps(4);
  norder = 0;
  mtb_compare(&row, sides, 2);
  order[norder] = 0;
  assert_string_equal(order, "ABABABAB");
  mtb_min_reps(0);
  /* no budget: the planned count */
  assert_int_equal(truncate(path, 0), 0);
  setenv("MT_BENCH_BUDGET", "0", 1);
  mtb_cap_reps(4);
  norder = 0;
  mtb_compare(&row, sides, 2);
  order[norder] = 0;
  assert_string_equal(order, "ABABABAB");
  text = read_all(path);
  assert_non_null(strstr(text, "\"reps\": 4, \"budget_cut\": false"));
  /* an explicit count: no budget either */
  setenv("MT_BENCH_BUDGET", "0.05", 1);
  setenv("MT_BENCH_REPS", "4", 1);
  assert_true(mtb_budget() == 0);
  unsetenv("MT_BENCH_REPS");
  unsetenv("MT_BENCH_BUDGET");
  mtb_cap_reps(0);
  unlink(path);
}

static void test_memory_row(void **state) {
  (void)state;
  char path[] = "/tmp/mt_bench_harness_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  setenv("MT_BENCH_OUT", path, 1);
  mtb_memory_row("mem", "bytes/object", 50, "peer", 100, 9);
  char *text = read_all(path);
  const char *fields[] = {"\"bench\": \"mem\"", "\"ours\": 50", "\"theirs\": 100", "\"ratio\": 2,",
                          "\"measure\": \"memory\"", "\"cpu_ours\": null", "\"samples\"",
                          "\"first\": \"ours\"", "\"validated\": true", "\"checksum\": 9"};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    assert_non_null(strstr(text, fields[i]));
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alternates_and_reports_every_field),
      cmocka_unit_test(test_wrong_checksum_exits_1),
      cmocka_unit_test(test_minor_faults_per_op),
      cmocka_unit_test(test_proc_cpu),
      cmocka_unit_test(test_quick_mode),
      cmocka_unit_test(test_latency_row),
      cmocka_unit_test(test_latency_on_one_side_exits_1),
      cmocka_unit_test(test_min_reps),
      cmocka_unit_test(test_cap_reps),
      cmocka_unit_test(test_memory_row),
      cmocka_unit_test(test_time_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
