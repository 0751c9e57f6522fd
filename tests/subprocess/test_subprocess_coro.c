/* test_subprocess_coro.c - Popen inside coroutines: two tasks on one hub
 * each communicate 10 MB (scaled) each way with their own `cat` at once.
 * Their waits park the task, not the thread: a third task keeps running
 * while both are inside communicate, and both get every byte back. */
#include "mt_test.h"

#include <errno.h>
#include <stdatomic.h>

struct comm {
  size_t n;
  char *in;
  int code;
  int ticks_inside; /* ticker rounds seen while both were inside communicate */
};

static atomic_int inside;   /* tasks inside communicate now */
static atomic_int finished; /* tasks done */
static atomic_int ticks_both;

static int comm_task(void *arg, mt_value_t *res) {
  (void)res;
  struct comm *c = arg;
  const char *cat[] = {"cat", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdin_fd = o.stdout_fd = MT_SUBPROCESS_PIPE;
  mt_popen_t *p = mt_popen_new(cat, &o);
  if (!p) return c->code = -errno;
  char *out = NULL;
  size_t ol = 0;
  atomic_fetch_add(&inside, 1);
  c->code = mt_popen_communicate(p, c->in, c->n, 120.0, &out, &ol, NULL, NULL);
  atomic_fetch_sub(&inside, 1);
  if (c->code == 0 && (ol != c->n || memcmp(out, c->in, c->n) != 0)) c->code = MT_EIO;
  int rc = -1;
  if (c->code == 0 && (mt_popen_returncode(p, &rc) != 0 || rc != 0)) c->code = MT_ECHILD;
  free(out);
  mt_popen_free(p);
  atomic_fetch_add(&finished, 1);
  return 0;
}

/* Runs whenever the two communicating tasks park. */
static int ticker(void *arg, mt_value_t *res) {
  (void)arg;
  (void)res;
  while (atomic_load(&finished) < 2) {
    if (atomic_load(&inside) == 2) atomic_fetch_add(&ticks_both, 1);
    int r = mt_coro_sleep(0);
    if (r) return r;
  }
  return 0;
}

static int main_task(void *arg, mt_value_t *res) {
  (void)res;
  struct comm *c = arg;
  mt_future_t *t[3] = {mt_coro_spawn(comm_task, &c[0], NULL),
                       mt_coro_spawn(comm_task, &c[1], NULL), mt_coro_spawn(ticker, NULL, NULL)};
  for (int i = 0; i < 3; i++)
    if (!t[i]) return MT_ENOMEM;
  int r = mt_coro_joinall(t, 3, 180.0);
  for (int i = 0; i < 3; i++) mt_future_free(t[i]);
  return r;
}

static void test_two_tasks_communicate(void **s) {
  (void)s;
  size_t n = (size_t)mt_test_scaled(10L << 20, 1 << 20);
  struct comm c[2];
  for (int k = 0; k < 2; k++) {
    c[k] = (struct comm){.n = n, .in = malloc(n), .code = 1};
    assert_non_null(c[k].in);
    for (size_t i = 0; i < n; i++) c[k].in[i] = (char)(i * (7 + k) + i / 4096);
  }
  assert_code(mt_hub_run(main_task, c, NULL), 0);
  assert_code(c[0].code, 0);
  assert_code(c[1].code, 0);
  printf("# 2 x %zu bytes each way; the ticker ran %d times while both were inside "
         "communicate\n", n, atomic_load(&ticks_both));
  assert_true(atomic_load(&ticks_both) > 0); /* the waits parked the tasks, not the thread */
  assert_int_equal(mt_test_zombies(), 0);
  free(c[0].in);
  free(c[1].in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_tasks_communicate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
