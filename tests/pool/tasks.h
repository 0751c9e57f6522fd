/* tasks.h - task functions the pool tests run in the workers. */
#ifndef POOL_TEST_TASKS_H
#define POOL_TEST_TASKS_H

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mt_test.h"

static inline __attribute__((unused)) mt_bytes_t *make_items(int64_t *vals, size_t n) {
  mt_bytes_t *it = calloc(n ? n : 1, sizeof *it);
  if (!it) abort();
  for (size_t i = 0; i < n; i++) {
    vals[i] = (int64_t)i;
    it[i] = (mt_bytes_t){&vals[i], sizeof vals[i]};
  }
  return it;
}

static inline __attribute__((unused)) int64_t as_i64(const void *p) {
  int64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* x -> x*x + 1 as 8 bytes */
static __attribute__((unused)) int t_square(const void *in, size_t len, mt_value_t *out) {
  static int64_t r;
  if (len != sizeof r) return mt_task_fail(MT_EINVAL, "want 8 bytes, got %zu", len);
  int64_t x = as_i64(in);
  r = x * x + 1;
  out->ptr = &r;
  out->len = sizeof r;
  return 0;
}

/* returns the worker's pid as a value (len 0) */
static __attribute__((unused)) int t_pid(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len;
  out->ptr = (void *)(intptr_t)getpid();
  return 0;
}

/* odd items fail with MT_ERANGE and a message */
static __attribute__((unused)) int t_odd_fails(const void *in, size_t len, mt_value_t *out) {
  int64_t x = as_i64(in);
  (void)len;
  if (x % 2) return mt_task_fail(MT_ERANGE, "odd item %lld", (long long)x);
  out->ptr = (void *)(intptr_t)(x * 10);
  return 0;
}

/* The "started" pipe: a blocking task writes its pid there first. */
static int g_started[2] = {-1, -1};

static inline __attribute__((unused)) void started_pipe(void) {
  if (g_started[0] < 0) assert_int_equal(pipe(g_started), 0);
}

static inline __attribute__((unused)) pid_t wait_started(void) {
  int32_t pid = 0;
  assert_int_equal(read(g_started[0], &pid, sizeof pid), (ssize_t)sizeof pid);
  return pid;
}

static inline __attribute__((unused)) void say_started(void) {
  int32_t pid = getpid();
  if (write(g_started[1], &pid, sizeof pid) != sizeof pid) _exit(99);
}

/* blocks until killed (ignores SIGTERM when the argument byte is 1) */
static __attribute__((unused)) int t_block(const void *in, size_t len, mt_value_t *out) {
  (void)out;
  if (len >= 1 && ((const char *)in)[0] == 1) signal(SIGTERM, SIG_IGN);
  say_started();
  for (;;) pause();
  return 0;
}

/* Runs per item, in memory shared with the workers (mapped before the pool
 * starts): proves that no item runs twice. */
static uint32_t *g_runs;
#define RUNS_MAX 4096

/* map item: blocks when x < 0 (BLOCK_ITEM: counted as item 25), else
 * squares */
#define BLOCK_ITEM (-7)
static __attribute__((unused)) int t_square_or_block(const void *in, size_t len, mt_value_t *out) {
  int64_t x = as_i64(in);
  if (g_runs) __atomic_add_fetch(&g_runs[x < 0 ? 25 : x % RUNS_MAX], 1, __ATOMIC_SEQ_CST);
  if (x < 0) {
    say_started();
    for (;;) pause();
  }
  return t_square(in, len, out);
}

static __attribute__((unused)) int t_exit7(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len, (void)out;
  exit(7);
}

static __attribute__((unused)) int t_segv(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len, (void)out;
  signal(SIGSEGV, SIG_DFL); /* cmocka's crash handler is inherited */
  raise(SIGSEGV);
  return 0;
}

/* returns 1 MiB of bytes (b[i] = i & 0xff): larger than the arena */
static __attribute__((unused)) int t_big(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len;
  size_t n = 1 << 20;
  unsigned char *b = malloc(n);
  if (!b) return MT_ENOMEM;
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)i;
  out->ptr = b;
  out->len = n;
  out->free_fn = free;
  return 0;
}

#endif
