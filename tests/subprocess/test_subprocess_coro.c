/* test_subprocess_coro.c - Popen's waits: inside coroutines, two tasks on
 * one hub each communicate 10 MB (scaled) each way with their own `cat` at
 * once; their waits park the task, not the thread: a third task keeps
 * running while both are inside communicate, and both get every byte back.
 * In a thread that opted in to interrupts, communicate returns MT_EINTR
 * after a handler ran and keeps what it read for the next call. */
#include "mt_test.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

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

static void on_usr1(int sig, void *arg) {
  (void)sig;
  (void)arg;
}

struct interrupted {
  mt_popen_t *p;
  _Atomic pid_t tid;
  int r;
  char *out;
  size_t len;
};

static void *comm_thread(void *arg) {
  struct interrupted *x = arg;
  if (mt_signal_set_interruptible(1) != 0) return NULL;
  atomic_store(&x->tid, (pid_t)syscall(SYS_gettid));
  x->r = mt_popen_communicate(x->p, NULL, 0, MT_FOREVER, &x->out, &x->len, NULL, NULL);
  return NULL;
}

static void test_communicate_interrupted(void **s) {
  (void)s;
  assert_code(mt_signal_signal(SIGUSR1, on_usr1, NULL), 0);
  const char *sh[] = {"sh", "-c", "echo partial; exec sleep 1000", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdout_fd = MT_SUBPROCESS_PIPE;
  struct interrupted x = {.p = mt_popen_new(sh, &o), .r = 1};
  assert_non_null(x.p);
  mt_thread_t *t = mt_thread_spawn(comm_thread, &x, NULL);
  assert_non_null(t);
  while (atomic_load(&x.tid) == 0) sched_yield();
  /* until the child has written (it is `sleep` once the echo is done) */
  char path[64], comm[32] = "";
  snprintf(path, sizeof path, "/proc/%d/comm", (int)mt_popen_pid(x.p));
  for (long i = 0; strcmp(comm, "sleep\n") != 0; i++) {
    if (i > 5000000) fail_msg("the child never reached sleep (%s)", comm);
    FILE *f = fopen(path, "r");
    if (f) {
      if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
      fclose(f);
    }
    sched_yield();
  }
  /* until the thread sleeps inside communicate's poll */
  for (long i = 0; mt_test_task_state(atomic_load(&x.tid)) != 'S'; i++) {
    if (i > 5000000) fail_msg("the thread never blocked");
    sched_yield();
  }
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_code(mt_thread_join(t, 30, NULL), 0);
  mt_thread_free(t);
  assert_code(x.r, MT_EINTR);
  assert_null(x.out);
  /* the child runs on; what was read is kept: the next call returns it */
  assert_code(mt_popen_kill(x.p), 0);
  char *out = NULL;
  size_t len = 0;
  assert_code(mt_popen_communicate(x.p, NULL, 0, 30, &out, &len, NULL, NULL), 0);
  assert_int_equal(len, 8);
  assert_memory_equal(out, "partial\n", 8);
  int rc = 0;
  assert_code(mt_popen_returncode(x.p, &rc), 0);
  assert_int_equal(rc, -SIGKILL);
  free(out);
  mt_popen_free(x.p);
  assert_code(mt_signal_signal(SIGUSR1, MT_SIG_DFL, NULL), 0);
  assert_int_equal(mt_test_zombies(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_tasks_communicate),
      cmocka_unit_test(test_communicate_interrupted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
